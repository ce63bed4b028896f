// AVX-512 row kernels: weights are widened to f32 in registers, 16 columns at a time.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

#include "common/float_convert.h"
#include "runtime/cpu/lanes_avx512.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {

// Loads 16 weights starting at column c (masked for the tail) as f32.
template <DType kType>
inline __m512 Load16(const uint8_t* row, int64_t c, __mmask16 mask) {
  if constexpr (kType == DType::kF32) {
    return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(row) + c);
  } else if constexpr (kType == DType::kBF16) {
    return Bf16x16ToF32(_mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(row) + c));
  } else if constexpr (kType == DType::kF16) {
    __m256i h = _mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(row) + c);
    return _mm512_cvtph_ps(h);
  } else {
    // f8_e4m3 -> f16 bit pattern: the byte sign-extended to 16 bits and shifted up 7 puts the
    // exponent+mantissa at bits 7..13 and the sign at bits 14 and 15; clearing bit 14 leaves an f16
    // that reads the exponent with bias 15 instead of 7, i.e. 2^-8 of the value (subnormals
    // included). Callers multiply by kLoadUnit (folded into the block scale, exact). Far cheaper
    // than a gather. (NaN codes would become 480;
    // WeightLoader::CheckFp8Codes refuses weights holding them.)
    const __m256i s = _mm256_cvtepi8_epi16(_mm_maskz_loadu_epi8(mask, row + c));
    return _mm512_cvtph_ps(_mm256_and_si256(_mm256_slli_epi16(s, 7), _mm256_set1_epi16(static_cast<int16_t>(0xBF80))));
  }
}

// Load16 returns weights divided by this (a power of two: multiplying by it is exact).
template <DType kType>
constexpr float kLoadUnit = kType == DType::kF8E4M3 ? 256.0f : 1.0f;

// Dot of up to 4 activation rows with columns [c0, c1) of one weight row.
// Per-row vector partial sums of kM activation rows times columns [c0, c1) of one weight row
// (not yet reduced, so block-scaled rows pay one horizontal sum per row, not one per block).
// One activation row uses four independent accumulators: a single FMA chain is latency-bound.
template <DType kType, int kM>
inline void DotSpanVec(const uint8_t* row, int64_t c0, int64_t c1, const float* x, int64_t ldx, __m512* acc) {
  int64_t c = c0;
  if constexpr (kM == 1) {
    __m512 a1 = _mm512_setzero_ps(), a2 = a1, a3 = a1;
    for (; c + 64 <= c1; c += 64) {
      // f16: two whole 64-byte lines, converted from registers. Converting from memory (a 32-byte
      // operand per instruction) streamed 16-20 GB/s on one Zen 4 core against 28 this way.
      if constexpr (kType == DType::kF16) {
        const __m512i h0 = _mm512_loadu_si512(row + 2 * c), h1 = _mm512_loadu_si512(row + 2 * c + 64);
        acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), _mm512_cvtph_ps(_mm512_castsi512_si256(h0)), acc[0]);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + c + 16), _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h0, 1)), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + c + 32), _mm512_cvtph_ps(_mm512_castsi512_si256(h1)), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + c + 48), _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h1, 1)), a3);
        continue;
      }
      acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), Load16<kType>(row, c, 0xffff), acc[0]);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + c + 16), Load16<kType>(row, c + 16, 0xffff), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + c + 32), Load16<kType>(row, c + 32, 0xffff), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + c + 48), Load16<kType>(row, c + 48, 0xffff), a3);
    }
    acc[0] = _mm512_add_ps(_mm512_add_ps(acc[0], a1), _mm512_add_ps(a2, a3));
  }
  for (; c < c1; c += 16) {
    const __mmask16 mask = TailMask(c1 - c);
    const __m512 wv = Load16<kType>(row, c, mask);
    for (int i = 0; i < kM; ++i) {
      acc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + i * ldx + c), wv, acc[i]);
    }
  }
}

template <DType kType, int kM>
void DotRowT(const WeightRows& w, int64_t r, const float* x, int64_t ldx, float* out) {
  const uint8_t* row = w.base + r * w.row_bytes;
  __m512 total[kM];
  for (int i = 0; i < kM; ++i) total[i] = _mm512_setzero_ps();
  if (w.scales == nullptr) {
    DotSpanVec<kType, kM>(row, 0, w.cols, x, ldx, total);
    for (int i = 0; i < kM; ++i) total[i] = _mm512_mul_ps(total[i], _mm512_set1_ps(kLoadUnit<kType>));
  } else {
    const float* srow = ScaleRow(w, r);
    for (int64_t c0 = 0; c0 < w.cols; c0 += w.block) {
      __m512 part[kM];
      for (int i = 0; i < kM; ++i) part[i] = _mm512_setzero_ps();
      DotSpanVec<kType, kM>(row, c0, std::min(w.cols, c0 + w.block), x, ldx, part);
      const __m512 scale = _mm512_set1_ps(srow[c0 / w.block] * kLoadUnit<kType>);
      for (int i = 0; i < kM; ++i) total[i] = _mm512_fmadd_ps(part[i], scale, total[i]);
    }
  }
  for (int i = 0; i < kM; ++i) out[i] = _mm512_reduce_add_ps(total[i]);
}

template <DType kType>
void DotRowM(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  switch (m) {
    case 1: return DotRowT<kType, 1>(w, r, x, ldx, out);
    case 2: return DotRowT<kType, 2>(w, r, x, ldx, out);
    case 3: return DotRowT<kType, 3>(w, r, x, ldx, out);
    default: return DotRowT<kType, 4>(w, r, x, ldx, out);
  }
}

template <DType kType>
void DecodeRowT(const WeightRows& w, int64_t r, float* out) {
  const uint8_t* row = w.base + r * w.row_bytes;
  const float* srow = ScaleRow(w, r);
  for (int64_t c = 0; c < w.cols; c += 16) {
    const __mmask16 mask = TailMask(w.cols - c);
    __m512 v = Load16<kType>(row, c, mask);
    if (srow == nullptr) {
      if constexpr (kLoadUnit<kType> != 1.0f) v = _mm512_mul_ps(v, _mm512_set1_ps(kLoadUnit<kType>));
    } else if (w.block % 16 == 0) {  // DeepSeek's 128x128 blocks
      v = _mm512_mul_ps(v, _mm512_set1_ps(srow[c / w.block] * kLoadUnit<kType>));
    } else {  // other block sizes: per element
      alignas(64) float tmp[16];
      _mm512_store_ps(tmp, v);
      for (int j = 0; j < 16 && c + j < w.cols; ++j) tmp[j] *= srow[(c + j) / w.block] * kLoadUnit<kType>;
      v = _mm512_load_ps(tmp);
    }
    _mm512_mask_storeu_ps(out + c, mask, v);
  }
}

// One activation row against kR consecutive weight rows [r, r + kR): each x load serves kR rows.
// Used for long rows, where x no longer fits L1 and a one-row loop would re-read it from L2 per
// weight row (its misses then compete with the weight stream; measured 10-13 vs 17-23 GB/s at
// K = 7168..18432 on one Zen 4 core).
template <DType kType, int kR>
void DotRowsT(const WeightRows& w, int64_t r, const float* x, float* out, bool accumulate) {
  const uint8_t* rows[kR];
  const float* srow[kR];
  __m512 total[kR];
  for (int i = 0; i < kR; ++i) {
    rows[i] = w.base + (r + i) * w.row_bytes;
    srow[i] = ScaleRow(w, r + i);
    total[i] = _mm512_setzero_ps();
  }
  const int64_t span = w.scales ? w.block : w.cols;
  for (int64_t c0 = 0; c0 < w.cols; c0 += span) {
    const int64_t c1 = std::min(w.cols, c0 + span);
    __m512 part[kR];
    for (int i = 0; i < kR; ++i) part[i] = _mm512_setzero_ps();
    int64_t c = c0;
    if constexpr (kType == DType::kF16) {  // whole 64-byte lines (see DotSpanVec)
      for (; c + 32 <= c1; c += 32) {
        const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
        for (int i = 0; i < kR; ++i) {
          const __m512i h = _mm512_loadu_si512(rows[i] + 2 * c);
          part[i] = _mm512_fmadd_ps(x0, _mm512_cvtph_ps(_mm512_castsi512_si256(h)), part[i]);
          part[i] = _mm512_fmadd_ps(x1, _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1)), part[i]);
        }
      }
    }
    for (; c < c1; c += 16) {
      const __mmask16 mask = TailMask(c1 - c);
      const __m512 xv = _mm512_maskz_loadu_ps(mask, x + c);
      for (int i = 0; i < kR; ++i) part[i] = _mm512_fmadd_ps(xv, Load16<kType>(rows[i], c, mask), part[i]);
    }
    for (int i = 0; i < kR; ++i) {
      const float scale = (srow[i] ? srow[i][c0 / w.block] : 1.0f) * kLoadUnit<kType>;
      total[i] = _mm512_fmadd_ps(part[i], _mm512_set1_ps(scale), total[i]);
    }
  }
  for (int i = 0; i < kR; ++i) {
    const float v = _mm512_reduce_add_ps(total[i]);
    out[i] = accumulate ? out[i] + v : v;
  }
}


// bf16 rows, 32 weights per 64-byte load: each 32-bit lane holds an even column in its low half
// (as f32: the lane shifted left 16) and the next odd column in its high half (the lane with the
// low half cleared). Two single-cycle ops instead of two widening shuffles; the products are the
// same, only summed in another order. x must be in pair order (Bf16PairOrder).
inline void LoadBf16Pairs(const uint8_t* row, int64_t c, __m512* even, __m512* odd) {
  const __m512i w = _mm512_loadu_si512(row + 2 * c);
  *even = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  *odd = _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

// One bf16 row's dot with pair-ordered x over columns [0, k32) (k32 a multiple of 32), 4 chains.
inline __m512 DotBf16PairsVec(const uint8_t* row, int64_t k32, const float* xp) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t c = 0;
  for (; c + 64 <= k32; c += 64) {
    __m512 e0, o0, e1, o1;
    LoadBf16Pairs(row, c, &e0, &o0);
    LoadBf16Pairs(row, c + 32, &e1, &o1);
    a0 = _mm512_fmadd_ps(e0, _mm512_loadu_ps(xp + c), a0);
    a1 = _mm512_fmadd_ps(o0, _mm512_loadu_ps(xp + c + 16), a1);
    a2 = _mm512_fmadd_ps(e1, _mm512_loadu_ps(xp + c + 32), a2);
    a3 = _mm512_fmadd_ps(o1, _mm512_loadu_ps(xp + c + 48), a3);
  }
  if (c < k32) {
    __m512 e0, o0;
    LoadBf16Pairs(row, c, &e0, &o0);
    a0 = _mm512_fmadd_ps(e0, _mm512_loadu_ps(xp + c), a0);
    a1 = _mm512_fmadd_ps(o0, _mm512_loadu_ps(xp + c + 16), a1);
  }
  return _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
}

// kR consecutive bf16 rows against pair-ordered x (long rows: each x load serves kR rows), plus
// the columns past k32 through the plain path.
template <int kR>
void DotBf16PairRows(const WeightRows& w, int64_t r, const float* x, const float* xp, float* out, bool accumulate) {
  const int64_t k32 = w.cols / 32 * 32;
  const uint8_t* rows[kR];
  __m512 acc[kR];
  for (int i = 0; i < kR; ++i) {
    rows[i] = w.base + (r + i) * w.row_bytes;
    acc[i] = _mm512_setzero_ps();
  }
  if constexpr (kR == 1) {
    acc[0] = DotBf16PairsVec(rows[0], k32, xp);
  } else {
    for (int64_t c = 0; c < k32; c += 32) {
      const __m512 xe = _mm512_loadu_ps(xp + c), xo = _mm512_loadu_ps(xp + c + 16);
      for (int i = 0; i < kR; ++i) {
        __m512 e, o;
        LoadBf16Pairs(rows[i], c, &e, &o);
        acc[i] = _mm512_fmadd_ps(o, xo, _mm512_fmadd_ps(e, xe, acc[i]));
      }
    }
  }
  for (int i = 0; i < kR; ++i) {
    if (k32 < w.cols) DotSpanVec<DType::kBF16, 1>(rows[i], k32, w.cols, x, 0, &acc[i]);
    const float v = _mm512_reduce_add_ps(acc[i]);
    out[i] = accumulate ? out[i] + v : v;
  }
}

// f8_e4m3, 64 weights per 64-byte load. Byte k of each 32-bit lane moved to the top, shifted
// right arithmetically by 4 and masked with 0x87F00000 is the f32 holding the byte's sign, its 4
// exponent bits as the exponent's low bits and its 3 mantissa bits atop the mantissa: the e4m3
// value times 2^-120, exactly, subnormal codes included (as f32 subnormals, which FMA takes at full
// precision: GemvFp8ScaledX clears denormals-are-zero while it runs).
// kWordShifts: the shifts run in 16-bit lanes (a word's sign copies never reach the other word),
// so one shift serves bytes 1 and 3 and two serve bytes 0 and 2: 5 shifts per 64 weights instead
// of 7. Measured on Zen 4: 3-4% faster in row groups, but 1.4x slower for single rows (whose loop
// then folds the load into two shifts). Returns f[k] = byte k of each lane.
template <bool kWordShifts>
inline void Fp8Quads(__m512i w, __m512 f[4]) {
  if constexpr (!kWordShifts) {
    const __m512i m = _mm512_set1_epi32(static_cast<int>(0x87F00000u));
    f[0] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(w, 24), 4), m));
    f[1] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(w, 16), 4), m));
    f[2] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(w, 8), 4), m));
    f[3] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(w, 4), m));
    return;
  }
  const __m512i mask = _mm512_set1_epi32(static_cast<int>(0x87F00000u));
  const __m512i odd = _mm512_srai_epi16(w, 4), even = _mm512_srai_epi16(_mm512_slli_epi16(w, 8), 4);
  f[0] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_slli_epi32(even, 16), mask));
  f[1] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_slli_epi32(odd, 16), mask));
  f[2] = _mm512_castsi512_ps(_mm512_and_si512(even, mask));
  f[3] = _mm512_castsi512_ps(_mm512_and_si512(odd, mask));
}

// kR consecutive f8_e4m3 rows of one scale-row block (blocks a multiple of 64 columns) against
// xs (GemvFp8ScaledX) over columns [0, cols / 64 * 64); the remaining columns through the plain path.
template <int kR>
void DotFp8QuadRows(const WeightRows& w, int64_t r, const float* x, const float* xs, double unit, float* out,
                    bool accumulate) {
  const int64_t k64 = w.cols / 64 * 64;
  const uint8_t* rows[kR];
  constexpr int kChains = kR == 1 ? 4 : 1;  // one row: four chains (one is latency-bound)
  __m512 acc[kR][kChains];
  for (int i = 0; i < kR; ++i) {
    rows[i] = w.base + (r + i) * w.row_bytes;
    for (auto& v : acc[i]) v = _mm512_setzero_ps();
  }
  for (int64_t c = 0; c < k64; c += 64) {
    const __m512 x0 = _mm512_loadu_ps(xs + c), x1 = _mm512_loadu_ps(xs + c + 16);
    const __m512 x2 = _mm512_loadu_ps(xs + c + 32), x3 = _mm512_loadu_ps(xs + c + 48);
    for (int i = 0; i < kR; ++i) {
      __m512 wf[4];
      Fp8Quads<kR != 1>(_mm512_loadu_si512(rows[i] + c), wf);
      constexpr int k1 = 1 % kChains, k2 = 2 % kChains, k3 = 3 % kChains;
      acc[i][0] = _mm512_fmadd_ps(wf[0], x0, acc[i][0]);
      acc[i][k1] = _mm512_fmadd_ps(wf[1], x1, acc[i][k1]);
      acc[i][k2] = _mm512_fmadd_ps(wf[2], x2, acc[i][k2]);
      acc[i][k3] = _mm512_fmadd_ps(wf[3], x3, acc[i][k3]);
    }
  }
  const float* srow = ScaleRow(w, r);
  for (int i = 0; i < kR; ++i) {
    __m512 p = acc[i][0];
    for (int k = 1; k < kChains; ++k) p = _mm512_add_ps(p, acc[i][k]);
    __m512 tail = _mm512_setzero_ps();
    for (int64_t c0 = k64; c0 < w.cols; c0 = std::min(w.cols, (c0 / w.block + 1) * w.block)) {
      __m512 part = _mm512_setzero_ps();
      DotSpanVec<DType::kF8E4M3, 1>(rows[i], c0, std::min(w.cols, (c0 / w.block + 1) * w.block), x, 0, &part);
      tail = _mm512_fmadd_ps(part, _mm512_set1_ps(srow[c0 / w.block] * kLoadUnit<DType::kF8E4M3>), tail);
    }
    const float v = static_cast<float>(_mm512_reduce_add_ps(p) * unit + _mm512_reduce_add_ps(tail));
    out[i] = accumulate ? out[i] + v : v;
  }
}

// Calls dot(kR, r) over rows [r0, r1): for long rows groups of 16 rows (each x load from L2 then
// serves 16 rows: 1.1x faster than 8 for f8_e4m3), then of kGemvRowGroup (threads' shares are cut
// on those), single rows otherwise and for the rest; kR is an integral_constant.
template <typename Dot>
inline void ForRowGroups(const WeightRows& w, int64_t r0, int64_t r1, Dot&& dot) {
  int64_t r = r0;
  if (IsLongRow(w)) {
    for (; r + 2 * kGemvRowGroup <= r1; r += 2 * kGemvRowGroup) dot(std::integral_constant<int, 2 * kGemvRowGroup>{}, r);
    for (; r + kGemvRowGroup <= r1; r += kGemvRowGroup) dot(std::integral_constant<int, kGemvRowGroup>{}, r);
  }
  for (; r < r1; ++r) dot(std::integral_constant<int, 1>{}, r);
}

template <DType kType>
void GemvRangeT(const WeightRows& w, int64_t r0, int64_t r1, const float* x, float* y, bool accumulate) {
  int64_t r = r0;
  if (IsLongRow(w)) {
    for (; r + kGemvRowGroup <= r1; r += kGemvRowGroup) DotRowsT<kType, kGemvRowGroup>(w, r, x, y + r, accumulate);
  }
  for (; r < r1; ++r) {  // one row at a time, four accumulator chains (DotSpanVec)
    float v;
    DotRowT<kType, 1>(w, r, x, 0, &v);
    y[r] = accumulate ? y[r] + v : v;
  }
}

// f8_e4m3 rows [r0, r1) with block scales, x in PrepareGemvX's quad order, scaled once per
// scale-row block (GemvFp8ScaledX). A partial sum scaled per 128-column block instead cost a
// quarter of the kernel's speed.
void GemvFp8Rows(const WeightRows& w, int64_t r0, int64_t r1, const float* x, const float* xq, float* y,
                 bool accumulate, float* work) {
  const auto block_max = [&](int64_t c0, int64_t c1) {
    __m512 m = _mm512_setzero_ps();
    for (int64_t c = c0; c < c1; c += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(xq + c)));
    return _mm512_reduce_max_ps(m);  // a NaN may drop out: the sums are NaN anyway
  };
  const auto scale = [&](float* xs, int64_t c0, int64_t c1, double s) {
    const __m512d sv = _mm512_set1_pd(s);  // x * s exact in double, rounded once
    for (int64_t c = c0; c < c1; c += 16) {
      const __m512 x16 = _mm512_loadu_ps(xq + c);
      const __m256 lo = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x16)), sv));
      const __m256 hi = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(x16, 1)), sv));
      _mm512_storeu_ps(xs + c, _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1));
    }
  };
  GemvFp8ScaledX(w, r0, r1, w.cols / 64 * 64, work, block_max, scale,
                 [&](int64_t rb0, int64_t rb1, const float* xs, double unit) {
                   ForRowGroups(w, rb0, rb1, [&](auto rows, int64_t r) {
                     DotFp8QuadRows<decltype(rows)::value>(w, r, x, xs, unit, y + r, accumulate);
                   });
                 });
}

}  // namespace

void DotRowAvx512(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  switch (w.dtype) {
    case DType::kF32: return DotRowM<DType::kF32>(w, r, x, m, ldx, out);
    case DType::kBF16: return DotRowM<DType::kBF16>(w, r, x, m, ldx, out);
    case DType::kF16: return DotRowM<DType::kF16>(w, r, x, m, ldx, out);
    case DType::kF8E4M3: return DotRowM<DType::kF8E4M3>(w, r, x, m, ldx, out);
    default: return;
  }
}

bool PrepareGemvX(const WeightRows& w, const float* x, float* xp) {
  if (w.dtype == DType::kBF16 && w.cols >= 32) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    int64_t c = 0;
    for (; c + 32 <= w.cols; c += 32) {
      const __m512 lo = _mm512_loadu_ps(x + c), hi = _mm512_loadu_ps(x + c + 16);
      _mm512_storeu_ps(xp + c, _mm512_permutex2var_ps(lo, even, hi));
      _mm512_storeu_ps(xp + c + 16, _mm512_permutex2var_ps(lo, odd, hi));
    }
    for (; c < w.cols; ++c) xp[c] = x[c];
    return true;
  }
  if (w.dtype == DType::kF8E4M3 && w.scales != nullptr && w.block % 64 == 0 && w.cols >= 64) {
    for (int64_t c = 0; c + 64 <= w.cols; c += 64) {  // lane i, byte k holds column c + 4i + k
      for (int k = 0; k < 4; ++k) {
        for (int i = 0; i < 16; ++i) xp[c + 16 * k + i] = x[c + 4 * i + k];
      }
    }
    return true;
  }
  return false;
}

void GemvRangeAvx512(const WeightRows& w, int64_t r0, int64_t r1, const float* x, const float* xp, float* y,
                     bool accumulate, float* fp8_work) {
  if (w.dtype == DType::kBF16 && xp != nullptr) {
    return ForRowGroups(w, r0, r1, [&](auto rows, int64_t r) {
      DotBf16PairRows<decltype(rows)::value>(w, r, x, xp, y + r, accumulate);
    });
  }
  if (w.dtype == DType::kF8E4M3 && xp != nullptr) return GemvFp8Rows(w, r0, r1, x, xp, y, accumulate, fp8_work);
  switch (w.dtype) {
    case DType::kF32: return GemvRangeT<DType::kF32>(w, r0, r1, x, y, accumulate);
    case DType::kBF16: return GemvRangeT<DType::kBF16>(w, r0, r1, x, y, accumulate);
    case DType::kF16: return GemvRangeT<DType::kF16>(w, r0, r1, x, y, accumulate);
    case DType::kF8E4M3: return GemvRangeT<DType::kF8E4M3>(w, r0, r1, x, y, accumulate);
    default: return;
  }
}

void DecodeRowAvx512(const WeightRows& w, int64_t r, float* out) {
  switch (w.dtype) {
    case DType::kF32: return DecodeRowT<DType::kF32>(w, r, out);
    case DType::kBF16: return DecodeRowT<DType::kBF16>(w, r, out);
    case DType::kF16: return DecodeRowT<DType::kF16>(w, r, out);
    case DType::kF8E4M3: return DecodeRowT<DType::kF8E4M3>(w, r, out);
    default: return;
  }
}

}  // namespace ds::cpu
