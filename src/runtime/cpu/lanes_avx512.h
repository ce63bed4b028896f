// Helpers for AVX-512 kernels that keep one row per vector lane (include only from *_avx512.cpp).
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "runtime/cpu/exp_avx512.h"

namespace ds::cpu {

// 16 bf16 values (their bits) as f32: bf16 is the top half of an f32.
inline __m512 Bf16x16ToF32(__m256i bits) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16)); }

// 16 cache values at p as f32, from an f32 or a bf16 cache.
inline __m512 LoadF32x16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 LoadF32x16(const uint16_t* p) { return Bf16x16ToF32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

// The first min(n, 16) lanes.
inline __mmask16 TailMask(int64_t n) { return n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1); }

// Softmax down a [len][16] block of scores, one row per lane: in place, scores[s][lane] becomes
// e^(score - lane max) for s < limit[lane] and 0 after it (the causal mask); returns 1 / the lane
// sums. Every lane needs limit >= 1 (padding lanes: 1, over a zero score).
inline __m512 SoftmaxDownLanes(float* scores, int64_t len, __m512i limit) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t s = 0; s < len; ++s) {
    const __mmask16 valid = _mm512_cmpgt_epi32_mask(limit, _mm512_set1_epi32(static_cast<int>(s)));
    mx = _mm512_mask_max_ps(mx, valid, mx, _mm512_loadu_ps(scores + s * 16));
  }
  __m512 sum = _mm512_setzero_ps();
  for (int64_t s = 0; s < len; ++s) {
    const __mmask16 valid = _mm512_cmpgt_epi32_mask(limit, _mm512_set1_epi32(static_cast<int>(s)));
    const __m512 e = _mm512_maskz_mov_ps(valid, ExpAvx512(_mm512_sub_ps(_mm512_loadu_ps(scores + s * 16), mx)));
    _mm512_storeu_ps(scores + s * 16, e);
    sum = _mm512_add_ps(sum, e);
  }
  return _mm512_div_ps(_mm512_set1_ps(1.0f), sum);
}

}  // namespace ds::cpu
