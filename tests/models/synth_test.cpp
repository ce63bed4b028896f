// `deepseek synth`'s library side: random checkpoints at a config's shape load and run for every
// architecture, in bf16 and FP8, sharded or not; FP8 encoding against the e4m3 bit layout.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "common/float_convert.h"
#include "common/json_util.h"
#include "models/architectures.h"
#include "models/synthetic_checkpoint.h"
#include "../loader/test_safetensors_writer.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using testutil::TempDir;

std::string Fixture(const std::string& name) { return std::string(DS_TEST_DATA_DIR) + "/fixtures/" + name; }

const std::vector<int32_t> kTokens = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38};

std::vector<float> RunLogits(const std::string& dir) {
  ModelLoadOptions o;
  o.max_context = 16;
  auto model = LoadCausalLm(dir, o);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  auto seq = (*model)->NewSequence().value();
  std::vector<float> logits;
  EXPECT_TRUE((*model)->Forward(*seq, kTokens, true, logits).ok());
  EXPECT_EQ(logits.size(), kTokens.size() * (*model)->vocab_size());
  return logits;
}

struct Moments {
  double mean = 0, std = 0;
  bool finite = true;
};
Moments Stats(const std::vector<float>& v) {
  Moments m;
  for (float x : v) m.finite &= std::isfinite(x), m.mean += x;
  m.mean /= std::max<size_t>(v.size(), 1);
  for (float x : v) m.std += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(m.std / std::max<size_t>(v.size(), 1));
  return m;
}

TEST(F32ToF8E4M3, EveryFiniteCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;  // NaN
    EXPECT_EQ(F32ToF8E4M3(F8E4M3ToF32(static_cast<uint8_t>(c))), c) << "code " << c;
  }
}

TEST(F32ToF8E4M3, RoundsToNearestEvenAndSaturates) {
  // 1.0 = 0 0111 000 (0x38), 1.125 = 0x39, 1.25 = 0x3a: halfway cases go to the even mantissa.
  EXPECT_EQ(F32ToF8E4M3(1.0625f), 0x38);
  EXPECT_EQ(F32ToF8E4M3(1.1875f), 0x3a);
  EXPECT_EQ(F32ToF8E4M3(1.07f), 0x39);
  // Smallest subnormal 2^-9 = 0x01; half of it rounds to even (zero).
  EXPECT_EQ(F32ToF8E4M3(std::ldexp(1.0f, -9)), 0x01);
  EXPECT_EQ(F32ToF8E4M3(std::ldexp(1.0f, -10)), 0x00);
  EXPECT_EQ(F32ToF8E4M3(1000.0f), 0x7e);  // 448 = 0 1111 110
  EXPECT_EQ(F32ToF8E4M3(-1000.0f), 0xfe);
  EXPECT_EQ(F32ToF8E4M3(-2.0f), 0xc0);    // 1 1000 000
}

struct SynthCase {
  std::string fixture;
  bool fp8;
};

class SynthModels : public ::testing::TestWithParam<SynthCase> {};

TEST_P(SynthModels, LoadsAndRunsWithSaneLogits) {
  TempDir dir;
  SynthOptions o;
  o.config_path = Fixture(GetParam().fixture) + "/config.json";
  o.out_dir = dir / "model";
  o.layers = 2;
  o.fp8 = GetParam().fp8;
  o.seed = 7;
  auto summary = WriteSyntheticCheckpoint(o);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->files, 1);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(dir / "model/model.safetensors")) > summary->bytes, true);
  Json config = ReadJsonFile(dir / "model/config.json").value();
  EXPECT_EQ(config["num_hidden_layers"], 2);
  EXPECT_EQ(config.contains("quantization_config"), GetParam().fp8);
  const std::vector<float> logits = RunLogits(o.out_dir);
  const Moments m = Stats(logits);
  EXPECT_TRUE(m.finite);
  std::printf("%s %s: logits mean %.3f std %.3f\n", GetParam().fixture.c_str(), o.fp8 ? "fp8" : "bf16", m.mean, m.std);
  EXPECT_GT(m.std, 0.1);  // activations neither vanish...
  EXPECT_LT(m.std, 10.0);  // ...nor blow up
}

INSTANTIATE_TEST_SUITE_P(Architectures, SynthModels,
                         ::testing::Values(SynthCase{"tiny-v2", false}, SynthCase{"tiny-v3", false},
                                           SynthCase{"tiny-qwen2", false}, SynthCase{"tiny-llama", false},
                                           SynthCase{"tiny-v2", true}, SynthCase{"tiny-v3", true},
                                           SynthCase{"tiny-llama", true}),
                         [](const auto& info) {
                           std::string n = info.param.fixture + (info.param.fp8 ? "_fp8" : "_bf16");
                           for (char& c : n) if (c == '-') c = '_';
                           return n;
                         });

// FP8 quantizes the same numbers BF16 rounds (same seed), so the two models agree up to FP8's
// 3-bit mantissa error (~4% rms per weight); a wrong scale convention (dividing by scale_inv) would
// not. A dense model, so no MoE routing flip amplifies the difference.
TEST(Synth, Fp8AndBf16OfOneSeedAgree) {
  TempDir dir;
  SynthOptions o;
  o.config_path = Fixture("tiny-llama") + "/config.json";
  o.layers = 2;
  o.seed = 11;
  o.out_dir = dir / "bf16";
  ASSERT_TRUE(WriteSyntheticCheckpoint(o).ok());
  o.fp8 = true;
  o.out_dir = dir / "fp8";
  ASSERT_TRUE(WriteSyntheticCheckpoint(o).ok());
  const std::vector<float> a = RunLogits(dir / "bf16"), b = RunLogits(dir / "fp8");
  ASSERT_EQ(a.size(), b.size());
  double err = 0;
  for (size_t i = 0; i < a.size(); ++i) err += (a[i] - b[i]) * (a[i] - b[i]);
  err = std::sqrt(err / a.size());
  const double scale = Stats(a).std;
  std::printf("fp8 vs bf16: rms diff %.4f, logit std %.4f\n", err, scale);
  EXPECT_LT(err, 0.1 * scale);
}

TEST(Synth, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir dir;
  SynthOptions o;
  o.config_path = Fixture("tiny-qwen2");  // a folder works too
  o.layers = 1;
  o.seed = 5;
  o.out_dir = dir / "a";
  ASSERT_TRUE(WriteSyntheticCheckpoint(o).ok());
  o.out_dir = dir / "b";
  ASSERT_TRUE(WriteSyntheticCheckpoint(o).ok());
  o.seed = 6;
  o.out_dir = dir / "c";
  ASSERT_TRUE(WriteSyntheticCheckpoint(o).ok());
  const std::string a = testutil::ReadFile(dir / "a/model.safetensors");
  EXPECT_EQ(a, testutil::ReadFile(dir / "b/model.safetensors"));
  EXPECT_NE(a, testutil::ReadFile(dir / "c/model.safetensors"));
}

TEST(Synth, ShardedFolderLoadsLikeOneFile) {
  TempDir dir;
  SynthOptions o;
  o.config_path = Fixture("tiny-llama") + "/config.json";
  o.seed = 3;
  o.out_dir = dir / "one";
  auto one = WriteSyntheticCheckpoint(o);
  ASSERT_TRUE(one.ok()) << one.status();
  o.out_dir = dir / "sharded";
  o.shard_bytes = 300000;
  auto sharded = WriteSyntheticCheckpoint(o);
  ASSERT_TRUE(sharded.ok()) << sharded.status();
  EXPECT_GT(sharded->files, 2);
  EXPECT_EQ(sharded->bytes, one->bytes);
  EXPECT_TRUE(fs::exists(dir / "sharded/model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(dir / "sharded/model.safetensors"));
  EXPECT_EQ(RunLogits(dir / "one"), RunLogits(dir / "sharded"));
  // Rewriting a folder unsharded removes the old shards, so one checkpoint remains.
  o.shard_bytes = int64_t{1} << 30;
  ASSERT_TRUE(WriteSyntheticCheckpoint(o).ok());
  EXPECT_FALSE(fs::exists(dir / "sharded/model.safetensors.index.json"));
  EXPECT_EQ(RunLogits(dir / "one"), RunLogits(dir / "sharded"));
}

TEST(Synth, BadInputsAreClearErrors) {
  TempDir dir;
  SynthOptions o;
  o.out_dir = dir / "out";
  o.config_path = dir / "missing.json";
  auto st = WriteSyntheticCheckpoint(o).status();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("missing.json"), std::string::npos) << st;
  testutil::WriteFile(dir / "bert.json", R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 8,
                                             "num_hidden_layers": 1, "num_attention_heads": 2})");
  o.config_path = dir / "bert.json";
  st = WriteSyntheticCheckpoint(o).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented) << st;
  EXPECT_NE(std::string(st.message()).find("bert"), std::string::npos) << st;
  testutil::WriteFile(dir / "bad.json", R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 8,
                                            "num_hidden_layers": 1, "num_attention_heads": 3, "intermediate_size": 4})");
  o.config_path = dir / "bad.json";
  EXPECT_FALSE(WriteSyntheticCheckpoint(o).ok());
}

}  // namespace
}  // namespace ds
