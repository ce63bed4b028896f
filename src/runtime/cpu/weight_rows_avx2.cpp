// AVX2 row kernels (the fallback for CPUs without AVX-512): weights widened to f32 in registers,
// 8 columns at a time; column tails go through the scalar definitions.
#include <immintrin.h>

#include <algorithm>
#include <array>

#include "common/float_convert.h"
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
  } else {  // f8_e4m3 as f16 bits (bias 15 instead of 7), then *256: see weight_rows_avx512.cpp
    const __m128i h = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c)));
    const __m128i f16 = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi16(0x80)), 8),
                                     _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7f)), 7));
    return _mm256_mul_ps(_mm256_cvtph_ps(f16), _mm256_set1_ps(256.0f));
  }
}

template <DType kType>
inline float Scalar(const uint8_t* row, int64_t c) {
  if constexpr (kType == DType::kF32) return reinterpret_cast<const float*>(row)[c];
  if constexpr (kType == DType::kBF16) return Bf16ToF32(reinterpret_cast<const uint16_t*>(row)[c]);
  if constexpr (kType == DType::kF16) return F16ToF32(reinterpret_cast<const uint16_t*>(row)[c]);
  return F8E4M3ToF32(row[c]);
}

inline float HorizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// Dot of kM activation rows with columns [c0, c1) of one weight row.
template <DType kType, int kM>
inline void DotSpan(const uint8_t* row, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* out) {
  __m256 acc[kM];
  for (int i = 0; i < kM; ++i) acc[i] = _mm256_setzero_ps();
  int64_t c = c0;
  for (; c + 8 <= c1; c += 8) {
    const __m256 wv = Load8<kType>(row, c);
    for (int i = 0; i < kM; ++i) acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i * ldx + c), wv, acc[i]);
  }
  for (int i = 0; i < kM; ++i) {
    float s = HorizontalSum(acc[i]);
    for (int64_t t = c; t < c1; ++t) s += x[i * ldx + t] * Scalar<kType>(row, t);
    out[i] = s;
  }
}

template <DType kType, int kM>
void DotRowT(const WeightRows& w, int64_t r, const float* x, int64_t ldx, float* out) {
  const uint8_t* row = w.base + r * w.row_bytes;
  if (w.scales == nullptr) return DotSpan<kType, kM>(row, 0, w.cols, x, ldx, out);
  const float* srow = w.scales + ((w.scale_row0 + r) / w.block) * w.scale_cols;
  float total[kM] = {};
  for (int64_t c0 = 0; c0 < w.cols; c0 += w.block) {
    float part[kM];
    DotSpan<kType, kM>(row, c0, std::min(w.cols, c0 + w.block), x, ldx, part);
    for (int i = 0; i < kM; ++i) total[i] += part[i] * srow[c0 / w.block];
  }
  for (int i = 0; i < kM; ++i) out[i] = total[i];
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
  for (; c + 8 <= w.cols; c += 8) _mm256_storeu_ps(out + c, Load8<kType>(row, c));
  for (; c < w.cols; ++c) out[c] = Scalar<kType>(row, c);
  if (w.scales != nullptr) {
    const float* srow = w.scales + ((w.scale_row0 + r) / w.block) * w.scale_cols;
    for (int64_t c0 = 0; c0 < w.cols; c0 += w.block) {
      const float s = srow[c0 / w.block];
      for (int64_t j = c0; j < std::min(w.cols, c0 + w.block); ++j) out[j] *= s;
    }
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

void DecodeRowAvx2(const WeightRows& w, int64_t r, float* out) {
  switch (w.dtype) {
    case DType::kF32: return DecodeRowT<DType::kF32>(w, r, out);
    case DType::kBF16: return DecodeRowT<DType::kBF16>(w, r, out);
    case DType::kF16: return DecodeRowT<DType::kF16>(w, r, out);
    case DType::kF8E4M3: return DecodeRowT<DType::kF8E4M3>(w, r, out);
    default: return;
  }
}

}  // namespace ds::cpu
