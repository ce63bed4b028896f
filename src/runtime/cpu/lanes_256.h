// Helpers for 256-bit kernels (include only from *_avx2.cpp and the *_avx512* files that run
// 256-bit code). Internal linkage throughout: an inline function shared by objects of different
// ISA levels could be linked into a baseline caller (tests/runtime/isa_objects.sh).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace ds::cpu {
namespace {  // NOLINT(build/namespaces): internal to each including file on purpose

// The f16 at p through F16C (quant_blocks.h's LoadHalf converts in software; this is per block).
inline float HalfF16c(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline __m128i LoadBytes8(const uint8_t* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); }
inline __m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The sum of the 8 lanes.
inline float Sum8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// The largest of the 8 lanes, and the sum of 8 int32 lanes.
inline float Max8(__m256 v) {
  const __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(t, _mm_movehdup_ps(t)));
}
inline int32_t SumI8(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i t = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  return _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 1, 1, 1))));
}

// 32 int32 lanes (4 vectors, in order) to 32 bytes, saturating. The packs interleave 128-bit lanes;
// the permutation puts the 4-byte groups back in order.
inline __m256i PackBytes(const __m256i i[4]) {
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

}  // namespace
}  // namespace ds::cpu
