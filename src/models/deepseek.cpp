#include "models/deepseek.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "common/logging.h"
#include "models/mla_attention.h"

namespace ds {
namespace {

struct DecoderLayer {
  RmsNormLayer input_norm, post_attention_norm;
  MlaAttention attention;
  std::optional<GatedMlp> mlp;  // dense layers
  std::optional<MoeLayer> moe;  // MoE layers
};

class DeepseekSequence : public SequenceState {
 public:
  DeepseekSequence(const ModelConfig& c, int64_t capacity, KvCacheDType dtype, int threads, ComputePrecision p)
      : cache(c.num_hidden_layers, capacity, c.kv_lora_rank, c.qk_rope_head_dim, dtype), ctx(threads, p) {}
  int64_t length() const override { return length_; }
  int64_t capacity() const override { return cache.capacity(); }
  void Truncate(int64_t n) override { length_ = std::min(length_, std::max<int64_t>(n, 0)); }

  MlaKvCache cache;
  KernelContext ctx;
  Workspace ws;
  int64_t length_ = 0;
};

class DeepseekModel : public CausalLm {
 public:
  const ModelConfig& config() const override { return config_; }
  const ModelStats& stats() const override { return stats_; }

  StatusOr<std::unique_ptr<SequenceState>> NewSequence() const override {
    const int64_t bytes = stats_.kv_bytes_per_token * capacity_;
    if (options_.memory_limit_bytes > 0 && bytes > options_.memory_limit_bytes) {
      return absl::ResourceExhaustedError(StrCat("KV cache for ", capacity_, " positions needs ", bytes,
                                                 " bytes, over the memory limit of ", options_.memory_limit_bytes));
    }
    return std::unique_ptr<SequenceState>(std::make_unique<DeepseekSequence>(
        config_, capacity_, options_.kv_cache_dtype, options_.threads, options_.precision));
  }

  Status Forward(SequenceState& state, std::span<const int32_t> tokens, bool all_logits,
                 std::vector<float>& logits) const override;

  Status Load(const ModelConfig& c, std::unique_ptr<TensorSource> store, const ModelLoadOptions& o);

 private:
  Status LoadLayer(WeightLoader& loader, int64_t i);
  void ComputeStats(const WeightLoader& loader);

  ModelConfig config_;
  ModelLoadOptions options_;
  std::unique_ptr<TensorSource> store_;
  Tensor embed_;
  std::vector<DecoderLayer> layers_;
  RmsNormLayer final_norm_;
  Linear lm_head_;
  RopeTables rope_;
  int64_t capacity_ = 0;
  ModelStats stats_;
};

Status DeepseekModel::LoadLayer(WeightLoader& loader, int64_t i) {
  const ModelConfig& c = config_;
  const std::string p = StrCat("model.layers.", i);
  DecoderLayer l;
  DS_ASSIGN_OR_RETURN(l.input_norm, RmsNormLayer::Load(loader, p + ".input_layernorm.weight", c.hidden_size, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(l.post_attention_norm,
                      RmsNormLayer::Load(loader, p + ".post_attention_layernorm.weight", c.hidden_size, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(l.attention, MlaAttention::Load(loader, p + ".self_attn", c, rope_.attention_scale));
  if (c.IsMoeLayer(i)) {
    DS_ASSIGN_OR_RETURN(MoeLayer moe, MoeLayer::Load(loader, p + ".mlp", c));
    l.moe = std::move(moe);
  } else {
    DS_ASSIGN_OR_RETURN(GatedMlp mlp, GatedMlp::Load(loader, p + ".mlp", c.hidden_size, c.intermediate_size));
    l.mlp = std::move(mlp);
  }
  layers_.push_back(std::move(l));
  return absl::OkStatus();
}

void DeepseekModel::ComputeStats(const WeightLoader& loader) {
  const ModelConfig& c = config_;
  stats_.architecture = c.model_type == "deepseek_v3" ? "DeepSeek-V3 (MLA + DeepSeekMoE, sigmoid routing)"
                                                      : "DeepSeek-V2 (MLA + DeepSeekMoE)";
  stats_.params_by_dtype = loader.params_by_dtype();
  int64_t total = embed_.numel() + lm_head_.params() + final_norm_.w.numel();
  int64_t active = c.hidden_size + lm_head_.params() + final_norm_.w.numel();  // one embedding row
  for (const DecoderLayer& l : layers_) {
    const int64_t common = l.attention.params() + 2 * c.hidden_size;
    total += common;
    active += common;
    if (l.mlp) {
      total += l.mlp->params();
      active += l.mlp->params();
    } else {
      const int64_t expert = l.moe->experts[0].params();
      const int64_t shared = l.moe->has_shared ? l.moe->shared.params() : 0;
      const int64_t router = l.moe->gate_w.numel() + (l.moe->correction_bias.defined() ? l.moe->correction_bias.numel() : 0);
      total += router + shared + expert * static_cast<int64_t>(l.moe->experts.size());
      active += router + shared + expert * c.num_experts_per_tok;
    }
  }
  stats_.total_params = total;
  stats_.active_params = active;
  stats_.active_weight_bytes = ActiveWeightBytes(loader.fetched(), c);
  stats_.max_context = capacity_;
  stats_.kv_bytes_per_token =
      MlaKvCache::BytesPerToken(c.num_hidden_layers, c.kv_lora_rank, c.qk_rope_head_dim, options_.kv_cache_dtype);
}

Status DeepseekModel::Load(const ModelConfig& c, std::unique_ptr<TensorSource> store, const ModelLoadOptions& o) {
  config_ = c;
  options_ = o;
  store_ = std::move(store);
  capacity_ = o.max_context > 0 ? o.max_context : std::min<int64_t>(c.max_position_embeddings, 4096);
  rope_ = BuildRopeTables(c, c.qk_rope_head_dim, capacity_);
  WeightLoader loader(*store_, config_);
  DS_ASSIGN_OR_RETURN(embed_, loader.Matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    DS_RETURN_IF_ERROR(LoadLayer(loader, i));
    if (o.progress) o.progress(static_cast<double>(i + 1) / c.num_hidden_layers, "layers");
  }
  DS_ASSIGN_OR_RETURN(final_norm_, RmsNormLayer::Load(loader, "model.norm.weight", c.hidden_size, c.rms_norm_eps));
  const std::string head = c.tie_word_embeddings && !loader.Has("lm_head.weight") ? "model.embed_tokens" : "lm_head";
  DS_ASSIGN_OR_RETURN(lm_head_, Linear::Load(loader, head, c.vocab_size, c.hidden_size));
  if (c.num_nextn_predict_layers > 0) {
    LogInfo(c.source, ": skipping ", c.num_nextn_predict_layers,
            " multi-token-prediction layer(s) (model.layers.", c.num_hidden_layers, ".*); not used for decoding");
  }
  ComputeStats(loader);
  return absl::OkStatus();
}

Status DeepseekModel::Forward(SequenceState& base, std::span<const int32_t> tokens, bool all_logits,
                              std::vector<float>& logits) const {
  auto& st = static_cast<DeepseekSequence&>(base);
  const int64_t m = static_cast<int64_t>(tokens.size()), d = config_.hidden_size, start = st.length_;
  if (m == 0) return absl::InvalidArgumentError("forward: no tokens given");
  if (start + m > capacity_) {
    return absl::OutOfRangeError(StrCat("sequence of ", start + m, " tokens exceeds the context of ", capacity_,
                                        " positions (set a larger max_context)"));
  }
  KernelContext& ctx = st.ctx;
  Workspace& ws = st.ws;
  std::vector<int32_t> positions(m);
  for (int64_t i = 0; i < m; ++i) positions[i] = static_cast<int32_t>(start + i);
  float* h = ws.Get(30, m * d);
  float* x = ws.Get(31, m * d);
  float* y = ws.Get(32, m * d);
  DS_RETURN_IF_ERROR(RunEmbedding({&embed_, tokens, h}, ctx));
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DecoderLayer& l = layers_[i];
    DS_RETURN_IF_ERROR(l.input_norm.Apply(h, m, d, x, d, ctx));
    DS_RETURN_IF_ERROR(l.attention.Forward(x, m, positions, rope_, st.cache, i, y, ctx, ws));
    DS_RETURN_IF_ERROR(RunF32<AddOp>({h, y, h, m * d}, ctx));
    DS_RETURN_IF_ERROR(l.post_attention_norm.Apply(h, m, d, x, d, ctx));
    if (l.mlp) {
      DS_RETURN_IF_ERROR(l.mlp->Forward(x, m, h, true, ctx, ws));
    } else {
      DS_RETURN_IF_ERROR(l.moe->Forward(x, m, d, y, ctx, ws));
      DS_RETURN_IF_ERROR(RunF32<AddOp>({h, y, h, m * d}, ctx));
    }
  }
  const int64_t rows = all_logits ? m : 1;
  const float* last = h + (m - rows) * d;
  DS_RETURN_IF_ERROR(final_norm_.Apply(last, rows, d, x, d, ctx));
  logits.resize(rows * config_.vocab_size);
  DS_RETURN_IF_ERROR(lm_head_.Apply(x, rows, d, logits.data(), config_.vocab_size, ctx));
  st.length_ = start + m;
  return absl::OkStatus();
}

Status Positive(const ModelConfig& c, const char* name, int64_t v) {
  if (v <= 0) return InvalidFormat(StrCat(c.source, ": field '", name, "' must be positive, got ", v));
  return absl::OkStatus();
}

}  // namespace

Status ValidateDeepseekConfig(const ModelConfig& c) {
  for (auto [name, v] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
                         {"num_hidden_layers", c.num_hidden_layers}, {"num_attention_heads", c.num_attention_heads},
                         {"kv_lora_rank", c.kv_lora_rank}, {"qk_rope_head_dim", c.qk_rope_head_dim},
                         {"qk_nope_head_dim", c.qk_nope_head_dim}, {"v_head_dim", c.v_head_dim},
                         {"max_position_embeddings", c.max_position_embeddings}}) {
    DS_RETURN_IF_ERROR(Positive(c, name, v));
  }
  // Upper bounds far above any real model: they keep shape products in int64 and stop a corrupt
  // config from sizing allocations (RoPE tables are built before any weight shape is checked).
  for (auto [name, v, max] : {std::tuple<const char*, int64_t, int64_t>{"vocab_size", c.vocab_size, 1 << 24},
                              {"hidden_size", c.hidden_size, 1 << 18}, {"num_hidden_layers", c.num_hidden_layers, 1 << 12},
                              {"num_attention_heads", c.num_attention_heads, 1 << 12},
                              {"kv_lora_rank", c.kv_lora_rank, 1 << 16}, {"q_lora_rank", c.q_lora_rank, 1 << 16},
                              {"qk_rope_head_dim", c.qk_rope_head_dim, 1 << 12},
                              {"qk_nope_head_dim", c.qk_nope_head_dim, 1 << 12}, {"v_head_dim", c.v_head_dim, 1 << 12},
                              {"intermediate_size", c.intermediate_size, 1 << 20},
                              {"moe_intermediate_size", c.moe_intermediate_size, 1 << 20},
                              {"n_routed_experts", c.n_routed_experts, 1 << 16}}) {
    if (v > max) return InvalidFormat(StrCat(c.source, ": field '", name, "' is implausibly large (", v, " > ", max, ")"));
  }
  if (c.qk_rope_head_dim % 2 != 0) return InvalidFormat(StrCat(c.source, ": field 'qk_rope_head_dim' must be even"));
  if (c.q_lora_rank < 0) return InvalidFormat(StrCat(c.source, ": field 'q_lora_rank' must not be negative"));
  if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0)) {
    return InvalidFormat(StrCat(c.source, ": fields 'rms_norm_eps' and 'rope_theta' must be positive"));
  }
  const bool any_dense = c.first_k_dense_replace > 0 || c.n_routed_experts == 0 || c.moe_layer_freq > 1;
  if (any_dense) DS_RETURN_IF_ERROR(Positive(c, "intermediate_size", c.intermediate_size));
  if (c.n_routed_experts < 0 || c.n_shared_experts < 0) {
    return InvalidFormat(StrCat(c.source, ": expert counts must not be negative"));
  }
  if (c.n_routed_experts > 0) {
    DS_RETURN_IF_ERROR(Positive(c, "num_experts_per_tok", c.num_experts_per_tok));
    DS_RETURN_IF_ERROR(Positive(c, "moe_intermediate_size", c.moe_intermediate_size));
    DS_RETURN_IF_ERROR(Positive(c, "moe_layer_freq", c.moe_layer_freq));
    DS_RETURN_IF_ERROR(Positive(c, "n_group", c.n_group));
    DS_RETURN_IF_ERROR(Positive(c, "topk_group", c.topk_group));
    if (c.num_experts_per_tok > c.n_routed_experts) {
      return InvalidFormat(StrCat(c.source, ": field 'num_experts_per_tok' (", c.num_experts_per_tok,
                                  ") exceeds 'n_routed_experts' (", c.n_routed_experts, ")"));
    }
    if (c.topk_group > c.n_group) {
      return InvalidFormat(StrCat(c.source, ": field 'topk_group' (", c.topk_group, ") exceeds 'n_group' (", c.n_group, ")"));
    }
    if (c.n_routed_experts % c.n_group != 0) {
      return InvalidFormat(StrCat(c.source, ": 'n_routed_experts' (", c.n_routed_experts,
                                  ") is not divisible by 'n_group' (", c.n_group, ")"));
    }
    if (c.topk_method != "greedy" && c.topk_method != "gready" && c.topk_method != "group_limited_greedy" &&
        c.topk_method != "noaux_tc") {
      return absl::UnimplementedError(StrCat(c.source, ": field 'topk_method' is '", c.topk_method,
                                             "'; supported: greedy, group_limited_greedy, noaux_tc"));
    }
    if (c.scoring_func != "softmax" && c.scoring_func != "sigmoid") {
      return absl::UnimplementedError(StrCat(c.source, ": field 'scoring_func' is '", c.scoring_func,
                                             "'; supported: softmax, sigmoid"));
    }
    if (c.topk_method != "greedy" && c.topk_method != "gready" &&
        c.num_experts_per_tok > c.topk_group * (c.n_routed_experts / c.n_group)) {
      return InvalidFormat(StrCat(c.source, ": 'num_experts_per_tok' exceeds the experts in the selected groups"));
    }
  }
  if (c.hidden_act != "silu") {
    return absl::UnimplementedError(StrCat(c.source, ": field 'hidden_act' is '", c.hidden_act, "'; supported: silu"));
  }
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<CausalLm>> LoadDeepseek(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                                 const ModelLoadOptions& options) {
  DS_RETURN_IF_ERROR(ValidateDeepseekConfig(config));
  auto model = std::make_unique<DeepseekModel>();
  DS_RETURN_IF_ERROR(model->Load(config, std::move(weights), options));
  return std::unique_ptr<CausalLm>(std::move(model));
}

}  // namespace ds
