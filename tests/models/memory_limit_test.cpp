// The per-sequence memory limit (KV cache + scratch): computed from the config before anything is
// allocated, reported at load, enforced at load (a sequence that cannot fit is an error, not an
// out-of-memory kill), and kept during long prefills by chunking, which must not change results.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "models/architectures.h"

namespace ds {
namespace {

constexpr int64_t kContext = 64;

std::string FixturePath(const std::string& name) { return std::string(DS_TEST_DATA_DIR) + "/fixtures/" + name; }

// Each test runs on the MLA/MoE model (tiny-v3, and tiny-v3-fp8 with FP8 block-scaled weights) and on the
// dense GQA decoder (tiny-qwen2).
class MemoryLimit : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<CausalLm> Load(int64_t limit) const;
  std::string fixture() const { return FixturePath(GetParam()); }
};

std::unique_ptr<CausalLm> MemoryLimit::Load(int64_t limit) const {
  ModelLoadOptions o;
  o.threads = 1;  // the limit does not depend on it; one thread keeps the test fast on busy machines
  o.max_context = kContext;
  o.memory_limit_bytes = limit;
  auto lm = LoadCausalLm(fixture(), o);
  EXPECT_TRUE(lm.ok()) << lm.status();
  return lm.ok() ? std::move(lm).value() : nullptr;
}

std::vector<int32_t> Prompt(int n) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 37 + 11) % 1000);
  return ids;
}

TEST(MemoryLimitTinyV3, LoadReportsWeightAndSequenceBytes) {
  ModelLoadOptions o;
  o.threads = 1;
  o.max_context = kContext;
  auto lm = LoadCausalLm(FixturePath("tiny-v3"), o).value();
  const ModelStats& s = lm->stats();
  // tiny-v3: 4 layers x (kv_lora_rank 64 + rope 16) x 4 bytes per position.
  EXPECT_EQ(s.kv_bytes_per_token, 4 * (64 + 16) * 4);
  EXPECT_GT(s.sequence_bytes, s.kv_bytes_per_token * kContext);
  // Weights: the bytes of every tensor in model.safetensors (the file minus its header).
  EXPECT_GT(s.weight_bytes, 5'000'000);
  EXPECT_LT(s.weight_bytes, 5'418'040);
}

TEST_P(MemoryLimit, SequenceThatCannotFitFailsAtLoad) {
  auto full = Load(0);
  ASSERT_TRUE(full);
  ModelLoadOptions o;
  o.max_context = kContext;
  o.memory_limit_bytes = full->stats().sequence_bytes - 1;
  auto lm = LoadCausalLm(fixture(), o);
  ASSERT_FALSE(lm.ok());
  EXPECT_EQ(lm.status().code(), absl::StatusCode::kResourceExhausted);
  const std::string msg(lm.status().message());
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("over the memory limit"), std::string::npos) << msg;
  EXPECT_NE(msg.find("max_context"), std::string::npos) << msg;
  // Lowering max_context is the cure the message names: it fits then.
  o.max_context = kContext / 2;
  EXPECT_TRUE(LoadCausalLm(fixture(), o).ok());
}

// Under a tight limit a long prefill runs in chunks: scratch stays under the limit and the logits
// agree with the unlimited one-shot prefill.
TEST_P(MemoryLimit, LongPrefillIsChunkedUnderTheLimitWithTheSameLogits) {
  auto full = Load(0);
  ASSERT_TRUE(full);
  const std::vector<int32_t> prompt = Prompt(60);
  std::vector<float> want;
  auto seq = full->NewSequence().value();
  ASSERT_TRUE(full->Forward(*seq, prompt, true, want).ok());
  const int64_t unlimited_scratch = seq->scratch_bytes();
  const int64_t kv = full->stats().kv_bytes_per_token * kContext;

  for (int64_t extra : {int64_t{0}, int64_t{40'000}, int64_t{400'000}}) {
    const int64_t limit = full->stats().sequence_bytes + extra;
    auto lm = Load(limit);
    ASSERT_TRUE(lm);
    auto s = lm->NewSequence().value();
    std::vector<float> got;
    ASSERT_TRUE(lm->Forward(*s, prompt, true, got).ok());
    EXPECT_LE(kv + s->scratch_bytes(), limit) << "limit " << limit;
    if (extra == 0) {
      EXPECT_LT(s->scratch_bytes(), unlimited_scratch);
    }
    ASSERT_EQ(got.size(), want.size());
    double max_err = 0, max_ref = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_err = std::max(max_err, static_cast<double>(std::fabs(got[i] - want[i])));
      max_ref = std::max(max_ref, static_cast<double>(std::fabs(want[i])));
    }
    EXPECT_LE(max_err, 1e-4 * max_ref) << "limit " << limit;
    // Decoding continues under the limit too.
    std::vector<float> next;
    ASSERT_TRUE(lm->Forward(*s, std::vector<int32_t>{7}, false, next).ok());
    EXPECT_LE(kv + s->scratch_bytes(), limit);
  }
}

// At the smallest limit every prefill runs token by token; its scratch must fit what was reserved.
TEST_P(MemoryLimit, TokenByTokenPrefillFitsTheSmallestLimit) {
  auto full = Load(0);
  ASSERT_TRUE(full);
  const int64_t limit = full->stats().sequence_bytes;
  auto lm = Load(limit);
  ASSERT_TRUE(lm);
  for (int n : {1, 4, 5, 33, 63}) {
    auto s = lm->NewSequence().value();
    std::vector<float> out;
    ASSERT_TRUE(lm->Forward(*s, Prompt(n), false, out).ok());
    EXPECT_LE(full->stats().kv_bytes_per_token * kContext + s->scratch_bytes(), limit) << n << " tokens";
  }
}

// tiny-v3-fp8: FP8 block-scaled weights, whose decode GEMVs take a work area per kernel thread.
INSTANTIATE_TEST_SUITE_P(Fixtures, MemoryLimit, ::testing::Values("tiny-v3", "tiny-v3-fp8", "tiny-qwen2"), [](const auto& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

}  // namespace
}  // namespace ds
