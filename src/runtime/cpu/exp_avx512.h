// e^x on 16 floats (AVX-512; include only from *_avx512.cpp files): 2^n * p(r) with
// r = x - n ln 2 in [-ln2/2, ln2/2] and p the degree-7 Taylor polynomial (relative error below
// 1e-8 before the final rounding); overflows to inf above ~88.7 and underflows to 0 below ~-103.
#pragma once

#include <immintrin.h>

#include <initializer_list>

namespace ds::cpu {

inline __m512 ExpAvx512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);  // ln 2, high bits (exact n * hi)
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);  // ln 2, the rest
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  for (float c : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  return _mm512_scalef_ps(p, n);
}

}  // namespace ds::cpu
