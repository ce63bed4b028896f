// AVX2 block dequantization and dot products for GGUF block-quantized weights: the fallback for
// CPUs without AVX-512 (most desktop CPUs), which otherwise ran these rows through the scalar
// dequantizer. Blocks are dequantized 8 values per register into a small aligned tile (up to 256
// values, in L1), then dotted with up to 4 activation rows with independent FMA chains. The
// dequantization matches quant_blocks.cpp operation for operation, so DecodeRowQuant gives the
// same floats on every ISA. (The compiler may fuse a multiply and add into an FMA; that cannot
// change a result here, because every product, an f16 scale times a code and at most a 6-bit or
// int8 sub-scale, has at most 24 significant bits and is exact in f32.)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "common/float_convert.h"
#include "runtime/cpu/lanes_256.h"
#include "runtime/cpu/weight_rows.h"
#include "runtime/quant_blocks.h"

namespace ds::cpu {
namespace {

inline __m128i Load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m256 ToFloat(__m256i v) { return _mm256_cvtepi32_ps(v); }

// Values 0-7 and 8-15 of 16 packed bytes, widened to int32.
inline __m256i LowEight(__m128i v) { return _mm256_cvtepu8_epi32(v); }
inline __m256i HighEight(__m128i v) { return _mm256_cvtepu8_epi32(_mm_srli_si128(v, 8)); }

void Q8_0(const uint8_t* b, float* y) {
  const __m256 d = _mm256_set1_ps(LoadHalf(b));
  for (int h = 0; h < 4; ++h) {
    _mm256_store_ps(y + 8 * h, _mm256_mul_ps(d, ToFloat(_mm256_cvtepi8_epi32(LoadBytes8(b + 2 + 8 * h)))));
  }
}

// Bit j + lane of qh (lanes 0-7), as 16 or 0 per lane: the fifth bit of values j..j+7.
inline __m256i FifthBits(uint32_t qh, int j) {
  const __m256i bits = _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(qh >> j)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_slli_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(1)), 4);
}

// q4_0 / q4_1 / q5_0 / q5_1 ({f16 d; [f16 m;] [u32 qh;] u8 qs[16]}): y = d * (q - offset) + min as
// quant_blocks.cpp's DequantQ4 / DequantQ5; value j < 16 is the low nibble of qs[j], j + 16 its
// high nibble, bit j of qh the fifth bit.
template <bool kMin, bool kHigh>
void Legacy(const uint8_t* b, float* y) {
  constexpr int kQs = 2 + (kMin ? 2 : 0) + (kHigh ? 4 : 0);
  const __m256 d = _mm256_set1_ps(LoadHalf(b)), offset = _mm256_set1_ps(kMin ? 0.0f : (kHigh ? 16.0f : 8.0f));
  const __m256 min = _mm256_set1_ps(kMin ? LoadHalf(b + 2) : 0.0f);
  uint32_t qh = 0;
  if constexpr (kHigh) std::memcpy(&qh, b + kQs - 4, 4);
  const __m128i v = Load16(b + kQs), low4 = _mm_set1_epi8(0x0F);
  const __m128i nibbles[2] = {_mm_and_si128(v, low4), _mm_and_si128(_mm_srli_epi16(v, 4), low4)};
  for (int j = 0; j < 32; j += 8) {
    const __m128i n = nibbles[j / 16];
    __m256i q = j % 16 ? HighEight(n) : LowEight(n);
    if constexpr (kHigh) q = _mm256_or_si256(q, FifthBits(qh, j));
    _mm256_store_ps(y + j, _mm256_add_ps(_mm256_mul_ps(d, _mm256_sub_ps(ToFloat(q), offset)), min));
  }
}

// y[0..32) = d * q - min for the 32 codes q (int32 pairs of 8-lane vectors built by `code`).
template <typename Code>
inline void StoreAffine32(float* y, float d, float min, Code&& code) {
  const __m256 dv = _mm256_set1_ps(d), mv = _mm256_set1_ps(min);
  for (int l = 0; l < 32; l += 8) _mm256_store_ps(y + l, _mm256_sub_ps(_mm256_mul_ps(dv, ToFloat(code(l))), mv));
}

// q4_k / q5_k (quant_blocks.cpp's DequantQ4K / DequantQ5K): sub-blocks j (low nibbles) and j + 1
// (high nibbles) share 32 bytes; q5_k adds bit j (resp. j + 1) of qh[l] as 16.
template <bool kFiveBit>
void QK(const uint8_t* b, float* y) {
  const float d = LoadHalf(b), dmin = LoadHalf(b + 2);
  const uint8_t* qh = b + 16;
  const uint8_t* q = b + (kFiveBit ? 48 : 16);
  const __m256i low4 = _mm256_set1_epi32(0x0F), sixteen = _mm256_set1_epi32(16);
  for (int j = 0; j < 8; j += 2) {
    int sc1, m1, sc2, m2;
    ScaleMinK4(j, b + 4, &sc1, &m1);
    ScaleMinK4(j + 1, b + 4, &sc2, &m2);
    for (int s = 0; s < 2; ++s) {  // sub-block j + s: low (s = 0) or high nibbles
      StoreAffine32(y + 32 * s, d * (s ? sc2 : sc1), dmin * (s ? m2 : m1), [&](int l) {
        __m256i v = _mm256_and_si256(_mm256_srli_epi32(_mm256_cvtepu8_epi32(LoadBytes8(q + l)), 4 * s), low4);
        if constexpr (kFiveBit) {
          const __m256i h = _mm256_srli_epi32(_mm256_cvtepu8_epi32(LoadBytes8(qh + l)), j + s);
          v = _mm256_or_si256(v, _mm256_and_si256(_mm256_slli_epi32(h, 4), sixteen));
        }
        return v;
      });
    }
    y += 64;
    q += 32;
  }
}

// q6_k (quant_blocks.cpp's DequantQ6K): per half, value l of group g is nibble g / 2 of ql[l + 32 *
// (g % 2)] with bits 2g, 2g + 1 of qh[l] on top, minus 32; scale sc[l / 16 + 2g].
void Q6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = LoadHalf(b + 208);
  const __m256i low4 = _mm256_set1_epi32(0x0F), three = _mm256_set1_epi32(3), bias = _mm256_set1_epi32(32);
  for (int n = 0; n < 2; ++n) {
    for (int l = 0; l < 32; l += 8) {
      const __m256i a = _mm256_cvtepu8_epi32(LoadBytes8(ql + l)), c = _mm256_cvtepu8_epi32(LoadBytes8(ql + l + 32));
      const __m256i h = _mm256_cvtepu8_epi32(LoadBytes8(qh + l));
      for (int g = 0; g < 4; ++g) {
        const __m256i nib = _mm256_and_si256(_mm256_srli_epi32(g % 2 ? c : a, 4 * (g / 2)), low4);
        const __m256i top = _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 2 * g), three), 4);
        const __m256 q = ToFloat(_mm256_sub_epi32(_mm256_or_si256(nib, top), bias));
        _mm256_store_ps(y + l + 32 * g, _mm256_mul_ps(_mm256_set1_ps(d * sc[l / 16 + 2 * g]), q));
      }
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn BlockFnFor(DType t) {
  switch (t) {
    case DType::kQ8_0: return Q8_0;
    case DType::kQ4_0: return Legacy<false, false>;
    case DType::kQ4_1: return Legacy<true, false>;
    case DType::kQ5_0: return Legacy<false, true>;
    case DType::kQ5_1: return Legacy<true, true>;
    case DType::kQ4_K: return QK<false>;
    case DType::kQ5_K: return QK<true>;
    case DType::kQ6_K: return Q6_K;
    default: return nullptr;
  }
}


// out[i] = dot(x_i, row) for kM activation rows: 256-value chunks of the row are dequantized into
// `tile`, then read with four FMA chains per activation row (one chain is latency-bound).
template <int kM>
void DotRowTiles(BlockFn dequant, const DTypeInfo& info, const uint8_t* row, int64_t cols, const float* x,
                 int64_t ldx, float* out) {
  alignas(32) float tile[256];
  __m256 acc[kM][4];
  for (auto& a : acc) {
    for (auto& v : a) v = _mm256_setzero_ps();
  }
  const int64_t per_tile = 256 / info.block_elems;
  const int64_t nb = cols / info.block_elems;
  for (int64_t b0 = 0; b0 < nb; b0 += per_tile) {
    const int64_t n = std::min(per_tile, nb - b0);
    for (int64_t j = 0; j < n; ++j) dequant(row + (b0 + j) * info.block_bytes, tile + j * info.block_elems);
    const int64_t c0 = b0 * info.block_elems;
    for (int64_t c = 0; c < n * info.block_elems; c += 32) {  // every block size is a multiple of 32
      for (int u = 0; u < 4; ++u) {
        const __m256 w = _mm256_load_ps(tile + c + 8 * u);
        for (int i = 0; i < kM; ++i) acc[i][u] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + i * ldx + c0 + c + 8 * u), acc[i][u]);
      }
    }
  }
  for (int i = 0; i < kM; ++i) {
    out[i] = Sum8(_mm256_add_ps(_mm256_add_ps(acc[i][0], acc[i][1]), _mm256_add_ps(acc[i][2], acc[i][3])));
  }
}

}  // namespace

bool DequantizeBlockAvx2(DType t, const uint8_t* block, float* out) {
  const BlockFn fn = BlockFnFor(t);
  if (fn == nullptr) return false;
  fn(block, out);
  return true;
}

bool DotRowQuantAvx2(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  if (m == 1 && DotRowQuantOneAvx2(w, r, x, out)) return true;
  const BlockFn fn = BlockFnFor(w.dtype);
  if (fn == nullptr) return false;
  const DTypeInfo& info = GetDTypeInfo(w.dtype);
  const uint8_t* row = w.base + r * w.row_bytes;
  switch (m) {
    case 1: DotRowTiles<1>(fn, info, row, w.cols, x, ldx, out); break;
    case 2: DotRowTiles<2>(fn, info, row, w.cols, x, ldx, out); break;
    case 3: DotRowTiles<3>(fn, info, row, w.cols, x, ldx, out); break;
    default: DotRowTiles<4>(fn, info, row, w.cols, x, ldx, out); break;
  }
  return true;
}

}  // namespace ds::cpu
