// The 256-bit kernels of the 8-bit-activation decode GEMV (q8_0, q4_0 / q4_1 / q5_0 / q5_1, q6_k),
// written once over a byte-dot policy and compiled twice: with AVX512-VNNI
// (quant_dot_q8act_avx512vnni.cpp, vpdpbusd) and with AVX2 (quant_dot_q8act_avx2.cpp, vpmaddubsw +
// vpmaddwd). Ops provides:
//   Dot(u, s):        int32 lane i = u[4i] s[4i] + ... + u[4i+3] s[4i+3] (u unsigned, s signed bytes;
//                     callers keep u <= 128 and |s| <= 127, so AVX2's int16 pair sums cannot saturate)
//   Bit4(bits):       byte l = 0x10 where bit l of bits is set, else 0
//   DotMinus32(u, s): Dot(u - 32, s) for 6-bit codes u
// Everything here has internal linkage: neither ISA's copy can be the one the other's callers get.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "runtime/cpu/lanes_256.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {  // NOLINT(build/namespaces): internal to each including file on purpose

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
template <typename Ops, bool kMin, bool kHigh>
float DotLegacy(const uint8_t* row, int64_t nb, const Q8Activation& a) {
  constexpr int kHead = 2 + (kMin ? 2 : 0) + (kHigh ? 4 : 0), kBytes = kHead + 16;
  constexpr float kOffset = kHigh ? -16.0f : -8.0f;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc[4];  // independent chains, block b into acc[b % 4] and off[b % 4]
  float off[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (auto& v : acc) v = _mm256_setzero_ps();
  auto block = [&](int64_t b, __m256& to, float& to_off) {
    const uint8_t* blk = row + b * kBytes;
    const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kHead));
    __m256i codes = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(qs, 4), qs), low4);
    if constexpr (kHigh) {
      uint32_t qh;
      std::memcpy(&qh, blk + kHead - 4, 4);
      codes = _mm256_or_si256(codes, Ops::Bit4(qh));
    }
    const __m256i dot = Ops::Dot(codes, Load32(a.q + b * 32));
    const float d = HalfF16c(blk);
    to = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * a.d[b]), to);
    to_off += (kMin ? HalfF16c(blk + 2) : kOffset * d) * a.sum[b];
  };
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    for (int i = 0; i < 4; ++i) block(b + i, acc[i], off[i]);
  }
  for (; b < nb; ++b) block(b, acc[0], off[0]);
  return Sum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]))) +
         ((off[0] + off[1]) + (off[2] + off[3]));
}

// q6_k (210 bytes per 256: ql[128], qh[64], i8 scales[16], f16 d), w = d*sc*(q6 - 32) with one
// scale per 16 values: the unsigned 6-bit codes through Ops::DotMinus32.
template <typename Ops>
float DotQ6K(const uint8_t* row, int64_t nb, const Q8Activation& a) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30);
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
        const __m256i dot = Ops::DotMinus32(codes[g], Load32(a.q + (b * 8 + 4 * n + g) * 32));
        // Lanes 0-3 hold values 0-15 (scale 2g), lanes 4-7 values 16-31 (scale 2g + 1).
        const __m256i pick = _mm256_setr_epi32(2 * g, 2 * g, 2 * g, 2 * g, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1);
        acc[g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_permutevar8x32_ps(scales, pick), acc[g]);
      }
    }
  }
  return Sum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

// y[r] (+)= dot(x, row r) for r in [r0, r1), each kernel's constants set up once.
template <typename Dot>
void GemvRows(const Dot& dot, const WeightRows& w, int64_t r0, int64_t r1, int64_t nb, const Q8Activation& a,
              float* y, bool accumulate) {
  for (int64_t r = r0; r < r1; ++r) {
    const float v = dot(w.base + r * w.row_bytes, nb, a);
    y[r] = accumulate ? y[r] + v : v;
  }
}

// The whole dispatch, with the q4_k / q5_k kernels each ISA writes itself (Q4K5K<kFiveBit>: a
// functor type, default-constructed once per row range).
template <typename Ops, template <bool> class Q4K5K>
void GemvRowsQ8ActivationT(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                           bool accumulate) {
  switch (w.dtype) {
    case DType::kQ8_0: return GemvRows(DotQ8_0<Ops>, w, r0, r1, w.cols / 32, a, y, accumulate);
    case DType::kQ4_0: return GemvRows(DotLegacy<Ops, false, false>, w, r0, r1, w.cols / 32, a, y, accumulate);
    case DType::kQ4_1: return GemvRows(DotLegacy<Ops, true, false>, w, r0, r1, w.cols / 32, a, y, accumulate);
    case DType::kQ5_0: return GemvRows(DotLegacy<Ops, false, true>, w, r0, r1, w.cols / 32, a, y, accumulate);
    case DType::kQ5_1: return GemvRows(DotLegacy<Ops, true, true>, w, r0, r1, w.cols / 32, a, y, accumulate);
    case DType::kQ4_K: return GemvRows(Q4K5K<false>(), w, r0, r1, w.cols / 256, a, y, accumulate);
    case DType::kQ5_K: return GemvRows(Q4K5K<true>(), w, r0, r1, w.cols / 256, a, y, accumulate);
    case DType::kQ6_K: return GemvRows(DotQ6K<Ops>, w, r0, r1, w.cols / 256, a, y, accumulate);
    default: return;
  }
}

}  // namespace
}  // namespace ds::cpu
