// Malformed or unsupported tokenizer files give clear errors (never a crash), bad text gives an
// error, and the HF options the shipped files do not use (added-token flags, TemplateProcessing,
// ByteLevel with its own regex, tokenizer_config.json variants) behave as HF documents them.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/json_util.h"
#include "fixture_util.h"
#include "tokenizer/hf_json_loader.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace ds {
namespace {

using Ids = std::vector<int32_t>;

// A small byte-level BPE: byte b is id b, then "he" (256), "hel" (257), "Ġw" (258); merges are
// given in both HF spellings ("a b" and ["a", "b"]).
Json MiniTokenizer() {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[utf8::BytesToSymbols(std::string(1, char(b)))] = b;
  vocab["he"] = 256;
  vocab["hel"] = 257;
  vocab["Ġw"] = 258;
  Json j;
  j["model"] = {{"type", "BPE"},
                {"vocab", vocab},
                {"merges", {"h e", Json::array({"he", "l"}), "Ġ w"}}};
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  j["decoder"] = {{"type", "ByteLevel"}};
  j["added_tokens"] = Json::array();
  return j;
}

void AddToken(Json* j, int id, const std::string& content, bool special, bool lstrip = false,
              bool rstrip = false, bool single_word = false) {
  (*j)["added_tokens"].push_back({{"id", id}, {"content", content}, {"special", special},
                                  {"lstrip", lstrip}, {"rstrip", rstrip},
                                  {"single_word", single_word}, {"normalized", false}});
}

StatusOr<std::unique_ptr<Tokenizer>> Build(const std::string& json, const std::string& config = "") {
  DS_ASSIGN_OR_RETURN(TokenizerSpec spec, ParseHfTokenizerSpec(json, config, "mini.json"));
  return Tokenizer::FromSpec(std::move(spec));
}
StatusOr<std::unique_ptr<Tokenizer>> Build(const Json& j, const Json& config = nullptr) {
  return Build(j.dump(), config.is_null() ? std::string() : config.dump());
}

void ExpectError(const StatusOr<std::unique_ptr<Tokenizer>>& t, absl::StatusCode code,
                 const std::string& fragment) {
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), code) << t.status();
  EXPECT_NE(std::string(t.status().message()).find(fragment), std::string::npos) << t.status();
}

TEST(TokenizerLoad, MiniTokenizerEncodesByMergeRank) {
  auto t = Build(MiniTokenizer());
  ASSERT_TRUE(t.ok()) << t.status();
  // GPT-2 pieces "hello", " world"; merges h+e, he+l, Ġ+w.
  EXPECT_EQ(*(*t)->Encode("hello world"), (Ids{257, 'l', 'o', 258, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ((*t)->Decode(Ids{257, 258}), "hel w");
  EXPECT_EQ(*(*t)->Encode(""), Ids{});
}

TEST(TokenizerLoad, BadJson) {
  ExpectError(Build(std::string("{\"model\": {\"type\": ")), absl::StatusCode::kDataLoss,
              "invalid JSON");
  ExpectError(Build(std::string("[1, 2]")), absl::StatusCode::kDataLoss, "expected an object");
  ExpectError(Build(MiniTokenizer(), Json("not json {")), absl::StatusCode::kDataLoss,
              "expected an object");
  ExpectError(Build(MiniTokenizer().dump(), "{\"bos_token\": "), absl::StatusCode::kDataLoss,
              "tokenizer_config.json");
}

TEST(TokenizerLoad, TruncatedFileOnDisk) {
  std::ifstream in(testing::TokenizerDir("deepseek-v3") + "/tokenizer.json", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(text.size(), 1000000u);
  const auto dir = std::filesystem::temp_directory_path() / "ds_tokenizer_truncated";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json", std::ios::binary) << text.substr(0, text.size() / 2);
  auto t = Tokenizer::Load(dir.string());
  std::filesystem::remove_all(dir);
  ExpectError(t, absl::StatusCode::kDataLoss, "tokenizer.json: invalid JSON");
}

TEST(TokenizerLoad, MissingFile) {
  ExpectError(Tokenizer::Load("/nonexistent/dir/tokenizer.json"), absl::StatusCode::kNotFound,
              "/nonexistent/dir/tokenizer.json");
}

TEST(TokenizerLoad, MissingModel) {
  Json j = MiniTokenizer();
  j.erase("model");
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "model: missing");
  j = MiniTokenizer();
  j["model"].erase("merges");
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "model.merges: missing");
  j = MiniTokenizer();
  j["model"]["vocab"] = Json::array();
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "model.vocab");
}

TEST(TokenizerLoad, UnsupportedModelAndStages) {
  Json j = MiniTokenizer();
  j["model"]["type"] = "Unigram";
  ExpectError(Build(j), absl::StatusCode::kUnimplemented, "model.type 'Unigram'");
  j = MiniTokenizer();
  j["model"]["byte_fallback"] = true;
  ExpectError(Build(j), absl::StatusCode::kUnimplemented, "byte_fallback");
  j = MiniTokenizer();
  j["normalizer"] = {{"type", "Lowercase"}};
  ExpectError(Build(j), absl::StatusCode::kUnimplemented, "normalizer 'Lowercase'");
  j = MiniTokenizer();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  ExpectError(Build(j), absl::StatusCode::kUnimplemented, "pre-tokenizer 'Whitespace'");
  j = MiniTokenizer();
  j["decoder"] = {{"type", "Metaspace"}};
  ExpectError(Build(j), absl::StatusCode::kUnimplemented, "decoder 'Metaspace'");
}

TEST(TokenizerLoad, MergeReferringToUnknownToken) {
  Json j = MiniTokenizer();
  j["model"]["merges"].push_back("x yz");
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "merge 3 ('x yz') refers to a token not in the vocabulary: yz");
  j = MiniTokenizer();
  j["model"]["merges"].push_back("x y");  // both parts exist, "xy" does not
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "their concatenation");
  j = MiniTokenizer();
  j["model"]["merges"].push_back("xyz");
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "model.merges[3]");
  j = MiniTokenizer();
  j["model"]["merges"].push_back(42);
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "model.merges[3]");
}

TEST(TokenizerLoad, BadVocabulary) {
  Json j = MiniTokenizer();
  j["model"]["vocab"].erase(utf8::BytesToSymbols("\n"));
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "byte 10");
  j = MiniTokenizer();
  j["model"]["vocab"]["x1"] = -5;
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "out of range");
  j = MiniTokenizer();
  j["model"]["vocab"]["x1"] = "7";
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "expected an integer");
  j = MiniTokenizer();
  j["model"]["vocab"]["x1"] = 256;
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "id 256 given to both");
  j = MiniTokenizer();
  j["added_tokens"].push_back({{"id", 300}});
  ExpectError(Build(j), absl::StatusCode::kDataLoss, "added_tokens[0]");
  j = MiniTokenizer();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}},
                          {{"type", "ByteLevel"}}}}};
  ExpectError(Build(j), absl::StatusCode::kInvalidArgument, "cannot compile regex '(unclosed'");
}

TEST(TokenizerEncode, InvalidUtf8IsAnError) {
  const Tokenizer& tok = testing::Shared("deepseek-v3");
  for (const std::string& bad : {std::string("ab\xff"), std::string("\xe4\xbd"),
                                std::string("x\xc0\xaf"), std::string("\xed\xa0\x80")}) {
    auto ids = tok.Encode(bad);
    ASSERT_FALSE(ids.ok());
    EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(ids.status().message()).find("not valid UTF-8"), std::string::npos);
    EXPECT_FALSE(tok.PreTokenize(bad).ok());
  }
  auto ids = tok.Encode("ab\xff");
  EXPECT_NE(std::string(ids.status().message()).find("byte offset 2"), std::string::npos);
}

// Long runs stress the regex engine's backtracking stack; the text must survive a round trip.
TEST(TokenizerEncode, LongRuns) {
  const Tokenizer& tok = testing::Shared("deepseek-v3");
  for (const std::string& text : {std::string(200000, ' '), std::string(200000, 'a'),
                                 std::string(100000, '\n') + "x", std::string(50000, '!')}) {
    auto ids = tok.Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(tok.Decode(*ids), text);
  }
}

TEST(AddedTokens, LstripRstripSingleWordAndSkip) {
  Json j = MiniTokenizer();
  AddToken(&j, 300, "<L>", true, /*lstrip=*/true);
  AddToken(&j, 301, "<R>", false, false, /*rstrip=*/true);
  AddToken(&j, 302, "hello", false, false, false, /*single_word=*/true);
  AddToken(&j, 303, "<P>", false);
  auto t = Build(j);
  ASSERT_TRUE(t.ok()) << t.status();
  const Tokenizer& tok = **t;
  EXPECT_EQ(*tok.Encode("a  <L>b"), (Ids{'a', 300, 'b'}));  // whitespace before <L> is absorbed
  EXPECT_EQ(*tok.Encode("a<R>  b"), (Ids{'a', 301, 'b'}));  // ... and after <R>
  EXPECT_EQ(*tok.Encode("a  <P>b"), (Ids{'a', ' ', ' ', 303, 'b'}));  // no lstrip: spaces stay
  Ids expected = *tok.Encode("say ");
  expected.push_back(302);
  const Ids tail = *tok.Encode(" there");
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(*tok.Encode("say hello there"), expected);
  const Ids inside = *tok.Encode("sayhello");  // inside a word: not the added token
  EXPECT_EQ(std::count(inside.begin(), inside.end(), 302), 0);
  EXPECT_EQ(tok.Decode(inside), "sayhello");
  EXPECT_EQ(tok.Decode(Ids{'a', 300, 303, 'b'}, /*skip_special_tokens=*/true), "a<P>b");
  EXPECT_EQ(tok.Decode(Ids{'a', 300, 303, 'b'}), "a<L><P>b");
  EXPECT_TRUE(tok.IsSpecial(300));
  EXPECT_FALSE(tok.IsSpecial(303));
  EXPECT_FALSE(tok.IsSpecial(256));
  EXPECT_EQ(tok.TokenToId("<P>"), 303);
  EXPECT_EQ(tok.TokenToId("Ġw"), 258);
  EXPECT_EQ(tok.TokenToId("nope"), std::nullopt);
  EXPECT_EQ(tok.vocab_size(), 304);
}

// The longest added token wins at the leftmost position.
TEST(AddedTokens, LeftmostLongest) {
  Json j = MiniTokenizer();
  AddToken(&j, 300, "<a>", true);
  AddToken(&j, 301, "<a><b>", true);
  AddToken(&j, 302, "b>", true);
  auto t = Build(j);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*(*t)->Encode("<a><b>"), (Ids{301}));
  EXPECT_EQ(*(*t)->Encode("<a><c>"), (Ids{300, '<', 'c', '>'}));
  EXPECT_EQ(*(*t)->Encode("<b>"), (Ids{'<', 302}));
}

Json TemplateProcessor() {
  return {{"type", "TemplateProcessing"},
          {"single",
           {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
            {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
            {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
          {"pair", Json::array()},
          {"special_tokens",
           {{"<s>", {{"id", "<s>"}, {"ids", {300}}, {"tokens", {"<s>"}}}},
            {"</s>", {{"id", "</s>"}, {"ids", {301}}, {"tokens", {"</s>"}}}}}}};
}

TEST(PostProcessor, TemplateProcessingAndConfigFlags) {
  Json j = MiniTokenizer();
  AddToken(&j, 300, "<s>", true);
  AddToken(&j, 301, "</s>", true);
  j["post_processor"] = TemplateProcessor();
  auto t = Build(j);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*(*t)->Encode("he", true), (Ids{300, 256, 301}));
  EXPECT_EQ(*(*t)->Encode("he", false), (Ids{256}));
  // A generic PreTrainedTokenizerFast keeps the template; Llama classes follow the flags.
  Json config = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"add_bos_token", false},
                 {"bos_token", "<s>"}};
  t = Build(j, config);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*(*t)->Encode("he", true), (Ids{300, 256, 301}));
  config = {{"tokenizer_class", "LlamaTokenizerFast"}, {"add_bos_token", true},
            {"add_eos_token", false}, {"bos_token", {{"__type", "AddedToken"}, {"content", "<s>"}}},
            {"eos_token", "</s>"}};
  t = Build(j, config);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*(*t)->Encode("he", true), (Ids{300, 256}));
  EXPECT_EQ((*t)->bos_id(), 300);
  EXPECT_EQ((*t)->eos_id(), 301);
  EXPECT_EQ((*t)->bos_token(), "<s>");
}

TEST(Config, ChatTemplateList) {
  Json config = {{"chat_template",
                  {{{"name", "tool_use"}, {"template", "T"}}, {{"name", "default"}, {"template", "D"}}}}};
  auto t = Build(MiniTokenizer(), config);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->chat_template(), "D");
  config = {{"chat_template", 5}};
  ExpectError(Build(MiniTokenizer(), config), absl::StatusCode::kDataLoss, "chat_template");
}

// ByteLevel with add_prefix_space puts a space before each piece that lacks one.
TEST(PreTokenizer, ByteLevelPrefixSpace) {
  Json j = MiniTokenizer();
  j["pre_tokenizer"]["add_prefix_space"] = true;
  auto t = Build(j);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*(*t)->PreTokenize("hello world"), (std::vector<std::string>{" hello", " world"}));
  EXPECT_EQ(*(*t)->Encode("world"), (Ids{258, 'o', 'r', 'l', 'd'}));
}

// Oniguruma's \s is Unicode White_Space: U+0085 yes; U+180E and U+FEFF no (PCRE2 alone would
// match U+180E).
TEST(Regex, WhitespaceIsUnicodeWhiteSpace) {
  auto re = Regex::Compile("\\s+", false);
  ASSERT_TRUE(re.ok()) << re.status();
  RegexScratch scratch;
  size_t b = 0, e = 0;
  EXPECT_TRUE(*(*re)->Find("\xC2\x85", 0, &b, &e, &scratch));
  EXPECT_FALSE(*(*re)->Find("\xE1\xA0\x8E", 0, &b, &e, &scratch));
  EXPECT_FALSE(*(*re)->Find("\xEF\xBB\xBF", 0, &b, &e, &scratch));
  auto neg = Regex::Compile("[^\\s]+", false);
  ASSERT_TRUE(neg.ok());
  EXPECT_TRUE(*(*neg)->Find("\xE1\xA0\x8E", 0, &b, &e, &scratch));
  EXPECT_EQ(RewriteWhitespaceClasses("[\\]\\s]"), "[\\]\\x{9}-\\x{d}\\x{20}\\x{85}\\x{a0}\\x{1680}"
                                                  "\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}"
                                                  "\\x{205f}\\x{3000}]");
}

// The built-in pre-tokenizers (for GGUF files, which name theirs) equal the tokenizer.json ones.
TEST(PreTokenizer, PresetsMatchShippedFiles) {
  const std::pair<std::string, std::string> kPairs[] = {
      {"deepseek-v3", "deepseek-v3"}, {"qwen2.5", "qwen2"}, {"llama3", "llama-bpe"}};
  for (const auto& [dir, preset] : kPairs) {
    auto spec = LoadHfTokenizerSpec(testing::TokenizerDir(dir));
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto steps = PresetPreTokenizer(preset);
    ASSERT_TRUE(steps.ok()) << steps.status();
    ASSERT_EQ(steps->size(), spec->pre_tokenizer.size()) << dir;
    for (size_t i = 0; i < steps->size(); ++i) {
      EXPECT_EQ((*steps)[i].kind, spec->pre_tokenizer[i].kind) << dir << " step " << i;
      EXPECT_EQ((*steps)[i].pattern, spec->pre_tokenizer[i].pattern) << dir << " step " << i;
      EXPECT_EQ((*steps)[i].add_prefix_space, spec->pre_tokenizer[i].add_prefix_space);
      EXPECT_EQ((*steps)[i].use_regex, spec->pre_tokenizer[i].use_regex);
    }
  }
  EXPECT_EQ(PresetPreTokenizer("gpt-17").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ds
