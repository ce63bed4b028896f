// LoadCausalLm on broken copies of the DeepSeek fixtures: every break must give a clear error
// naming the file and the field or tensor (no crash); plus the real released configs validate,
// the MTP layer of tiny-v3 is tolerated and not counted, and a (printed, not asserted) load time.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "loader/safetensors.h"
#include "models/architectures.h"
#include "models/deepseek.h"
#include "../loader/test_safetensors_writer.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using testutil::TempDir;

std::string Fixture(const std::string& name) { return std::string(DS_TEST_DATA_DIR) + "/fixtures/" + name; }

void ExpectErrorNaming(const Status& st, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(st.ok()) << "expected an error mentioning " << *parts.begin();
  const std::string msg(st.message());
  for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

Status Load(const std::string& dir) {
  ModelLoadOptions o;
  o.max_context = 32;
  return LoadCausalLm(dir, o).status();
}

// A scratch copy of a fixture's config.json and model.safetensors.
class BrokenFixture : public ::testing::Test {
 protected:
  void Copy(const std::string& name) {
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(Fixture(name) + "/" + f, dir_ / f);
  }
  void EditConfig(const std::function<void(Json&)>& edit) {
    Json j = ReadJsonFile(config()).value();
    edit(j);
    testutil::WriteFile(config(), j.dump(2));
  }
  // Rewrites model.safetensors through `edit`, which may drop (return false) or change tensors.
  void RewriteWeights(const std::function<bool(testutil::StTensor&)>& edit) {
    std::vector<testutil::StTensor> out;
    {
      auto file = SafetensorsFile::Open(weights()).value();
      for (const auto& [name, e] : file->entries()) {
        Tensor t = file->Get(name).value();
        testutil::StTensor st{name, SafetensorsName(e.dtype), e.shape,
                              std::string(static_cast<const char*>(t.raw()), e.end - e.begin)};
        if (edit(st)) out.push_back(std::move(st));
      }
    }
    testutil::WriteFile(weights(), testutil::BuildSafetensors(out));
  }
  static std::string SafetensorsName(DType t) {
    switch (t) {
      case DType::kF32: return "F32";
      case DType::kBF16: return "BF16";
      case DType::kF16: return "F16";
      case DType::kF8E4M3: return "F8_E4M3";
      case DType::kI32: return "I32";
      default: ADD_FAILURE() << "unexpected dtype in fixture"; return "?";
    }
  }
  std::string config() const { return dir_ / "config.json"; }
  std::string weights() const { return dir_ / "model.safetensors"; }
  TempDir dir_;
};

TEST_F(BrokenFixture, UnmodifiedCopyLoads) {
  Copy("tiny-v3");
  RewriteWeights([](testutil::StTensor&) { return true; });  // the writer itself round-trips
  EXPECT_TRUE(Load(dir_.path()).ok()) << Load(dir_.path());
}

TEST_F(BrokenFixture, ZeroHeads) {
  Copy("tiny-v3");
  EditConfig([](Json& j) { j["num_attention_heads"] = 0; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "num_attention_heads"});
}

TEST_F(BrokenFixture, MoreExpertsPerTokenThanExperts) {
  Copy("tiny-v3");
  EditConfig([](Json& j) { j["num_experts_per_tok"] = 17; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "num_experts_per_tok", "n_routed_experts"});
}

TEST_F(BrokenFixture, TopkGroupAboveGroups) {
  Copy("tiny-v3");
  EditConfig([](Json& j) { j["topk_group"] = 5; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "topk_group", "n_group"});
}

TEST_F(BrokenFixture, ExpertsNotDivisibleIntoGroups) {
  Copy("tiny-v3");
  EditConfig([](Json& j) { j["n_group"] = 3; j["topk_group"] = 1; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "n_group"});
}

TEST_F(BrokenFixture, UnsupportedRouting) {
  Copy("tiny-v3");
  EditConfig([](Json& j) { j["topk_method"] = "random"; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "topk_method", "random", "noaux_tc"});
  EditConfig([](Json& j) { j["topk_method"] = "noaux_tc"; j["scoring_func"] = "tanh"; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "scoring_func", "tanh", "sigmoid"});
}

TEST_F(BrokenFixture, UnknownModelTypeListsSupported) {
  Copy("tiny-v3");
  EditConfig([](Json& j) { j["model_type"] = "gpt_neox"; });
  const Status st = Load(dir_.path());
  ExpectErrorNaming(st, {config(), "gpt_neox", "deepseek_v2", "deepseek_v3"});
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented);
}

TEST_F(BrokenFixture, StringWhereANumberBelongs) {
  Copy("tiny-v2");
  EditConfig([](Json& j) { j["kv_lora_rank"] = "64"; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "kv_lora_rank"});
}

TEST_F(BrokenFixture, AbsurdSizesAreRejectedBeforeAllocating) {
  // A huge head dimension must not reach the RoPE table allocation (which would abort).
  Copy("tiny-v3");
  EditConfig([](Json& j) { j["qk_rope_head_dim"] = int64_t{1} << 40; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "qk_rope_head_dim"});
  EditConfig([](Json& j) { j["qk_rope_head_dim"] = 16; j["num_attention_heads"] = int64_t{1} << 40; });
  ExpectErrorNaming(Load(dir_.path()), {config(), "num_attention_heads"});
}

TEST_F(BrokenFixture, MissingTensor) {
  Copy("tiny-v3");
  const std::string gone = "model.layers.2.mlp.experts.5.up_proj.weight";
  RewriteWeights([&](testutil::StTensor& t) { return t.name != gone; });
  ExpectErrorNaming(Load(dir_.path()), {gone, dir_.path()});
}

TEST_F(BrokenFixture, MissingFp8ScaleTensor) {
  Copy("tiny-v3-fp8");
  const std::string gone = "model.layers.0.self_attn.o_proj.weight_scale_inv";
  RewriteWeights([&](testutil::StTensor& t) { return t.name != gone; });
  ExpectErrorNaming(Load(dir_.path()), {gone, dir_.path()});
}

// An e4m3 NaN code (0x7F or 0xFF) in an FP8 weight is refused at load, naming the tensor and where,
// with the weights read into memory or mapped (the vector kernels would read it as +-480).
TEST_F(BrokenFixture, Fp8NanCode) {
  const std::string bad = "model.layers.1.mlp.experts.6.down_proj.weight";  // [256, 96]
  for (const uint8_t code : {uint8_t{0x7F}, uint8_t{0xFF}}) {
    for (const WeightResidence residence : {WeightResidence::kInMemory, WeightResidence::kMapped}) {
      fs::remove_all(dir_.path());
      fs::create_directories(dir_.path());
      Copy("tiny-v3-fp8");
      bool found = false;
      RewriteWeights([&](testutil::StTensor& t) {
        if (t.name == bad) {
          t.bytes[200 * 96 + 37] = static_cast<char>(code);
          found = true;
        }
        return true;
      });
      ASSERT_TRUE(found);
      ModelLoadOptions o;
      o.max_context = 32;
      o.weight_residence = residence;
      ExpectErrorNaming(LoadCausalLm(dir_.path(), o).status(), {weights(), bad, "NaN code", "row 200, column 37"});
    }
  }
}

TEST_F(BrokenFixture, TensorWithTheWrongShape) {
  Copy("tiny-v2");
  const std::string bad = "model.layers.0.self_attn.kv_a_proj_with_mqa.weight";
  bool found = false;
  RewriteWeights([&](testutil::StTensor& t) {
    if (t.name == bad) {
      std::swap(t.shape[0], t.shape[1]);  // same bytes, transposed shape
      found = true;
    }
    return true;
  });
  ASSERT_TRUE(found);
  ExpectErrorNaming(Load(dir_.path()), {weights(), bad, "shape"});
}

TEST_F(BrokenFixture, NoConfigJson) {
  Copy("tiny-v2");
  fs::remove(config());
  ExpectErrorNaming(Load(dir_.path()), {dir_.path(), "config.json"});
}

TEST_F(BrokenFixture, NoWeights) {
  Copy("tiny-v2");
  fs::remove(weights());
  ExpectErrorNaming(Load(dir_.path()), {dir_.path(), "safetensors"});
}

TEST_F(BrokenFixture, TruncatedWeights) {
  Copy("tiny-v3");
  fs::resize_file(weights(), fs::file_size(weights()) / 2);
  ExpectErrorNaming(Load(dir_.path()), {weights(), "truncated"});
}

TEST_F(BrokenFixture, FolderDoesNotExist) {
  ExpectErrorNaming(Load(dir_ / "missing"), {dir_ / "missing"});
}

// ---- Real configs, MTP layer, load time ----

TEST(DeepseekConfigs, RealReleasedConfigsValidate) {
  for (const char* name : {"DeepSeek-V2-Lite", "DeepSeek-V3", "DeepSeek-R1"}) {
    const std::string path = std::string(DS_TEST_DATA_DIR) + "/configs/" + name + ".config.json";
    auto c = ReadHfConfig(path);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(ValidateDeepseekConfig(*c).ok()) << ValidateDeepseekConfig(*c);
  }
  for (const char* name : {"tiny-v2", "tiny-v3", "tiny-v3-fp8"}) {
    auto c = ReadHfConfig(Fixture(name));
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(ValidateDeepseekConfig(*c).ok()) << ValidateDeepseekConfig(*c);
  }
}

TEST(DeepseekMtp, MtpLayerIsToleratedAndNotCounted) {
  auto store = WeightStore::Open(Fixture("tiny-v3")).value();
  int64_t main_params = 0, mtp_tensors = 0;
  for (const std::string& name : store->Names()) {
    int64_t n = 1;
    for (int64_t d : store->Entry(name)->shape) n *= d;
    if (name.rfind("model.layers.4.", 0) == 0) {
      ++mtp_tensors;
    } else {
      main_params += n;
    }
  }
  ASSERT_GT(mtp_tensors, 0) << "fixture should carry the MTP layer model.layers.4.*";
  auto model = LoadCausalLm(Fixture("tiny-v3"), ModelLoadOptions{});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->config().num_hidden_layers, 4);
  EXPECT_EQ((*model)->stats().total_params, main_params);
  EXPECT_EQ((*model)->stats().mtp_layers_loaded, 0);
}

TEST(DeepseekLoadTime, TinyV3ByMmap) {
  const auto t0 = std::chrono::steady_clock::now();
  auto model = LoadCausalLm(Fixture("tiny-v3"), ModelLoadOptions{});
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(model.ok()) << model.status();
  std::printf("tiny-v3 load (mmap, %lld params): %.2f ms\n", static_cast<long long>((*model)->stats().total_params), ms);
  RecordProperty("load_ms", std::to_string(ms));
}

}  // namespace
}  // namespace ds
