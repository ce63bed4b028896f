// AVX2 dot products of one f32 activation row with GGUF block-quantized weight rows (the exact
// decode GEMV on CPUs without AVX-512), codes widened in registers (1.4-2x per core): the tile path of
// quant_rows_avx2.cpp stores every dequantized value to L1 and loads it back, which costs more
// than the widening itself. Arithmetic stays f32 (no activation quantization); block and
// sub-block scales multiply per-block partial sums (the affine types q4_1 / q5_1 / q4_k / q5_k
// form each weight), so the sums differ from the tile path's only in rounding order. Since round
// 12 these run for q8_0 and for x without a digit form (quant_dot_q8act_avx2.cpp).
#include <immintrin.h>

#include <cstring>

#include "runtime/cpu/lanes_256.h"
#include "runtime/cpu/weight_rows.h"
#include "runtime/quant_blocks.h"

namespace ds::cpu {
namespace {

inline __m256 SignedBytes8(const uint8_t* p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(LoadBytes8(p))); }

// q8_0 {f16 d; i8 q[32]}: acc += d * (q . x) per block, two chains per block, blocks alternating
// between two accumulator pairs.
float DotQ8_0(const uint8_t* row, int64_t nb, const float* x) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q = row + b * 34 + 2;
    const float* xb = x + b * 32;
    const __m256 p0 = _mm256_fmadd_ps(SignedBytes8(q + 8), _mm256_loadu_ps(xb + 8),
                                      _mm256_mul_ps(SignedBytes8(q), _mm256_loadu_ps(xb)));
    const __m256 p1 = _mm256_fmadd_ps(SignedBytes8(q + 24), _mm256_loadu_ps(xb + 24),
                                      _mm256_mul_ps(SignedBytes8(q + 16), _mm256_loadu_ps(xb + 16)));
    const __m256 d = _mm256_set1_ps(HalfF16c(row + b * 34));
    const int s = 2 * static_cast<int>(b & 1);
    acc[s] = _mm256_fmadd_ps(p0, d, acc[s]);
    acc[s + 1] = _mm256_fmadd_ps(p1, d, acc[s + 1]);
  }
  return Sum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

// Fifth bits of 8 values: kFifthBits[byte][i] = 16 when bit i of the byte is set (a load per 8
// values instead of a variable shift, a mask and a shift).
struct FifthBitTable {
  alignas(32) int32_t v[256][8];
};
constexpr FifthBitTable MakeFifthBitTable() {
  FifthBitTable t{};
  for (int b = 0; b < 256; ++b) {
    for (int i = 0; i < 8; ++i) t.v[b][i] = (b >> i) & 1 ? 16 : 0;
  }
  return t;
}
constexpr FifthBitTable kFifthBits = MakeFifthBitTable();
inline __m256i FifthBits(uint32_t qh, int shift) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(kFifthBits.v[(qh >> shift) & 0xFF]));
}

// q4_0 / q4_1 / q5_0 / q5_1 {f16 d; [f16 m;] [u32 qh;] u8 qs[16]}: value j < 16 is the low nibble
// of qs[j], j + 16 its high nibble, bit j of qh the fifth bit. w = d * q + m (kMin: each weight
// formed, so an inf in x meets each weight as in the reference, not a separate m * sum(x)), else
// d * (q - offset) with the offset subtracted from the integer codes and d scaling the block's sum.
template <bool kMin, bool kHigh>
float DotLegacy(const uint8_t* row, int64_t nb, const float* x) {
  constexpr int kBytes = 18 + (kMin ? 2 : 0) + (kHigh ? 4 : 0), kQs = kBytes - 16;
  const __m256i low4 = _mm256_set1_epi32(0x0F), offset = _mm256_set1_epi32(kMin ? 0 : (kHigh ? 16 : 8));
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * kBytes;
    const float* xb = x + b * 32;
    const __m256 d = _mm256_set1_ps(HalfF16c(blk)), m = _mm256_set1_ps(kMin ? HalfF16c(blk + 2) : 0.0f);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQs));
    const __m256i b0 = _mm256_cvtepu8_epi32(v), b1 = _mm256_cvtepu8_epi32(_mm_srli_si128(v, 8));
    __m256i q[4] = {_mm256_and_si256(b0, low4), _mm256_and_si256(b1, low4), _mm256_srli_epi32(b0, 4),
                    _mm256_srli_epi32(b1, 4)};
    uint32_t qh = 0;
    if constexpr (kHigh) std::memcpy(&qh, blk + kQs - 4, 4);
    __m256 p[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    const int s = static_cast<int>(b & 1);
    for (int k = 0; k < 4; ++k) {
      if constexpr (kHigh) q[k] = _mm256_or_si256(q[k], FifthBits(qh, 8 * k));
      const __m256 xk = _mm256_loadu_ps(xb + 8 * k);
      const __m256 qk = _mm256_cvtepi32_ps(_mm256_sub_epi32(q[k], offset));
      if constexpr (kMin) {
        acc[k & 1] = _mm256_fmadd_ps(_mm256_fmadd_ps(qk, d, m), xk, acc[k & 1]);
      } else {
        p[k & 1] = _mm256_fmadd_ps(qk, xk, p[k & 1]);
      }
    }
    if constexpr (!kMin) acc[s] = _mm256_fmadd_ps(_mm256_add_ps(p[0], p[1]), d, acc[s]);
  }
  return Sum8(_mm256_add_ps(acc[0], acc[1]));
}

// q4_k {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} and q5_k (the same with u8 qh[32] before qs):
// sub-blocks j (low nibbles) and j + 1 (high nibbles) share 32 bytes, and q5_k adds bit j of qh[l]
// as 16. w = d * sc_j * q - dmin * m_j, formed for each weight (a separate dmin * m_j * sum(x)
// would turn an inf in x into inf - inf = NaN where the reference has inf).
template <bool kFiveBit>
float DotQK(const uint8_t* row, int64_t nb, const float* x) {
  constexpr int kBytes = kFiveBit ? 176 : 144;
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i low4 = _mm256_set1_epi32(0x0F), sixteen = _mm256_set1_epi32(16);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * kBytes;
    const float d = HalfF16c(blk), dmin = HalfF16c(blk + 2);
    const uint8_t* q = blk + (kFiveBit ? 48 : 16);
    const float* xb = x + b * 256;
    for (int j = 0; j < 8; j += 2, q += 32, xb += 64) {
      int sc1, m1, sc2, m2;
      ScaleMinK4(j, blk + 4, &sc1, &m1);
      ScaleMinK4(j + 1, blk + 4, &sc2, &m2);
      const __m256 d1 = _mm256_set1_ps(d * sc1), min1 = _mm256_set1_ps(-dmin * m1);
      const __m256 d2 = _mm256_set1_ps(d * sc2), min2 = _mm256_set1_ps(-dmin * m2);
      for (int l = 0; l < 32; l += 8) {
        const __m256i v = _mm256_cvtepu8_epi32(LoadBytes8(q + l));
        __m256i vlo = _mm256_and_si256(v, low4), vhi = _mm256_srli_epi32(v, 4);
        if constexpr (kFiveBit) {  // bit j (resp. j + 1) of qh[l], moved to bit 4
          const __m256i h = _mm256_slli_epi32(_mm256_cvtepu8_epi32(LoadBytes8(blk + 16 + l)), 4);
          vlo = _mm256_or_si256(vlo, _mm256_and_si256(_mm256_srli_epi32(h, j), sixteen));
          vhi = _mm256_or_si256(vhi, _mm256_and_si256(_mm256_srli_epi32(h, j + 1), sixteen));
        }
        const __m256 x0 = _mm256_loadu_ps(xb + l), x1 = _mm256_loadu_ps(xb + 32 + l);
        acc[0] = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_cvtepi32_ps(vlo), d1, min1), x0, acc[0]);
        acc[1] = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_cvtepi32_ps(vhi), d2, min2), x1, acc[1]);
      }
    }
  }
  return Sum8(_mm256_add_ps(acc[0], acc[1]));
}

// q6_k {u8 ql[128]; u8 qh[64]; i8 sc[16]; f16 d}: per half, value l of group g is nibble g / 2 of
// ql[l + 32 * (g % 2)] with bits 2g, 2g + 1 of qh[l] on top, minus 32; scale sc[l / 16 + 2g]. The
// weight d * sc * (q - 32) = fma(q, d * sc, -32 * d * sc) is exact in f32 (at most 24 bits).
float DotQ6_K(const uint8_t* row, int64_t nb, const float* x) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i low4 = _mm256_set1_epi32(0x0F), three = _mm256_set1_epi32(3);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * 210;
    const float d = HalfF16c(blk + 208);
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = blk + 64 * n;
      const uint8_t* qh = blk + 128 + 32 * n;
      const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192) + 8 * n;
      const float* xh = x + b * 256 + 128 * n;
      for (int l = 0; l < 32; l += 8) {
        const __m256i a = _mm256_cvtepu8_epi32(LoadBytes8(ql + l)), c = _mm256_cvtepu8_epi32(LoadBytes8(ql + l + 32));
        const __m256i h = _mm256_cvtepu8_epi32(LoadBytes8(qh + l));
        for (int g = 0; g < 4; ++g) {
          const __m256i src = g % 2 ? c : a;
          const __m256i nib = g / 2 ? _mm256_srli_epi32(src, 4) : _mm256_and_si256(src, low4);
          const __m256i top = _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 2 * g), three), 4);
          const float dsc = d * sc[l / 16 + 2 * g];
          const __m256 w = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_or_si256(nib, top)), _mm256_set1_ps(dsc),
                                           _mm256_set1_ps(-32.0f * dsc));
          acc[g] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xh + l + 32 * g), acc[g]);
        }
      }
    }
  }
  return Sum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

}  // namespace

bool DotRowQuantOneAvx2(const WeightRows& w, int64_t r, const float* x, float* out) {
  const uint8_t* row = w.base + r * w.row_bytes;
  switch (w.dtype) {
    case DType::kQ8_0: *out = DotQ8_0(row, w.cols / 32, x); return true;
    case DType::kQ4_0: *out = DotLegacy<false, false>(row, w.cols / 32, x); return true;
    case DType::kQ4_1: *out = DotLegacy<true, false>(row, w.cols / 32, x); return true;
    case DType::kQ5_0: *out = DotLegacy<false, true>(row, w.cols / 32, x); return true;
    case DType::kQ5_1: *out = DotLegacy<true, true>(row, w.cols / 32, x); return true;
    case DType::kQ4_K: *out = DotQK<false>(row, w.cols / 256, x); return true;
    case DType::kQ5_K: *out = DotQK<true>(row, w.cols / 256, x); return true;
    case DType::kQ6_K: *out = DotQ6_K(row, w.cols / 256, x); return true;
    default: return false;
  }
}

}  // namespace ds::cpu
