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
#include "runtime/kernel_context.h"

namespace ds {

enum class KvCacheDType { kF32, kBF16 };

struct ModelLoadOptions {
  int threads = 0;                        // 0: all cores
  int64_t max_context = 0;                // positions per sequence; 0: min(model max, 4096)
  KvCacheDType kv_cache_dtype = KvCacheDType::kF32;
  ComputePrecision precision = ComputePrecision::kF32;
  int64_t memory_limit_bytes = 0;         // KV cache + scratch per sequence; 0: unlimited
  bool load_mtp = false;                  // keep the multi-token-prediction layers
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
  int64_t max_context = 0;         // positions per sequence in this load
};

// Per-sequence state: cache contents for positions [0, length()).
class SequenceState {
 public:
  virtual ~SequenceState() = default;
  virtual int64_t length() const = 0;
  virtual int64_t capacity() const = 0;
  // Forget positions >= n (used to roll back rejected speculative tokens, or to reset).
  virtual void Truncate(int64_t n) = 0;
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
};

}  // namespace ds
