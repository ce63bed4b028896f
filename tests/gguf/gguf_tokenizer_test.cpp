// The tokenizer embedded in llama.cpp-made GGUF files against the Hugging Face tokenizer.json the
// converter read (tests/data/fixtures/gguf/src/*): same ids for text whose pre-tokenization the
// GGUF's preset and the source's plain ByteLevel regex agree on, and the same special tokens.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ds
