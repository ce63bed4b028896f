// Per-call execution context handed to kernels: threads and reusable scratch memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ds {

// Arithmetic precision of activations and matmuls.
//   kF32:  f32 activations; weights are widened to f32 in registers (exact for bf16/f16/fp8 weights).
//   kBF16: reduced precision: activations rounded to bf16 for multi-row matmuls so AMX/AVX512-BF16
//          can run them (faster prefill), quantized to 8 bits per 32 values for decode GEMVs on
//          GGUF block-quantized weights (AVX512-VNNI or AVX2), and rounded to bf16 for decode GEMVs on
//          bf16 weights (AVX512-BF16).
enum class ComputePrecision { kF32, kBF16 };

class KernelContext {
 public:
  explicit KernelContext(int threads = 0, ComputePrecision precision = ComputePrecision::kF32);
  int threads() const { return threads_; }
  ComputePrecision precision() const { return precision_; }
  // A float buffer of at least `n` elements, valid until the next call with the same `slot`.
  // A slot holds exactly its largest request (common/slot_buffers.h), the size
  // the models' memory plans count, so kernels whose need grows call by call (attention over a
  // growing cache) ask for their largest size at once (sized by the cache's capacity): nothing is
  // then reallocated token by token.
  float* Scratch(int slot, size_t n);
  // An int32 buffer of at least `n` elements (slots independent of Scratch's), same lifetime rule.
  int32_t* ScratchInts(int slot, size_t n);
  // Bytes held by the scratch buffers.
  size_t scratch_bytes() const;

 private:
  int threads_;
  ComputePrecision precision_;
  std::vector<std::vector<float>> scratch_;
  std::vector<std::vector<int32_t>> scratch_ints_;
};

}  // namespace ds
