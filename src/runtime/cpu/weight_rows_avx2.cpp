// AVX2 row kernels (the fallback for CPUs without AVX-512): weights widened to f32 in registers,
// 8 columns at a time (the f8_e4m3 GEMV: 32 codes per load); column tails go through the scalar
// definitions.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "common/float_convert.h"
#include "runtime/cpu/lanes_256.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {

template <DType kType>
inline __m256 Load8(const uint8_t* row, int64_t c) {
  if constexpr (kType == DType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
  } else if constexpr (kType == DType::kBF16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + c));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else if constexpr (kType == DType::kF16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + c));
    return _mm256_cvtph_ps(h);
  } else {
    // f8_e4m3 as f16 bits: each byte in the high half of a 16-bit lane, shifted right arithmetically
    // by 1 with bit 14 cleared, keeps the sign at bit 15 and puts exponent+mantissa at bits 7..13:
    // an f16 reading the exponent with bias 15 instead of 7, i.e. 2^-8 of the value (subnormals
    // included). Callers multiply by kLoadUnit (exact). Three ops per 8 weights before the convert.
    const __m128i h = _mm_unpacklo_epi8(_mm_setzero_si128(), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c)));
    return _mm256_cvtph_ps(_mm_and_si128(_mm_srai_epi16(h, 1), _mm_set1_epi16(static_cast<int16_t>(0xBFFF))));
  }
}

// Load8 returns weights divided by this (a power of two: multiplying by it is exact).
template <DType kType>
constexpr float kLoadUnit = kType == DType::kF8E4M3 ? 256.0f : 1.0f;

template <DType kType>
inline float Scalar(const uint8_t* row, int64_t c) {
  if constexpr (kType == DType::kF32) return reinterpret_cast<const float*>(row)[c];
  if constexpr (kType == DType::kBF16) return Bf16ToF32(reinterpret_cast<const uint16_t*>(row)[c]);
  if constexpr (kType == DType::kF16) return F16ToF32(reinterpret_cast<const uint16_t*>(row)[c]);
  return F8E4M3ToF32(row[c]) * (1.0f / 256.0f);  // in Load8's units (kLoadUnit)
}


// Dot of kM activation rows with columns [c0, c1) of one weight row. Each row keeps kChains
// independent FMA chains (4 / kM, at least 1): one chain is bound by the FMA latency, 8 weights per
// 4-5 cycles (measured 14 GB/s of bf16 on a 3.7 GHz core, half of what the core can stream).
template <DType kType, int kM>
inline void DotSpan(const uint8_t* row, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* out) {
  constexpr int kChains = kM >= 4 ? 1 : 4 / kM;
  __m256 acc[kM][kChains];
  for (auto& chains : acc) {
    for (auto& a : chains) a = _mm256_setzero_ps();
  }
  int64_t c = c0;
  for (; c + 8 * kChains <= c1; c += 8 * kChains) {
    for (int u = 0; u < kChains; ++u) {
      const __m256 wv = Load8<kType>(row, c + 8 * u);
      for (int i = 0; i < kM; ++i) acc[i][u] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i * ldx + c + 8 * u), wv, acc[i][u]);
    }
  }
  for (; c + 8 <= c1; c += 8) {
    const __m256 wv = Load8<kType>(row, c);
    for (int i = 0; i < kM; ++i) acc[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i * ldx + c), wv, acc[i][0]);
  }
  for (int i = 0; i < kM; ++i) {
    for (int u = 1; u < kChains; ++u) acc[i][0] = _mm256_add_ps(acc[i][0], acc[i][u]);
    float s = Sum8(acc[i][0]);
    for (int64_t t = c; t < c1; ++t) s += x[i * ldx + t] * Scalar<kType>(row, t);
    out[i] = s;
  }
}

template <DType kType, int kM>
void DotRowT(const WeightRows& w, int64_t r, const float* x, int64_t ldx, float* out) {
  const uint8_t* row = w.base + r * w.row_bytes;
  if (w.scales == nullptr) {
    DotSpan<kType, kM>(row, 0, w.cols, x, ldx, out);
    if constexpr (kLoadUnit<kType> != 1.0f) {
      for (int i = 0; i < kM; ++i) out[i] *= kLoadUnit<kType>;
    }
    return;
  }
  const float* srow = ScaleRow(w, r);
  float total[kM] = {};
  for (int64_t c0 = 0; c0 < w.cols; c0 += w.block) {
    float part[kM];
    DotSpan<kType, kM>(row, c0, std::min(w.cols, c0 + w.block), x, ldx, part);
    for (int i = 0; i < kM; ++i) total[i] += part[i] * (srow[c0 / w.block] * kLoadUnit<kType>);
  }
  for (int i = 0; i < kM; ++i) out[i] = total[i];
}

// kR consecutive rows against one activation row: each x load serves the kR rows, which long rows
// need (their x outgrows L1, and one row at a time re-reads it from L2 for every row: 10-11 GB/s
// of bf16 at 7168 columns on one Zen 4 core). One FMA chain per row; block scales per span.
template <DType kType, int kR>
void DotRowsT(const WeightRows& w, int64_t r, const float* x, float* out) {
  const uint8_t* rows[kR];
  const float* srow[kR];
  __m256 total[kR];
  for (int i = 0; i < kR; ++i) {
    rows[i] = w.base + (r + i) * w.row_bytes;
    srow[i] = ScaleRow(w, r + i);
    total[i] = _mm256_setzero_ps();
  }
  const int64_t span = w.scales ? w.block : w.cols;
  float tail[kR] = {};
  for (int64_t c0 = 0; c0 < w.cols; c0 += span) {
    const int64_t c1 = std::min(w.cols, c0 + span);
    __m256 part[kR];
    for (int i = 0; i < kR; ++i) part[i] = _mm256_setzero_ps();
    int64_t c = c0;
    for (; c + 8 <= c1; c += 8) {
      const __m256 xv = _mm256_loadu_ps(x + c);
      for (int i = 0; i < kR; ++i) part[i] = _mm256_fmadd_ps(xv, Load8<kType>(rows[i], c), part[i]);
    }
    for (int i = 0; i < kR; ++i) {
      const float scale = (srow[i] ? srow[i][c0 / w.block] : 1.0f) * kLoadUnit<kType>;
      float s = 0.0f;
      for (int64_t t = c; t < c1; ++t) s += x[t] * Scalar<kType>(rows[i], t);
      tail[i] += s * scale;
      total[i] = _mm256_fmadd_ps(part[i], _mm256_set1_ps(scale), total[i]);
    }
  }
  for (int i = 0; i < kR; ++i) out[i] = Sum8(total[i]) + tail[i];
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
  int64_t c = 0;
  for (; c + 8 <= w.cols; c += 8) {
    __m256 v = Load8<kType>(row, c);
    if constexpr (kLoadUnit<kType> != 1.0f) v = _mm256_mul_ps(v, _mm256_set1_ps(kLoadUnit<kType>));
    _mm256_storeu_ps(out + c, v);
  }
  for (; c < w.cols; ++c) out[c] = Scalar<kType>(row, c) * kLoadUnit<kType>;
  if (w.scales != nullptr) {
    const float* srow = ScaleRow(w, r);
    for (int64_t c0 = 0; c0 < w.cols; c0 += w.block) {
      const float s = srow[c0 / w.block];
      for (int64_t j = c0; j < std::min(w.cols, c0 + w.block); ++j) out[j] *= s;
    }
  }
}

// f8_e4m3, 32 weights per 32-byte load: byte k of each 32-bit lane moved to the top, shifted right
// arithmetically by 4 and masked with 0x87F00000 is the f32 of the code times 2^-120, exactly,
// subnormal codes included (as in weight_rows_avx512.cpp). f[k] = byte k of each lane.
inline void Fp8Quads256(__m256i w, __m256 f[4]) {
  const __m256i m = _mm256_set1_epi32(static_cast<int>(0x87F00000u));
  f[0] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_srai_epi32(_mm256_slli_epi32(w, 24), 4), m));
  f[1] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_srai_epi32(_mm256_slli_epi32(w, 16), 4), m));
  f[2] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_srai_epi32(_mm256_slli_epi32(w, 8), 4), m));
  f[3] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_srai_epi32(w, 4), m));
}

// kR consecutive f8_e4m3 rows of one scale-row block against xs (GemvFp8ScaledX) over columns [0, cols / 32 * 32);
// the remaining columns per block through DotSpan. One row: four chains, one per byte position.
template <int kR>
void DotFp8QuadRows(const WeightRows& w, int64_t r, const float* x, const float* xs, double unit, float* out,
                    bool accumulate) {
  const int64_t k32 = w.cols / 32 * 32;
  constexpr int kChains = kR == 1 ? 4 : 1;
  const uint8_t* rows[kR];
  __m256 acc[kR][kChains];
  for (int i = 0; i < kR; ++i) {
    rows[i] = w.base + (r + i) * w.row_bytes;
    for (auto& v : acc[i]) v = _mm256_setzero_ps();
  }
  for (int64_t c = 0; c < k32; c += 32) {
    __m256 xv[4];
    for (int k = 0; k < 4; ++k) xv[k] = _mm256_loadu_ps(xs + c + 8 * k);
    for (int i = 0; i < kR; ++i) {
      __m256 wf[4];
      Fp8Quads256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i] + c)), wf);
      for (int k = 0; k < 4; ++k) acc[i][k % kChains] = _mm256_fmadd_ps(wf[k], xv[k], acc[i][k % kChains]);
    }
  }
  const float* srow = ScaleRow(w, r);
  for (int i = 0; i < kR; ++i) {
    for (int k = 1; k < kChains; ++k) acc[i][0] = _mm256_add_ps(acc[i][0], acc[i][k]);
    double tail = 0;
    for (int64_t c0 = k32; c0 < w.cols; c0 = std::min(w.cols, (c0 / w.block + 1) * w.block)) {
      float part;
      DotSpan<DType::kF8E4M3, 1>(rows[i], c0, std::min(w.cols, (c0 / w.block + 1) * w.block), x, 0, &part);
      tail += part * (srow[c0 / w.block] * kLoadUnit<DType::kF8E4M3>);
    }
    const float v = static_cast<float>(Sum8(acc[i][0]) * unit + tail);
    out[i] = accumulate ? out[i] + v : v;
  }
}

}  // namespace

void DotRowAvx2(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  switch (w.dtype) {
    case DType::kF32: return DotRowM<DType::kF32>(w, r, x, m, ldx, out);
    case DType::kBF16: return DotRowM<DType::kBF16>(w, r, x, m, ldx, out);
    case DType::kF16: return DotRowM<DType::kF16>(w, r, x, m, ldx, out);
    case DType::kF8E4M3: return DotRowM<DType::kF8E4M3>(w, r, x, m, ldx, out);
    default: return;
  }
}

int DotRowsAvx2(const WeightRows& w, int64_t r, int64_t rows, const float* x, float* out) {
  if (rows < kGemvRowGroup) return 0;
  switch (w.dtype) {
    case DType::kBF16: DotRowsT<DType::kBF16, kGemvRowGroup>(w, r, x, out); break;
    case DType::kF16: DotRowsT<DType::kF16, kGemvRowGroup>(w, r, x, out); break;
    case DType::kF8E4M3: DotRowsT<DType::kF8E4M3, kGemvRowGroup>(w, r, x, out); break;
    default: return 0;
  }
  return kGemvRowGroup;
}

void DecodeRowAvx2(const WeightRows& w, int64_t r, float* out) {
  switch (w.dtype) {
    case DType::kF32: return DecodeRowT<DType::kF32>(w, r, out);
    case DType::kBF16: return DecodeRowT<DType::kBF16>(w, r, out);
    case DType::kF16: return DecodeRowT<DType::kF16>(w, r, out);
    case DType::kF8E4M3: return DecodeRowT<DType::kF8E4M3>(w, r, out);
    default: return;
  }
}

bool PrepareFp8XAvx2(const WeightRows& w, const float* x, float* xp) {
  if (w.dtype != DType::kF8E4M3 || w.scales == nullptr || w.block % 32 != 0 || w.cols < 32) return false;
  for (int64_t c = 0; c + 32 <= w.cols; c += 32) {  // lane i, byte k holds column c + 4i + k
    for (int k = 0; k < 4; ++k) {
      for (int i = 0; i < 8; ++i) xp[c + 8 * k + i] = x[c + 4 * i + k];
    }
  }
  return true;
}

void GemvFp8RangeAvx2(const WeightRows& w, int64_t r0, int64_t r1, const float* x, const float* xp, float* y,
                      bool accumulate, float* fp8_work) {
  const auto block_max = [&](int64_t c0, int64_t c1) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 m = _mm256_setzero_ps();
    for (int64_t c = c0; c < c1; c += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xp + c), abs_mask));
    return Max8(m);
  };
  const auto scale = [&](float* xs, int64_t c0, int64_t c1, double s) {
    const __m256d sv = _mm256_set1_pd(s);
    for (int64_t c = c0; c < c1; c += 4) {
      _mm_storeu_ps(xs + c, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(xp + c)), sv)));
    }
  };
  GemvFp8ScaledX(w, r0, r1, w.cols / 32 * 32, fp8_work, block_max, scale,
                 [&](int64_t rb0, int64_t rb1, const float* xs, double unit) {
                   int64_t r = rb0;
                   if (IsLongRow(w)) {  // x from L2 once per 8 rows (1.2x 4 rows)
                     for (; r + kGemvRowGroup <= rb1; r += kGemvRowGroup) {
                       DotFp8QuadRows<kGemvRowGroup>(w, r, x, xs, unit, y + r, accumulate);
                     }
                   }
                   for (; r < rb1; ++r) DotFp8QuadRows<1>(w, r, x, xs, unit, y + r, accumulate);
                 });
}

}  // namespace ds::cpu
