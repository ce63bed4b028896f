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
// With fewer KV heads than threads, each KV head's keys are split into chunks (tasks), whose
// softmaxes are combined from their maxima and sums (as flash-decoding does), so every thread
// streams part of the cache.
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
constexpr int64_t kMinSplitKeys = 256;  // keys per chunk at least, when a KV head is split

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

// The query rows of one KV head (MakeGroup), with their outputs and causal limits, over the keys
// [k0, len) (the whole head, or one chunk of it).
struct Group {
  const float* q[kGqaDecodeMaxRows];
  float* out[kGqaDecodeMaxRows];
  int64_t n[kGqaDecodeMaxRows];  // keys row r sees (its position + 1)
  int rows = 0;
  int64_t k0 = 0, len = 0;       // len: at most max of n
  float* max = nullptr;          // per row: the softmax's max and sum over the chunk (or null)
  float* sum = nullptr;
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

// scores[r][s - k0] = K[s] . q[r] for k0 <= s < len rounded up to 16.
template <int D16, typename T>
void Scores(const Group& g, const T* k, int64_t width, float* scores, int64_t stride, float* buf) {
  for (int64_t s0 = g.k0; s0 < g.len; s0 += kKeyBlock) {
    for (int64_t s = s0 + kPrefetchKeys; s < std::min(g.len, s0 + kPrefetchKeys + kKeyBlock); ++s) {
      PrefetchBytes(k + s * width, 16 * D16 * sizeof(T));
    }
    int64_t row_stride = 0;
    const float* rows = BlockRows<D16>(k, width, s0, g.len, buf, row_stride);
    ScoreBlock<D16>(g, rows, row_stride, scores + (s0 - g.k0), stride);
  }
}

// out[r][16 c0 .. 16 (c0 + C)) = sum_s p[r][s] V[s][...] for the R rows, all keys in one pass.
template <int R, int C, typename T>
void ValueColumns(const Group& g, const T* v, int64_t width, const float* p, int64_t stride, int c0) {
  __m512 acc[R][C];
  for (auto& row : acc) {
    for (auto& a : row) a = _mm512_setzero_ps();
  }
  for (int64_t s = g.k0; s < g.len; ++s) {
    if (s + kPrefetchKeys < g.len) PrefetchBytes(v + (s + kPrefetchKeys) * width + 16 * c0, 16 * C * sizeof(T));
    __m512 vs[C];
    for (int c = 0; c < C; ++c) vs[c] = LoadF32x16(v + s * width + 16 * (c0 + c));
    for (int r = 0; r < R; ++r) {
      const __m512 pr = _mm512_set1_ps(p[r * stride + s - g.k0]);
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
  const int64_t keys = g.len - g.k0, stride = (keys + kKeyBlock - 1) / kKeyBlock * kKeyBlock;
  Scores<D16>(g, k, width, scores, stride, scores + kGqaDecodeMaxRows * stride);
  for (int r = 0; r < g.rows; ++r) {
    const int64_t seen = std::clamp<int64_t>(g.n[r] - g.k0, 0, keys);
    CausalSoftmaxRowAvx512(scores + r * stride, seen, keys, scale, g.max ? g.max + r : nullptr,
                           g.sum ? g.sum + r : nullptr);
  }
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

namespace {

// Chunks per KV head: enough tasks for the threads, chunks of at least kMinSplitKeys keys.
int64_t SplitsPerHead(int64_t kv_heads, int64_t len, int threads) {
  const int64_t want = (threads + kv_heads - 1) / kv_heads;
  return std::max<int64_t>(1, std::min(want, len / kMinSplitKeys));
}

// Keys per chunk (a multiple of the key block) when each of `len` keys' heads is cut in `splits`.
int64_t ChunkKeys(int64_t len, int64_t splits) {
  return ((len + splits - 1) / splits + kKeyBlock - 1) / kKeyBlock * kKeyBlock;
}

// Per thread: scores of up to kGqaDecodeMaxRows rows over a chunk, and one block of widened K.
int64_t ThreadFloats(int64_t chunk, int64_t head_dim) {
  return kGqaDecodeMaxRows * (chunk + kKeyBlock) + kKeyBlock * head_dim;
}

// Per chunk, when split: its rows' outputs, maxima and sums (ChunkPart), one after the other.
int64_t ChunkFloats(int64_t head_dim) { return kGqaDecodeMaxRows * (head_dim + 2); }
struct ChunkPart {
  float* out;  // row r's output at out + r * head_dim
  float* max;  // row r's softmax max and sum over the chunk
  float* sum;
};
ChunkPart PartAt(float* parts, int64_t index, int64_t head_dim) {
  float* p = parts + index * ChunkFloats(head_dim);
  return {p, p + kGqaDecodeMaxRows * head_dim, p + kGqaDecodeMaxRows * (head_dim + 1)};
}

template <typename T>
void AttendChunk(const GqaAttentionOp::Args& a, const Group& g, int64_t h, float* scores) {
  const int64_t d = a.head_dim, width = a.kv_heads * d;
  const T* k = a.k_cache->data<T>() + h * d;
  const T* v = a.v_cache->data<T>() + h * d;
  AttendAnyDims(g, k, v, width, d, a.scale, scores);
}

// out[r] = the softmax-weighted mean of the chunks' outputs: chunk c weighs sum_c * exp(max_c - M).
// parts: the head's `splits` chunk parts.
void CombineChunks(const Group& g, float* parts, int64_t splits, int64_t d) {
  for (int r = 0; r < g.rows; ++r) {
    float top = -INFINITY;
    for (int64_t c = 0; c < splits; ++c) top = std::max(top, PartAt(parts, c, d).max[r]);
    float total = 0.0f;
    std::fill(g.out[r], g.out[r] + d, 0.0f);
    for (int64_t c = 0; c < splits; ++c) {
      const ChunkPart part = PartAt(parts, c, d);
      const float weight = part.sum[r] * std::exp(part.max[r] - top);
      if (weight == 0.0f) continue;  // no key of this chunk for the row (0 * a stale inf is NaN)
      total += weight;
      for (int64_t i = 0; i < d; ++i) g.out[r][i] += weight * part.out[r * d + i];
    }
    const float inv = 1.0f / total;
    for (int64_t i = 0; i < d; ++i) g.out[r][i] *= inv;
  }
}

}  // namespace

int64_t GqaDecodeScratchFloats(const GqaAttentionOp::Args& a, int64_t len, int threads) {
  const int64_t splits = SplitsPerHead(a.kv_heads, len, threads);
  const int64_t parts = splits > 1 ? a.kv_heads * splits * ChunkFloats(a.head_dim) : 0;
  return threads * ThreadFloats(ChunkKeys(len, splits), a.head_dim) + parts;
}

void GqaDecodeAvx512(const GqaAttentionOp::Args& a, int64_t len, float* scratch, int threads) {
  const int64_t d = a.head_dim, splits = SplitsPerHead(a.kv_heads, len, threads), chunk = ChunkKeys(len, splits);
  const int64_t tasks = a.kv_heads * splits, per_thread = ThreadFloats(chunk, d);
  float* parts = scratch + threads * per_thread;  // used when split
  const bool f32 = a.k_cache->dtype() == DType::kF32;
#pragma omp parallel for schedule(dynamic) num_threads(static_cast<int>(std::min<int64_t>(threads, tasks)))
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t h = t / splits, c = t % splits;
    Group g = MakeGroup(a, h);
    if (splits > 1) {  // chunk c of the head's keys, into its part
      g.k0 = std::min(g.len, c * chunk);
      g.len = std::min(g.len, g.k0 + chunk);
      const ChunkPart part = PartAt(parts, t, d);
      for (int r = 0; r < g.rows; ++r) g.out[r] = part.out + r * d;
      g.max = part.max;
      g.sum = part.sum;
      if (g.k0 == g.len) {  // past every row's keys (a short last chunk): contributes nothing
        std::fill(part.out, part.out + g.rows * d, 0.0f);
        std::fill(g.max, g.max + g.rows, -INFINITY);
        std::fill(g.sum, g.sum + g.rows, 0.0f);
        continue;
      }
    }
    float* scores = scratch + omp_get_thread_num() * per_thread;
    f32 ? AttendChunk<float>(a, g, h, scores) : AttendChunk<uint16_t>(a, g, h, scores);
  }
  if (splits == 1) return;
#pragma omp parallel for num_threads(static_cast<int>(std::min<int64_t>(threads, a.kv_heads)))
  for (int64_t h = 0; h < a.kv_heads; ++h) CombineChunks(MakeGroup(a, h), PartAt(parts, h * splits, d).out, splits, d);
}

}  // namespace ds::cpu
