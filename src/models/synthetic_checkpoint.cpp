#include "models/synthetic_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "common/float_convert.h"
#include "common/json_util.h"
#include "loader/model_config.h"
#include "loader/safetensors_writer.h"
#include "models/deepseek.h"
#include "models/dense_decoder.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

enum class Init { kMatrix, kEmbedding, kOnes, kBias, kRouterBias };

struct Planned {
  std::string name;
  std::vector<int64_t> shape;
  Init init;
  bool quantizable = false;  // an FP8 candidate (linear weights; not embeddings, heads, routers)
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// The tensors of one checkpoint, in file order, with HF names.
class Plan {
 public:
  void Linear(const std::string& name, int64_t out, int64_t in, bool bias = false) {
    tensors.push_back({name + ".weight", {out, in}, Init::kMatrix, true});
    if (bias) tensors.push_back({name + ".bias", {out}, Init::kBias});
  }
  void Norm(const std::string& name, int64_t n) { tensors.push_back({name, {n}, Init::kOnes}); }
  void Mlp(const std::string& p, int64_t hidden, int64_t inter) {
    Linear(p + ".gate_proj", inter, hidden);
    Linear(p + ".up_proj", inter, hidden);
    Linear(p + ".down_proj", hidden, inter);
  }
  std::vector<Planned> tensors;
};

void PlanDeepseekLayer(const ModelConfig& c, int64_t i, Plan& plan) {
  const std::string p = StrCat("model.layers.", i);
  const int64_t h = c.hidden_size, heads = c.num_attention_heads;
  plan.Norm(p + ".input_layernorm.weight", h);
  plan.Norm(p + ".post_attention_layernorm.weight", h);
  const std::string a = p + ".self_attn";
  if (c.q_lora_rank > 0) {
    plan.Linear(a + ".q_a_proj", c.q_lora_rank, h);
    plan.Norm(a + ".q_a_layernorm.weight", c.q_lora_rank);
    plan.Linear(a + ".q_b_proj", heads * c.qk_head_dim(), c.q_lora_rank);
  } else {
    plan.Linear(a + ".q_proj", heads * c.qk_head_dim(), h);
  }
  plan.Linear(a + ".kv_a_proj_with_mqa", c.kv_lora_rank + c.qk_rope_head_dim, h);
  plan.Norm(a + ".kv_a_layernorm.weight", c.kv_lora_rank);
  plan.Linear(a + ".kv_b_proj", heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
  plan.Linear(a + ".o_proj", h, heads * c.v_head_dim);
  if (!c.IsMoeLayer(i)) return plan.Mlp(p + ".mlp", h, c.intermediate_size);
  // The router stays in bf16 (and its correction bias in f32), as in DeepSeek's FP8 checkpoints.
  plan.tensors.push_back({p + ".mlp.gate.weight", {c.n_routed_experts, h}, Init::kMatrix, false});
  if (c.topk_method == "noaux_tc") {
    plan.tensors.push_back({p + ".mlp.gate.e_score_correction_bias", {c.n_routed_experts}, Init::kRouterBias});
  }
  for (int64_t e = 0; e < c.n_routed_experts; ++e) plan.Mlp(StrCat(p, ".mlp.experts.", e), h, c.moe_intermediate_size);
  if (c.n_shared_experts > 0) plan.Mlp(p + ".mlp.shared_experts", h, c.n_shared_experts * c.moe_intermediate_size);
}

void PlanDenseLayer(const ModelConfig& c, int64_t i, Plan& plan) {
  const std::string p = StrCat("model.layers.", i);
  const int64_t h = c.hidden_size, hd = c.head_dim > 0 ? c.head_dim : h / c.num_attention_heads;
  const bool qkv_bias = c.model_type == "qwen2" || c.attention_bias;  // as LoadQwen2 / LoadLlama
  const bool o_bias = c.model_type == "llama" && c.attention_bias;
  plan.Norm(p + ".input_layernorm.weight", h);
  plan.Norm(p + ".post_attention_layernorm.weight", h);
  plan.Linear(p + ".self_attn.q_proj", c.num_attention_heads * hd, h, qkv_bias);
  plan.Linear(p + ".self_attn.k_proj", c.num_key_value_heads * hd, h, qkv_bias);
  plan.Linear(p + ".self_attn.v_proj", c.num_key_value_heads * hd, h, qkv_bias);
  plan.Linear(p + ".self_attn.o_proj", h, c.num_attention_heads * hd, o_bias);
  plan.Mlp(p + ".mlp", h, c.intermediate_size);
}

StatusOr<Plan> PlanCheckpoint(const ModelConfig& c) {
  const bool deepseek = c.model_type == "deepseek_v2" || c.model_type == "deepseek_v3";
  if (deepseek) {
    DS_RETURN_IF_ERROR(ValidateDeepseekConfig(c));
  } else if (c.model_type == "qwen2" || c.model_type == "llama") {
    DS_RETURN_IF_ERROR(ValidateDenseDecoderConfig(c));
  } else {
    return absl::UnimplementedError(StrCat(c.source, ": model_type '", c.model_type,
                                           "' cannot be synthesized (supported: deepseek_v2, deepseek_v3, qwen2, llama)"));
  }
  Plan plan;
  plan.tensors.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, Init::kEmbedding});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    if (deepseek) {
      PlanDeepseekLayer(c, i, plan);
    } else {
      PlanDenseLayer(c, i, plan);
    }
  }
  plan.Norm("model.norm.weight", c.hidden_size);
  if (!c.tie_word_embeddings) plan.tensors.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}, Init::kMatrix});
  return plan;
}

// N(0, 1) numbers from a per-tensor splitmix64 stream (Box-Muller), so a tensor's values depend
// only on the seed and its name.
class NormalStream {
 public:
  NormalStream(uint64_t seed, const std::string& name) : state_(seed * 0x9E3779B97F4A7C15ull) {
    for (unsigned char ch : name) state_ = (state_ ^ ch) * 0x100000001B3ull;  // FNV-1a over the name
  }
  float Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(Bits() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(Bits() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1)), angle = 2.0 * M_PI * u2;
    spare_ = static_cast<float>(r * std::sin(angle));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(angle));
  }

 private:
  uint64_t Bits() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
  bool has_spare_ = false;
  float spare_ = 0.0f;
};

float InitStd(const Planned& t) {
  switch (t.init) {
    case Init::kMatrix: return static_cast<float>(1.0 / std::sqrt(static_cast<double>(t.shape[1])));
    case Init::kEmbedding: return static_cast<float>(1.0 / std::sqrt(static_cast<double>(t.shape[1])));
    case Init::kBias: return 0.02f;
    case Init::kRouterBias: return 0.01f;
    case Init::kOnes: return 0.0f;
  }
  return 0.0f;
}

// Fills `out` with the next values of tensor `t`.
void Generate(const Planned& t, NormalStream& rng, float* out, int64_t n) {
  if (t.init == Init::kOnes) return std::fill(out, out + n, 1.0f);
  const float std = InitStd(t);
  for (int64_t i = 0; i < n; ++i) out[i] = rng.Next() * std;
}

struct Writer {
  explicit Writer(const SynthOptions& o) : options(o) {}
  const SynthOptions& options;
  int64_t block = 128;
  std::vector<float> values;
  std::vector<uint16_t> half;
  std::vector<uint8_t> bytes;
  int64_t done = 0, total = 0;

  bool Fp8(const Planned& t) const { return options.fp8 && t.quantizable; }
  std::vector<int64_t> ScaleShape(const Planned& t) const {
    return {(t.shape[0] + block - 1) / block, (t.shape[1] + block - 1) / block};
  }
  // The safetensors entries of `t` (FP8 weights bring their scale grid).
  std::vector<SafetensorsStreamWriter::Entry> Entries(const Planned& t) const {
    if (Fp8(t)) return {{t.name, "F8_E4M3", t.shape}, {t.name + "_scale_inv", "F32", ScaleShape(t)}};
    return {{t.name, t.init == Init::kRouterBias ? "F32" : "BF16", t.shape}};
  }

  Status Write(const Planned& t, SafetensorsStreamWriter& w) {
    NormalStream rng(options.seed, t.name);
    if (Fp8(t)) return WriteFp8(t, rng, w);
    const int64_t n = t.numel(), chunk = int64_t{1} << 20;
    for (int64_t i = 0; i < n; i += chunk) {
      const int64_t k = std::min(chunk, n - i);
      values.resize(k);
      Generate(t, rng, values.data(), k);
      if (t.init == Init::kRouterBias) {
        DS_RETURN_IF_ERROR(w.Append(values.data(), k * sizeof(float)));
        continue;
      }
      half.resize(k);
      for (int64_t j = 0; j < k; ++j) half[j] = F32ToBf16(values[j]);
      DS_RETURN_IF_ERROR(w.Append(half.data(), k * sizeof(uint16_t)));
    }
    return absl::OkStatus();
  }

  // One strip of `block` rows at a time: per block, scale_inv = amax / 448 and q = x / scale_inv,
  // so dequantization is q * scale_inv as DeepSeek's weight_dequant does.
  Status WriteFp8(const Planned& t, NormalStream& rng, SafetensorsStreamWriter& w) {
    const int64_t rows = t.shape[0], cols = t.shape[1], col_blocks = (cols + block - 1) / block;
    std::vector<float> scales;
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
      const int64_t nr = std::min(block, rows - r0);
      values.resize(nr * cols);
      Generate(t, rng, values.data(), nr * cols);
      bytes.resize(nr * cols);
      for (int64_t b = 0; b < col_blocks; ++b) {
        const int64_t c0 = b * block, c1 = std::min(cols, c0 + block);
        float amax = 0.0f;
        for (int64_t r = 0; r < nr; ++r) {
          for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(values[r * cols + c]));
        }
        const float scale = amax > 0.0f ? amax / 448.0f : 1.0f;
        scales.push_back(scale);
        for (int64_t r = 0; r < nr; ++r) {
          for (int64_t c = c0; c < c1; ++c) bytes[r * cols + c] = F32ToF8E4M3(values[r * cols + c] / scale);
        }
      }
      DS_RETURN_IF_ERROR(w.Append(bytes.data(), bytes.size()));
    }
    return w.Append(scales.data(), scales.size() * sizeof(float));
  }
};

StatusOr<Json> EditedConfig(const SynthOptions& o, std::string& source) {
  source = o.config_path;
  std::error_code ec;
  if (fs::is_directory(source, ec)) source = (fs::path(source) / "config.json").string();
  DS_ASSIGN_OR_RETURN(Json j, ReadJsonFile(source));
  if (!j.is_object()) return InvalidFormat(StrCat(source, ": expected a JSON object"));
  if (o.layers > 0) j["num_hidden_layers"] = o.layers;
  if (o.fp8) {
    j["quantization_config"] = {{"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"},
                                {"weight_block_size", {128, 128}}};
  } else {
    j.erase("quantization_config");
  }
  j["torch_dtype"] = "bfloat16";
  return j;
}

// Removes checkpoint files an earlier run may have left, so the folder holds one checkpoint.
void RemoveOldWeights(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n == "model.safetensors.index.json" || (n.rfind("model", 0) == 0 && e.path().extension() == ".safetensors")) {
      fs::remove(e.path(), ec);
    }
  }
}

std::string ShardName(size_t i, size_t n) {
  if (n == 1) return "model.safetensors";
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return absl::InvalidArgumentError(StrCat(path, ": cannot open for writing"));
  f << text;
  f.close();
  if (!f) return absl::InternalError(StrCat(path, ": write failed (disk full?)"));
  return absl::OkStatus();
}

}  // namespace

uint8_t F32ToF8E4M3(float f) {
  if (std::isnan(f)) return 0x7f;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  const float a = std::fabs(f);
  if (a == 0.0f) return sign;
  if (a >= 448.0f) return sign | 0x7e;  // saturate to the largest finite value
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  const int exp = std::max(e - 1, -6);  // -6: the subnormal range shares 2^-6's spacing
  const float step = std::ldexp(1.0f, exp - 3);  // 3 mantissa bits
  const int q = static_cast<int>(std::nearbyint(a / step));  // ties to even (default rounding)
  if (exp == -6 && q < 8) return sign | static_cast<uint8_t>(q);  // subnormal (or zero)
  int biased = exp + 7, mant = q - 8;
  if (mant == 8) ++biased, mant = 0;  // rounded up to the next power of two
  const uint8_t code = static_cast<uint8_t>((biased << 3) | mant);
  return sign | std::min<uint8_t>(code, 0x7e);
}

StatusOr<SynthSummary> WriteSyntheticCheckpoint(const SynthOptions& o) {
  if (o.out_dir.empty()) return absl::InvalidArgumentError("synth: no output folder given");
  std::string source;
  DS_ASSIGN_OR_RETURN(Json config_json, EditedConfig(o, source));
  DS_ASSIGN_OR_RETURN(ModelConfig config, ParseHfConfig(config_json, source));
  DS_ASSIGN_OR_RETURN(Plan plan, PlanCheckpoint(config));
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (!fs::is_directory(o.out_dir, ec)) return absl::InvalidArgumentError(StrCat(o.out_dir, ": cannot create folder"));
  RemoveOldWeights(o.out_dir);
  DS_RETURN_IF_ERROR(WriteText((fs::path(o.out_dir) / "config.json").string(), config_json.dump(2) + "\n"));

  Writer writer(o);
  // Shards: consecutive tensors up to shard_bytes each (a weight and its scales stay together).
  std::vector<std::vector<size_t>> shards(1);
  std::vector<uint64_t> shard_size(1, 0);
  SynthSummary summary;
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    uint64_t bytes = 0;
    for (const auto& e : writer.Entries(plan.tensors[i])) {
      DS_ASSIGN_OR_RETURN(uint64_t b, SafetensorsStreamWriter::ByteSize(e));
      bytes += b;
      ++summary.tensors;
    }
    if (!shards.back().empty() && shard_size.back() + bytes > static_cast<uint64_t>(std::max<int64_t>(o.shard_bytes, 1))) {
      shards.emplace_back();
      shard_size.push_back(0);
    }
    shards.back().push_back(i);
    shard_size.back() += bytes;
    summary.bytes += static_cast<int64_t>(bytes);
    summary.params += plan.tensors[i].numel();
  }
  Json weight_map = Json::object();
  int64_t written = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::string name = ShardName(s, shards.size());
    std::vector<SafetensorsStreamWriter::Entry> entries;
    for (size_t i : shards[s]) {
      for (auto& e : writer.Entries(plan.tensors[i])) {
        weight_map[e.name] = name;
        entries.push_back(std::move(e));
      }
    }
    DS_ASSIGN_OR_RETURN(auto file, SafetensorsStreamWriter::Create((fs::path(o.out_dir) / name).string(), entries));
    for (size_t i : shards[s]) {
      DS_RETURN_IF_ERROR(writer.Write(plan.tensors[i], *file));
      written += plan.tensors[i].numel();
      if (o.progress) o.progress(static_cast<double>(written) / std::max<int64_t>(summary.params, 1), plan.tensors[i].name);
    }
    DS_RETURN_IF_ERROR(file->Close());
  }
  summary.files = static_cast<int64_t>(shards.size());
  if (shards.size() > 1) {
    const Json index = {{"metadata", {{"total_size", summary.bytes}}}, {"weight_map", weight_map}};
    DS_RETURN_IF_ERROR(WriteText((fs::path(o.out_dir) / "model.safetensors.index.json").string(), index.dump(2) + "\n"));
  }
  return summary;
}

}  // namespace ds
