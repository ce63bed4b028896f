// Row kernels for GGUF block-quantized weights: each block is dequantized into a small f32 tile
// (at most 256 values, on the stack) and consumed at once, so no weight is ever materialized
// beyond one block. With AVX-512, rows decode through quant_rows_avx512.cpp and dot products run
// fused in registers (quant_dot_avx512.cpp); with AVX2 both go through quant_rows_avx2.cpp.
#include <algorithm>

#include "runtime/cpu/weight_rows.h"
#include "runtime/quant_blocks.h"

namespace ds::cpu {

namespace {

// One block into a 64-byte aligned tile, in registers when the CPU has AVX-512 or AVX2.
inline void DecodeBlock(DType t, const uint8_t* block, float* tile, bool avx512, bool avx2) {
  if (avx512 && DequantizeBlockAvx512(t, block, tile)) return;
  if (avx2 && DequantizeBlockAvx2(t, block, tile)) return;
  DequantizeBlock(t, block, tile);
}

}  // namespace

void DecodeRowQuant(const WeightRows& w, int64_t r, float* out) {
  const DTypeInfo& info = GetDTypeInfo(w.dtype);
  const uint8_t* row = w.base + r * w.row_bytes;
  const bool avx512 = HasAvx512(), avx2 = HasAvx2();
  alignas(64) float tile[256];
  for (int64_t b = 0; b < w.cols / info.block_elems; ++b) {
    DecodeBlock(w.dtype, row + b * info.block_bytes, tile, avx512, avx2);
    std::copy(tile, tile + info.block_elems, out + b * info.block_elems);
  }
}

void DotRowQuant(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  if (HasAvx512() && DotRowQuantAvx512(w, r, x, m, ldx, out)) return;
  if (HasAvx2() && DotRowQuantAvx2(w, r, x, m, ldx, out)) return;
  // Portable path: one block at a time through the scalar dequantizer.
  const DTypeInfo& info = GetDTypeInfo(w.dtype);
  const uint8_t* row = w.base + r * w.row_bytes;
  float acc[4] = {0, 0, 0, 0};
  float tile[256];
  for (int64_t b = 0; b < w.cols / info.block_elems; ++b) {
    DequantizeBlock(w.dtype, row + b * info.block_bytes, tile);
    const int64_t c0 = b * info.block_elems;
    for (int64_t i = 0; i < m; ++i) {
      const float* xi = x + i * ldx + c0;
      float s = 0.0f;
      for (int64_t c = 0; c < info.block_elems; ++c) s += tile[c] * xi[c];
      acc[i] += s;
    }
  }
  std::copy(acc, acc + m, out);
}

}  // namespace ds::cpu
