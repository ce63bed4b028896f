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

}  // namespace
}  // namespace ds::cpu
