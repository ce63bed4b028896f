// Decode GEMV with the activation row rounded to bf16 (ComputePrecision::kBF16, the reduced
// precision mode, which already rounds prompt activations to bf16) for bf16 weights, as llama.cpp
// computes them: vdpbf16ps multiplies 32 bf16 pairs exactly and accumulates in f32, one
// instruction per 32 weights where the exact path (f32 activations) needs two shifts or masks and
// two FMAs.
//
// Tried for f8_e4m3 weights too (exact bf16 of each code by a vpermi2b table lookup, subnormal
// codes included): 1.2-1.3x the exact kernel per core on rows of up to 4096 columns, but the
// tiny-v3-fp8 fixture's logits then moved 35-47% of their range token by token (its q_a_proj
// amplifies the rounding of its input: rounding only that input in the exact kernel moved them as
// much), against 6% for its bf16-rounded prefill. Not kept; f8_e4m3 decoding stays exact.
#include <immintrin.h>

#include "common/float_convert.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {

// Rows are read one at a time, whole: 2-8 rows sharing each x load, and column panels across
// rows, measured 1.3-3x slower (their interleaved streams were served worse by the hardware
// prefetchers). Longer rows stay exact (kBf16ActivationMaxColumns, weight_rows.cpp).

inline __m512bh LoadBh(const uint16_t* p) {
  const __m512i v = _mm512_loadu_si512(p);
  return reinterpret_cast<const __m512bh&>(v);
}

// Row `row` (cols bf16 values) against xb: four accumulator chains, the tail by scalar loads.
float DotBf16Row(const uint16_t* row, const uint16_t* xb, int64_t cols) {
  const int64_t k32 = cols / 32 * 32;
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t c = 0;
  for (; c + 128 <= k32; c += 128) {
    for (int u = 0; u < 4; ++u) acc[u] = _mm512_dpbf16_ps(acc[u], LoadBh(row + c + 32 * u), LoadBh(xb + c + 32 * u));
  }
  for (; c < k32; c += 32) acc[0] = _mm512_dpbf16_ps(acc[0], LoadBh(row + c), LoadBh(xb + c));
  float tail = 0.0f;
  for (c = k32; c < cols; ++c) tail += Bf16ToF32(xb[c]) * Bf16ToF32(row[c]);
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]))) + tail;
}

}  // namespace

void F32ToBf16Avx512Bf16(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), reinterpret_cast<const __m256i&>(v));
  }
  for (; i < n; ++i) out[i] = F32ToBf16(x[i]);
}

void PrepareBf16Activation(const WeightRows& w, const float* x, uint16_t* xb) { F32ToBf16Row(x, w.cols, xb); }

void GemvRowsBf16Activation(const WeightRows& w, int64_t r0, int64_t r1, const uint16_t* xb, float* y,
                            bool accumulate) {
  for (int64_t r = r0; r < r1; ++r) {
    const float v = DotBf16Row(reinterpret_cast<const uint16_t*>(w.base + r * w.row_bytes), xb, w.cols);
    y[r] = accumulate ? y[r] + v : v;
  }
}

}  // namespace ds::cpu
