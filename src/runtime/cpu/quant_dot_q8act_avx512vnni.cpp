// Decode GEMV for GGUF block-quantized weights with the activation row quantized to 8 bits per
// 32 values (ComputePrecision::kBF16, the reduced-precision mode; llama.cpp's scheme for these
// types). Products of 8-bit codes are summed exactly in int32 by AVX512-VNNI vpdpbusd (unsigned x
// signed bytes, 32 per 256-bit instruction), then scaled in f32 once per 16 or 32 values: several
// times fewer vector instructions per weight than widening every code to f32
// (quant_dot_avx512.cpp), whose loops are bound by instruction throughput on this kind of core.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "runtime/cpu/quant_dot_q8act_256.h"
#include "runtime/cpu/weight_rows.h"
#include "runtime/quant_blocks.h"

namespace ds::cpu {
namespace {

// vpdpbusd: one instruction per 32 byte products.
struct VnniOps {
  static __m256i Dot(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
  static __m256i DotAdd(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  static __m256i Bit4(uint32_t bits) { return _mm256_maskz_mov_epi8(bits, _mm256_set1_epi8(0x10)); }
  // The -32 as a second dot of the constant 32 with the activation codes.
  static __m256i DotMinus32(__m256i u, __m256i s) { return _mm256_sub_epi32(Dot(u, s), Dot(_mm256_set1_epi8(32), s)); }
};

// The 6-bit scales and mins of two q4_k / q5_k super-blocks (block heads h0, h1: f16 d, f16 dmin,
// 12 bytes s[]), as bytes sc_0..7, m_0..7 in each 128-bit lane: quant_blocks.h's ScaleMinK4 on
// the 32-bit words u0 = s[0..3], u1 = s[4..7], u2 = s[8..11], in-lane so one instruction serves
// both blocks (in scalar code this unpacking cost about as much as the 256 weights' dot products).
inline __m256i ScaleMinBytes(__m256i heads) {
  // Low bits: sc_0..3 = u0 & 63, sc_4..7 = u2 & 15, m_0..3 = u1 & 63, m_4..7 = (u2 >> 4) & 15.
  const __m256i low = _mm256_srlv_epi32(_mm256_shuffle_epi32(heads, _MM_SHUFFLE(3, 2, 3, 1)),
                                        _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4));
  const __m256i low_mask = _mm256_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F,
                                             0x3F3F3F3F, 0x0F0F0F0F);
  // Bits 4-5 of sc_4..7 / m_4..7: the top two bits of u0 / u1 bytes ((b >> 6) << 4 = (b >> 2) & 0x30).
  const __m256i high =
      _mm256_maskz_shuffle_epi32(0xAA, heads, static_cast<_MM_PERM_ENUM>(_MM_SHUFFLE(2, 0, 1, 0)));
  return _mm256_or_si256(_mm256_and_si256(low, low_mask),
                         _mm256_and_si256(_mm256_srli_epi32(high, 2), _mm256_set1_epi8(0x30)));
}

// q4_k (144 bytes per 256: f16 d, f16 dmin, 12 scale bytes, 128 bytes of nibbles) and q5_k (176:
// the same plus qh[32] before the nibbles, bit j of qh[l] being bit 4 of value l of sub-block j).
// Sub-block j (32 values) is w = d*sc_j*q - dmin*m_j: the q part is a VNNI dot with the activation
// codes, the min part needs only the activation's block sums (a.sum), eight sub-blocks per vector.
// 512-bit vectors hold a pair of sub-blocks (2k: low nibbles of 32 bytes, 2k + 1: their high
// nibbles), whose activation codes are 64 contiguous bytes: half the instructions of 256-bit
// vectors per weight, which is what bounded the loop (Zen 4 splits 512-bit work internally, but
// the front end and scheduler see one instruction).
// With the exact digit rows (kLimbs = kExactLimbs) every pair takes kLimbs dots; q4_k's high
// nibbles stay in place there too: |lane| <= 4 * 240 * (127 * 2^14 + 64 * 2^7 + 64) < 2.01e9 < 2^31.
// Constants live in the struct, built once per row range: per call they cost ~40 instructions,
// a fifth of a 1536-wide row's work.
// Tried and left out: 256-bit dots with per-sub-block scales broadcast from a stack copy (store
// forwarding made it slower); activation codes interleaved so that plain 64-byte loads of nibbles
// replace the broadcasts (13% faster from cache, but 3 of 4 such loads span two cache lines, and
// from DRAM that cost 25% on 1536-wide rows); software prefetch (no gain).
template <bool kFiveBit, int kLimbs>
struct DotQ4K5K {
  static constexpr int64_t kBytes = kFiveBit ? 176 : 144, kQs = kFiveBit ? 48 : 16;
  __m512i low4 = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
  // q4_k: the low half of a pair keeps the low nibbles (& 0x0F), the high half keeps the high
  // nibbles in place (& 0xF0, i.e. 16 q): one instruction, the 1/16 goes into the odd scales.
  __m512i nibbles = _mm512_inserti64x4(low4, _mm256_set1_epi8(static_cast<char>(0xF0)), 1);
  // Lanes 0-7: d (odd lanes d / 16 for q4_k, index 16 + 0 of the second source), lanes 8-15: dmin.
  __m512i d_pick = kFiveBit ? _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
                            : _mm512_setr_epi32(0, 16, 0, 16, 0, 16, 0, 16, 1, 1, 1, 1, 1, 1, 1, 1);
  __m512i d_pick1 = _mm512_add_epi32(d_pick, _mm512_set1_epi32(8));  // the same for the second block
  __m512i pick[4], qh_bit[4];  // per pair k: scale lanes, and the qh bit of each half

  DotQ4K5K() {
    for (int k = 0; k < 4; ++k) {
      pick[k] = _mm512_inserti64x4(_mm512_set1_epi32(2 * k), _mm256_set1_epi32(2 * k + 1), 1);
      qh_bit[k] = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * k))),
                                     _mm256_set1_epi8(static_cast<char>(1 << (2 * k + 1))), 1);
    }
  }

  // The 64 codes of pair k (sub-blocks 2k, 2k + 1) of the super-block at blk.
  __m512i Codes(const uint8_t* blk, const __m512i& qh, int k) const {
    const __m512i v = _mm512_broadcast_i64x4(Load32(blk + kQs + 32 * k));  // the 32 bytes in both halves
    if constexpr (!kFiveBit) return _mm512_and_si512(v, nibbles);
    // q5_k: the upper half shifted right by 4 (its words: mask bits 16-31), plus bit 4 from qh.
    const __m512i nib = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFFFF0000u, v, 4), low4);
    return _mm512_mask_add_epi8(nib, _mm512_test_epi8_mask(qh, qh_bit[k]), nib, bit4);
  }

  // Lanes 0-7: d * sc_j * (activation scale of sub-block j) (/ 16 for odd j in q4_k: the high
  // nibbles stay in place); lanes 8-15: dmin * m_j * (its activation code sum). Super-blocks b0, b1.
  void Scales(const uint8_t* row, int64_t b0, int64_t b1, const Q8Activation& a, __m512* s0, __m512* s1) const {
    const __m256i heads = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + b0 * kBytes))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + b1 * kBytes)), 1);
    const __m256i bytes = ScaleMinBytes(heads);
    // f16 lanes 0, 1: d, dmin of b0; lanes 8, 9: of b1 (the other lanes are scale bytes, unused).
    const __m512 d = _mm512_cvtph_ps(heads), d16 = _mm512_mul_ps(d, _mm512_set1_ps(1.0f / 16));
    const __m512 f0 = _mm512_permutex2var_ps(d, d_pick, d16);
    const __m512 f1 = _mm512_permutex2var_ps(d, d_pick1, d16);
    const __m512 sm0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_castsi256_si128(bytes)));
    const __m512 sm1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_extracti128_si256(bytes, 1)));
    *s0 = _mm512_mul_ps(_mm512_mul_ps(sm0, f0), Act(a, b0));
    *s1 = _mm512_mul_ps(_mm512_mul_ps(sm1, f1), Act(a, b1));
  }
  static __m512 Act(const Q8Activation& a, int64_t b) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a.d + b * 8)), _mm256_loadu_ps(a.sum + b * 8), 1);
  }

  // acc += the q part of super-block blk (codes q) with its scales; mins += its min part.
  // (Activation digit row l of these codes at q + l * n.)
  template <int kChains>
  void Block(const uint8_t* blk, const int8_t* q, int64_t n, __m512 scale, __m512 (&acc)[kChains], __m512& mins) const {
    mins = _mm512_mask_add_ps(mins, 0xFF00, mins, scale);
    const __m512i qh = kFiveBit ? _mm512_broadcast_i64x4(Load32(blk + 16)) : _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k) {
      const __m512i codes = Codes(blk, qh, k);
      __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, _mm512_loadu_si512(q + 64 * k));
      for (int l = 1; l < kLimbs; ++l) {  // 2^7 (previous digits) + this one: see DotCodes
        dot = _mm512_dpbusd_epi32(_mm512_slli_epi32(dot, 7), codes, _mm512_loadu_si512(q + l * n + 64 * k));
      }
      acc[k % kChains] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(pick[k], scale), acc[k % kChains]);
    }
  }

  // R consecutive rows (row_bytes apart) super-block pair by pair (quant_dot_q8act_256.h's
  // GemvRows: long rows, whose activation codes then stay in L1 for rows 2..R).
  template <int R>
  void Rows(const uint8_t* row, int64_t row_bytes, int64_t nb, const Q8Activation& a, float* out) const {
    constexpr int kChains = R == 1 ? 4 : 1;  // independent FMA chains per row (one per pair k)
    __m512 acc[R][kChains], mins[R];  // mins: lanes 8-15
    for (int i = 0; i < R; ++i) {
      for (auto& v : acc[i]) v = _mm512_setzero_ps();
      mins[i] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b += 2) {
      const int64_t b1 = b + 1 < nb ? b + 1 : b;
      for (int i = 0; i < R; ++i) {
        const uint8_t* r = row + i * row_bytes;
        __m512 s0, s1;
        Scales(r, b, b1, a, &s0, &s1);
        Block(r + b * kBytes, a.q + b * 256, a.n, s0, acc[i], mins[i]);
        if (b1 != b) Block(r + b1 * kBytes, a.q + b1 * 256, a.n, s1, acc[i], mins[i]);
      }
    }
    for (int i = 0; i < R; ++i) {
      __m512 total = acc[i][0];
      for (int c = 1; c < kChains; ++c) total = _mm512_add_ps(total, acc[i][c]);
      out[i] = _mm512_reduce_add_ps(_mm512_sub_ps(total, mins[i]));
    }
  }
};

// q6_k (210 bytes per 256: ql[128], qh[64], i8 scales[16], f16 d), w = d*sc*(q6 - 32), one scale
// per 16 values, on 512-bit vectors: 64 contiguous values per vector (ql's 64 bytes of one half
// give the low nibbles of values 0-63 of that half, their high nibbles values 64-127; qh's 32
// bytes, broadcast to both halves and shifted per half, the top two bits), about half the
// instructions per weight of the 256-bit kernel (quant_dot_q8act_256.h). One row with digit rows
// only (Q6KVnni below).
template <int kLimbs>
struct DotQ6K512 {
  __m512i low4 = _mm512_set1_epi8(0x0F), top2 = _mm512_set1_epi8(0x30);
  // Sub-block k (16 values) -> its activation block (k / 2); group j's lanes -> sub-blocks 4j + i / 4.
  __m512i dx_pick = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  __m512i pick[4];

  DotQ6K512() {
    for (int j = 0; j < 4; ++j) {
      pick[j] = _mm512_setr_epi32(4 * j, 4 * j, 4 * j, 4 * j, 4 * j + 1, 4 * j + 1, 4 * j + 1, 4 * j + 1, 4 * j + 2,
                                  4 * j + 2, 4 * j + 2, 4 * j + 2, 4 * j + 3, 4 * j + 3, 4 * j + 3, 4 * j + 3);
    }
  }

  float operator()(const uint8_t* row, int64_t nb, const Q8Activation& a) const {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t b = 0; b < nb; ++b) Block(row + b * 210, a, b, acc);
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  }

  void Block(const uint8_t* blk, const Q8Activation& a, int64_t b, __m512 (&acc)[4]) const {
    // Lane k: d * sc_k * (activation scale of sub-block k).
    const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192))));
    const __m512 dx = _mm512_permutexvar_ps(dx_pick, _mm512_castps256_ps512(_mm256_loadu_ps(a.d + b * 8)));
    const __m512 scales = _mm512_mul_ps(_mm512_mul_ps(sc, _mm512_set1_ps(HalfF16c(blk + 208))), dx);
    for (int n = 0; n < 2; ++n) {  // halves of 128 values: ql[64], qh[32]
      const __m512i ql = _mm512_loadu_si512(blk + 64 * n);
      const __m512i h = _mm512_broadcast_i64x4(Load32(blk + 128 + 32 * n));
      // Values 0-63: low nibbles | bits 4-5 from h << 4 (first 32) and h << 2 (second 32);
      // values 64-127: high nibbles | bits from h and h >> 2. (0xEA: (a & b) | c.)
      const __m512i h01 = _mm512_mask_slli_epi16(_mm512_slli_epi16(h, 4), 0xFFFF0000u, h, 2);
      const __m512i h23 = _mm512_mask_srli_epi16(h, 0xFFFF0000u, h, 2);
      const __m512i c01 = _mm512_ternarylogic_epi32(top2, h01, _mm512_and_si512(ql, low4), 0xEA);
      const __m512i c23 = _mm512_ternarylogic_epi32(top2, h23, _mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), 0xEA);
      const int64_t at = b * 256 + 128 * n;
      Group(c01, a, at, _mm512_permutexvar_ps(pick[2 * n], scales), acc[2 * n]);
      Group(c23, a, at + 64, _mm512_permutexvar_ps(pick[2 * n + 1], scales), acc[2 * n + 1]);
    }
  }

  // acc += scale * (codes - 32) . activation values [at, at + 64) (digit rows).
  void Group(__m512i codes, const Q8Activation& a, int64_t at, __m512 scale, __m512& acc) const {
    __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, _mm512_loadu_si512(a.q + at));
    for (int l = 1; l < kLimbs; ++l) {  // see DotCodes
      dot = _mm512_dpbusd_epi32(_mm512_slli_epi32(dot, 7), codes, _mm512_loadu_si512(a.q + l * a.n + at));
    }
    dot = _mm512_sub_epi32(dot, _mm512_loadu_si512(a.offset32 + at / 4));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc);
  }
};

// q6_k with VNNI: the 512-bit kernel for single rows with digit rows (1408 x 2048: 13.1-14.4 GB/s
// per core against 12 for the 256-bit one); the 256-bit kernel for 8-bit codes (21-22 against
// 19-20) and for groups of long rows (8.7-10 against 7.1-7.8 at R = 8, 7.8-8.9 at R = 4).
template <int kLimbs>
struct Q6KVnni {
  DotQ6K<VnniOps, kLimbs> narrow;
  DotQ6K512<kLimbs> wide;
  template <int R>
  void Rows(const uint8_t* row, int64_t row_bytes, int64_t nb, const Q8Activation& a, float* out) const {
    if constexpr (R == 1 && kLimbs > 1) {
      out[0] = wide(row, nb, a);
    } else {
      narrow.template Rows<R>(row, row_bytes, nb, a, out);
    }
  }
};

struct VnniKernels {
  using Ops = VnniOps;
  // (A 512-bit legacy kernel, two blocks per vector, ran 5-15% slower: per-block scalar scale
  // work, not the vector dots, bounds these.)
  template <bool kMin, bool kHigh, int kLimbs>
  using Legacy = DotLegacy<VnniOps, kMin, kHigh, kLimbs>;
  template <bool kFiveBit, int kLimbs>
  using Q4K5K = DotQ4K5K<kFiveBit, kLimbs>;
  template <int kLimbs>
  using Q6K = Q6KVnni<kLimbs>;
};

}  // namespace

void QuantizeActivationAvx512(const float* x, int64_t n, int8_t* q, float* d, float* sum) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + b * 32;
    const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    // The scale is rounded to f16, as llama.cpp's q8_0 blocks store it: then the products match
    // ggml's up to summation order, and so do the MoE routing decisions that this noise can flip
    // (with f32 scales the q4_0 / q5_0 fixtures ended 1.6-2.8x llama.cpp's distance from the exact
    // logits, with f16 scales 1.0x).
    const float scale = _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT));
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    // Round to nearest, ties to even (the default rounding mode), like std::nearbyint.
    const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(inv)));
    const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(inv)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(i0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(i1));
    d[b] = scale;
    sum[b] = scale * static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1)));
  }
}

void GemvRowsQ8ActivationAvx512(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                                bool accumulate) {
  GemvRowsQ8ActivationT<VnniKernels>(w, r0, r1, a, y, accumulate);
}

}  // namespace ds::cpu
