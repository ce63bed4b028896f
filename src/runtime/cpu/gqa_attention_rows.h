// The per-(token, head) GQA attention loop, the path for shapes and CPUs the AVX-512 kernels do not
// take. Written once, compiled twice: for the baseline ISA (gqa_attention_cpu.cpp) and with AVX2 +
// FMA (gqa_attention_rows_avx2.cpp), whose simd loops then run 8 lanes wide. Everything here has
// internal linkage, so the linker can never let an AVX2 copy serve a baseline caller.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "common/float_convert.h"
#include "runtime/ops.h"
#include "runtime/tensor.h"

namespace ds::cpu {

// GqaAttentionPerRow below compiled with AVX2 + FMA (gqa_attention_rows_avx2.cpp).
void GqaAttentionRowsAvx2(const GqaAttentionOp::Args& a, int64_t len, float* thread_rows, int threads);

namespace {  // NOLINT(build/namespaces): internal to each including file on purpose

// One KV head's slice of cache row `s`, widened to f32 if the cache is bf16.
inline const float* GqaHeadRow(const Tensor& cache, int64_t s, int64_t kvh, int64_t head_dim, float* tmp) {
  const int64_t offset = s * cache.dim(1) + kvh * head_dim;
  if (cache.dtype() == DType::kF32) return cache.data<float>() + offset;
  const uint16_t* src = cache.data<uint16_t>() + offset;
#pragma omp simd
  for (int64_t i = 0; i < head_dim; ++i) tmp[i] = Bf16ToF32(src[i]);
  return tmp;
}

inline float GqaDot(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// Requests cache row s's slice of KV head kvh into L2 (T1): the slices are 64-256 bytes every
// kv_heads * that, which the hardware prefetcher served poorly (the loop waited on the loads).
constexpr int64_t kGqaPrefetchRows = 32;
inline void GqaPrefetchRow(const Tensor& cache, int64_t s, int64_t kvh, int64_t head_dim) {
  const int64_t elem = cache.dtype() == DType::kF32 ? 4 : 2;
  const char* p = static_cast<const char*>(cache.raw()) + (s * cache.dim(1) + kvh * head_dim) * elem;
  for (int64_t b = 0; b < head_dim * elem; b += 64) __builtin_prefetch(p + b, 0, 2);
}

// Scratch floats per thread of GqaAttentionPerRow: the scores of a KV head's query heads, and a
// widened cache row.
inline int64_t GqaPerRowScratchFloats(const GqaAttentionOp::Args& a, int64_t len) {
  return a.heads / a.kv_heads * len + a.head_dim;
}

// Attention of every (token, query head) over its KV head's cache rows [0, position], a KV head's
// query heads together so each K / V row is read once for all of them; thread_rows holds
// threads * GqaPerRowScratchFloats(a, len) floats.
[[maybe_unused]] void GqaAttentionPerRow(const GqaAttentionOp::Args& a, int64_t len, float* thread_rows,
                                         int threads) {
  const Tensor& k = *a.k_cache;
  const Tensor& v = *a.v_cache;
  const int64_t group = a.heads / a.kv_heads, d = a.head_dim;
#pragma omp parallel num_threads(threads)
  {
    float* scores = thread_rows + omp_get_thread_num() * GqaPerRowScratchFloats(a, len);  // [group][len]
    float* tmp = scores + group * len;
#pragma omp for collapse(2) schedule(static)
    for (int64_t t = 0; t < a.tokens; ++t) {
      for (int64_t kvh = 0; kvh < a.kv_heads; ++kvh) {
        const int64_t n = static_cast<int64_t>(a.positions[t]) + 1;  // causal: keys 0..pos
        const float* q = a.q + (t * a.heads + kvh * group) * d;      // the group's heads are consecutive
        float* out = a.out + (t * a.heads + kvh * group) * d;
        for (int64_t s = 0; s < n; ++s) {
          if (s + kGqaPrefetchRows < n) GqaPrefetchRow(k, s + kGqaPrefetchRows, kvh, d);
          const float* row = GqaHeadRow(k, s, kvh, d, tmp);
          for (int64_t g = 0; g < group; ++g) scores[g * len + s] = a.scale * GqaDot(q + g * d, row, d);
        }
        for (int64_t g = 0; g < group; ++g) {
          float* sg = scores + g * len;
          const float mx = *std::max_element(sg, sg + n);
          float sum = 0.0f;
          for (int64_t s = 0; s < n; ++s) sum += (sg[s] = std::exp(sg[s] - mx));
          const float inv = 1.0f / sum;
          for (int64_t s = 0; s < n; ++s) sg[s] *= inv;
        }
        std::fill(out, out + group * d, 0.0f);
        for (int64_t s = 0; s < n; ++s) {
          if (s + kGqaPrefetchRows < n) GqaPrefetchRow(v, s + kGqaPrefetchRows, kvh, d);
          const float* row = GqaHeadRow(v, s, kvh, d, tmp);
          for (int64_t g = 0; g < group; ++g) {
            const float p = scores[g * len + s];
            float* og = out + g * d;
#pragma omp simd
            for (int64_t i = 0; i < d; ++i) og[i] += p * row[i];
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace ds::cpu
