#include "loader/gguf_model.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "loader/gguf_names.h"

namespace ds {
namespace {

// Metadata reader for one architecture's keys: required keys fail with the key's name, optional
// ones keep the default when absent (a present key of the wrong type is still an error).
class Keys {
 public:
  Keys(const GgufFile& g, std::string arch) : g_(g), arch_(std::move(arch)) {}
  std::string Key(const std::string& k) const { return arch_ + "." + k; }

  Status Int(const std::string& k, int64_t* out, bool required = false) const {
    auto v = g_.GetInt(Key(k));
    if (absl::IsNotFound(v.status()) && !required) return absl::OkStatus();
    if (!v.ok()) return v.status();
    *out = *v;
    return absl::OkStatus();
  }
  Status Float(const std::string& k, double* out) const {
    auto v = g_.GetFloat(Key(k));
    if (absl::IsNotFound(v.status())) return absl::OkStatus();
    if (!v.ok()) return v.status();
    *out = *v;
    return absl::OkStatus();
  }
  Status Bool(const std::string& k, bool* out) const {
    auto v = g_.GetBool(Key(k));
    if (absl::IsNotFound(v.status())) return absl::OkStatus();
    if (!v.ok()) return v.status();
    *out = *v;
    return absl::OkStatus();
  }
  bool Has(const std::string& k) const { return g_.Find(Key(k)) != nullptr; }

 private:
  const GgufFile& g_;
  std::string arch_;
};

Status CommonConfig(const GgufFile& g, const Keys& k, ModelConfig& c) {
  DS_RETURN_IF_ERROR(k.Int("embedding_length", &c.hidden_size, true));
  DS_RETURN_IF_ERROR(k.Int("block_count", &c.num_hidden_layers, true));
  DS_RETURN_IF_ERROR(k.Int("attention.head_count", &c.num_attention_heads, true));
  c.num_key_value_heads = c.num_attention_heads;
  DS_RETURN_IF_ERROR(k.Int("attention.head_count_kv", &c.num_key_value_heads));
  DS_RETURN_IF_ERROR(k.Int("context_length", &c.max_position_embeddings, true));
  DS_RETURN_IF_ERROR(k.Int("feed_forward_length", &c.intermediate_size));
  DS_RETURN_IF_ERROR(k.Float("attention.layer_norm_rms_epsilon", &c.rms_norm_eps));
  DS_RETURN_IF_ERROR(k.Float("rope.freq_base", &c.rope_theta));
  DS_RETURN_IF_ERROR(k.Int("vocab_size", &c.vocab_size));
  if (c.vocab_size == 0) {
    if (const GgufTensorInfo* t = g.FindTensor("token_embd.weight"); t && t->ne.size() == 2) {
      c.vocab_size = static_cast<int64_t>(t->ne[1]);
    }
  }
  c.tie_word_embeddings = g.FindTensor("output.weight") == nullptr;
  for (auto [key, ids] : {std::pair{"tokenizer.ggml.bos_token_id", &c.bos_token_ids},
                          std::pair{"tokenizer.ggml.eos_token_id", &c.eos_token_ids}}) {
    if (g.Find(key) == nullptr) continue;
    DS_ASSIGN_OR_RETURN(int64_t id, g.GetInt(key));
    ids->push_back(id);
  }
  return absl::OkStatus();
}

Status YarnConfig(const Keys& k, ModelConfig& c, const GgufFile& g) {
  if (!k.Has("rope.scaling.type")) return absl::OkStatus();
  DS_ASSIGN_OR_RETURN(std::string type, g.GetString(k.Key("rope.scaling.type")));
  if (type == "none") return absl::OkStatus();
  RopeScaling& r = c.rope_scaling;
  r.type = type;
  DS_RETURN_IF_ERROR(k.Float("rope.scaling.factor", &r.factor));
  DS_RETURN_IF_ERROR(k.Int("rope.scaling.original_context_length", &r.original_max_position_embeddings));
  DS_RETURN_IF_ERROR(k.Float("rope.scaling.yarn_beta_fast", &r.beta_fast));
  DS_RETURN_IF_ERROR(k.Float("rope.scaling.yarn_beta_slow", &r.beta_slow));
  // llama.cpp stores 0.1 * mscale_all_dim; DeepSeek checkpoints use mscale == mscale_all_dim, whose
  // ratio (applied to cos/sin by HF) is then 1, so both are restored from it.
  double log_mul = 0.0;
  DS_RETURN_IF_ERROR(k.Float("rope.scaling.yarn_log_multiplier", &log_mul));
  r.mscale_all_dim = log_mul / 0.1;
  r.mscale = r.mscale_all_dim;
  return absl::OkStatus();
}

Status Deepseek2Config(const GgufFile& g, const Keys& k, ModelConfig& c) {
  DS_RETURN_IF_ERROR(k.Int("attention.q_lora_rank", &c.q_lora_rank));
  DS_RETURN_IF_ERROR(k.Int("attention.kv_lora_rank", &c.kv_lora_rank, true));
  DS_RETURN_IF_ERROR(k.Int("rope.dimension_count", &c.qk_rope_head_dim, true));
  // Files with split MLA tensors describe the absorbed form in key_length/value_length and the
  // per-head sizes in the *_mla keys; older files have only the per-head sizes.
  int64_t key_len = 0, value_len = 0;
  const bool mla = k.Has("attention.key_length_mla");
  DS_RETURN_IF_ERROR(k.Int(mla ? "attention.key_length_mla" : "attention.key_length", &key_len, true));
  DS_RETURN_IF_ERROR(k.Int(mla ? "attention.value_length_mla" : "attention.value_length", &value_len, true));
  c.qk_nope_head_dim = key_len - c.qk_rope_head_dim;
  c.v_head_dim = value_len;
  DS_RETURN_IF_ERROR(k.Int("expert_count", &c.n_routed_experts));
  DS_RETURN_IF_ERROR(k.Int("expert_used_count", &c.num_experts_per_tok));
  DS_RETURN_IF_ERROR(k.Int("expert_shared_count", &c.n_shared_experts));
  DS_RETURN_IF_ERROR(k.Int("expert_feed_forward_length", &c.moe_intermediate_size));
  DS_RETURN_IF_ERROR(k.Int("leading_dense_block_count", &c.first_k_dense_replace));
  DS_RETURN_IF_ERROR(k.Int("expert_group_count", &c.n_group));
  DS_RETURN_IF_ERROR(k.Int("expert_group_used_count", &c.topk_group));
  DS_RETURN_IF_ERROR(k.Float("expert_weights_scale", &c.routed_scaling_factor));
  DS_RETURN_IF_ERROR(k.Bool("expert_weights_norm", &c.norm_topk_prob));
  int64_t gating = 1;  // llama.cpp: 1 softmax, 2 sigmoid
  DS_RETURN_IF_ERROR(k.Int("expert_gating_func", &gating));
  if (gating != 1 && gating != 2) {
    return absl::UnimplementedError(StrCat(g.path(), ": '", k.Key("expert_gating_func"), "' is ", gating,
                                           "; supported: 1 (softmax), 2 (sigmoid)"));
  }
  // Newer llama.cpp conversions count the multi-token-prediction layers in block_count.
  DS_RETURN_IF_ERROR(k.Int("nextn_predict_layers", &c.num_nextn_predict_layers));
  if (c.num_nextn_predict_layers < 0 || c.num_nextn_predict_layers >= c.num_hidden_layers) {
    return InvalidFormat(StrCat(g.path(), ": '", k.Key("nextn_predict_layers"), "' is ", c.num_nextn_predict_layers,
                                " with ", c.num_hidden_layers, " blocks"));
  }
  c.num_hidden_layers -= c.num_nextn_predict_layers;
  const bool v3 = gating == 2 || g.FindTensor("blk." + std::to_string(c.first_k_dense_replace) + ".exp_probs_b.bias");
  c.model_type = v3 ? "deepseek_v3" : "deepseek_v2";
  c.scoring_func = gating == 2 ? "sigmoid" : "softmax";
  c.topk_method = v3 ? "noaux_tc" : (c.n_group > 1 ? "group_limited_greedy" : "greedy");
  c.num_key_value_heads = c.num_attention_heads;
  return YarnConfig(k, c, g);
}

// llama.cpp's rope_freqs.weight (f32 [rot_dim / 2]): precomputed llama3 frequency divisors.
Status ReadRopeFreqs(const GgufFile& g, ModelConfig& c) {
  const GgufTensorInfo* info = g.FindTensor("rope_freqs.weight");
  if (info == nullptr) return absl::OkStatus();
  DS_ASSIGN_OR_RETURN(Tensor t, g.GetTensor("rope_freqs.weight"));
  DS_ASSIGN_OR_RETURN(Tensor f, t.ToF32());
  c.rope_scaling.freq_factors.assign(f.data<float>(), f.data<float>() + f.numel());
  for (float v : c.rope_scaling.freq_factors) {
    if (!(v > 0)) return InvalidFormat(StrCat(g.path(), ": tensor 'rope_freqs.weight' holds a non-positive factor"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsGgufFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

StatusOr<ModelConfig> GgufModelConfig(const GgufFile& g) {
  DS_ASSIGN_OR_RETURN(std::string arch, g.GetString("general.architecture"));
  if (arch != "deepseek2" && arch != "qwen2" && arch != "llama") {
    return absl::UnimplementedError(StrCat(g.path(), ": 'general.architecture' is '", arch,
                                           "'; supported: deepseek2, qwen2, llama"));
  }
  ModelConfig c;
  c.source = g.path();
  Keys k(g, arch);
  DS_RETURN_IF_ERROR(CommonConfig(g, k, c));
  if (arch == "deepseek2") {
    DS_RETURN_IF_ERROR(Deepseek2Config(g, k, c));
  } else {
    c.model_type = arch;
    int64_t key_len = 0;
    DS_RETURN_IF_ERROR(k.Int("attention.key_length", &key_len));
    c.head_dim = key_len;
    c.attention_bias = g.FindTensor("blk.0.attn_q.bias") != nullptr;
    // llama.cpp's converter permutes llama's q/k rows into adjacent RoPE pairs.
    c.rope_interleaved = arch == "llama";
    DS_RETURN_IF_ERROR(YarnConfig(k, c, g));
    DS_RETURN_IF_ERROR(ReadRopeFreqs(g, c));
  }
  return c;
}

GgufTensorSource::GgufTensorSource(std::shared_ptr<const GgufFile> gguf, const ModelConfig& config)
    : gguf_(std::move(gguf)), arch_(GgufArchForModelType(config.model_type)) {}

bool GgufTensorSource::Has(const std::string& name) const {
  auto n = GgufNameForHf(arch_, name);
  if (!n) return false;
  const GgufTensorInfo* t = gguf_->FindTensor(n->gguf);
  if (!t) return false;
  if (n->layout == GgufLayout::kExpert) return t->ne.size() == 3 && n->expert < static_cast<int64_t>(t->ne[2]);
  return true;
}

StatusOr<Tensor> GgufTensorSource::Get(const std::string& name) const {
  auto n = GgufNameForHf(arch_, name);
  if (!n || !gguf_->FindTensor(n->gguf)) {
    return absl::NotFoundError(StrCat(gguf_->path(), ": no tensor for '", name, "'",
                                      n ? StrCat(" (GGUF name '", n->gguf, "')") : ""));
  }
  DS_ASSIGN_OR_RETURN(Tensor t, gguf_->GetTensor(n->gguf));
  const std::string what = StrCat(gguf_->path(), ": tensor '", n->gguf, "'");
  switch (n->layout) {
    case GgufLayout::kSame: return t;
    case GgufLayout::kFlatten3d:
      if (t.rank() != 3) return InvalidFormat(StrCat(what, " should have 3 dims, has shape ", t.DebugString()));
      return t.Reshape({t.dim(0) * t.dim(1), t.dim(2)});
    case GgufLayout::kExpert: {
      if (t.rank() != 3) return InvalidFormat(StrCat(what, " should have 3 dims, has shape ", t.DebugString()));
      if (n->expert >= t.dim(0)) {
        return absl::NotFoundError(StrCat(what, " holds ", t.dim(0), " experts, not expert ", n->expert));
      }
      const int64_t out = t.dim(1);
      return t.Reshape({t.dim(0) * out, t.dim(2)}).Rows(n->expert * out, (n->expert + 1) * out);
    }
    case GgufLayout::kRopePermuted: return t;  // the model runs adjacent pairs (config.rope_interleaved)
  }
  return t;
}

}  // namespace ds
