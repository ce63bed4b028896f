// Loading a 2-layer model with DeepSeek-V2-Lite's real shapes (~2.5 GB of bf16 weights) must be
// an mmap plus header checks, not a read of the weights. The checkpoint is written sparse (the data
// section is a hole), so the test needs no disk space; the load time is printed, not asserted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/json_util.h"
#include "loader/safetensors_writer.h"
#include "models/architectures.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
};

std::vector<Spec> V2LiteTensors(const Json& c, int layers) {
  const int64_t h = c["hidden_size"], heads = c["num_attention_heads"], dn = c["qk_nope_head_dim"],
                dr = c["qk_rope_head_dim"], dv = c["v_head_dim"], r = c["kv_lora_rank"], v = c["vocab_size"],
                inter = c["intermediate_size"], moe = c["moe_intermediate_size"], e = c["n_routed_experts"],
                shared = c["n_shared_experts"].get<int64_t>() * moe;
  std::vector<Spec> t = {{"model.embed_tokens.weight", {v, h}}, {"model.norm.weight", {h}}, {"lm_head.weight", {v, h}}};
  auto mlp = [&](const std::string& p, int64_t i) {
    t.push_back({p + ".gate_proj.weight", {i, h}});
    t.push_back({p + ".up_proj.weight", {i, h}});
    t.push_back({p + ".down_proj.weight", {h, i}});
  };
  for (int l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    t.push_back({p + ".input_layernorm.weight", {h}});
    t.push_back({p + ".post_attention_layernorm.weight", {h}});
    t.push_back({p + ".self_attn.q_proj.weight", {heads * (dn + dr), h}});
    t.push_back({p + ".self_attn.kv_a_proj_with_mqa.weight", {r + dr, h}});
    t.push_back({p + ".self_attn.kv_a_layernorm.weight", {r}});
    t.push_back({p + ".self_attn.kv_b_proj.weight", {heads * (dn + dv), r}});
    t.push_back({p + ".self_attn.o_proj.weight", {h, heads * dv}});
    if (l == 0) {
      mlp(p + ".mlp", inter);
    } else {
      t.push_back({p + ".mlp.gate.weight", {e, h}});
      for (int64_t x = 0; x < e; ++x) mlp(p + ".mlp.experts." + std::to_string(x), moe);
      mlp(p + ".mlp.shared_experts", shared);
    }
  }
  return t;
}

TEST(LoadTime, TwoLayerV2LiteShapedCheckpointLoadsByMmap) {
  Json config = ReadJsonFile(std::string(DS_TEST_DATA_DIR) + "/configs/DeepSeek-V2-Lite.config.json").value();
  config["num_hidden_layers"] = 2;
  const fs::path dir = fs::temp_directory_path() / ("ds_v2lite_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << config.dump(2);
  // Header with zero-length placeholders, then rewrite with real offsets and extend sparsely.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  for (const Spec& s : V2LiteTensors(config, 2)) {
    uint64_t n = 2;
    for (int64_t d : s.shape) n *= d;
    header[s.name] = {{"dtype", "BF16"}, {"shape", s.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // 8-byte aligned data, as real HF files
  uint64_t len = text.size();
  {
    std::ofstream f(dir / "model.safetensors", std::ios::binary);
    f.write(reinterpret_cast<const char*>(&len), 8);
    f << text;
  }
  fs::resize_file(dir / "model.safetensors", 8 + len + offset);
  auto t0 = std::chrono::steady_clock::now();
  ModelLoadOptions o;
  o.max_context = 256;
  auto model = LoadCausalLm(dir.string(), o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(model.ok()) << model.status();
  std::printf("2-layer V2-Lite-shaped checkpoint (%.2f GB bf16): loaded in %.3f s\n", offset / 1e9, s);
  RecordProperty("load_seconds", std::to_string(s));
  EXPECT_EQ((*model)->stats().kv_bytes_per_token, 2 * (512 + 64) * 4);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ds
