// The 256-bit kernels of the 8-bit-activation decode GEMV (q8_0, q4_0 / q4_1 / q5_0 / q5_1, q6_k),
// written once over a byte-dot policy and compiled twice: with AVX512-VNNI
// (quant_dot_q8act_avx512vnni.cpp, vpdpbusd) and with AVX2 (quant_dot_q8act_avx2.cpp, vpmaddubsw +
// vpmaddwd). Ops provides:
//   Dot(u, s):        int32 lane i = u[4i] s[4i] + ... + u[4i+3] s[4i+3] (u unsigned, s signed bytes;
//                     callers keep u <= 128 and |s| <= 127, so AVX2's int16 pair sums cannot saturate)
//   Bit4(bits):       byte l = 0x10 where bit l of bits is set, else 0
//   DotAdd(acc, u, s): acc + Dot(u, s)
//   DotMinus32(u, s): Dot(u - 32, s) for 6-bit codes u
//   DotTimesPow2(u, s, k) (optional): Dot(u, s) * 2^k, for DotCodes
// The legacy, q6_k (and each ISA's q4_k / q5_k) kernels also take x as Q8Activation's exact digit
// rows (kLimbs = kExactLimbs) through DotCodes; q8_0 only as 8-bit codes.
// Everything here has internal linkage: neither ISA's copy can be the one the other's callers get.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "runtime/cpu/lanes_256.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {  // NOLINT(build/namespaces): internal to each including file on purpose

// The int32 dot of unsigned codes u (<= 63) with the activation's 32 codes from position `at`:
// one byte dot, or the kExactLimbs digit rows' dots combined as 2^14 D0 + 2^7 D1 + D2 in int32,
// exactly: |lane| <= 4 * 63 * (127 * 2^14 + 64 * 2^7 + 64) < 2^30. Ops with DotTimesPow2 (AVX2:
// vpmaddwd by 2^k instead of by 1) scale each digit's dot in the widening multiply and skip the
// shifts (q4_0 / q4_k / q5_k / q6_k 1.0-1.25x on Zen 3 with round 16's in-lane scale picks).
template <typename Ops, int kLimbs>
inline __m256i DotCodes(__m256i u, const Q8Activation& a, int64_t at) {
  static_assert(kLimbs >= 1 && 7 * (kLimbs - 1) <= 14, "digit weights must fit vpmaddwd's int16 multiplier");
  if constexpr (requires { Ops::DotTimesPow2(u, u, 0); }) {
    __m256i dot = Ops::DotTimesPow2(u, Load32(a.q + at), 7 * (kLimbs - 1));
    for (int l = 1; l < kLimbs; ++l) {
      dot = _mm256_add_epi32(dot, Ops::DotTimesPow2(u, Load32(a.q + l * a.n + at), 7 * (kLimbs - 1 - l)));
    }
    return dot;
  } else {
    __m256i dot = Ops::Dot(u, Load32(a.q + at));
    for (int l = 1; l < kLimbs; ++l) dot = Ops::DotAdd(_mm256_slli_epi32(dot, 7), u, Load32(a.q + l * a.n + at));
    return dot;
  }
}

// q8_0 (34 bytes: f16 d, i8 q[32]). Signed x signed through the unsigned-signed dot:
// |w| * (q_x with w's sign), exact because |w| <= 128 and |q_x| <= 127.
template <typename Ops>
float DotQ8_0(const uint8_t* row, int64_t nb, const Q8Activation& a) {
  __m256 acc[4];  // independent FMA chains, block b into acc[b % 4]
  for (auto& v : acc) v = _mm256_setzero_ps();
  auto block = [&](int64_t b, __m256& to) {
    const uint8_t* blk = row + b * 34;
    const __m256i w = Load32(blk + 2), q = Load32(a.q + b * 32);
    const __m256i dot = Ops::Dot(_mm256_abs_epi8(w), _mm256_sign_epi8(q, w));
    to = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(HalfF16c(blk) * a.d[b]), to);
  };
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    for (int i = 0; i < 4; ++i) block(b + i, acc[i]);
  }
  for (; b < nb; ++b) block(b, acc[0]);
  return Sum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

// q4_0 / q4_1 / q5_0 / q5_1 (32 values per block: f16 d, [f16 m], [32-bit qh], 16 bytes of nibbles;
// value l < 16 is the low nibble of byte l, value l + 16 its high nibble, bit l of qh the fifth bit).
// Weight = d * q + c with c = -8 d (q4_0), -16 d (q5_0) or m (q4_1, q5_1), so a block's dot is
// d * dx * sum(q * qx) + c * sum_b: one byte dot of the codes, plus a scalar term.
// Rows<R>: R consecutive rows block by block (GemvRows: long rows), as DotQ6K.
template <typename Ops, bool kMin, bool kHigh, int kLimbs>
struct DotLegacy {
  static constexpr int kHead = 2 + (kMin ? 2 : 0) + (kHigh ? 4 : 0), kBytes = kHead + 16;
  static constexpr float kOffset = kHigh ? -16.0f : -8.0f;

  template <int R>
  void Rows(const uint8_t* row, int64_t row_bytes, int64_t nb, const Q8Activation& a, float* out) const {
    constexpr int kChains = R == 1 ? 4 : 1;  // independent chains per row, block b into [b % kChains]
    __m256 acc[R][kChains];
    float off[R][kChains] = {};
    for (auto& r : acc) {
      for (auto& v : r) v = _mm256_setzero_ps();
    }
    int64_t b = 0;
    for (; b + kChains <= nb; b += kChains) {
      for (int c = 0; c < kChains; ++c) {
        for (int i = 0; i < R; ++i) Block(row + i * row_bytes, b + c, a, acc[i][c], off[i][c]);
      }
    }
    for (; b < nb; ++b) {
      for (int i = 0; i < R; ++i) Block(row + i * row_bytes, b, a, acc[i][0], off[i][0]);
    }
    for (int i = 0; i < R; ++i) {
      __m256 total = acc[i][0];
      float total_off = off[i][0];
      for (int c = 1; c < kChains; ++c) {
        total = _mm256_add_ps(total, acc[i][c]);
        total_off += off[i][c];
      }
      out[i] = Sum8(total) + total_off;
    }
  }

  // Block b of the row into to (codes' dot, scaled) and to_off (the offset or min term).
  static void Block(const uint8_t* row, int64_t b, const Q8Activation& a, __m256& to, float& to_off) {
    const uint8_t* blk = row + b * kBytes;
    const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kHead));
    __m256i codes = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(qs, 4), qs), _mm256_set1_epi8(0x0F));
    if constexpr (kHigh) {
      uint32_t qh;
      std::memcpy(&qh, blk + kHead - 4, 4);
      codes = _mm256_or_si256(codes, Ops::Bit4(qh));
    }
    const __m256i dot = DotCodes<Ops, kLimbs>(codes, a, b * 32);
    const float d = HalfF16c(blk);
    to = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * a.d[b]), to);
    to_off += (kMin ? HalfF16c(blk + 2) : kOffset * d) * a.sum[b];
  }
};

// q6_k (210 bytes per 256: ql[128], qh[64], i8 scales[16], f16 d), w = d*sc*(q6 - 32) with one
// scale per 16 values: the unsigned 6-bit codes through Ops::DotMinus32 (digit rows: DotCodes minus
// the activation's precomputed 32 * sums).
// Rows<R>: R consecutive rows (row_bytes apart) block by block, for long rows: each block's
// activation codes, read from L2 for the first row, stay in L1 for the others.
template <typename Ops, int kLimbs>
struct DotQ6K {
  template <int R>
  void Rows(const uint8_t* row, int64_t row_bytes, int64_t nb, const Q8Activation& a, float* out) const {
    constexpr int kChains = R == 1 ? 4 : 1;  // independent FMA chains per row
    const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30);
    __m256 acc[R][kChains];
    for (auto& r : acc) {
      for (auto& v : r) v = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
      for (int n = 0; n < 2; ++n) {  // halves of 128 values: ql[64], qh[32], 8 scales
        // The activation scales of the half's four 32-value blocks, in both 128-bit lanes (see Half).
        const __m256 dx = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(a.d + b * 8 + 4 * n));
        for (int i = 0; i < R; ++i) Half(row + i * row_bytes + b * 210, n, a, (b * 8 + 4 * n) * 32, dx, low4, top2, acc[i]);
      }
    }
    for (int i = 0; i < R; ++i) {
      __m256 total = acc[i][0];
      for (int c = 1; c < kChains; ++c) total = _mm256_add_ps(total, acc[i][c]);
      out[i] = Sum8(total);
    }
  }

  // Half n of the block at blk (activation codes from position x0) into acc.
  template <int kChains>
  static void Half(const uint8_t* blk, int n, const Q8Activation& a, int64_t x0, __m256 dx, __m256i low4, __m256i top2,
                   __m256 (&acc)[kChains]) {
    const uint8_t* ql = blk + 64 * n;
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192 + 8 * n);
    const __m256i h = Load32(blk + 128 + 32 * n), lo = Load32(ql), up = Load32(ql + 32);
    const __m256i codes[4] = {
        _mm256_or_si256(_mm256_and_si256(lo, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), top2)),
        _mm256_or_si256(_mm256_and_si256(up, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), top2)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo, 4), low4), _mm256_and_si256(h, top2)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(up, 4), low4), _mm256_and_si256(_mm256_srli_epi16(h, 2), top2)),
    };
    // The half's 8 scales times d times the activation scale of their 32-value block, even scales
    // in the low 128-bit lane and odd ones in the high lane (sc_0 sc_2 sc_4 sc_6 | sc_1 sc_3 sc_5
    // sc_7): group g's pair (2g, 2g + 1) is then element g of each lane, an in-lane pick, where a
    // cross-lane permute per group cost about a cycle each on Zen 3.
    const __m128i even_odd = _mm_shuffle_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc)),
                                              _mm_setr_epi8(0, 2, 4, 6, 1, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1, -1));
    const __m256 scales = _mm256_mul_ps(
        _mm256_mul_ps(_mm256_set1_ps(HalfF16c(blk + 208)), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(even_odd))), dx);
    for (int g = 0; g < 4; ++g) {  // 32 values, from activation position x0 + 32 g
      const int64_t at = x0 + 32 * g;
      __m256i dot;
      if constexpr (kLimbs == 1) {
        dot = Ops::DotMinus32(codes[g], Load32(a.q + at));
      } else {
        dot = _mm256_sub_epi32(DotCodes<Ops, kLimbs>(codes[g], a, at), Load32(a.offset32 + at / 4));
      }
      // Lanes 0-3 hold values 0-15 (scale 2g), lanes 4-7 values 16-31 (scale 2g + 1).
      const __m256 pick = _mm256_permutevar_ps(scales, _mm256_set1_epi32(g));
      acc[g % kChains] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), pick, acc[g % kChains]);
    }
  }
};

// y[r] (+)= dot(x, row r) for r in [r0, r1), each kernel's constants set up once. Long rows of
// digit-row activations go kGemvRowGroup rows at a time through kernels that have Rows<R>: one
// row at a time, 21 KiB of codes (7168 columns) were re-read from L2 for each row, and the
// kernels fell behind the f32 widening path (2048 x 7168 q4_k: 5.3-7.1 vs 6.4 GB/s; 4 rows at
// a time 7.4, 8 rows 10.1, 16 rows 10.5 but q6_k 5.5: its accumulators spill).
// A kernel is a function of one row (q8_0) or a functor with Rows<R> (R rows row_bytes apart).
template <typename Dot>
void GemvRows(const Dot& dot, const WeightRows& w, int64_t r0, int64_t r1, int64_t nb, const Q8Activation& a,
              float* y, bool accumulate) {
  constexpr bool kGrouped = requires { dot.template Rows<1>(w.base, w.row_bytes, nb, a, y); };
  auto put = [&](int64_t r, float v) { y[r] = accumulate ? y[r] + v : v; };
  if constexpr (kGrouped) {
    if (a.limbs > 1 && IsLongRow(w)) {
      float v[kGemvRowGroup];
      for (; r0 + kGemvRowGroup <= r1; r0 += kGemvRowGroup) {
        dot.template Rows<kGemvRowGroup>(w.base + r0 * w.row_bytes, w.row_bytes, nb, a, v);
        for (int i = 0; i < kGemvRowGroup; ++i) put(r0 + i, v[i]);
      }
    }
  }
  for (int64_t r = r0; r < r1; ++r) {
    float v;
    if constexpr (kGrouped) {
      dot.template Rows<1>(w.base + r * w.row_bytes, w.row_bytes, nb, a, &v);
    } else {
      v = dot(w.base + r * w.row_bytes, nb, a);
    }
    put(r, v);
  }
}

// The whole dispatch for one activation form (kLimbs). K, the ISA's kernel set, names the byte-dot
// policy (K::Ops) and the functor types it takes per block type (K::Legacy<kMin, kHigh, kLimbs>,
// K::Q4K5K<kFiveBit, kLimbs>, K::Q6K<kLimbs>), default-constructed once per row range. Callers
// pass only types the form supports (Q8ActivationSupports, LimbActivationSupports).
template <typename K, int kLimbs>
void GemvRowsForm(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y, bool accumulate) {
  using Ops = typename K::Ops;
  const int64_t nb32 = w.cols / 32, nb256 = w.cols / 256;
  switch (w.dtype) {
    case DType::kQ8_0:
      if constexpr (kLimbs == 1) return GemvRows(DotQ8_0<Ops>, w, r0, r1, nb32, a, y, accumulate);
      break;
    case DType::kQ4_0: return GemvRows(typename K::template Legacy<false, false, kLimbs>(), w, r0, r1, nb32, a, y, accumulate);
    case DType::kQ4_1: return GemvRows(typename K::template Legacy<true, false, kLimbs>(), w, r0, r1, nb32, a, y, accumulate);
    case DType::kQ5_0: return GemvRows(typename K::template Legacy<false, true, kLimbs>(), w, r0, r1, nb32, a, y, accumulate);
    case DType::kQ5_1: return GemvRows(typename K::template Legacy<true, true, kLimbs>(), w, r0, r1, nb32, a, y, accumulate);
    case DType::kQ4_K: return GemvRows(typename K::template Q4K5K<false, kLimbs>(), w, r0, r1, nb256, a, y, accumulate);
    case DType::kQ5_K: return GemvRows(typename K::template Q4K5K<true, kLimbs>(), w, r0, r1, nb256, a, y, accumulate);
    case DType::kQ6_K: return GemvRows(typename K::template Q6K<kLimbs>(), w, r0, r1, nb256, a, y, accumulate);
    default: break;
  }
  // A caller bug (a type this form has no kernel for): NaN rather than stale or partial sums.
  for (int64_t r = r0; r < r1; ++r) y[r] = __builtin_nanf("");
}

template <typename K>
void GemvRowsQ8ActivationT(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                           bool accumulate) {
  if (a.limbs == kExactLimbs) return GemvRowsForm<K, kExactLimbs>(w, r0, r1, a, y, accumulate);
  GemvRowsForm<K, 1>(w, r0, r1, a, y, accumulate);
}

}  // namespace
}  // namespace ds::cpu
