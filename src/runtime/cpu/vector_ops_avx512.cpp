// AVX-512 versions of element-wise ops (vector_ops_cpu.cpp picks them at run time).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "runtime/cpu/lanes_avx512.h"
#include "runtime/cpu/vector_ops_cpu.h"

namespace ds::cpu {

void SiluMulRowAvx512(const float* gate, const float* up, int64_t n, float* out) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i), u = _mm512_maskz_loadu_ps(m, up + i);
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, ExpAvx512(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, u));
  }
}

void CausalSoftmaxRowAvx512(float* row, int64_t n, int64_t len, float scale, float* max_out, float* sum_out) {
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t s = 0; s < n; s += 16) {
    const __mmask16 m = TailMask(n - s);
    mx = _mm512_mask_max_ps(mx, m, mx, _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m, row + s)));
  }
  const __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t s = 0; s < n; s += 16) {
    const __mmask16 m = TailMask(n - s);
    const __m512 e = ExpAvx512(_mm512_fmsub_ps(sc, _mm512_maskz_loadu_ps(m, row + s), top));
    sum = _mm512_mask_add_ps(sum, m, sum, e);
    _mm512_mask_storeu_ps(row + s, m, e);
  }
  const float total = _mm512_reduce_add_ps(sum);
  if (max_out != nullptr) *max_out = _mm_cvtss_f32(_mm512_castps512_ps128(top));
  if (sum_out != nullptr) *sum_out = total;
  const __m512 inv = _mm512_set1_ps(1.0f / total);
  for (int64_t s = 0; s < n; s += 16) {
    const __mmask16 m = TailMask(n - s);
    _mm512_mask_storeu_ps(row + s, m, _mm512_mul_ps(inv, _mm512_maskz_loadu_ps(m, row + s)));
  }
  std::fill(row + n, row + len, 0.0f);
}

}  // namespace ds::cpu
