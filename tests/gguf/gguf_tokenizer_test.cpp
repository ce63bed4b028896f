// The tokenizer embedded in llama.cpp-made GGUF files against the Hugging Face tokenizer.json the
// converter read (tests/data/fixtures/gguf/src/*): same ids for text whose pre-tokenization the
// GGUF's preset and the source's plain ByteLevel regex agree on, and the same special tokens.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "loader/gguf.h"
#include "loader/gguf_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace ds {
namespace {

std::string Data(const std::string& rel) { return std::string(DS_TEST_DATA_DIR) + "/fixtures/gguf/" + rel; }

std::unique_ptr<Tokenizer> FromGguf(const std::string& file) {
  auto g = GgufFile::Open(Data(file));
  EXPECT_TRUE(g.ok()) << g.status();
  auto spec = TokenizerSpecFromGguf(**g);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto tok = Tokenizer::FromSpec(std::move(spec).value());
  EXPECT_TRUE(tok.ok()) << tok.status();
  return std::move(tok).value();
}

class GgufTokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufTokenizer, MatchesSourceTokenizerJson) {
  auto gguf = FromGguf(GetParam());
  auto hf = Tokenizer::Load(Data("src/tiny-v3-k"));
  ASSERT_TRUE(hf.ok()) << hf.status();
  EXPECT_GE(gguf->vocab_size(), (*hf)->vocab_size());  // the converter pads to the model's vocab
  EXPECT_EQ(gguf->bos_id(), (*hf)->bos_id());
  EXPECT_EQ(gguf->eos_id(), (*hf)->eos_id());
  for (const std::string text : {"Hello world, this is a test.", "the quick brown fox jumps over the lazy dog",
                                 "<｜User｜>What is it?<｜Assistant｜><think>\nhmm</think> ok",
                                 "  leading spaces and\ttabs\nnew lines"}) {
    for (bool special : {false, true}) {
      auto a = gguf->Encode(text, special);
      auto b = (*hf)->Encode(text, special);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(*a, *b) << GetParam() << ": '" << text << "' add_special=" << special;
      EXPECT_EQ(gguf->Decode(*a, false), (*hf)->Decode(*b, false));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GgufTokenizer,
                         ::testing::Values("tiny-v3-q8_0/tiny-v3-q8_0.gguf", "tiny-qwen2-f16/tiny-qwen2-f16.gguf",
                                           "tiny-llama-q8_0/tiny-llama-q8_0.gguf"));

// DeepSeek-V2 files carry tokenizer.ggml.pre = "deepseek-llm". tiny-v2-bf16's tokens and merges
// are those of src/tiny-v3-k/tokenizer.json (checked below), so for text on which the deepseek-llm
// Splits and that file's GPT-2 ByteLevel regex cut the same pieces, the ids must agree.
TEST(GgufTokenizerDeepSeekLlm, LoadsAndMatchesSourceWherePiecesAgree) {
  const std::string path = Data("tiny-v2-bf16/tiny-v2-bf16.gguf");
  auto tok = LoadTokenizerFromAnyFile(path);  // what `deepseek run/tokenize` use for a .gguf
  ASSERT_TRUE(tok.ok()) << tok.status();
  auto hf = Tokenizer::Load(Data("src/tiny-v3-k"));
  ASSERT_TRUE(hf.ok()) << hf.status();
  ASSERT_GE((*tok)->vocab_size(), (*hf)->vocab_size());
  for (int32_t id = 0; id < (*hf)->vocab_size(); ++id) {
    ASSERT_EQ((*tok)->Decode(std::vector<int32_t>{id}), (*hf)->Decode(std::vector<int32_t>{id})) << id;
  }
  EXPECT_EQ((*tok)->bos_id(), (*hf)->bos_id());
  EXPECT_EQ((*tok)->eos_id(), (*hf)->eos_id());
  // Pieces agree: words with one leading space, lone punctuation, "\n" before a word.
  for (const std::string text : {"Hello world, this is a test.", "the quick brown fox jumps over the lazy dog",
                                 "<｜User｜>What is it?<｜Assistant｜><think>\nhmm</think> ok"}) {
    auto a = (*tok)->Encode(text, false);
    auto b = (*hf)->Encode(text, false);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << "'" << text << "'";
  }
  // Pieces differ: " 123" is " " | "1" | "2" | "3" for deepseek-llm (4 single-byte pieces, so 4
  // ids), but one GPT-2 piece that merges into "Ġ1" "2" "3".
  auto a = (*tok)->Encode(" 123", false);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 4u);
}

TEST(GgufTokenizerDeepSeekLlm, RoundTrips) {
  auto tok = LoadTokenizerFromAnyFile(Data("tiny-v2-bf16/tiny-v2-bf16.gguf"));
  ASSERT_TRUE(tok.ok()) << tok.status();
  for (const std::string text :
       {"Hello, world!", "DeepSeek-V2 has 236B parameters (21B active).", "深度求索的模型，你好！", "价格是 42.50 元。",
        "  tabs\tand\nnew lines\r\n", "x = [1, 2, 3]; y := {\"k\": 'v'}", "café Привет ώ 안녕 😀  ", "3.14159 2026-11-29"}) {
    auto ids = (*tok)->Encode(text, true);
    ASSERT_TRUE(ids.ok()) << ids.status();
    ASSERT_FALSE(ids->empty());
    EXPECT_EQ(ids->front(), *(*tok)->bos_id()) << "add_bos_token is true in the file";
    EXPECT_EQ((*tok)->Decode(*ids, true), text);
  }
}

}  // namespace
}  // namespace ds
