// The generation loop on a real model (tiny-v3, DeepSeek's reference greedy ids as the oracle)
// with the real DeepSeek-V3 tokenizer for detokenization.
#include <gtest/gtest.h>

#include <atomic>

#include "generation/generator.h"
#include "loader/safetensors.h"
#include "models/architectures.h"

namespace ds {
namespace {

const std::string kData = DS_TEST_DATA_DIR;

std::vector<int32_t> ReadI32(const std::string& file, const std::string& name) {
  auto f = SafetensorsFile::Open(file).value();
  Tensor t = f->Get(name).value();
  return std::vector<int32_t>(t.data<int32_t>(), t.data<int32_t>() + t.numel());
}

class GenerateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ModelLoadOptions o;
    o.max_context = 48;
    lm_ = LoadCausalLm(kData + "/fixtures/tiny-v3", o).value().release();
    tok_ = Tokenizer::Load(kData + "/tokenizers/deepseek-v3").value().release();
  }
  static void TearDownTestSuite() {
    delete lm_;
    delete tok_;
  }
  GenerateRequest Greedy(int64_t n) {
    GenerateRequest r;
    r.prompt = ReadI32(kData + "/fixtures/tiny-v3/expected.safetensors", "tokens");
    r.sampling.temperature = 0;
    r.max_tokens = n;
    r.eos_ids = {1};
    return r;
  }
  static CausalLm* lm_;
  static Tokenizer* tok_;
};
CausalLm* GenerateTest::lm_ = nullptr;
Tokenizer* GenerateTest::tok_ = nullptr;

TEST_F(GenerateTest, GreedyMatchesReferenceContinuation) {
  auto out = Generate(*lm_, *tok_, Greedy(16), nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->tokens, ReadI32(kData + "/fixtures/tiny-v3/expected.safetensors", "greedy"));
  EXPECT_EQ(out->finish, FinishReason::kLength);
}

TEST_F(GenerateTest, TopK1EqualsGreedyAndSeedsReproduce) {
  GenerateRequest r = Greedy(16);
  r.sampling.temperature = 0.8f;
  r.sampling.top_k = 1;
  r.sampling.seed = 7;
  EXPECT_EQ(Generate(*lm_, *tok_, r, nullptr)->tokens, ReadI32(kData + "/fixtures/tiny-v3/expected.safetensors", "greedy"));
  r.sampling.top_k = 0;
  auto a = Generate(*lm_, *tok_, r, nullptr).value().tokens;
  auto b = Generate(*lm_, *tok_, r, nullptr).value().tokens;
  EXPECT_EQ(a, b);
  r.sampling.seed = 8;
  auto c = Generate(*lm_, *tok_, r, nullptr).value().tokens;
  EXPECT_NE(a, c);  // 16 draws at temperature 0.8 over 1000 tokens: equal only by accident
}

TEST_F(GenerateTest, StreamedPiecesConcatenateToTheDecodedText) {
  std::string streamed;
  auto out = Generate(*lm_, *tok_, Greedy(16), [&](TextChannel ch, std::string_view p) {
    streamed += p;
    return true;
  });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(streamed, out->text + out->reasoning);
  EXPECT_EQ(out->text, tok_->Decode(out->tokens));
}

TEST_F(GenerateTest, CallbackCancels) {
  int calls = 0;
  auto out = Generate(*lm_, *tok_, Greedy(16), [&](TextChannel, std::string_view) { return ++calls < 2; });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->finish, FinishReason::kCancelled);
  EXPECT_LT(out->tokens.size(), 16u);
}

TEST_F(GenerateTest, CancelFlagFromAnotherThreadStops) {
  std::atomic<bool> cancel{true};
  GenerateRequest r = Greedy(16);
  r.cancel = &cancel;
  auto out = Generate(*lm_, *tok_, r, nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->finish, FinishReason::kCancelled);
  EXPECT_TRUE(out->tokens.empty());
}

TEST_F(GenerateTest, StopStringEndsGenerationAndIsNotEmitted) {
  auto full = Generate(*lm_, *tok_, Greedy(16), nullptr).value();
  ASSERT_GE(full.text.size(), 4u);
  const std::string stop = full.text.substr(full.text.size() / 2, 2);
  GenerateRequest r = Greedy(16);
  r.stop = {stop};
  auto out = Generate(*lm_, *tok_, r, nullptr).value();
  EXPECT_EQ(out.finish, FinishReason::kStop);
  EXPECT_EQ(out.text, full.text.substr(0, full.text.find(stop)));
}

TEST_F(GenerateTest, BadRequestsAreClearErrors) {
  GenerateRequest r = Greedy(4);
  r.max_tokens = 0;
  EXPECT_EQ(Generate(*lm_, *tok_, r, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  r = Greedy(4);
  r.sampling.temperature = -1;
  EXPECT_EQ(Generate(*lm_, *tok_, r, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  r = Greedy(4);
  r.prompt.assign(100, 5);  // longer than the 48-position context
  auto s = Generate(*lm_, *tok_, r, nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(std::string(s.message()).find("context"), std::string::npos);
  r = Greedy(4);
  r.prompt = {5, 100000};
  EXPECT_EQ(Generate(*lm_, *tok_, r, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ds
