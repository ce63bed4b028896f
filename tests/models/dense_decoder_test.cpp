// Qwen2 / Llama (dense GQA decoder) beyond the fixture logits: Llama-3 RoPE frequencies against the
// fixture README, tied embeddings honored, bf16 KV cache, and clear errors for broken inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

#include "loader/safetensors.h"
#include "models/architectures.h"
#include "models/dense_decoder.h"
#include "models/rope.h"
#include "../loader/test_safetensors_writer.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using testutil::TempDir;

std::string Fixture(const std::string& name) { return std::string(DS_TEST_DATA_DIR) + "/fixtures/" + name; }

ModelLoadOptions SmallContext() {
  ModelLoadOptions o;
  o.max_context = 32;
  return o;
}

std::vector<float> Logits(const CausalLm& model, const std::vector<int32_t>& tokens) {
  auto seq = model.NewSequence().value();
  std::vector<float> out;
  EXPECT_TRUE(model.Forward(*seq, tokens, true, out).ok());
  return out;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

const std::vector<int32_t> kTokens = {5, 17, 300, 2, 999, 42, 7};

// The tiny-llama README: "llama3 frequency scaling changes 8 of the 16 RoPE frequencies: divided by
// factor 8.0 for 7, smoothly interpolated for 1 (divisors 2.695), unchanged for 8".
TEST(DenseDecoderRope, Llama3ScalingMatchesFixtureReadme) {
  ModelConfig c = ReadHfConfig(Fixture("tiny-llama")).value();
  ASSERT_EQ(c.rope_scaling.type, "llama3");
  const std::vector<float> scaled = RopeInverseFrequencies(c, 32);
  ModelConfig plain = c;
  plain.rope_scaling = RopeScaling{};
  const std::vector<float> base = RopeInverseFrequencies(plain, 32);
  ASSERT_EQ(scaled.size(), 16u);
  int unchanged = 0, by_factor = 0, interpolated = 0;
  for (size_t i = 0; i < 16; ++i) {
    const double divisor = base[i] / scaled[i];
    if (std::fabs(divisor - 1.0) < 1e-6) {
      ++unchanged;
    } else if (std::fabs(divisor - 8.0) < 1e-5) {
      ++by_factor;
    } else {
      ++interpolated;
      EXPECT_NEAR(divisor, 2.695, 5e-4) << "frequency " << i;
    }
  }
  EXPECT_EQ(unchanged, 8);
  EXPECT_EQ(by_factor, 7);
  EXPECT_EQ(interpolated, 1);
}

TEST(DenseDecoderInfo, StatsDescribeTheModel) {
  for (const char* name : {"tiny-qwen2", "tiny-llama"}) {
    auto model = LoadCausalLm(Fixture(name), SmallContext());
    ASSERT_TRUE(model.ok()) << model.status();
    const ModelStats& s = (*model)->stats();
    // 4 layers x 2 (K, V) x 2 KV heads x head_dim 32 x 4 bytes.
    EXPECT_EQ(s.kv_bytes_per_token, 4 * 2 * 2 * 32 * 4) << name;
    auto store = WeightStore::Open(Fixture(name)).value();
    int64_t params = 0;
    for (const std::string& n : store->Names()) {
      int64_t k = 1;
      for (int64_t d : store->Entry(n)->shape) k *= d;
      params += k;
    }
    EXPECT_EQ(s.total_params, params) << name;
    EXPECT_EQ(s.active_params, params - 1000 * 128 + 128) << name;  // one embedding row per token
  }
}

TEST(DenseDecoderKvCache, Bf16CacheStaysClose) {
  auto f32 = LoadCausalLm(Fixture("tiny-qwen2"), SmallContext()).value();
  ModelLoadOptions o = SmallContext();
  o.kv_cache_dtype = KvCacheDType::kBF16;
  auto bf16 = LoadCausalLm(Fixture("tiny-qwen2"), o).value();
  EXPECT_EQ(bf16->stats().kv_bytes_per_token * 2, f32->stats().kv_bytes_per_token);
  const float diff = MaxAbsDiff(Logits(*f32, kTokens), Logits(*bf16, kTokens));
  EXPECT_GT(diff, 0.0f);   // the cache really is rounded
  EXPECT_LT(diff, 0.25f);  // logits have std ~2
}

TEST(DenseDecoderContext, OverflowIsAnError) {
  ModelLoadOptions o;
  o.max_context = 4;
  auto model = LoadCausalLm(Fixture("tiny-llama"), o).value();
  auto seq = model->NewSequence().value();
  std::vector<float> out;
  EXPECT_TRUE(model->Forward(*seq, std::vector<int32_t>{1, 2, 3}, false, out).ok());
  const Status st = model->Forward(*seq, std::vector<int32_t>{4, 5}, false, out);
  EXPECT_EQ(st.code(), absl::StatusCode::kOutOfRange) << st;
}

// A scratch copy of a fixture whose config and weights the test edits.
class EditedFixture : public ::testing::Test {
 protected:
  void Copy(const std::string& name) {
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(Fixture(name) + "/" + f, dir_ / f);
  }
  void EditConfig(const std::function<void(Json&)>& edit) {
    Json j = ReadJsonFile(dir_ / "config.json").value();
    edit(j);
    testutil::WriteFile(dir_ / "config.json", j.dump(2));
  }
  // Rewrites the weights through `edit` (all BF16 in these fixtures); return false drops a tensor.
  void RewriteWeights(const std::function<bool(testutil::StTensor&)>& edit,
                      const std::vector<testutil::StTensor>& extra = {}) {
    std::vector<testutil::StTensor> out;
    {
      auto file = SafetensorsFile::Open(dir_ / "model.safetensors").value();
      for (const auto& [name, e] : file->entries()) {
        Tensor t = file->Get(name).value();
        ASSERT_EQ(e.dtype, DType::kBF16);
        testutil::StTensor st{name, "BF16", e.shape, std::string(static_cast<const char*>(t.raw()), e.end - e.begin)};
        if (edit(st)) out.push_back(std::move(st));
      }
    }
    out.insert(out.end(), extra.begin(), extra.end());
    testutil::WriteFile(dir_ / "model.safetensors", testutil::BuildSafetensors(out));
  }
  StatusOr<std::unique_ptr<CausalLm>> Load() { return LoadCausalLm(dir_.path(), SmallContext()); }
  static void ExpectErrorNaming(const Status& st, std::initializer_list<std::string> parts) {
    ASSERT_FALSE(st.ok()) << "expected an error mentioning " << *parts.begin();
    const std::string msg(st.message());
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
  TempDir dir_;
};

// With tie_word_embeddings and no lm_head.weight the head is the embedding matrix: the logits must
// equal those of an untied copy whose lm_head.weight is that matrix.
TEST_F(EditedFixture, TiedEmbeddingsUseTheEmbeddingMatrix) {
  Copy("tiny-qwen2");
  std::string embed;
  RewriteWeights([&](testutil::StTensor& t) {
    if (t.name == "model.embed_tokens.weight") embed = t.bytes;
    return t.name != "lm_head.weight";
  });
  EditConfig([](Json& j) { j["tie_word_embeddings"] = true; });
  auto tied = Load();
  ASSERT_TRUE(tied.ok()) << tied.status();
  const std::vector<float> tied_logits = Logits(**tied, kTokens);
  // Untied reference: lm_head.weight := embed_tokens.
  RewriteWeights([](testutil::StTensor&) { return true; }, {{"lm_head.weight", "BF16", {1000, 128}, embed}});
  EditConfig([](Json& j) { j["tie_word_embeddings"] = false; });
  auto untied = Load();
  ASSERT_TRUE(untied.ok()) << untied.status();
  EXPECT_EQ(MaxAbsDiff(tied_logits, Logits(**untied, kTokens)), 0.0f);
  // And it differs from the original model's head.
  auto original = LoadCausalLm(Fixture("tiny-qwen2"), SmallContext()).value();
  EXPECT_GT(MaxAbsDiff(tied_logits, Logits(*original, kTokens)), 0.1f);
}

TEST_F(EditedFixture, MissingBiasNamesTheTensor) {
  Copy("tiny-qwen2");
  RewriteWeights([](testutil::StTensor& t) { return t.name != "model.layers.2.self_attn.k_proj.bias"; });
  ExpectErrorNaming(Load().status(), {"model.layers.2.self_attn.k_proj.bias", "[64]"});
}

TEST_F(EditedFixture, WrongKvProjectionShapeNamesTheTensor) {
  Copy("tiny-llama");
  EditConfig([](Json& j) { j["num_key_value_heads"] = 4; });  // k_proj would be [128, 128]
  ExpectErrorNaming(Load().status(), {"model.layers.0.self_attn.k_proj.weight", "[64, 128]", "[128, 128]"});
}

TEST_F(EditedFixture, BadConfigsAreClearErrors) {
  Copy("tiny-llama");
  const std::vector<std::pair<std::function<void(Json&)>, std::string>> cases = {
      {[](Json& j) { j["num_key_value_heads"] = 3; }, "num_key_value_heads"},
      {[](Json& j) { j["num_key_value_heads"] = 0; }, "num_key_value_heads"},
      {[](Json& j) { j["hidden_size"] = -1; }, "hidden_size"},
      {[](Json& j) { j["mlp_bias"] = true; }, "mlp_bias"},
      {[](Json& j) { j["hidden_act"] = "gelu"; }, "hidden_act"},
      {[](Json& j) { j["rope_scaling"]["rope_type"] = "dynamic"; }, "dynamic"},
      {[](Json& j) { j["rope_scaling"]["original_max_position_embeddings"] = 0; }, "llama3"},
      {[](Json& j) { j["use_sliding_window"] = true; }, "use_sliding_window"},
      {[](Json& j) { j["vocab_size"] = int64_t{1} << 40; }, "vocab_size"},
  };
  const Json original = ReadJsonFile(dir_ / "config.json").value();
  for (const auto& [edit, field] : cases) {
    testutil::WriteFile(dir_ / "config.json", original.dump(2));
    EditConfig(edit);
    ExpectErrorNaming(Load().status(), {"config.json", field});
  }
}

TEST(DenseDecoderConfig, ReleasedDistillConfigsValidate) {
  for (const char* name : {"DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Qwen-7B", "DeepSeek-R1-Distill-Llama-8B"}) {
    auto c = ReadHfConfig(std::string(DS_TEST_DATA_DIR) + "/configs/" + name + ".config.json");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(ValidateDenseDecoderConfig(*c).ok()) << name << ": " << ValidateDenseDecoderConfig(*c);
  }
}

}  // namespace
}  // namespace ds
