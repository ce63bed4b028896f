// The 8-bit-activation decode GEMV (ComputePrecision::kBF16 on GGUF block-quantized weights) for
// CPUs with AVX2 but without AVX512-VNNI: quant_dot_q8act_256.h's kernels with each vpdpbusd (4
// unsigned x signed byte products summed into an int32 lane) replaced by vpmaddubsw + vpmaddwd,
// which sum the same 4 products in the same lanes, plus a 256-bit q4_k / q5_k kernel and the
// activation quantizer. Integer sums are exact, so the results equal the AVX-512 kernels' up to
// the order of the f32 scaling.
#include <immintrin.h>

#include <cstring>

#include "runtime/cpu/quant_dot_q8act_256.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {

// Byte l is 0xFF where bit l of bits is set, else 0 (AVX-512's mask-to-vector move).
inline __m256i BitsToBytes(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// vpmaddubsw sums byte pairs into int16, vpmaddwd pairs of those into the int32 lanes vpdpbusd
// fills (no saturation: see quant_dot_q8act_256.h).
struct Avx2Ops {
  static __m256i Dot(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
  static __m256i DotAdd(__m256i acc, __m256i u, __m256i s) { return _mm256_add_epi32(acc, Dot(u, s)); }
  static __m256i DotTimesPow2(__m256i u, __m256i s, int shift) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(static_cast<int16_t>(1 << shift)));
  }
  static __m256i Bit4(uint32_t bits) { return _mm256_and_si256(BitsToBytes(bits), _mm256_set1_epi8(0x10)); }
  // The -32 subtracted from the int16 pair sums (|pair| <= 2*63*127 and 2*32*127: no overflow).
  static __m256i DotMinus32(__m256i u, __m256i s) {
    const __m256i pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(u, s), _mm256_maddubs_epi16(_mm256_set1_epi8(32), s));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
  }
};

// The 6-bit scales and mins of one q4_k / q5_k super-block (head: f16 d, f16 dmin, 12 bytes s[])
// as bytes sc_0..7, m_0..7: the AVX-512 kernel's ScaleMinBytes on one 128-bit lane.
inline __m128i ScaleMinBytes(__m128i head) {
  const __m128i low = _mm_srlv_epi32(_mm_shuffle_epi32(head, _MM_SHUFFLE(3, 2, 3, 1)), _mm_setr_epi32(0, 0, 0, 4));
  const __m128i low_mask = _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F);
  const __m128i high = _mm_blend_epi32(_mm_setzero_si128(), _mm_shuffle_epi32(head, _MM_SHUFFLE(2, 0, 1, 0)), 0xA);
  return _mm_or_si128(_mm_and_si128(low, low_mask), _mm_and_si128(_mm_srli_epi32(high, 2), _mm_set1_epi8(0x30)));
}

// Bit j of every byte of qh moved to bit 4 (the fifth bit of q5_k's sub-block j). Shifts of 16-bit
// words: bit 4 of each byte then comes from the same byte.
inline __m256i QhBit(__m256i qh, int j) {
  const __m256i moved = j <= 4 ? _mm256_sll_epi16(qh, _mm_cvtsi32_si128(4 - j))
                               : _mm256_srl_epi16(qh, _mm_cvtsi32_si128(j - 4));
  return _mm256_and_si256(moved, _mm256_set1_epi8(0x10));
}

// q4_k / q5_k: sub-block j is w = d*sc_j*q - dmin*m_j; the q part is a byte dot with the
// activation codes, the min part needs only the activation's block sums (a.sum). Rows<R>: R
// consecutive rows block by block (quant_dot_q8act_256.h's GemvRows, long rows), one FMA chain
// per row (two for a single row), the min part subtracted in the same chain.
template <bool kFiveBit, int kLimbs>
struct DotQ4K5K {
  static constexpr int64_t kBytes = kFiveBit ? 176 : 144, kQs = kFiveBit ? 48 : 16;

  template <int R>
  void Rows(const uint8_t* row, int64_t row_bytes, int64_t nb, const Q8Activation& a, float* out) const {
    constexpr int kChains = R == 1 ? 2 : 1;
    __m256 acc[R][kChains];
    for (auto& r : acc) {
      for (auto& v : r) v = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
      for (int i = 0; i < R; ++i) Block(row + i * row_bytes + b * kBytes, a, b, acc[i]);
    }
    for (int i = 0; i < R; ++i) out[i] = Sum8(kChains == 1 ? acc[i][0] : _mm256_add_ps(acc[i][0], acc[i][kChains - 1]));
  }

  // Super-block b of a row (at blk) into acc.
  template <int kChains>
  static void Block(const uint8_t* blk, const Q8Activation& a, int64_t b, __m256 (&acc)[kChains]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));
    const __m128i bytes = ScaleMinBytes(head);
    const __m256 dd = _mm256_cvtph_ps(_mm_set1_epi32(_mm_cvtsi128_si32(head)));  // d, dmin, d, dmin, ...
    const __m256 d = _mm256_permute_ps(dd, 0x00), dmin = _mm256_permute_ps(dd, 0x55);  // in-lane picks
    // Per sub-block j: d * sc_j * (activation scale of block 8b + j); dmin * m_j * (its sum).
    const __m256 scales =
        _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), d), _mm256_loadu_ps(a.d + b * 8));
    // Scales 0-3 (low) and 4-7 (high) each in both 128-bit lanes, so that a sub-block's scale is an
    // in-lane pick: a cross-lane permute per sub-block cost about a cycle each on Zen 3.
    const __m256 scales_low = _mm256_permute2f128_ps(scales, scales, 0x00);
    const __m256 scales_high = _mm256_permute2f128_ps(scales, scales, 0x11);
    acc[0] = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8))), dmin),
                              _mm256_loadu_ps(a.sum + b * 8), acc[0]);
    const __m256i qh = kFiveBit ? Load32(blk + 16) : _mm256_setzero_si256();
    for (int k = 0; k < 4; ++k) {  // sub-blocks 2k (low nibbles of 32 bytes) and 2k + 1 (high)
      const __m256i v = Load32(blk + kQs + 32 * k);
      __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      if constexpr (kFiveBit) {
        lo = _mm256_or_si256(lo, QhBit(qh, 2 * k));
        hi = _mm256_or_si256(hi, QhBit(qh, 2 * k + 1));
      }
      const int64_t at = b * 256 + 64 * k;
      const __m256i dlo = DotCodes<Avx2Ops, kLimbs>(lo, a, at), dhi = DotCodes<Avx2Ops, kLimbs>(hi, a, at + 32);
      const __m256 half_scales = k < 2 ? scales_low : scales_high;
      acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dlo), _mm256_permutevar_ps(half_scales, _mm256_set1_epi32(2 * k % 4)), acc[0]);
      acc[kChains - 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dhi),
                                         _mm256_permutevar_ps(half_scales, _mm256_set1_epi32((2 * k + 1) % 4)), acc[kChains - 1]);
    }
  }
};

struct Avx2Kernels {
  using Ops = Avx2Ops;
  template <bool kMin, bool kHigh, int kLimbs>
  using Legacy = DotLegacy<Avx2Ops, kMin, kHigh, kLimbs>;
  template <bool kFiveBit, int kLimbs>
  using Q4K5K = DotQ4K5K<kFiveBit, kLimbs>;
  template <int kLimbs>
  using Q6K = DotQ6K<Avx2Ops, kLimbs>;
};

}  // namespace

void QuantizeActivationAvx2(const float* x, int64_t n, int8_t* q, float* d, float* sum) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < n / 32; ++b) {
    __m256 v[4], m = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + b * 32 + 8 * k);
      m = _mm256_max_ps(m, _mm256_and_ps(v[k], abs_mask));
    }
    const float amax = Max8(m);
    // As QuantizeActivation (AVX-512): the scale rounded to f16, codes rounded to nearest even.
    const float scale = _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT));
    const __m256 inv = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    __m256i i[4];
    for (int k = 0; k < 4; ++k) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], inv));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 32), PackBytes(i));
    d[b] = scale;
    const __m256i total = _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]));
    sum[b] = scale * static_cast<float>(SumI8(total));
  }
}

// Blocks whose largest magnitude is below this keep the f32 path: the kernels multiply the digit
// scale (max / (127 * 2^14), >= 2^-81 here) by weight scales (f16: >= 2^-24) and 6-bit sub-block
// scales in f32, which must stay normal (subnormal products lose bits; under DAZ they read 0).
constexpr float kSmallestDigitBlock = 0x1p-60f;

// QuantizeActivationLimbs (weight_rows.h), for AVX2 and AVX-512 alike (once per token: not worth
// a 512-bit copy). Digits of A, lowest first: the balanced remainder mod 128 (in [-64, 63]), then
// A = (A - digit) / 128 exactly; the top digit is in [-127, 127] because |x * inv| rounds to at
// most 127 * 2^14.
bool QuantizeActivationLimbs(const float* x, int64_t n, int8_t* q, float* d, float* sum, int32_t* offset32) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256 inf = _mm256_set1_ps(__builtin_inff());
  const __m256i half = _mm256_set1_epi32(64), low7 = _mm256_set1_epi32(127);
  constexpr float kTop = 127.0f * 16384.0f;
  for (int64_t b = 0; b < n / 32; ++b) {
    __m256 v[4], m = _mm256_setzero_ps();
    int bad = 0;
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + b * 32 + 8 * k);
      const __m256 mag = _mm256_and_ps(v[k], abs_mask);
      bad |= _mm256_movemask_ps(_mm256_cmp_ps(mag, inf, _CMP_NLT_UQ));  // inf or NaN
      m = _mm256_max_ps(m, mag);
    }
    const float amax = Max8(m);
    if (bad != 0 || (amax > 0.0f && amax < kSmallestDigitBlock)) return false;
    const __m256 inv = _mm256_set1_ps(amax > 0.0f ? kTop / amax : 0.0f);
    __m256i digit[kExactLimbs][4], total = _mm256_setzero_si256(), a[4];
    for (int k = 0; k < 4; ++k) {
      a[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], inv));
      total = _mm256_add_epi32(total, a[k]);
      __m256i rest = a[k];
      for (int l = kExactLimbs - 1; l > 0; --l) {
        digit[l][k] = _mm256_sub_epi32(_mm256_and_si256(_mm256_add_epi32(rest, half), low7), half);
        rest = _mm256_srai_epi32(_mm256_sub_epi32(rest, digit[l][k]), 7);
      }
      digit[0][k] = rest;
    }
    for (int l = 0; l < kExactLimbs; ++l) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + l * n + b * 32), PackBytes(digit[l]));
    }
    // Sums of 4 consecutive A: two horizontal adds leave them in 128-bit-lane order.
    const __m256i fours = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(offset32 + b * 8),
                        _mm256_slli_epi32(_mm256_permutevar8x32_epi32(fours, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)), 5));
    d[b] = amax / kTop;
    sum[b] = d[b] * static_cast<float>(SumI8(total));
  }
  return true;
}


void GemvRowsQ8ActivationAvx2(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                              bool accumulate) {
  GemvRowsQ8ActivationT<Avx2Kernels>(w, r0, r1, a, y, accumulate);
}

}  // namespace ds::cpu
