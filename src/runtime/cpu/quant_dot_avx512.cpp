// Fused AVX-512 dot products of GGUF block-quantized weight rows with up to 4 f32 activation rows
// (the decode GEMV). Weights are dequantized in registers, never stored; every activation row keeps
// vector accumulators across blocks and pays one horizontal reduction per weight row.
//
// Arithmetic stays f32 (no activation quantization). Two ways of widening codes to f32:
//  - 4/5-bit codes index a 16/32-entry f32 table with vpermps / vpermt2ps, which masks, converts
//    and scales in one instruction. The table holds the block's dequantized values (d*(q-8),
//    d*q+m, d1*q-min1, ...), so the weights the FMAs see are those of quant_blocks.cpp up to the
//    last bit (tables built with an FMA, or q5_k's upper half as lower half + 16*d1). The min of the affine types (q4_1, q5_1,
//    q4_k, q5_k) is in the table, so no per-block sums of x are needed.
//  - 6/8-bit codes are sign-extended and converted (vcvtdq2ps); the block scale multiplies a
//    per-block partial sum (q8_0) or the converted codes (q6_k, 16-value scales).
// On Zen 4 these loops are bound by 512-bit ops (FMA, vpermps, vpmovzx, shifts and converts issue
// about 1.5 per cycle together), not by memory, for the 4- and 5-bit types at M = 1.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {

inline __m128i Load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m512i Widen16(const uint8_t* p) { return _mm512_cvtepu8_epi32(Load16(p)); }
inline uint16_t HalfBits(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return h;
}

// f16 values at p, p + stride, ... (n <= 16) to f32 in out[0..16). The halves are packed four to a
// 64-bit integer register (integer units, idle here) and converted at once: a gather, or scalar
// stores feeding a vector load (store-forwarding stall), cost more than the GEMV body. The
// per-block scales are then read back as memory broadcasts, which cost no vector shuffle.
inline void HalfScales(const uint8_t* p, int stride, int n, float* out) {
  uint64_t q[4] = {0, 0, 0, 0};
  if (n == 16) {
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) q[j / 4] |= uint64_t{HalfBits(p + j * stride)} << (16 * (j % 4));
  } else {
    for (int j = 0; j < n; ++j) q[j / 4] |= uint64_t{HalfBits(p + j * stride)} << (16 * (j % 4));
  }
  const __m256i h = _mm256_set_epi64x(static_cast<int64_t>(q[3]), static_cast<int64_t>(q[2]),
                                      static_cast<int64_t>(q[1]), static_cast<int64_t>(q[0]));
  _mm512_store_ps(out, _mm512_cvtph_ps(h));
  asm volatile("" ::: "memory");  // keep the broadcasts as loads, not register shuffles
}

// Calls block(j, slot) for j < n with a compile-time accumulator slot (0 or 1, alternating), so the
// accumulators stay in registers (a run-time index would put them on the stack).
template <typename F>
inline void ForBlocks(int n, F&& block) {
  int j = 0;
  for (; j + 2 <= n; j += 2) {
    block(j, std::integral_constant<int, 0>{});
    block(j + 1, std::integral_constant<int, 1>{});
  }
  if (j < n) block(j, std::integral_constant<int, 0>{});
}

// Accumulators: kM activation rows, kA independent chains each (one FMA chain is latency-bound).
template <int kM>
struct Acc {
  static constexpr int kA = kM == 1 ? 4 : 2;
  __m512 v[kM][kA];
  Acc() {
    for (auto& row : v) {
      for (auto& a : row) a = _mm512_setzero_ps();
    }
  }
  // acc[i][slot] += w * x_i[c .. c+16)
  inline void Fma(int slot, __m512 w, const float* x, int64_t ldx, int64_t c) {
    for (int i = 0; i < kM; ++i) v[i][slot % kA] = _mm512_fmadd_ps(w, _mm512_loadu_ps(x + i * ldx + c), v[i][slot % kA]);
  }
  inline void Store(float* out) {
    for (int i = 0; i < kM; ++i) {
      __m512 s = v[i][0];
      for (int a = 1; a < kA; ++a) s = _mm512_add_ps(s, v[i][a]);
      out[i] = _mm512_reduce_add_ps(s);
    }
  }
};

// 0..15 (a function, not a global: a static initializer here would run AVX-512 code at load time).
inline __m512 Iota() { return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }

// ---- q8_0: 34 bytes {f16 d; i8 q[32]} ----
template <int kM>
void DotQ8_0(const uint8_t* row, int64_t nb, const float* x, int64_t ldx, float* out) {
  Acc<kM> acc;
  alignas(64) float d[16];
  for (int64_t b0 = 0; b0 < nb; b0 += 16) {
    const int n = static_cast<int>(std::min<int64_t>(16, nb - b0));
    HalfScales(row + b0 * 34, 34, n, d);
    ForBlocks(n, [&](int j, auto slot) {
      const uint8_t* blk = row + (b0 + j) * 34;
      const int64_t c = (b0 + j) * 32;
      const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load16(blk + 2)));
      const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load16(blk + 18)));
      const __m512 dj = _mm512_set1_ps(d[j]);
      for (int i = 0; i < kM; ++i) {
        const float* xi = x + i * ldx + c;
        const __m512 p = _mm512_fmadd_ps(q1, _mm512_loadu_ps(xi + 16), _mm512_mul_ps(q0, _mm512_loadu_ps(xi)));
        __m512& a = acc.v[i][slot % Acc<kM>::kA];
        a = _mm512_fmadd_ps(p, dj, a);
      }
    });
  }
  acc.Store(out);
}

// q8_0, one activation row against kR weight rows (row_bytes apart): each x load serves kR rows,
// which long rows need (an x beyond L1 is otherwise re-read from L2 for every row). Per row the
// operations and their order are DotQ8_0<1>'s, so the results are the same. (The same for q6_k
// measured slower: its per-row work is larger and 4 rows' accumulators no longer fit.)
template <int kR>
void DotQ8_0Rows(const uint8_t* row0, int64_t row_bytes, int64_t nb, const float* x, float* out) {
  Acc<1> acc[kR];
  alignas(64) float d[kR][16];
  for (int64_t b0 = 0; b0 < nb; b0 += 16) {
    const int n = static_cast<int>(std::min<int64_t>(16, nb - b0));
    for (int i = 0; i < kR; ++i) HalfScales(row0 + i * row_bytes + b0 * 34, 34, n, d[i]);
    ForBlocks(n, [&](int j, auto slot) {
      const int64_t c = (b0 + j) * 32;
      const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
      for (int i = 0; i < kR; ++i) {
        const uint8_t* blk = row0 + i * row_bytes + (b0 + j) * 34;
        const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load16(blk + 2)));
        const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load16(blk + 18)));
        const __m512 p = _mm512_fmadd_ps(q1, x1, _mm512_mul_ps(q0, x0));
        __m512& a = acc[i].v[0][slot % Acc<1>::kA];
        a = _mm512_fmadd_ps(p, _mm512_set1_ps(d[i][j]), a);
      }
    });
  }
  for (int i = 0; i < kR; ++i) acc[i].Store(out + i);
}

// ---- q4_0 / q4_1: {f16 d; [f16 m;] u8 qs[16]}, value j low nibble of qs[j], j+16 high nibble ----
// kAffine: w = d*q + m (q4_1), else w = d*(q - 8) (q4_0).
template <int kM, bool kAffine>
void DotQ4(const uint8_t* row, int64_t nb, const float* x, int64_t ldx, float* out) {
  constexpr int kBytes = kAffine ? 20 : 18, kQs = kAffine ? 4 : 2;
  Acc<kM> acc;
  alignas(64) float d[16], m[16];
  const __m512 base = kAffine ? Iota() : _mm512_sub_ps(Iota(), _mm512_set1_ps(8.0f));
  for (int64_t b0 = 0; b0 < nb; b0 += 16) {
    const int n = static_cast<int>(std::min<int64_t>(16, nb - b0));
    HalfScales(row + b0 * kBytes, kBytes, n, d);
    if constexpr (kAffine) HalfScales(row + b0 * kBytes + 2, kBytes, n, m);
    ForBlocks(n, [&](int j, auto slot) {
      const uint8_t* blk = row + (b0 + j) * kBytes;
      const int64_t c = (b0 + j) * 32;
      const __m512 table = kAffine ? _mm512_fmadd_ps(base, _mm512_set1_ps(d[j]), _mm512_set1_ps(m[j]))
                                   : _mm512_mul_ps(base, _mm512_set1_ps(d[j]));
      const __m512i v = Widen16(blk + kQs);  // vpermps reads only the low 4 bits of each lane
      acc.Fma(2 * slot, _mm512_permutexvar_ps(v, table), x, ldx, c);
      acc.Fma(2 * slot + 1, _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), table), x, ldx, c + 16);
    });
  }
  acc.Store(out);
}

// ---- q5_0 / q5_1: {f16 d; [f16 m;] u32 qh; u8 qs[16]}; bit 4 of value j is bit j of qh ----
template <int kM, bool kAffine>
void DotQ5(const uint8_t* row, int64_t nb, const float* x, int64_t ldx, float* out) {
  constexpr int kBytes = kAffine ? 24 : 22, kQh = kAffine ? 4 : 2;
  Acc<kM> acc;
  alignas(64) float d[16], m[16];
  const __m512 lo = kAffine ? Iota() : _mm512_sub_ps(Iota(), _mm512_set1_ps(16.0f));
  const __m512 hi = _mm512_add_ps(lo, _mm512_set1_ps(16.0f));
  const __m512i low4 = _mm512_set1_epi32(0x0F), bit4 = _mm512_set1_epi32(0x10);
  for (int64_t b0 = 0; b0 < nb; b0 += 16) {
    const int n = static_cast<int>(std::min<int64_t>(16, nb - b0));
    HalfScales(row + b0 * kBytes, kBytes, n, d);
    if constexpr (kAffine) HalfScales(row + b0 * kBytes + 2, kBytes, n, m);
    ForBlocks(n, [&](int j, auto slot) {
      const uint8_t* blk = row + (b0 + j) * kBytes;
      const int64_t c = (b0 + j) * 32;
      const __m512 dj = _mm512_set1_ps(d[j]);
      __m512 t0, t1;  // the 32-entry table d*q (+m), q = 0..31 (q5_0: d*(q-16))
      if constexpr (kAffine) {
        t0 = _mm512_fmadd_ps(lo, dj, _mm512_set1_ps(m[j]));
        t1 = _mm512_fmadd_ps(hi, dj, _mm512_set1_ps(m[j]));
      } else {
        t0 = _mm512_mul_ps(lo, dj);
        t1 = _mm512_mul_ps(hi, dj);
      }
      uint32_t qh;
      std::memcpy(&qh, blk + kQh, 4);
      const __m512i v = Widen16(blk + kQh + 4);
      // vpermt2ps reads the low 5 bits: bits 0-3 the nibble, bit 4 the qh bit (set under a mask).
      const __m512i i0 = _mm512_mask_or_epi32(_mm512_and_si512(v, low4), static_cast<__mmask16>(qh), v, bit4);
      const __m512i v1 = _mm512_srli_epi32(v, 4);
      const __m512i i1 = _mm512_mask_or_epi32(v1, static_cast<__mmask16>(qh >> 16), v1, bit4);
      acc.Fma(2 * slot, _mm512_permutex2var_ps(t0, i0, t1), x, ldx, c);
      acc.Fma(2 * slot + 1, _mm512_permutex2var_ps(t0, i1, t1), x, ldx, c + 16);
    });
  }
  acc.Store(out);
}

// q4_k / q5_k 6-bit scales and mins of the 8 sub-blocks, as f32 d*sc and dmin*m into ds / ms.
// The unpacking of quant_blocks.cpp's ScaleMinK4, four sub-blocks per 32-bit word.
inline void ScalesK4(const uint8_t* b, float* ds, float* ms, float* ds16 = nullptr) {
  uint32_t a, e, c;  // scales[0..3], [4..7], [8..11]
  std::memcpy(&a, b + 4, 4);
  std::memcpy(&e, b + 8, 4);
  std::memcpy(&c, b + 12, 4);
  const uint64_t sc = (a & 0x3F3F3F3Fu) | uint64_t{(c & 0x0F0F0F0Fu) | ((a >> 2) & 0x30303030u)} << 32;
  const uint64_t mn = (e & 0x3F3F3F3Fu) | uint64_t{((c >> 4) & 0x0F0F0F0Fu) | ((e >> 2) & 0x30303030u)} << 32;
  const __m256 sv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(sc))));
  const __m256 mv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(mn))));
  int32_t d_dmin;
  std::memcpy(&d_dmin, b, 4);
  const __m256 dd = _mm256_cvtph_ps(_mm_set1_epi32(d_dmin));  // d, dmin, d, dmin, ...
  _mm256_store_ps(ds, _mm256_mul_ps(_mm256_permutexvar_ps(_mm256_setzero_si256(), dd), sv));
  _mm256_store_ps(ms, _mm256_mul_ps(_mm256_permutexvar_ps(_mm256_set1_epi32(1), dd), mv));
  if (ds16) _mm256_store_ps(ds16, _mm256_mul_ps(_mm256_load_ps(ds), _mm256_set1_ps(16.0f)));
  asm volatile("" ::: "memory");  // read them back as memory broadcasts
}

// ---- q4_k: 144 bytes {f16 d, dmin; u8 scales[12]; u8 qs[128]}, w = d*sc*q - dmin*m ----
template <int kM>
void DotQ4K(const uint8_t* row, int64_t nb, const float* x, int64_t ldx, float* out) {
  Acc<kM> acc;
  alignas(32) float ds[8], ms[8];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * 144;
    ScalesK4(blk, ds, ms);
#pragma GCC unroll 4
    for (int j = 0; j < 8; j += 2) {  // sub-blocks j (low nibbles) and j+1 (high) share 32 bytes
      const uint8_t* q = blk + 16 + 16 * j;
      const int64_t c = b * 256 + 32 * j;
      const __m512 t0 = _mm512_fmsub_ps(Iota(), _mm512_set1_ps(ds[j]), _mm512_set1_ps(ms[j]));
      const __m512 t1 = _mm512_fmsub_ps(Iota(), _mm512_set1_ps(ds[j + 1]), _mm512_set1_ps(ms[j + 1]));
      const __m512i v0 = Widen16(q), v1 = Widen16(q + 16);
      acc.Fma(0, _mm512_permutexvar_ps(v0, t0), x, ldx, c);
      acc.Fma(1, _mm512_permutexvar_ps(v1, t0), x, ldx, c + 16);
      acc.Fma(2, _mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), t1), x, ldx, c + 32);
      acc.Fma(3, _mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), t1), x, ldx, c + 48);
    }
  }
  acc.Store(out);
}

// ---- q5_k: 176 bytes {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]} ----
// Value l of sub-block j: nibble of qs (as q4_k) plus bit j of qh[l] as bit 4.
template <int kM>
void DotQ5K(const uint8_t* row, int64_t nb, const float* x, int64_t ldx, float* out) {
  Acc<kM> acc;
  alignas(32) float ds[8], ms[8], ds16[8];
  const __m512i bit4 = _mm512_set1_epi32(0x10);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * 176;
    ScalesK4(blk, ds, ms, ds16);
    // qh[l] << 4: bit j of qh sits at bit 4 + j, shifted down one sub-block at a time.
    __m512i h0 = _mm512_slli_epi32(Widen16(blk + 16), 4), h1 = _mm512_slli_epi32(Widen16(blk + 32), 4);
#pragma GCC unroll 4
    for (int j = 0; j < 8; j += 2) {
      const uint8_t* q = blk + 48 + 16 * j;
      const int64_t c = b * 256 + 32 * j;
      const __m512i v0 = Widen16(q), v1 = Widen16(q + 16);
#pragma GCC unroll 2
      for (int s = 0; s < 2; ++s) {  // sub-block j + s: low (s = 0) or high nibbles
        const __m512 t0 = _mm512_fmsub_ps(Iota(), _mm512_set1_ps(ds[j + s]), _mm512_set1_ps(ms[j + s]));
        const __m512 t1 = _mm512_add_ps(t0, _mm512_set1_ps(ds16[j + s]));  // q + 16: an add, not an FMA
        const __m512i n0 = s ? _mm512_srli_epi32(v0, 4) : v0, n1 = s ? _mm512_srli_epi32(v1, 4) : v1;
        // Bit 4 from h (0xE4 = C ? A : B with C = bit4), bits 0-3 from the nibble.
        const __m512i i0 = _mm512_ternarylogic_epi32(h0, n0, bit4, 0xE4);
        const __m512i i1 = _mm512_ternarylogic_epi32(h1, n1, bit4, 0xE4);
        acc.Fma(2 * s, _mm512_permutex2var_ps(t0, i0, t1), x, ldx, c + 32 * s);
        acc.Fma(2 * s + 1, _mm512_permutex2var_ps(t0, i1, t1), x, ldx, c + 32 * s + 16);
        h0 = _mm512_srli_epi32(h0, 1);
        h1 = _mm512_srli_epi32(h1, 1);
      }
    }
  }
  acc.Store(out);
}

// ---- q6_k: 210 bytes {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}, w = d*sc*(q6 - 32) ----
// Codes are assembled as bytes (32 per 256-bit op), then sign-extended and converted.
template <int kM>
void DotQ6K(const uint8_t* row, int64_t nb, const float* x, int64_t ldx, float* out) {
  Acc<kM> acc;
  alignas(64) float sc[16];
  const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30), bias = _mm256_set1_epi8(32);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + b * 210;
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(HalfBits(blk + 208)));
    _mm512_store_ps(sc, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load16(blk + 192)))));
    asm volatile("" ::: "memory");  // read the scales back as memory broadcasts
#pragma GCC unroll 2
    for (int n = 0; n < 2; ++n) {  // halves of 128 values: ql[64], qh[32], 8 scales
      const uint8_t* ql = blk + 64 * n;
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * n));
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      // Four groups of 32 values (l = 0..31): nibble source and the qh bit pair at bits 4-5.
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), top2)),
          _mm256_or_si256(_mm256_and_si256(e, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), top2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(h, top2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(e, 4), low4), _mm256_and_si256(_mm256_srli_epi16(h, 2), top2)),
      };
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        const __m256i s = _mm256_sub_epi8(q[g], bias);
        const int64_t c = b * 256 + 128 * n + 32 * g;
        const float* scg = sc + 8 * n + 2 * g;  // value l of group g uses scale is = l / 16
        acc.Fma(2 * g, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(s))),
                                     _mm512_set1_ps(scg[0])), x, ldx, c);
        acc.Fma(2 * g + 1, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(s, 1))),
                                         _mm512_set1_ps(scg[1])), x, ldx, c + 16);
      }
    }
  }
  acc.Store(out);
}

template <int kM>
bool DotM(DType t, const uint8_t* row, int64_t cols, const float* x, int64_t ldx, float* out) {
  switch (t) {
    case DType::kQ8_0: DotQ8_0<kM>(row, cols / 32, x, ldx, out); return true;
    case DType::kQ4_0: DotQ4<kM, false>(row, cols / 32, x, ldx, out); return true;
    case DType::kQ4_1: DotQ4<kM, true>(row, cols / 32, x, ldx, out); return true;
    case DType::kQ5_0: DotQ5<kM, false>(row, cols / 32, x, ldx, out); return true;
    case DType::kQ5_1: DotQ5<kM, true>(row, cols / 32, x, ldx, out); return true;
    case DType::kQ4_K: DotQ4K<kM>(row, cols / 256, x, ldx, out); return true;
    case DType::kQ5_K: DotQ5K<kM>(row, cols / 256, x, ldx, out); return true;
    case DType::kQ6_K: DotQ6K<kM>(row, cols / 256, x, ldx, out); return true;
    default: return false;
  }
}

}  // namespace

int DotRowsQuantAvx512(const WeightRows& w, int64_t r, int64_t rows, const float* x, float* out) {
  if (w.dtype != DType::kQ8_0 || rows < kGemvRowGroup) return 0;
  DotQ8_0Rows<kGemvRowGroup>(w.base + r * w.row_bytes, w.row_bytes, w.cols / 32, x, out);
  return kGemvRowGroup;
}

bool DotRowQuantAvx512(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  const uint8_t* row = w.base + r * w.row_bytes;
  switch (m) {
    case 1: return DotM<1>(w.dtype, row, w.cols, x, ldx, out);
    case 2: return DotM<2>(w.dtype, row, w.cols, x, ldx, out);
    case 3: return DotM<3>(w.dtype, row, w.cols, x, ldx, out);
    default: return DotM<4>(w.dtype, row, w.cols, x, ldx, out);
  }
}

}  // namespace ds::cpu
