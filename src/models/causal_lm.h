// The interface every architecture implements: a decoder-only LM that consumes token chunks at
// increasing positions against its own per-sequence state (KV cache + scratch).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "loader/model_config.h"
#include "loader/weight_placement.h"
#include "runtime/kernel_context.h"

namespace ds {

enum class KvCacheDType { kF32, kBF16 };

struct ModelLoadOptions {
  int threads = 0;                        // 0: all cores
  int64_t max_context = 0;                // positions per sequence; 0: min(model max, 4096)
  KvCacheDType kv_cache_dtype = KvCacheDType::kF32;
  ComputePrecision precision = ComputePrecision::kF32;
  // KV cache + scratch per sequence; 0: unlimited. Checked before anything is allocated: a load
  // whose single sequence cannot fit fails, and prefill runs in chunks small enough to fit.
  int64_t memory_limit_bytes = 0;
  bool load_mtp = false;                  // keep the multi-token-prediction layers
  WeightResidence weight_residence = WeightResidence::kAuto;  // mapped files or read into memory
  std::function<void(double, const std::string&)> progress;  // fraction done, stage; may be empty
};

// Static facts about a loaded model, for `deepseek info` and the public API.
struct ModelStats {
  std::string architecture;
  int64_t total_params = 0;        // every tensor of the main model (MTP layers excluded)
  int64_t active_params = 0;       // read per token: non-expert weights + top-k routed experts
  int64_t active_weight_bytes = 0; // stored bytes of those weights (ActiveWeightBytes); 0 if unknown
  std::map<std::string, int64_t> params_by_dtype;
  int64_t kv_bytes_per_token = 0;  // all layers
  int64_t mtp_layers_loaded = 0;
  int64_t mtp_params = 0;          // parameters the loaded MTP modules add
  int64_t max_context = 0;         // positions per sequence in this load
  int64_t weight_bytes = 0;        // bytes of weights the model reads
  bool weights_in_memory = false;  // read into memory (PlaceWeights), else paged in from the mapped files
  int64_t sequence_bytes = 0;      // one sequence: KV cache for max_context positions + decode scratch
};

// Per-sequence state: cache contents for positions [0, length()).
class SequenceState {
 public:
  virtual ~SequenceState() = default;
  virtual int64_t length() const = 0;
  virtual int64_t capacity() const = 0;
  // Forget positions >= n (used to roll back rejected speculative tokens, or to reset).
  virtual void Truncate(int64_t n) = 0;

  // Positions held by the multi-token-prediction modules' own KV cache (0 without MTP).
  virtual int64_t mtp_length() const { return 0; }
  // Forget MTP cache positions >= n (drafted positions that were not accepted).
  virtual void TruncateMtp(int64_t n) { (void)n; }
  // Test hook: the cached latent followed by the RoPE key (as f32) of `layer` at `position`;
  // layers num_hidden_layers.. are the MTP modules. Empty when out of range.
  virtual std::vector<float> CacheRow(int64_t layer, int64_t position) const {
    (void)layer, (void)position;
    return {};
  }
  // Scratch memory this sequence holds now (beyond its KV cache), for limit checks and tests.
  virtual int64_t scratch_bytes() const { return 0; }
};

class CausalLm {
 public:
  virtual ~CausalLm() = default;
  virtual const ModelConfig& config() const = 0;
  virtual const ModelStats& stats() const = 0;
  int64_t vocab_size() const { return config().vocab_size; }

  // A fresh sequence; fails with ResourceExhausted if its memory would exceed the limit.
  virtual StatusOr<std::unique_ptr<SequenceState>> NewSequence() const = 0;
  // Appends `tokens` at positions [state.length(), +n). Writes logits for every token
  // ([n, vocab]) when `all_logits`, otherwise only for the last one ([vocab]).
  virtual Status Forward(SequenceState& state, std::span<const int32_t> tokens, bool all_logits,
                         std::vector<float>& logits) const = 0;

  // Multi-token prediction (DeepSeek-V3 MTP; see models/mtp.h). Modules loaded; 0 when the
  // checkpoint has none or ModelLoadOptions::load_mtp was false.
  virtual int64_t mtp_modules() const { return 0; }
  // Forward that also writes every token's final hidden state (after the final norm: what the
  // output head sees) to `hidden` ([n, hidden_size]); the input MTP drafts from.
  virtual Status ForwardHidden(SequenceState& state, std::span<const int32_t> tokens, bool all_logits,
                               std::vector<float>& logits, std::vector<float>& hidden) const {
    (void)state, (void)tokens, (void)all_logits, (void)logits, (void)hidden;
    return absl::UnimplementedError("this model does not expose hidden states");
  }
  // Runs MTP module `module` on positions [state.mtp_length(), +n): hidden[n, hidden_size] holds
  // the hidden state at each position (the main model's, or a module's output when chaining) and
  // next_tokens[n] the token that follows it. Writes every row's output hidden state to
  // `out_hidden` ([n, hidden_size]) and the last row's draft logits to `logits` ([vocab]).
  virtual Status MtpForward(SequenceState& state, int64_t module, std::span<const float> hidden,
                            std::span<const int32_t> next_tokens, std::vector<float>& logits,
                            std::vector<float>& out_hidden) const {
    (void)state, (void)module, (void)hidden, (void)next_tokens, (void)logits, (void)out_hidden;
    return absl::UnimplementedError("this model has no multi-token-prediction module");
  }
};

}  // namespace ds
