// Grouped-query attention for prompt processing on AVX-512. The query heads that share a KV head
// are taken 16 rows at a time (token-major: rows (t, j) for the group's heads j), one row per
// vector lane, so every cache row is read once per 16 queries and nothing needs a horizontal sum:
//   scores[s][lane] = K[s] . q[lane]   (q transposed once per tile, K[s][d] broadcast),
//   softmax down each lane (keys s >= pos + 1 masked),
//   out[lane][d]   = sum_s p[s][lane] V[s][d] / sum_s p[s][lane].
// The per-(token, head) dot products this replaces reduced every 128-wide dot across lanes and
// read each K/V row once per query head.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "runtime/cpu/attention_rows.h"
#include "runtime/cpu/lanes_avx512.h"

namespace ds::cpu {
namespace {

constexpr int kLanes = 16;  // query rows per tile
constexpr int kKeys = 8;    // keys per register block (scores)
constexpr int kDims = 8;    // output dims per register block (values)

struct Tile {
  int64_t g;                  // KV head
  const float* q[kLanes];     // query rows (null: padding lane)
  float* out[kLanes];
  alignas(64) int32_t n[kLanes];  // keys each row sees (positions + 1)
  int64_t len = 0;            // max of n
};

// scores[s][lane] = K[s] . qt[:, lane] for s < len (len rounded up to kKeys; rows past len repeat
// row len - 1 and are masked later).
void Scores(const float* k, int64_t width, int64_t d, const float* qt, int64_t len, float* scores) {
  for (int64_t s0 = 0; s0 < len; s0 += kKeys) {
    const float* rows[kKeys];
    for (int i = 0; i < kKeys; ++i) rows[i] = k + std::min(s0 + i, len - 1) * width;
    __m512 acc[kKeys];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (int64_t c = 0; c < d; ++c) {
      const __m512 qc = _mm512_load_ps(qt + c * kLanes);
      for (int i = 0; i < kKeys; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(rows[i][c]), qc, acc[i]);
    }
    for (int i = 0; i < kKeys; ++i) _mm512_store_ps(scores + (s0 + i) * kLanes, acc[i]);
  }
}

// out[lane][c] = inv[lane] * sum_s p[s][lane] V[s][c], kDims dims at a time.
void Values(const Tile& t, const float* v, int64_t width, int64_t d, const float* p, __m512 inv) {
  alignas(64) float block[kDims][kLanes];
  for (int64_t c0 = 0; c0 < d; c0 += kDims) {
    __m512 acc[kDims];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (int64_t s = 0; s < t.len; ++s) {
      const __m512 ps = _mm512_load_ps(p + s * kLanes);
      const float* row = v + s * width + c0;
      for (int i = 0; i < kDims; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(row[i]), ps, acc[i]);
    }
    for (int i = 0; i < kDims; ++i) _mm512_store_ps(block[i], _mm512_mul_ps(acc[i], inv));
    for (int lane = 0; lane < kLanes; ++lane) {
      if (t.out[lane] == nullptr) continue;
      for (int i = 0; i < kDims; ++i) t.out[lane][c0 + i] = block[i][lane];
    }
  }
}

// Tile `index` of KV head g: query rows (t, j), t * group + j in [16 index, 16 index + 16).
Tile MakeTile(const GqaAttentionOp::Args& a, int64_t g, int64_t index) {
  const int64_t group = a.heads / a.kv_heads, rows = a.tokens * group;
  Tile t;
  t.g = g;
  for (int lane = 0; lane < kLanes; ++lane) {
    const int64_t r = index * kLanes + lane;
    if (r >= rows) {
      t.q[lane] = nullptr;
      t.out[lane] = nullptr;
      t.n[lane] = 1;
      continue;
    }
    const int64_t tok = r / group, h = g * group + r % group;
    t.q[lane] = a.q + (tok * a.heads + h) * a.head_dim;
    t.out[lane] = a.out + (tok * a.heads + h) * a.head_dim;
    t.n[lane] = a.positions[tok] + 1;
    t.len = std::max<int64_t>(t.len, t.n[lane]);
  }
  return t;
}

}  // namespace

int64_t GqaBlockScratchFloats(int64_t head_dim, int64_t len) {
  return kLanes * (head_dim + (len + kKeys) + 16);
}

void GqaAttentionBlocksAvx512(const GqaAttentionOp::Args& a, const float* k, const float* v, int64_t len,
                              float* thread_scratch, int threads) {
  const int64_t d = a.head_dim, width = a.kv_heads * d, group = a.heads / a.kv_heads;
  const int64_t tiles = (a.tokens * group + kLanes - 1) / kLanes, per_thread = GqaBlockScratchFloats(d, len);
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int64_t item = 0; item < a.kv_heads * tiles; ++item) {
    const Tile t = MakeTile(a, item / tiles, item % tiles);
    // 64-byte aligned per-thread buffers: q transposed (scaled), then the scores.
    float* base = thread_scratch + omp_get_thread_num() * per_thread;
    float* qt = base + (16 - (reinterpret_cast<uintptr_t>(base) / 4) % 16) % 16;
    float* scores = qt + kLanes * d;
    for (int64_t c = 0; c < d; ++c) {
      for (int lane = 0; lane < kLanes; ++lane) qt[c * kLanes + lane] = t.q[lane] ? a.scale * t.q[lane][c] : 0.0f;
    }
    const int64_t kv_offset = t.g * d;
    Scores(k + kv_offset, width, d, qt, t.len, scores);
    const __m512 inv = SoftmaxDownLanes(scores, t.len, _mm512_load_si512(t.n));
    Values(t, v + kv_offset, width, d, scores, inv);
  }
}

}  // namespace ds::cpu
