// The per-(token, KV head) GQA attention loop, the path for shapes and CPUs the AVX-512 kernels do
// not take. Written once, compiled twice: for the baseline ISA (gqa_attention_cpu.cpp) and with
// AVX2 + FMA (gqa_attention_rows_avx2.cpp), whose simd loops then run 8 lanes wide. The loop uses
// nothing but this file's internal functions, builtins and libm calls (no Tensor methods, no std
// algorithms): an inline function from another header, compiled with AVX2 here, could otherwise
// be the copy the linker keeps for baseline callers (in unoptimized builds, where it is not
// inlined).
#pragma once

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ds::cpu {

// One call's data as plain pointers and sizes (from GqaAttentionOp::Args, already checked).
struct GqaRowsCall {
  const float* q;
  float* out;
  const int32_t* positions;
  int64_t tokens, heads, kv_heads, head_dim;
  const void* k;  // K / V caches: rows of `width` f32 or bf16 values
  const void* v;
  bool bf16;
  int64_t width;
  float scale;
  int64_t heads_per_task;  // query heads of one KV head per task: the group, or a divisor of it
};

// GqaAttentionPerRow below compiled with AVX2 + FMA (gqa_attention_rows_avx2.cpp).
void GqaAttentionRowsAvx2(const GqaRowsCall& c, int64_t len, float* thread_rows, int threads);

namespace {  // NOLINT(build/namespaces): internal to each including file on purpose

// Scratch floats per thread: one task's scores and a widened cache row.
inline int64_t GqaRowsScratchFloats(const GqaRowsCall& c, int64_t len) { return c.heads_per_task * len + c.head_dim; }

// Cache row s's slice for KV head kvh as f32: in place, or widened from bf16 into tmp.
inline const float* GqaCacheRow(const GqaRowsCall& c, const void* cache, int64_t s, int64_t kvh, float* tmp) {
  const int64_t offset = s * c.width + kvh * c.head_dim;
  if (!c.bf16) return static_cast<const float*>(cache) + offset;
  const uint16_t* src = static_cast<const uint16_t*>(cache) + offset;
#pragma omp simd
  for (int64_t i = 0; i < c.head_dim; ++i) {
    const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
    std::memcpy(tmp + i, &bits, 4);
  }
  return tmp;
}

// Requests that slice into L2 (T1): slices of 64-256 bytes every width elements, which the hardware
// prefetcher served poorly (the loop waited on the loads).
constexpr int64_t kGqaPrefetchRows = 32;
inline void GqaPrefetchRow(const GqaRowsCall& c, const void* cache, int64_t s, int64_t kvh) {
  const int64_t elem = c.bf16 ? 2 : 4;
  const char* p = static_cast<const char*>(cache) + (s * c.width + kvh * c.head_dim) * elem;
  for (int64_t b = 0; b < c.head_dim * elem; b += 64) __builtin_prefetch(p + b, 0, 2);
}

// Eight partial sums, which the compiler turns into one vector (an `omp simd reduction` loop was
// left scalar in one of its inlined copies here, 5x slower).
inline float GqaDot(const float* a, const float* b, int64_t n) {
  float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) part[j] += a[i + j] * b[i + j];
  }
  float acc = ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// In place: row[0..n) = softmax(row[0..n)).
inline void GqaSoftmax(float* row, int64_t n) {
  float mx = row[0];
  for (int64_t s = 1; s < n; ++s) mx = row[s] > mx ? row[s] : mx;
  float sum = 0.0f;
  for (int64_t s = 0; s < n; ++s) sum += (row[s] = std::exp(row[s] - mx));
  const float inv = 1.0f / sum;
  for (int64_t s = 0; s < n; ++s) row[s] *= inv;
}

// One task: query heads [h0, h0 + heads_per_task) of KV head kvh for token t, each K / V row read
// once for all of them.
inline void GqaAttendTask(const GqaRowsCall& c, int64_t t, int64_t kvh, int64_t h0, int64_t len, float* scores,
                          float* tmp) {
  const int64_t n = static_cast<int64_t>(c.positions[t]) + 1;  // causal: keys 0..pos
  const int64_t d = c.head_dim, hn = c.heads_per_task;
  const float* q = c.q + (t * c.heads + h0) * d;
  float* out = c.out + (t * c.heads + h0) * d;
  for (int64_t s = 0; s < n; ++s) {
    if (s + kGqaPrefetchRows < n) GqaPrefetchRow(c, c.k, s + kGqaPrefetchRows, kvh);
    const float* row = GqaCacheRow(c, c.k, s, kvh, tmp);
    for (int64_t g = 0; g < hn; ++g) scores[g * len + s] = c.scale * GqaDot(q + g * d, row, d);
  }
  for (int64_t g = 0; g < hn; ++g) GqaSoftmax(scores + g * len, n);
  for (int64_t i = 0; i < hn * d; ++i) out[i] = 0.0f;
  for (int64_t s = 0; s < n; ++s) {
    if (s + kGqaPrefetchRows < n) GqaPrefetchRow(c, c.v, s + kGqaPrefetchRows, kvh);
    const float* row = GqaCacheRow(c, c.v, s, kvh, tmp);
    for (int64_t g = 0; g < hn; ++g) {
      const float p = scores[g * len + s];
      float* og = out + g * d;
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) og[i] += p * row[i];
    }
  }
}

// Attention of every (token, query head) over its KV head's cache rows [0, position], in tasks of
// heads_per_task query heads of one KV head; thread_rows holds threads * GqaRowsScratchFloats.
[[maybe_unused]] void GqaAttentionPerRow(const GqaRowsCall& c, int64_t len, float* thread_rows, int threads) {
  const int64_t group = c.heads / c.kv_heads, per_kv_head = group / c.heads_per_task;
#pragma omp parallel num_threads(threads)
  {
    float* scores = thread_rows + omp_get_thread_num() * GqaRowsScratchFloats(c, len);  // [heads_per_task][len]
    float* tmp = scores + c.heads_per_task * len;
#pragma omp for collapse(2) schedule(static)
    for (int64_t t = 0; t < c.tokens; ++t) {
      for (int64_t task = 0; task < c.kv_heads * per_kv_head; ++task) {
        const int64_t kvh = task / per_kv_head, h0 = kvh * group + (task % per_kv_head) * c.heads_per_task;
        GqaAttendTask(c, t, kvh, h0, len, scores, tmp);
      }
    }
  }
}

}  // namespace
}  // namespace ds::cpu
