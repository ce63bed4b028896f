#include "models/deepseek.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "common/logging.h"
#include "models/decoder_layer.h"
#include "models/mtp.h"
#include "runtime/cpu/attention_rows.h"

namespace ds {
namespace {

using DecoderLayer = DeepseekDecoderLayer;

class DeepseekSequence : public SequenceState {
 public:
  DeepseekSequence(const ModelConfig& c, int64_t capacity, int64_t mtp_modules, KvCacheDType dtype, int threads,
                   ComputePrecision p)
      : cache(c.num_hidden_layers, capacity, c.kv_lora_rank, c.qk_rope_head_dim, dtype),
        mtp_cache(mtp_modules, mtp_modules > 0 ? capacity : 0, c.kv_lora_rank, c.qk_rope_head_dim, dtype),
        main_layers(c.num_hidden_layers), ctx(threads, p) {}
  int64_t length() const override { return length_; }
  int64_t capacity() const override { return cache.capacity(); }
  void Truncate(int64_t n) override { length_ = std::min(length_, std::max<int64_t>(n, 0)); }
  int64_t mtp_length() const override { return mtp_length_; }
  void TruncateMtp(int64_t n) override { mtp_length_ = std::min(mtp_length_, std::max<int64_t>(n, 0)); }
  std::vector<float> CacheRow(int64_t layer, int64_t position) const override;
  int64_t scratch_bytes() const override { return static_cast<int64_t>(ws.bytes() + ctx.scratch_bytes()); }

  MlaKvCache cache;
  MlaKvCache mtp_cache;  // one layer per MTP module, its own positions
  int64_t main_layers;
  KernelContext ctx;
  Workspace ws;
  std::vector<float> mtp_hidden;  // chaining scratch
  int64_t length_ = 0, mtp_length_ = 0;
};

std::vector<float> DeepseekSequence::CacheRow(int64_t layer, int64_t position) const {
  const bool mtp = layer >= main_layers;
  const int64_t len = mtp ? mtp_length_ : length_;
  const MlaKvCache& c = mtp ? mtp_cache : cache;
  const int64_t l = mtp ? layer - main_layers : layer;
  if (layer < 0 || position < 0 || position >= len || l >= c.layers()) return {};
  return c.RowF32(l, position);
}

class DeepseekModel : public CausalLm {
 public:
  const ModelConfig& config() const override { return config_; }
  const ModelStats& stats() const override { return stats_; }

  StatusOr<std::unique_ptr<SequenceState>> NewSequence() const override {
    // Reading a truncated mapping raises SIGBUS: refuse to start on weights changed since loading.
    DS_RETURN_IF_ERROR(store_->CheckUnchanged());
    return std::unique_ptr<SequenceState>(std::make_unique<DeepseekSequence>(
        config_, capacity_, mtp_modules(), options_.kv_cache_dtype, options_.threads, options_.precision));
  }

  Status Forward(SequenceState& state, std::span<const int32_t> tokens, bool all_logits,
                 std::vector<float>& logits) const override {
    return Run(state, tokens, all_logits, logits, nullptr);
  }
  Status ForwardHidden(SequenceState& state, std::span<const int32_t> tokens, bool all_logits,
                       std::vector<float>& logits, std::vector<float>& hidden) const override {
    return Run(state, tokens, all_logits, logits, &hidden);
  }
  int64_t mtp_modules() const override { return static_cast<int64_t>(mtp_.size()); }
  // From the config and options, so the memory check before loading already counts the MTP cache.
  int64_t mtp_kv_bytes_per_token() const {
    const int64_t modules = options_.load_mtp ? config_.num_nextn_predict_layers : 0;
    return MlaKvCache::BytesPerToken(modules, config_.kv_lora_rank, config_.qk_rope_head_dim,
                                     options_.kv_cache_dtype);
  }
  Status MtpForward(SequenceState& state, int64_t module, std::span<const float> hidden,
                    std::span<const int32_t> next_tokens, std::vector<float>& logits,
                    std::vector<float>& out_hidden) const override;

  Status Load(const ModelConfig& c, std::unique_ptr<TensorSource> store, const ModelLoadOptions& o);

  // Upper bound of the scratch memory (workspace + kernel scratch) one Forward of `m` tokens takes.
  int64_t ScratchBytes(int64_t m) const;

 private:
  int64_t KvCacheBytes() const { return (stats_.kv_bytes_per_token + mtp_kv_bytes_per_token()) * capacity_; }
  // Runs `tokens` at the sequence's next positions; writes last-row (or every-row) logits to
  // `logits` and every row's normalized final state to `hidden`, each unless null.
  Status ForwardChunk(DeepseekSequence& st, std::span<const int32_t> tokens, bool all_logits, float* logits,
                      float* hidden) const;
  Status LoadLayer(WeightLoader& loader, int64_t i);
  void ComputeStats(const WeightLoader& loader);
  // Forward over `tokens`; `hidden`, when given, receives every row's normalized final state.
  Status Run(SequenceState& state, std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits,
             std::vector<float>* hidden) const;

  ModelConfig config_;
  ModelLoadOptions options_;
  std::unique_ptr<TensorSource> store_;
  Tensor embed_;
  std::vector<DecoderLayer> layers_;
  RmsNormLayer final_norm_;
  Linear lm_head_;
  std::vector<MtpModule> mtp_;
  RopeTables rope_;
  int64_t capacity_ = 0;
  ModelStats stats_;
};

Status DeepseekModel::LoadLayer(WeightLoader& loader, int64_t i) {
  DS_ASSIGN_OR_RETURN(DecoderLayer l, DecoderLayer::Load(loader, StrCat("model.layers.", i), config_,
                                                         config_.IsMoeLayer(i), rope_.attention_scale));
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
  stats_.mtp_layers_loaded = mtp_modules();
  for (const MtpModule& m : mtp_) stats_.mtp_params += m.params();
  stats_.active_weight_bytes = ActiveWeightBytes(loader.fetched(), c);
}

int64_t DeepseekModel::ScratchBytes(int64_t m) const {
  const ModelConfig& c = config_;
  const int64_t d = c.hidden_size, heads = c.num_attention_heads, rank = c.kv_lora_rank, dr = c.qk_rope_head_dim;
  const int64_t moe_inter = c.moe_intermediate_size * std::max<int64_t>(c.n_shared_experts, 1);
  const int64_t inter = std::max(c.intermediate_size, moe_inter);
  // Floats per token in the workspace slots (see Forward, MlaAttention::Forward, GatedMlp, MoeLayer).
  const int64_t per_token = 3 * d                                               // slots 30..32
                            + heads * (c.qk_nope_head_dim + dr) + c.q_lora_rank + rank + dr  // slots 0..2
                            + heads * (2 * rank + dr + c.v_head_dim)           // slots 3..6
                            + 3 * inter                                        // slots 20..21
                            + c.n_routed_experts + 6 * c.num_experts_per_tok + 2 * d;  // slots 10..13, routing
  // Kernel scratch: a decoded weight row and a 256-row panel of the widest weight, and attention's
  // (every path's: runtime/cpu/mla_attention_cpu.cpp).
  const int64_t widest = std::max({d, inter, c.q_lora_rank, rank, heads * c.v_head_dim});
  const int64_t threads = KernelContext(options_.threads).threads();
  const int64_t attention = cpu::MlaAttentionScratchFloats(m, heads, rank, dr, capacity_, static_cast<int>(threads));
  // Decode matmul groups read up to 32 distinct inputs (per-head MLA products) or the chosen
  // experts' and the shared expert's activations.
  const int64_t k = c.num_experts_per_tok;
  const int64_t group_inputs = std::max<int64_t>(std::min<int64_t>(heads, 32), k + 1);
  // Routing (runtime/cpu/moe_route_cpu.cpp): scores and biased scores, group scores and members,
  // top-k indices (int32, one float each).
  const int64_t routing = 3 * c.n_routed_experts + c.n_group + c.n_routed_experts / std::max<int64_t>(c.n_group, 1);
  const int64_t kernel = MatMulScratchFloats(m, widest, group_inputs, threads) + attention + routing;
  // A decoded token's MoE (MoeLayer::ForwardToken, slots 14..16): gate, up and activation of the
  // shared and chosen experts, and the routed experts' outputs.
  const int64_t moe_token = 3 * (c.moe_intermediate_size * (c.n_shared_experts + k)) + k * d;
  return 4 * (m * per_token + kernel + moe_token);
}

Status DeepseekModel::Load(const ModelConfig& c, std::unique_ptr<TensorSource> store, const ModelLoadOptions& o) {
  config_ = c;
  options_ = o;
  store_ = std::move(store);
  if (o.max_context > c.max_position_embeddings) {
    return absl::InvalidArgumentError(StrCat("max_context ", o.max_context, " exceeds the model's ",
                                             c.max_position_embeddings, " positions (max_position_embeddings in ",
                                             c.source, ")"));
  }
  capacity_ = o.max_context > 0 ? o.max_context : std::min<int64_t>(c.max_position_embeddings, 4096);
  // Memory is known from the headers and the config before any weight is touched: report it, and
  // refuse a load whose single sequence would not fit the caller's limit.
  stats_.max_context = capacity_;
  stats_.kv_bytes_per_token =
      MlaKvCache::BytesPerToken(c.num_hidden_layers, c.kv_lora_rank, c.qk_rope_head_dim, o.kv_cache_dtype);
  stats_.weight_bytes = static_cast<int64_t>(store_->TotalBytes());
  stats_.sequence_bytes = KvCacheBytes() + ScratchBytes(1);
  LogInfo(c.source, ": weights take ", stats_.weight_bytes, " bytes in ", store_->FileCount(),
          " file(s); one sequence of ", capacity_, " positions takes ", stats_.sequence_bytes,
          " bytes (KV cache ", KvCacheBytes(), " + scratch)");
  DS_RETURN_IF_ERROR(
      CheckSequenceFits(c.source, capacity_, KvCacheBytes(), stats_.sequence_bytes, o.memory_limit_bytes));
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
  if (c.num_nextn_predict_layers > 0 && o.load_mtp) {
    for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
      DS_ASSIGN_OR_RETURN(MtpModule m, MtpModule::Load(loader, c, c.num_hidden_layers + k, embed_, lm_head_,
                                                       rope_.attention_scale));
      mtp_.push_back(std::move(m));
    }
  } else if (c.num_nextn_predict_layers > 0) {
    LogInfo(c.source, ": skipping ", c.num_nextn_predict_layers,
            " multi-token-prediction layer(s) (model.layers.", c.num_hidden_layers, ".*); not loaded");
  }
  ComputeStats(loader);
  DS_ASSIGN_OR_RETURN(stats_.weights_in_memory,
                      PlaceWeights(*store_, o.weight_residence, loader.StreamedRanges(head == "model.embed_tokens"), o.progress));
  DS_RETURN_IF_ERROR(loader.CheckFp8Codes(o.progress));
  return absl::OkStatus();
}

Status DeepseekModel::Run(SequenceState& base, std::span<const int32_t> tokens, bool all_logits,
                          std::vector<float>& logits, std::vector<float>* hidden) const {
  auto& st = static_cast<DeepseekSequence&>(base);
  const int64_t m = static_cast<int64_t>(tokens.size()), start = st.length_;
  DS_RETURN_IF_ERROR(CheckForwardFits(start, m, capacity_));
  const int64_t chunk = ChunkTokens(m, options_.memory_limit_bytes, KvCacheBytes(),
                                    [this](int64_t n) { return ScratchBytes(n); });
  const int64_t vocab = config_.vocab_size, d = config_.hidden_size;
  logits.resize((all_logits ? m : 1) * vocab);
  if (hidden != nullptr) hidden->resize(m * d);
  for (int64_t i = 0; i < m; i += chunk) {
    const int64_t n = std::min(chunk, m - i);
    float* out = all_logits ? logits.data() + i * vocab : (i + n == m ? logits.data() : nullptr);
    float* hid = hidden != nullptr ? hidden->data() + i * d : nullptr;
    DS_RETURN_IF_ERROR(ForwardChunk(st, tokens.subspan(i, n), all_logits, out, hid));
  }
  return absl::OkStatus();
}

Status DeepseekModel::ForwardChunk(DeepseekSequence& st, std::span<const int32_t> tokens, bool all_logits,
                                   float* logits, float* hidden) const {
  const int64_t m = static_cast<int64_t>(tokens.size()), d = config_.hidden_size, start = st.length_;
  KernelContext& ctx = st.ctx;
  Workspace& ws = st.ws;
  const auto [positions, h, x, y] = BeginForward(ws, m, d, start);
  DS_RETURN_IF_ERROR(RunEmbedding({&embed_, tokens, h}, ctx));
  for (size_t i = 0; i < layers_.size(); ++i) {
    DS_RETURN_IF_ERROR(layers_[i].Forward(h, x, y, m, positions, rope_, st.cache, static_cast<int64_t>(i), ctx, ws));
  }
  st.length_ = start + m;
  if (logits == nullptr && hidden == nullptr) return absl::OkStatus();
  // The final norm of a row does not depend on the others, so normalizing every row (when the
  // hidden states are wanted) leaves the last rows' values unchanged.
  const int64_t rows = all_logits ? m : 1;
  const int64_t normed = hidden != nullptr ? m : rows;
  DS_RETURN_IF_ERROR(final_norm_.Apply(h + (m - normed) * d, normed, d, x, d, ctx));
  if (hidden != nullptr) std::copy(x, x + m * d, hidden);
  if (logits != nullptr)
    DS_RETURN_IF_ERROR(lm_head_.Apply(x + (normed - rows) * d, rows, d, logits, config_.vocab_size, ctx));
  return absl::OkStatus();
}

Status DeepseekModel::MtpForward(SequenceState& base, int64_t module, std::span<const float> hidden,
                                 std::span<const int32_t> next_tokens, std::vector<float>& logits,
                                 std::vector<float>& out_hidden) const {
  auto& st = static_cast<DeepseekSequence&>(base);
  const int64_t m = static_cast<int64_t>(next_tokens.size()), d = config_.hidden_size, start = st.mtp_length_;
  if (module < 0 || module >= mtp_modules()) {
    return absl::InvalidArgumentError(StrCat("MTP module ", module, " requested; ", mtp_modules(), " loaded"));
  }
  if (m == 0 || static_cast<int64_t>(hidden.size()) != m * d) {
    return absl::InvalidArgumentError(StrCat("MTP forward: ", m, " tokens need ", m * d, " hidden values, got ",
                                             hidden.size()));
  }
  if (start + m > capacity_) {
    return absl::OutOfRangeError(StrCat("MTP positions up to ", start + m, " exceed the context of ", capacity_));
  }
  for (int32_t t : next_tokens) {
    if (t < 0 || t >= config_.vocab_size) return absl::InvalidArgumentError(StrCat("MTP forward: token id ", t, " out of range"));
  }
  std::vector<int32_t> positions(m);
  for (int64_t i = 0; i < m; ++i) positions[i] = static_cast<int32_t>(start + i);
  out_hidden.resize(m * d);
  DS_RETURN_IF_ERROR(mtp_[module].Forward(hidden.data(), next_tokens, positions, rope_, st.mtp_cache, module,
                                          out_hidden.data(), logits, st.ctx, st.ws));
  st.mtp_length_ = start + m;
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
