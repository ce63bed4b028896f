#include "models/dense_decoder.h"

#include <algorithm>
#include <tuple>

#include "models/gqa_attention.h"

namespace ds {
namespace {

// What distinguishes the architectures this file serves.
struct Variant {
  const char* architecture;  // for `deepseek info`
  bool qkv_bias, o_bias;
};

struct DecoderLayer {
  RmsNormLayer input_norm, post_attention_norm;
  GqaAttention attention;
  GatedMlp mlp;
};

class DenseSequence : public SequenceState {
 public:
  DenseSequence(const ModelConfig& c, int64_t head_dim, int64_t capacity, KvCacheDType dtype, int threads,
                ComputePrecision p)
      : cache(c.num_hidden_layers, capacity, c.num_key_value_heads, head_dim, dtype), ctx(threads, p) {}
  int64_t length() const override { return length_; }
  int64_t capacity() const override { return cache.capacity(); }
  void Truncate(int64_t n) override { length_ = std::min(length_, std::max<int64_t>(n, 0)); }
  int64_t scratch_bytes() const override { return static_cast<int64_t>(ws.bytes() + ctx.scratch_bytes()); }

  GqaKvCache cache;
  KernelContext ctx;
  Workspace ws;
  int64_t length_ = 0;
};

class DenseDecoderModel : public CausalLm {
 public:
  const ModelConfig& config() const override { return config_; }
  const ModelStats& stats() const override { return stats_; }

  StatusOr<std::unique_ptr<SequenceState>> NewSequence() const override {
    // Reading a truncated mapping raises SIGBUS: refuse to start on weights changed since loading.
    DS_RETURN_IF_ERROR(store_->CheckUnchanged());
    return std::unique_ptr<SequenceState>(std::make_unique<DenseSequence>(
        config_, head_dim_, capacity_, options_.kv_cache_dtype, options_.threads, options_.precision));
  }

  Status Forward(SequenceState& state, std::span<const int32_t> tokens, bool all_logits,
                 std::vector<float>& logits) const override;

  Status Load(const ModelConfig& c, const Variant& v, std::unique_ptr<TensorSource> store, const ModelLoadOptions& o);

 private:
  Status LoadLayer(WeightLoader& loader, const Variant& v, int64_t i);
  Status ForwardChunk(DenseSequence& st, std::span<const int32_t> tokens, bool all_logits, float* logits) const;
  int64_t KvCacheBytes() const { return stats_.kv_bytes_per_token * capacity_; }
  // Workspace + kernel scratch bytes of an m-token forward (an upper bound; see Forward).
  int64_t ScratchBytes(int64_t m) const;
  void ComputeStats(const WeightLoader& loader, const Variant& v);

  ModelConfig config_;
  ModelLoadOptions options_;
  std::unique_ptr<TensorSource> store_;
  Tensor embed_;
  std::vector<DecoderLayer> layers_;
  RmsNormLayer final_norm_;
  Linear lm_head_;
  bool tied_head_ = false;
  RopeTables rope_;
  int64_t head_dim_ = 0, capacity_ = 0;
  ModelStats stats_;
};

Status DenseDecoderModel::LoadLayer(WeightLoader& loader, const Variant& v, int64_t i) {
  const ModelConfig& c = config_;
  const std::string p = StrCat("model.layers.", i);
  DecoderLayer l;
  DS_ASSIGN_OR_RETURN(l.input_norm, RmsNormLayer::Load(loader, p + ".input_layernorm.weight", c.hidden_size, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(l.post_attention_norm,
                      RmsNormLayer::Load(loader, p + ".post_attention_layernorm.weight", c.hidden_size, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(l.attention, GqaAttention::Load(loader, p + ".self_attn", c, v.qkv_bias, v.o_bias));
  DS_ASSIGN_OR_RETURN(l.mlp, GatedMlp::Load(loader, p + ".mlp", c.hidden_size, c.intermediate_size));
  layers_.push_back(std::move(l));
  return absl::OkStatus();
}

void DenseDecoderModel::ComputeStats(const WeightLoader& loader, const Variant& v) {
  const ModelConfig& c = config_;
  stats_.architecture = v.architecture;
  stats_.params_by_dtype = loader.params_by_dtype();
  const int64_t head = tied_head_ ? 0 : lm_head_.params();
  int64_t total = embed_.numel() + head + final_norm_.w.numel();
  int64_t active = c.hidden_size + lm_head_.params() + final_norm_.w.numel();  // one embedding row
  for (const DecoderLayer& l : layers_) {
    const int64_t n = l.attention.params() + l.mlp.params() + 2 * c.hidden_size;
    total += n;
    active += n;
  }
  stats_.total_params = total;
  stats_.active_params = active;
  // A tied head reads the whole embedding matrix once more per token.
  stats_.active_weight_bytes = ActiveWeightBytes(loader.fetched(), c) + (tied_head_ ? embed_.nbytes() : 0);
}

Status DenseDecoderModel::Load(const ModelConfig& c, const Variant& v, std::unique_ptr<TensorSource> store,
                               const ModelLoadOptions& o) {
  config_ = c;
  options_ = o;
  store_ = std::move(store);
  head_dim_ = c.head_dim > 0 ? c.head_dim : c.hidden_size / c.num_attention_heads;
  capacity_ = o.max_context > 0 ? o.max_context : std::min<int64_t>(c.max_position_embeddings, 4096);
  // Memory is known from the config before any weight is touched: refuse a load whose single
  // sequence would not fit the caller's limit.
  stats_.max_context = capacity_;
  stats_.kv_bytes_per_token = GqaKvCache::BytesPerToken(c.num_hidden_layers, c.num_key_value_heads, head_dim_, o.kv_cache_dtype);
  stats_.weight_bytes = static_cast<int64_t>(store_->TotalBytes());
  stats_.sequence_bytes = KvCacheBytes() + ScratchBytes(1);
  DS_RETURN_IF_ERROR(CheckSequenceFits(c.source, capacity_, KvCacheBytes(), stats_.sequence_bytes, o.memory_limit_bytes));
  rope_ = BuildRopeTables(c, head_dim_, capacity_);
  WeightLoader loader(*store_, config_);
  DS_ASSIGN_OR_RETURN(embed_, loader.Matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    DS_RETURN_IF_ERROR(LoadLayer(loader, v, i));
    if (o.progress) o.progress(static_cast<double>(i + 1) / c.num_hidden_layers, "layers");
  }
  DS_ASSIGN_OR_RETURN(final_norm_, RmsNormLayer::Load(loader, "model.norm.weight", c.hidden_size, c.rms_norm_eps));
  // A tied head reuses the embedding matrix (the HF checkpoint then has no lm_head.weight).
  tied_head_ = c.tie_word_embeddings && !loader.Has("lm_head.weight");
  if (tied_head_) {
    lm_head_.w = embed_;
    lm_head_.out = c.vocab_size;
    lm_head_.in = c.hidden_size;
  } else {
    DS_ASSIGN_OR_RETURN(lm_head_, Linear::Load(loader, "lm_head", c.vocab_size, c.hidden_size));
  }
  ComputeStats(loader, v);
  DS_ASSIGN_OR_RETURN(stats_.weights_in_memory,
                      PlaceWeights(*store_, o.weight_residence, loader.StreamedRanges(tied_head_), o.progress));
  DS_RETURN_IF_ERROR(loader.CheckFp8Codes(o.progress));
  return absl::OkStatus();
}

int64_t DenseDecoderModel::ScratchBytes(int64_t m) const {
  const ModelConfig& c = config_;
  const int64_t d = c.hidden_size, qdim = c.num_attention_heads * head_dim_, kvdim = c.num_key_value_heads * head_dim_;
  // Floats per token in the workspace: h, x, y (layers.cpp BeginForward), q, k+v, attention output
  // (gqa_attention.cpp), gate+up and the activation (GatedMlp).
  const int64_t per_token = 3 * d + 2 * qdim + 2 * kvdim + 3 * c.intermediate_size;
  // Kernel scratch: matmuls; attention (runtime/cpu/gqa_attention*.cpp): per kernel thread 16
  // query rows' scores and transposed queries (prompts; decode needs less), and a bf16 cache
  // widened to f32.
  const int64_t widest = std::max({d, c.intermediate_size, qdim});
  const int64_t threads = KernelContext(options_.threads).threads();
  const int64_t attention = threads * 16 * (head_dim_ + capacity_ + 24) +
                            (options_.kv_cache_dtype == KvCacheDType::kF32 ? 0 : 2 * capacity_ * kvdim);
  const int64_t kernel = MatMulScratchFloats(m, widest, 1, threads) + attention;
  return 4 * (m * per_token + kernel) + 4 * m;  // + the positions (int32)
}

Status DenseDecoderModel::Forward(SequenceState& base, std::span<const int32_t> tokens, bool all_logits,
                                  std::vector<float>& logits) const {
  auto& st = static_cast<DenseSequence&>(base);
  const int64_t m = static_cast<int64_t>(tokens.size()), vocab = config_.vocab_size;
  DS_RETURN_IF_ERROR(CheckForwardFits(st.length_, m, capacity_));
  // Under a memory limit a long prompt runs in chunks whose scratch fits beside the KV cache.
  const int64_t chunk = ChunkTokens(m, options_.memory_limit_bytes, KvCacheBytes(),
                                    [this](int64_t n) { return ScratchBytes(n); });
  logits.resize((all_logits ? m : 1) * vocab);
  for (int64_t i = 0; i < m; i += chunk) {
    const int64_t n = std::min(chunk, m - i);
    float* out = all_logits ? logits.data() + i * vocab : (i + n == m ? logits.data() : nullptr);
    DS_RETURN_IF_ERROR(ForwardChunk(st, tokens.subspan(i, n), all_logits, out));
  }
  return absl::OkStatus();
}

Status DenseDecoderModel::ForwardChunk(DenseSequence& st, std::span<const int32_t> tokens, bool all_logits,
                                       float* logits) const {
  const int64_t m = static_cast<int64_t>(tokens.size()), d = config_.hidden_size, start = st.length_;
  KernelContext& ctx = st.ctx;
  Workspace& ws = st.ws;
  const auto [positions, h, x, y] = BeginForward(ws, m, d, start);
  DS_RETURN_IF_ERROR(RunEmbedding({&embed_, tokens, h}, ctx));
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DecoderLayer& l = layers_[i];
    DS_RETURN_IF_ERROR(l.input_norm.Apply(h, m, d, x, d, ctx));
    DS_RETURN_IF_ERROR(l.attention.Forward(x, m, positions, rope_, st.cache, i, y, ctx, ws));
    DS_RETURN_IF_ERROR(RunF32<AddOp>({h, y, h, m * d}, ctx));
    DS_RETURN_IF_ERROR(l.post_attention_norm.Apply(h, m, d, x, d, ctx));
    DS_RETURN_IF_ERROR(l.mlp.Forward(x, m, h, true, ctx, ws));
  }
  st.length_ = start + m;
  if (logits == nullptr) return absl::OkStatus();
  const int64_t rows = all_logits ? m : 1;
  DS_RETURN_IF_ERROR(final_norm_.Apply(h + (m - rows) * d, rows, d, x, d, ctx));
  return lm_head_.Apply(x, rows, d, logits, config_.vocab_size, ctx);
}

StatusOr<std::unique_ptr<CausalLm>> LoadVariant(const ModelConfig& config, const Variant& v,
                                                std::unique_ptr<TensorSource> weights, const ModelLoadOptions& options) {
  DS_RETURN_IF_ERROR(ValidateDenseDecoderConfig(config));
  auto model = std::make_unique<DenseDecoderModel>();
  DS_RETURN_IF_ERROR(model->Load(config, v, std::move(weights), options));
  return std::unique_ptr<CausalLm>(std::move(model));
}

}  // namespace

Status ValidateDenseDecoderConfig(const ModelConfig& c) {
  // Lower and upper bounds: the upper ones (far above any real model) keep shape products in
  // int64 and stop a corrupt config from sizing allocations before any weight is checked.
  for (auto [name, v, max] : {std::tuple<const char*, int64_t, int64_t>{"vocab_size", c.vocab_size, 1 << 24},
                              {"hidden_size", c.hidden_size, 1 << 18},
                              {"intermediate_size", c.intermediate_size, 1 << 20},
                              {"num_hidden_layers", c.num_hidden_layers, 1 << 12},
                              {"num_attention_heads", c.num_attention_heads, 1 << 12},
                              {"num_key_value_heads", c.num_key_value_heads, 1 << 12},
                              {"max_position_embeddings", c.max_position_embeddings, int64_t{1} << 40}}) {
    if (v <= 0) return InvalidFormat(StrCat(c.source, ": field '", name, "' must be positive, got ", v));
    if (v > max) return InvalidFormat(StrCat(c.source, ": field '", name, "' is implausibly large (", v, " > ", max, ")"));
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return InvalidFormat(StrCat(c.source, ": 'num_attention_heads' (", c.num_attention_heads,
                                ") is not a multiple of 'num_key_value_heads' (", c.num_key_value_heads, ")"));
  }
  if (c.head_dim == 0 && c.hidden_size % c.num_attention_heads != 0) {
    return InvalidFormat(StrCat(c.source, ": 'hidden_size' (", c.hidden_size, ") is not a multiple of ",
                                "'num_attention_heads' (", c.num_attention_heads, ") and no 'head_dim' is given"));
  }
  const int64_t head_dim = c.head_dim > 0 ? c.head_dim : c.hidden_size / c.num_attention_heads;
  if (c.head_dim < 0 || head_dim > 4096 || head_dim <= 0 || head_dim % 2 != 0) {
    return InvalidFormat(StrCat(c.source, ": field 'head_dim' (", head_dim, ") must be positive, even and at most 4096"));
  }
  if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0)) {
    return InvalidFormat(StrCat(c.source, ": fields 'rms_norm_eps' and 'rope_theta' must be positive"));
  }
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "llama3" && (rs.original_max_position_embeddings <= 0 || !(rs.factor > 0) ||
                              !(rs.high_freq_factor > rs.low_freq_factor) || !(rs.low_freq_factor > 0))) {
    return InvalidFormat(StrCat(c.source, ": rope_scaling 'llama3' needs positive factor and "
                                          "original_max_position_embeddings, and high_freq_factor > low_freq_factor > 0"));
  }
  if (!rs.type.empty() && rs.type != "default" && rs.type != "llama3" && rs.type != "linear") {
    return absl::UnimplementedError(StrCat(c.source, ": rope_scaling type '", rs.type,
                                           "' is not supported for ", c.model_type, " (supported: llama3, linear)"));
  }
  if (c.hidden_act != "silu") {
    return absl::UnimplementedError(StrCat(c.source, ": field 'hidden_act' is '", c.hidden_act, "'; supported: silu"));
  }
  if (c.mlp_bias) return absl::UnimplementedError(StrCat(c.source, ": 'mlp_bias' true is not supported"));
  if (c.use_sliding_window) {
    return absl::UnimplementedError(StrCat(c.source, ": 'use_sliding_window' true is not supported"));
  }
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<CausalLm>> LoadQwen2(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                              const ModelLoadOptions& options) {
  // Qwen2 always has q/k/v biases (its config has no attention_bias key) and none on o_proj.
  return LoadVariant(config, {"Qwen2 (dense GQA decoder, q/k/v biases)", true, false}, std::move(weights), options);
}

StatusOr<std::unique_ptr<CausalLm>> LoadLlama(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                              const ModelLoadOptions& options) {
  // HF Llama: attention_bias puts biases on q, k, v and o.
  const bool bias = config.attention_bias;
  return LoadVariant(config, {"Llama (dense GQA decoder)", bias, bias}, std::move(weights), options);
}

}  // namespace ds
