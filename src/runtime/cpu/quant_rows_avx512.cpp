// AVX-512 block dequantization (16 values per register) for DecodeRowQuant. The arithmetic
// matches quant_blocks.cpp operation for operation, so both paths produce the same floats (a
// multiply-add the compiler fuses cannot differ: every product is exact in f32, see
// quant_rows_avx2.cpp).
#include <immintrin.h>

#include <cstring>

#include "common/float_convert.h"
#include "runtime/cpu/weight_rows.h"
#include "runtime/quant_blocks.h"

namespace ds::cpu {
namespace {

// 16 bytes -> 16 floats of the low / high nibbles.
inline __m512 LowNibbles(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(v, _mm_set1_epi8(0x0F)))); }
inline __m512 HighNibbles(__m128i v) {
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0F))));
}
inline __m128i Load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

void Q8_0(const uint8_t* b, float* y) {
  const __m512 d = _mm512_set1_ps(LoadHalf(b));
  for (int h = 0; h < 2; ++h) {
    const __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load16(b + 2 + 16 * h)));
    _mm512_store_ps(y + 16 * h, _mm512_mul_ps(d, q));
  }
}

// q4_0 / q4_1 / q5_0 / q5_1 ({f16 d; [f16 m;] [u32 qh;] u8 qs[16]}): y = d * (q - offset) + min as
// DequantQ4 / DequantQ5, the fifth bit of value j being bit j of qh (added as 16 under a mask).
template <bool kMin, bool kHigh>
void Legacy(const uint8_t* b, float* y) {
  constexpr int kQs = 2 + (kMin ? 2 : 0) + (kHigh ? 4 : 0);
  const __m512 d = _mm512_set1_ps(LoadHalf(b)), offset = _mm512_set1_ps(kMin ? 0.0f : (kHigh ? 16.0f : 8.0f));
  const __m512 min = _mm512_set1_ps(kMin ? LoadHalf(b + 2) : 0.0f);
  const __m128i v = Load16(b + kQs);
  __m512 lo = LowNibbles(v), hi = HighNibbles(v);
  if constexpr (kHigh) {
    uint32_t qh;
    std::memcpy(&qh, b + kQs - 4, 4);
    const __m512 sixteen = _mm512_set1_ps(16.0f);
    lo = _mm512_mask_add_ps(lo, static_cast<__mmask16>(qh), lo, sixteen);
    hi = _mm512_mask_add_ps(hi, static_cast<__mmask16>(qh >> 16), hi, sixteen);
  }
  _mm512_store_ps(y, _mm512_add_ps(_mm512_mul_ps(d, _mm512_sub_ps(lo, offset)), min));
  _mm512_store_ps(y + 16, _mm512_add_ps(_mm512_mul_ps(d, _mm512_sub_ps(hi, offset)), min));
}

// y = d * q - min for 16 values.
inline void StoreAffine(float* y, __m512 q, float d, float min) {
  _mm512_store_ps(y, _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(d), q), _mm512_set1_ps(min)));
}

void Q4_K(const uint8_t* b, float* y) {
  const float d = LoadHalf(b), dmin = LoadHalf(b + 2);
  const uint8_t* q = b + 16;
  for (int j = 0; j < 8; j += 2) {
    int sc1, m1, sc2, m2;
    ScaleMinK4(j, b + 4, &sc1, &m1);
    ScaleMinK4(j + 1, b + 4, &sc2, &m2);
    const float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
    for (int h = 0; h < 2; ++h) {
      const __m128i v = Load16(q + 16 * h);
      StoreAffine(y + 16 * h, LowNibbles(v), d1, min1);
      StoreAffine(y + 32 + 16 * h, HighNibbles(v), d2, min2);
    }
    y += 64;
    q += 32;
  }
}

void Q5_K(const uint8_t* b, float* y) {
  const float d = LoadHalf(b), dmin = LoadHalf(b + 2);
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  const __m512i sixteen = _mm512_set1_epi32(16);
  for (int j = 0; j < 8; j += 2) {
    int sc1, m1, sc2, m2;
    ScaleMinK4(j, b + 4, &sc1, &m1);
    ScaleMinK4(j + 1, b + 4, &sc2, &m2);
    const float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
    for (int h = 0; h < 2; ++h) {
      const __m128i v = Load16(ql + 16 * h);
      const __m512i hb = _mm512_cvtepu8_epi32(Load16(qh + 16 * h));
      const __m512i lo = _mm512_cvtepu8_epi32(_mm_and_si128(v, _mm_set1_epi8(0x0F)));
      const __m512i hi = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0F)));
      const __m512i bit1 = _mm512_and_si512(_mm512_slli_epi32(_mm512_srli_epi32(hb, j), 4), sixteen);
      const __m512i bit2 = _mm512_and_si512(_mm512_slli_epi32(_mm512_srli_epi32(hb, j + 1), 4), sixteen);
      StoreAffine(y + 16 * h, _mm512_cvtepi32_ps(_mm512_or_si512(lo, bit1)), d1, min1);
      StoreAffine(y + 32 + 16 * h, _mm512_cvtepi32_ps(_mm512_or_si512(hi, bit2)), d2, min2);
    }
    y += 64;
    ql += 32;
  }
}

void Q6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = LoadHalf(b + 208);
  const __m512i low4 = _mm512_set1_epi32(0x0F), two = _mm512_set1_epi32(3), bias = _mm512_set1_epi32(32);
  for (int n = 0; n < 2; ++n) {
    for (int l = 0; l < 32; l += 16) {
      const int is = l / 16;
      const __m512i a = _mm512_cvtepu8_epi32(Load16(ql + l));
      const __m512i c = _mm512_cvtepu8_epi32(Load16(ql + l + 32));
      const __m512i h = _mm512_cvtepu8_epi32(Load16(qh + l));
      auto six = [&](__m512i nib, int shift) {
        const __m512i top = _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, shift), two), 4);
        return _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_or_si512(nib, top), bias));
      };
      const __m512 q1 = six(_mm512_and_si512(a, low4), 0), q2 = six(_mm512_and_si512(c, low4), 2);
      const __m512 q3 = six(_mm512_srli_epi32(a, 4), 4), q4 = six(_mm512_srli_epi32(c, 4), 6);
      _mm512_store_ps(y + l, _mm512_mul_ps(_mm512_set1_ps(d * sc[is]), q1));
      _mm512_store_ps(y + l + 32, _mm512_mul_ps(_mm512_set1_ps(d * sc[is + 2]), q2));
      _mm512_store_ps(y + l + 64, _mm512_mul_ps(_mm512_set1_ps(d * sc[is + 4]), q3));
      _mm512_store_ps(y + l + 96, _mm512_mul_ps(_mm512_set1_ps(d * sc[is + 6]), q4));
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

bool DequantizeBlockAvx512(DType t, const uint8_t* block, float* out) {
  switch (t) {
    case DType::kQ8_0: Q8_0(block, out); return true;
    case DType::kQ4_0: Legacy<false, false>(block, out); return true;
    case DType::kQ4_1: Legacy<true, false>(block, out); return true;
    case DType::kQ5_0: Legacy<false, true>(block, out); return true;
    case DType::kQ5_1: Legacy<true, true>(block, out); return true;
    case DType::kQ4_K: Q4_K(block, out); return true;
    case DType::kQ5_K: Q5_K(block, out); return true;
    case DType::kQ6_K: Q6_K(block, out); return true;
    default: return false;
  }
}

}  // namespace ds::cpu
