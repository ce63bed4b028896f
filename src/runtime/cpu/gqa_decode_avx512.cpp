// Grouped-query attention for decoding on AVX-512: the few query rows (≤ kGqaDecodeMaxRows) that
// share a KV head, head dims across the vector lanes, the cache (f32 or bf16) read in place.
//   scores: for 16 keys, 16 partial vectors K[s] * q (one FMA per 16 dims), then one transposing
//           sum gives the 16 scores: each K row is loaded once per block and reused from L1 by
//           every row of the group;
//   softmax per row (its own causal limit);
//   out[r] = sum_s p[r][s] V[s], R rows x C vectors of dims accumulated in registers, so V is
//           streamed once.
// The 16-query-rows-per-lane tiles (gqa_attention_blocks_avx512.cpp) padded a decode step's 6
// rows to 16 lanes and broadcast every K/V element: 3x the FMAs and a load per FMA.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "runtime/cpu/attention_rows.h"
#include "runtime/cpu/lanes_avx512.h"
#include "runtime/cpu/vector_ops_cpu.h"  // CausalSoftmaxRowAvx512

namespace ds::cpu {
namespace {

constexpr int kKeyBlock = 16;       // keys per transposing sum
constexpr int kValueRegisters = 24;  // accumulators for out (of 32 vector registers)
constexpr int kPrefetchKeys = 32;    // keys ahead whose cache lines are requested into L2

// Requests the cache lines of `bytes` bytes at p into L2. A KV head's rows are 256-512 bytes
// every kv_heads * that: the hardware prefetcher alone left the loads waiting (13 GB/s per layer
// on the Qwen-1.5B shape; 20 with this, 14 prefetching into L1 instead).
inline void PrefetchBytes(const void* p, int64_t bytes) {
  for (int64_t b = 0; b < bytes; b += 64) _mm_prefetch(static_cast<const char*>(p) + b, _MM_HINT_T1);
}

// out[i] = sum of the 16 lanes of v[i], i < 16, in order.
[[gnu::always_inline]] inline __m512 TransposeSum16(const __m512* v) {
  __m512 t[8], u[4];
  for (int i = 0; i < 8; ++i) {  // per 128-bit lane: [v2i, v2i+1, v2i, v2i+1] partial sums
    t[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  }
  for (int j = 0; j < 4; ++j) {  // per 128-bit lane: [v4j, v4j+1, v4j+2, v4j+3] partial sums
    const __m512d a = _mm512_castps_pd(t[2 * j]), b = _mm512_castps_pd(t[2 * j + 1]);
    u[j] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  constexpr int kEven = _MM_SHUFFLE(2, 0, 2, 0), kOdd = _MM_SHUFFLE(3, 1, 3, 1);
  const __m512 y01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], kEven), _mm512_shuffle_f32x4(u[0], u[1], kOdd));
  const __m512 y23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], kEven), _mm512_shuffle_f32x4(u[2], u[3], kOdd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(y01, y23, kEven), _mm512_shuffle_f32x4(y01, y23, kOdd));
}

// The query rows of one KV head (MakeGroup), with their outputs and causal limits.
struct Group {
  const float* q[kGqaDecodeMaxRows];
  float* out[kGqaDecodeMaxRows];
  int64_t n[kGqaDecodeMaxRows];  // keys row r sees (its position + 1)
  int rows = 0;
  int64_t len = 0;               // max of n
};

// The 16 K rows of the block at s0 as f32, row i at rows + i * row_stride: the cache rows
// themselves (f32, whole block), else copied (the tail block: keys past len repeat row len - 1) or
// widened (bf16) once into `buf`, not once per query row.
template <int D16, typename T>
const float* BlockRows(const T* k, int64_t width, int64_t s0, int64_t len, float* buf, int64_t& row_stride) {
  if constexpr (std::is_same_v<T, float>) {
    if (s0 + kKeyBlock <= len) {
      row_stride = width;
      return k + s0 * width;
    }
  }
  for (int i = 0; i < kKeyBlock; ++i) {
    const T* src = k + std::min<int64_t>(s0 + i, len - 1) * width;
    for (int c = 0; c < D16; ++c) _mm512_storeu_ps(buf + 16 * (D16 * i + c), LoadF32x16(src + 16 * c));
  }
  row_stride = 16 * D16;
  return buf;
}

// scores[r][s0 .. s0 + 16) = K[s] . q[r] for the block's 16 rows.
template <int D16>
void ScoreBlock(const Group& g, const float* rows, int64_t row_stride, float* scores, int64_t stride) {
  for (int r = 0; r < g.rows; ++r) {
    __m512 q[D16], part[kKeyBlock];
    for (int c = 0; c < D16; ++c) q[c] = _mm512_loadu_ps(g.q[r] + 16 * c);
    for (int i = 0; i < kKeyBlock; ++i) {
      const float* row = rows + i * row_stride;
      part[i] = _mm512_mul_ps(_mm512_loadu_ps(row), q[0]);
      for (int c = 1; c < D16; ++c) part[i] = _mm512_fmadd_ps(_mm512_loadu_ps(row + 16 * c), q[c], part[i]);
    }
    _mm512_storeu_ps(scores + r * stride, TransposeSum16(part));
  }
}

// scores[r][s] = K[s] . q[r] for s < len rounded up to 16.
template <int D16, typename T>
void Scores(const Group& g, const T* k, int64_t width, float* scores, int64_t stride, float* buf) {
  for (int64_t s0 = 0; s0 < g.len; s0 += kKeyBlock) {
    for (int64_t s = s0 + kPrefetchKeys; s < std::min(g.len, s0 + kPrefetchKeys + kKeyBlock); ++s) {
      PrefetchBytes(k + s * width, 16 * D16 * sizeof(T));
    }
    int64_t row_stride = 0;
    const float* rows = BlockRows<D16>(k, width, s0, g.len, buf, row_stride);
    ScoreBlock<D16>(g, rows, row_stride, scores + s0, stride);
  }
}

// out[r][16 c0 .. 16 (c0 + C)) = sum_s p[r][s] V[s][...] for the R rows, all keys in one pass.
template <int R, int C, typename T>
void ValueColumns(const Group& g, const T* v, int64_t width, const float* p, int64_t stride, int c0) {
  __m512 acc[R][C];
  for (auto& row : acc) {
    for (auto& a : row) a = _mm512_setzero_ps();
  }
  for (int64_t s = 0; s < g.len; ++s) {
    if (s + kPrefetchKeys < g.len) PrefetchBytes(v + (s + kPrefetchKeys) * width + 16 * c0, 16 * C * sizeof(T));
    __m512 vs[C];
    for (int c = 0; c < C; ++c) vs[c] = LoadF32x16(v + s * width + 16 * (c0 + c));
    for (int r = 0; r < R; ++r) {
      const __m512 pr = _mm512_set1_ps(p[r * stride + s]);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_fmadd_ps(pr, vs[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(g.out[r] + 16 * (c0 + c), acc[r][c]);
  }
}

// The largest divisor of n that is at most limit.
constexpr int LargestDivisorAtMost(int n, int limit) {
  int c = std::min(n, limit);
  while (n % c != 0) --c;
  return c;
}

// As many dims per pass as the accumulators allow (a divisor of D16, so passes tile the row).
template <int R, int D16, typename T>
void Values(const Group& g, const T* v, int64_t width, const float* p, int64_t stride) {
  constexpr int C = LargestDivisorAtMost(D16, kValueRegisters / R);
  for (int c0 = 0; c0 < D16; c0 += C) ValueColumns<R, C>(g, v, width, p, stride, c0);
}

template <int D16, typename T>
void ValuesForRows(const Group& g, const T* v, int64_t width, const float* p, int64_t stride) {
  switch (g.rows) {
    case 1: return Values<1, D16>(g, v, width, p, stride);
    case 2: return Values<2, D16>(g, v, width, p, stride);
    case 3: return Values<3, D16>(g, v, width, p, stride);
    case 4: return Values<4, D16>(g, v, width, p, stride);
    case 5: return Values<5, D16>(g, v, width, p, stride);
    case 6: return Values<6, D16>(g, v, width, p, stride);
    case 7: return Values<7, D16>(g, v, width, p, stride);
    default: return Values<8, D16>(g, v, width, p, stride);
  }
}

template <int D16, typename T>
void Attend(const Group& g, const T* k, const T* v, int64_t width, float scale, float* scores) {
  const int64_t stride = (g.len + kKeyBlock - 1) / kKeyBlock * kKeyBlock;
  Scores<D16>(g, k, width, scores, stride, scores + kGqaDecodeMaxRows * stride);
  for (int r = 0; r < g.rows; ++r) CausalSoftmaxRowAvx512(scores + r * stride, g.n[r], g.len, scale);
  ValuesForRows<D16>(g, v, width, scores, stride);
}

template <typename T>
void AttendAnyDims(const Group& g, const T* k, const T* v, int64_t width, int64_t d, float scale, float* scores) {
  switch (d / 16) {
    case 1: return Attend<1>(g, k, v, width, scale, scores);
    case 2: return Attend<2>(g, k, v, width, scale, scores);
    case 4: return Attend<4>(g, k, v, width, scale, scores);
    case 6: return Attend<6>(g, k, v, width, scale, scores);
    default: return Attend<8>(g, k, v, width, scale, scores);
  }
}

// The query rows of KV head h (at most kGqaDecodeMaxRows: GqaDecodeAvx512Fits): row r is query
// head h * group + r % group of token r / group.
Group MakeGroup(const GqaAttentionOp::Args& a, int64_t h) {
  const int64_t group = a.heads / a.kv_heads;
  Group g;
  g.rows = static_cast<int>(a.tokens * group);
  for (int r = 0; r < g.rows; ++r) {
    const int64_t tok = r / group, head = h * group + r % group;
    g.q[r] = a.q + (tok * a.heads + head) * a.head_dim;
    g.out[r] = a.out + (tok * a.heads + head) * a.head_dim;
    g.n[r] = a.positions[tok] + 1;
    g.len = std::max(g.len, g.n[r]);
  }
  return g;
}

}  // namespace

bool GqaDecodeAvx512Fits(int64_t rows_per_kv_head, int64_t head_dim) {
  const int64_t d16 = head_dim / 16;
  return rows_per_kv_head <= kGqaDecodeMaxRows && head_dim % 16 == 0 &&
         (d16 == 1 || d16 == 2 || d16 == 4 || d16 == 6 || d16 == 8);
}

int64_t GqaDecodeScratchFloats(int64_t len, int64_t head_dim) {
  return kGqaDecodeMaxRows * (len + kKeyBlock) + kKeyBlock * head_dim;
}

void GqaDecodeAvx512(const GqaAttentionOp::Args& a, int64_t len, float* thread_scratch, int threads) {
  const int64_t d = a.head_dim, width = a.kv_heads * d, per_thread = GqaDecodeScratchFloats(len, d);
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int64_t h = 0; h < a.kv_heads; ++h) {
    const Group g = MakeGroup(a, h);
    float* scores = thread_scratch + omp_get_thread_num() * per_thread;
    if (a.k_cache->dtype() == DType::kF32) {
      AttendAnyDims(g, a.k_cache->data<float>() + h * d, a.v_cache->data<float>() + h * d, width, d, a.scale, scores);
    } else {
      AttendAnyDims(g, a.k_cache->data<uint16_t>() + h * d, a.v_cache->data<uint16_t>() + h * d, width, d, a.scale,
                    scores);
    }
  }
}

}  // namespace ds::cpu
