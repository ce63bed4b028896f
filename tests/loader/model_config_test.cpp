// ParseHfConfig / ReadHfConfig: malformed configs fail naming the file and field; every real
// released config (tests/data/configs, see /work/shared/configs/README.md) parses, and the parsed
// values equal what the file says (read here with plain nlohmann lookups).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "loader/model_config.h"
#include "test_safetensors_writer.h"

namespace ds {
namespace {

using testutil::TempDir;
using testutil::WriteFile;

const std::string kConfigs = std::string(DS_TEST_DATA_DIR) + "/configs";

void ExpectErrorNaming(const Status& st, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(st.ok());
  const std::string msg(st.message());
  for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

Json Minimal() {
  return Json{{"model_type", "deepseek_v3"}, {"vocab_size", 100}, {"hidden_size", 64},
              {"num_hidden_layers", 2}, {"num_attention_heads", 4}};
}

TEST(ParseHfConfig, MinimalConfigGetsDefaults) {
  auto c = ParseHfConfig(Minimal(), "cfg.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->source, "cfg.json");
  EXPECT_EQ(c->num_key_value_heads, 4);  // defaults to the attention heads
  EXPECT_EQ(c->n_group, 1);
  EXPECT_EQ(c->topk_method, "greedy");
  EXPECT_FALSE(c->fp8);
  EXPECT_TRUE(c->rope_scaling.type.empty());
}

TEST(ParseHfConfig, StringWhereANumberBelongs) {
  Json j = Minimal();
  j["hidden_size"] = "64";
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "hidden_size", "\"64\""});
  j = Minimal();
  j["rms_norm_eps"] = "1e-6";
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "rms_norm_eps"});
  j = Minimal();
  j["norm_topk_prob"] = 1;
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "norm_topk_prob"});
  j = Minimal();
  j["num_attention_heads"] = 4.5;
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "num_attention_heads"});
  j = Minimal();
  j["eos_token_id"] = Json::array({1, "2"});
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "eos_token_id"});
  j = Minimal();
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", "40"}};
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "rope_scaling", "factor"});
  j = Minimal();
  j["rope_scaling"] = 3;
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "rope_scaling"});
  j = Minimal();
  j["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {128, "128"}}};
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "weight_block_size"});
}

TEST(ParseHfConfig, MissingRequiredField) {
  for (const char* key : {"model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads"}) {
    Json j = Minimal();
    j.erase(key);
    ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", key, "missing"});
    j[key] = nullptr;  // null counts as missing
    ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", key});
  }
}

TEST(ParseHfConfig, NotAnObjectAndUnsupportedQuantization) {
  ExpectErrorNaming(ParseHfConfig(Json::array({1}), "cfg.json").status(), {"cfg.json", "object"});
  Json j = Minimal();
  j["quantization_config"] = {{"quant_method", "gptq"}};
  ExpectErrorNaming(ParseHfConfig(j, "cfg.json").status(), {"cfg.json", "gptq", "fp8"});
  j["quantization_config"] = "fp8";
  EXPECT_FALSE(ParseHfConfig(j, "cfg.json").ok());
}

TEST(ReadHfConfig, BadJsonNamesTheFile) {
  TempDir dir;
  WriteFile(dir / "config.json", "{\"model_type\": \"deepseek_v3\",\n \"vocab_size\": }");
  ExpectErrorNaming(ReadHfConfig(dir.path()).status(), {dir / "config.json", "invalid JSON"});
}

TEST(ReadHfConfig, MissingConfigJson) {
  TempDir dir;
  auto st = ReadHfConfig(dir.path()).status();
  ExpectErrorNaming(st, {dir.path(), "config.json"});
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  ExpectErrorNaming(ReadHfConfig(dir / "nope").status(), {dir / "nope"});
}

TEST(ReadHfConfig, FileOrFolder) {
  TempDir dir;
  WriteFile(dir / "config.json", Minimal().dump());
  auto a = ReadHfConfig(dir.path());
  auto b = ReadHfConfig(dir / "config.json");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->source, dir / "config.json");
  EXPECT_EQ(b->hidden_size, 64);
}

// ---- Real released configs ----

std::vector<std::string> RealConfigs() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(kConfigs)) {
    if (e.path().extension() == ".json") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RealConfigs, AllParseWithTheirFileValues) {
  const auto files = RealConfigs();
  ASSERT_GE(files.size(), 6u);
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    auto c = ReadHfConfig(path);
    ASSERT_TRUE(c.ok()) << c.status();
    const Json j = ReadJsonFile(path).value();
    EXPECT_EQ(c->model_type, j.at("model_type").get<std::string>());
    EXPECT_EQ(c->vocab_size, j.at("vocab_size").get<int64_t>());
    EXPECT_EQ(c->hidden_size, j.at("hidden_size").get<int64_t>());
    EXPECT_EQ(c->num_hidden_layers, j.at("num_hidden_layers").get<int64_t>());
    EXPECT_EQ(c->num_attention_heads, j.at("num_attention_heads").get<int64_t>());
    EXPECT_EQ(c->num_key_value_heads, j.at("num_key_value_heads").get<int64_t>());
    EXPECT_EQ(c->intermediate_size, j.at("intermediate_size").get<int64_t>());
    EXPECT_EQ(c->max_position_embeddings, j.at("max_position_embeddings").get<int64_t>());
    EXPECT_DOUBLE_EQ(c->rms_norm_eps, j.at("rms_norm_eps").get<double>());
    EXPECT_DOUBLE_EQ(c->rope_theta, j.at("rope_theta").get<double>());
    EXPECT_EQ(c->tie_word_embeddings, j.at("tie_word_embeddings").get<bool>());
    const Json& eos = j.at("eos_token_id");
    EXPECT_EQ(c->eos_token_ids, eos.is_array() ? eos.get<std::vector<int64_t>>() : std::vector<int64_t>{eos.get<int64_t>()});
    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
      const Json& rs = j["rope_scaling"];
      EXPECT_EQ(c->rope_scaling.type, rs.value("type", rs.value("rope_type", std::string())));
      EXPECT_DOUBLE_EQ(c->rope_scaling.factor, rs.at("factor").get<double>());
    }
  }
}

TEST(RealConfigs, DeepSeekFieldsMatchTheFiles) {
  for (const char* name : {"DeepSeek-V2-Lite", "DeepSeek-V3", "DeepSeek-R1"}) {
    const std::string path = kConfigs + "/" + name + ".config.json";
    SCOPED_TRACE(path);
    auto c = ReadHfConfig(path);
    ASSERT_TRUE(c.ok()) << c.status();
    const Json j = ReadJsonFile(path).value();
    EXPECT_EQ(c->q_lora_rank, j["q_lora_rank"].is_null() ? 0 : j["q_lora_rank"].get<int64_t>());
    for (auto [key, got] : {std::pair<const char*, int64_t>{"kv_lora_rank", c->kv_lora_rank},
                            {"qk_nope_head_dim", c->qk_nope_head_dim}, {"qk_rope_head_dim", c->qk_rope_head_dim},
                            {"v_head_dim", c->v_head_dim}, {"n_routed_experts", c->n_routed_experts},
                            {"n_shared_experts", c->n_shared_experts}, {"num_experts_per_tok", c->num_experts_per_tok},
                            {"moe_intermediate_size", c->moe_intermediate_size},
                            {"first_k_dense_replace", c->first_k_dense_replace}, {"n_group", c->n_group},
                            {"topk_group", c->topk_group}, {"moe_layer_freq", c->moe_layer_freq}}) {
      EXPECT_EQ(got, j.at(key).get<int64_t>()) << key;
    }
    EXPECT_EQ(c->topk_method, j.at("topk_method").get<std::string>());
    EXPECT_EQ(c->scoring_func, j.at("scoring_func").get<std::string>());
    EXPECT_EQ(c->norm_topk_prob, j.at("norm_topk_prob").get<bool>());
    EXPECT_DOUBLE_EQ(c->routed_scaling_factor, j.at("routed_scaling_factor").get<double>());
    EXPECT_EQ(c->num_nextn_predict_layers, j.value("num_nextn_predict_layers", int64_t{0}));
    const Json& rs = j.at("rope_scaling");
    EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, rs.at("original_max_position_embeddings").get<int64_t>());
    EXPECT_DOUBLE_EQ(c->rope_scaling.mscale, rs.at("mscale").get<double>());
    EXPECT_DOUBLE_EQ(c->rope_scaling.mscale_all_dim, rs.at("mscale_all_dim").get<double>());
    EXPECT_DOUBLE_EQ(c->rope_scaling.beta_fast, rs.at("beta_fast").get<double>());
    EXPECT_EQ(c->fp8, j.contains("quantization_config"));
    if (c->fp8) {
      const Json& b = j["quantization_config"]["weight_block_size"];
      EXPECT_EQ(c->fp8_block_rows, b[0].get<int64_t>());
      EXPECT_EQ(c->fp8_block_cols, b[1].get<int64_t>());
    }
  }
}

TEST(RealConfigs, SpotValuesFromTheReadme) {
  // Independent of the parser and of the JSON reader above: values stated in configs/README.md.
  auto lite = ReadHfConfig(kConfigs + "/DeepSeek-V2-Lite.config.json").value();
  EXPECT_EQ(lite.q_lora_rank, 0);  // "q_lora_rank": null
  EXPECT_EQ(lite.topk_method, "greedy");
  EXPECT_EQ(lite.n_group, 1);
  EXPECT_FALSE(lite.norm_topk_prob);
  EXPECT_DOUBLE_EQ(lite.rope_scaling.mscale, 0.707);
  EXPECT_FALSE(lite.fp8);
  for (const char* n : {"DeepSeek-V3", "DeepSeek-R1"}) {
    auto v3 = ReadHfConfig(kConfigs + "/" + n + ".config.json").value();
    EXPECT_EQ(v3.topk_method, "noaux_tc");
    EXPECT_EQ(v3.scoring_func, "sigmoid");
    EXPECT_EQ(v3.n_group, 8);
    EXPECT_EQ(v3.topk_group, 4);
    EXPECT_TRUE(v3.norm_topk_prob);
    EXPECT_DOUBLE_EQ(v3.routed_scaling_factor, 2.5);
    EXPECT_EQ(v3.num_nextn_predict_layers, 1);
    EXPECT_TRUE(v3.fp8);
    EXPECT_EQ(v3.fp8_block_rows, 128);
  }
  auto llama = ReadHfConfig(kConfigs + "/DeepSeek-R1-Distill-Llama-8B.config.json").value();
  EXPECT_EQ(llama.eos_token_ids, (std::vector<int64_t>{128001}));
  EXPECT_EQ(llama.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(llama.rope_scaling.factor, 8.0);
  auto qwen = ReadHfConfig(kConfigs + "/DeepSeek-R1-Distill-Qwen-1.5B.config.json").value();
  EXPECT_DOUBLE_EQ(qwen.rope_theta, 10000.0);
  EXPECT_EQ(qwen.bos_token_ids, (std::vector<int64_t>{151643}));
}

}  // namespace
}  // namespace ds
