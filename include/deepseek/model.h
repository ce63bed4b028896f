// deepseek/model.h: loading a model and computing logits (standard library only).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "deepseek/status.h"

namespace deepseek {

// How a model is loaded. Every field has a usable default.
// Where a loaded model's weights live.
enum class WeightPlacement {
  kAuto,            // read into memory when the weight files take at most half the available memory
  kMapFile,         // memory-mapped: pages shared with the OS file cache, paged in on use
  kReadIntoMemory,  // read into the process's own memory (huge pages): faster decoding. The
                    // token embedding table (one row read per token) stays mapped unless it is
                    // also the output head.
};

struct ModelOptions {
  // Worker threads for kernels; 0 uses every core.
  int threads = 0;
  // Positions one sequence may hold (prompt + output); 0 = min(model's maximum, 4096).
  int64_t max_context = 0;
  // Store the KV cache in bf16 (half the memory) instead of f32.
  bool kv_cache_bf16 = false;
  // Reduced-precision activations, as llama.cpp computes: bf16 in multi-token matmuls (prompt
  // processing, AVX512-BF16 / AMX) and, in decoding, 8-bit codes per 32 values for GGUF
  // block-quantized weights (integer dot products: AVX512-VNNI or AVX2) and bf16 for bf16 weights
  // (AVX512-BF16). Faster; logits move by about as much as llama.cpp's do from the exact answer.
  // false = exact f32 arithmetic throughout.
  bool compute_bf16 = false;
  // Upper bound on the memory one sequence (generation or Logits call) may take: its KV cache for
  // max_context positions plus its scratch buffers; 0 = no limit. Both are computed from the
  // config before anything is allocated: Load fails with kOutOfMemory if a single sequence cannot
  // fit, and long prompts are then processed in chunks small enough to stay under the limit.
  // Exceeding it is an error, never an out-of-memory kill. Weights are not counted (they are
  // shared by all sequences; see ModelInfo::weight_bytes and weight_placement).
  int64_t memory_limit_bytes = 0;
  // Load DeepSeek-V3/R1's multi-token-prediction module when the checkpoint has one (used for
  // speculative decoding, see GenerateOptions::mtp). false saves its memory.
  bool load_mtp = true;
  // Memory-map the weight files or read them into memory. Streaming weights from the mapped file
  // cache measured 0.6-0.8x as fast as from the process's own huge-page memory (docs/performance.md);
  // mapping shares one copy between processes and starts faster. An explicit kReadIntoMemory that
  // cannot get the memory fails the load; kAuto then keeps the mapping.
  WeightPlacement weight_placement = WeightPlacement::kAuto;
  // Called during loading with the fraction done (0..1) and a short stage name. May be empty.
  std::function<void(double fraction, const std::string& stage)> progress;
};

// Static facts about a loaded model.
struct ModelInfo {
  std::string path;
  std::string model_type;     // config.json's model_type, e.g. "deepseek_v3"
  std::string architecture;   // a readable description
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t max_context = 0;    // positions per sequence in this load
  int64_t total_params = 0;   // parameters of the main model (MTP layers excluded)
  int64_t active_params = 0;  // parameters read per token (shared weights + top-k experts)
  std::map<std::string, int64_t> params_by_dtype;  // stored dtype name -> parameter count
  int64_t kv_cache_bytes_per_token = 0;
  int64_t mtp_modules = 0;    // multi-token-prediction modules loaded (0: none)
  int64_t weight_bytes = 0;    // weights read from the checkpoint
  bool weights_in_memory = false;  // read into memory (see weight_placement); false: memory-mapped
  int64_t sequence_bytes = 0;  // one sequence: KV cache for max_context positions + scratch
};

// Thread safety: a loaded Model is immutable and may be shared by any number of threads. Every
// call that computes (Logits here, Generate / GenerateChat in generate.h) creates its own sequence
// (KV cache + scratch) for the duration of the call, so concurrent calls never share mutable
// state, and with the same inputs and seed each gives exactly what it gives when run alone
// (tests/concurrency). The weights stay mapped until the Model is destroyed: destroy it only after
// every call using it has returned. Each call runs its kernels on `ModelOptions::threads` threads
// of its own; N concurrent calls use N times as many, so lower `threads` when serving many at once.
class Model {
 public:
  // Loads a Hugging Face checkpoint folder (config.json + *.safetensors) or a GGUF file
  // (llama.cpp's format: deepseek2, qwen2, llama). Errors name the file and the field or tensor
  // at fault.
  static Result<std::unique_ptr<Model>> Load(const std::string& path, const ModelOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Static facts: architecture, sizes, parameter counts, KV-cache cost.
  const ModelInfo& info() const;
  // Teacher-forced logits for every position of `tokens`: row t ([vocab_size] floats, row-major)
  // holds the next-token logits after tokens[0..t]. Thread-safe: each call uses its own cache.
  Result<std::vector<float>> Logits(std::span<const int32_t> tokens) const;

  struct Impl;
  // Library-internal access (used by the generation and C ABI layers).
  Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepseek
