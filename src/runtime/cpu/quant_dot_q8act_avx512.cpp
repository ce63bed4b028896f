// Decode GEMV for q8_0 / q4_k / q5_k / q6_k weights with the activation row quantized to 8 bits per
// 32 values (ComputePrecision::kBF16, the reduced-precision mode; llama.cpp's scheme for these
// types). Products of 8-bit codes are summed exactly in int32 by AVX512-VNNI vpdpbusd (unsigned x
// signed bytes, 32 per 256-bit instruction), then scaled in f32 once per 16 or 32 values: several
// times fewer vector instructions per weight than widening every code to f32
// (quant_dot_avx512.cpp), whose loops are bound by instruction throughput on this kind of core.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "runtime/cpu/weight_rows.h"
#include "runtime/quant_blocks.h"

namespace ds::cpu {
namespace {

// The f16 at p through F16C (quant_blocks.h's LoadHalf converts in software; this is per block).
inline float HalfF16c(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline __m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline float Sum8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// q8_0 (34 bytes: f16 d, i8 q[32]). Signed x signed through the unsigned-signed instruction:
// |w| * (q_x with w's sign), exact because |w| <= 128 and |q_x| <= 127.
float DotQ8_0(const uint8_t* row, int64_t nb, const Q8Activation& a) {
  __m256 acc[4];  // independent FMA chains, block b into acc[b % 4]
  for (auto& v : acc) v = _mm256_setzero_ps();
  auto block = [&](int64_t b, __m256& to) {
    const uint8_t* blk = row + b * 34;
    const __m256i w = Load32(blk + 2), q = Load32(a.q + b * 32);
    const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(q, w));
    to = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(HalfF16c(blk) * a.d[b]), to);
  };
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    block(b, acc[0]);
    block(b + 1, acc[1]);
    block(b + 2, acc[2]);
    block(b + 3, acc[3]);
  }
  for (; b < nb; ++b) block(b, acc[0]);
  return Sum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

// The 8 6-bit scales and mins of a q4_k super-block as f32 vectors (the unpacking of
// quant_blocks.h's ScaleMinK4, four sub-blocks per 32-bit word).
inline void ScalesMinsQ4K(const uint8_t* s, __m256* sc, __m256* m) {
  uint32_t u[3];
  std::memcpy(u, s, 12);
  const uint32_t sc_lo = u[0] & 0x3F3F3F3Fu, m_lo = u[1] & 0x3F3F3F3Fu;
  const uint32_t sc_hi = (u[2] & 0x0F0F0F0Fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0F0F0F0Fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  *sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(uint64_t{sc_hi} << 32 | sc_lo))));
  *m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(uint64_t{m_hi} << 32 | m_lo))));
}

// q4_k (144 bytes per 256: f16 d, f16 dmin, 12 scale bytes, 128 bytes of nibbles) and q5_k (176:
// the same plus qh[32] before the nibbles, bit j of qh[l] being bit 4 of value l of sub-block j).
// Sub-block j (32 values) is w = d*sc_j*q - dmin*m_j: the q part is a VNNI dot with the activation
// codes, the min part needs only the activation's block sums (a.sum), eight sub-blocks per vector.
template <bool kFiveBit>
float DotQ4K5K(const uint8_t* row, int64_t nb, const Q8Activation& a) {
  constexpr int64_t kBytes = kFiveBit ? 176 : 144, kQs = kFiveBit ? 48 : 16;
  const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  // One accumulator per sub-block: a single FMA chain (4-cycle latency) bounded the loop.
  __m256 acc[8], mins = _mm256_setzero_ps();
  for (auto& v : acc) v = _mm256_setzero_ps();
  alignas(32) float scale[8];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * kBytes;
    __m256 sc, m;
    ScalesMinsQ4K(blk + 4, &sc, &m);
    // scale[j] = d * sc_j * (activation scale of sub-block j), read back as memory broadcasts.
    _mm256_store_ps(scale, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(HalfF16c(blk)), sc), _mm256_loadu_ps(a.d + b * 8)));
    mins = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(HalfF16c(blk + 2)), m), _mm256_loadu_ps(a.sum + b * 8), mins);
    asm volatile("" ::: "memory");
    const int8_t* q = a.q + b * 256;
    const __m256i qh = kFiveBit ? Load32(blk + 16) : _mm256_setzero_si256();
    for (int j = 0; j < 8; j += 2) {
      const __m256i v = Load32(blk + kQs + 16 * j);
      __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      if constexpr (kFiveBit) {  // bit 4: bit j (low nibbles) or j + 1 (high nibbles) of qh, per byte
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, j), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, j + 1), one), 4));
      }
      const __m256i dot0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), lo, Load32(q + 32 * j));
      const __m256i dot1 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), hi, Load32(q + 32 * j + 32));
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot0), _mm256_broadcast_ss(scale + j), acc[j]);
      acc[j + 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot1), _mm256_broadcast_ss(scale + j + 1), acc[j + 1]);
    }
  }
  const __m256 total = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])),
                                     _mm256_add_ps(_mm256_add_ps(acc[4], acc[5]), _mm256_add_ps(acc[6], acc[7])));
  return Sum8(_mm256_sub_ps(total, mins));
}

// q6_k (210 bytes per 256: ql[128], qh[64], i8 scales[16], f16 d), w = d*sc*(q6 - 32) with one
// scale per 16 values. The unsigned 6-bit codes go through VNNI; the -32 is a second VNNI dot of
// the constant 32 with the activation codes (per lane: 32 * the sum of its 4 codes).
float DotQ6K(const uint8_t* row, int64_t nb, const Q8Activation& a) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
  __m256 acc[4];  // one per group: independent FMA chains
  for (auto& v : acc) v = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * 210;
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const __m256 d = _mm256_set1_ps(HalfF16c(blk + 208));
    for (int n = 0; n < 2; ++n) {  // halves of 128 values: ql[64], qh[32], 8 scales
      const uint8_t* ql = blk + 64 * n;
      const __m256i h = Load32(blk + 128 + 32 * n), lo = Load32(ql), up = Load32(ql + 32);
      const __m256i codes[4] = {
          _mm256_or_si256(_mm256_and_si256(lo, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), top2)),
          _mm256_or_si256(_mm256_and_si256(up, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), top2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo, 4), low4), _mm256_and_si256(h, top2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(up, 4), low4), _mm256_and_si256(_mm256_srli_epi16(h, 2), top2)),
      };
      // The half's 8 scales times d times the activation scale of their 32-value block.
      const __m256 dx = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(a.d + b * 8 + 4 * n)),
                                                 _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
      const __m256 scales = _mm256_mul_ps(
          _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 8 * n))))),
          dx);
      for (int g = 0; g < 4; ++g) {  // 32 values, activation block b * 8 + 4 * n + g
        const __m256i q = Load32(a.q + (b * 8 + 4 * n + g) * 32);
        const __m256i dot = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), codes[g], q),
                                             _mm256_dpbusd_epi32(_mm256_setzero_si256(), k32, q));
        // Lanes 0-3 hold values 0-15 (scale 2g), lanes 4-7 values 16-31 (scale 2g + 1).
        const __m256i pick = _mm256_setr_epi32(2 * g, 2 * g, 2 * g, 2 * g, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1);
        acc[g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_permutevar8x32_ps(scales, pick), acc[g]);
      }
    }
  }
  return Sum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

}  // namespace

bool Q8ActivationSupports(DType t) {
  return t == DType::kQ8_0 || t == DType::kQ4_K || t == DType::kQ5_K || t == DType::kQ6_K;
}

void QuantizeActivation(const float* x, int64_t n, int8_t* q, float* d, float* sum) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + b * 32;
    const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float scale = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    // Round to nearest, ties to even (the default rounding mode), like std::nearbyint.
    const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(inv)));
    const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(inv)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(i0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(i1));
    d[b] = scale;
    sum[b] = scale * static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1)));
  }
}

float DotRowQ8Activation(const WeightRows& w, int64_t r, const Q8Activation& a) {
  const uint8_t* row = w.base + r * w.row_bytes;
  switch (w.dtype) {
    case DType::kQ8_0: return DotQ8_0(row, w.cols / 32, a);
    case DType::kQ4_K: return DotQ4K5K<false>(row, w.cols / 256, a);
    case DType::kQ5_K: return DotQ4K5K<true>(row, w.cols / 256, a);
    case DType::kQ6_K: return DotQ6K(row, w.cols / 256, a);
    default: return 0.0f;
  }
}

}  // namespace ds::cpu
