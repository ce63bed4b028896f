// Multi-head latent attention over the compressed (latent + RoPE key) cache on CPU.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common/float_convert.h"
#include "runtime/cpu/vector_ops_cpu.h"

namespace ds::cpu {
namespace {

// Cache rows may be f32 or bf16; widen one row into `out`.
inline const float* CacheRow(const Tensor& cache, int64_t s, float* tmp) {
  const int64_t d = cache.dim(1);
  if (cache.dtype() == DType::kF32) return cache.data<float>() + s * d;
  const uint16_t* src = cache.data<uint16_t>() + s * d;
  for (int64_t i = 0; i < d; ++i) tmp[i] = Bf16ToF32(src[i]);
  return tmp;
}

inline float Dot(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace

Status MlaAttention(const MlaAttentionOp::Args& a, KernelContext& ctx) {
  const Tensor& kv = *a.kv_cache;
  const Tensor& pe = *a.pe_cache;
  if (kv.dim(1) != a.rank || pe.dim(1) != a.rope_dim) {
    return absl::InvalidArgumentError("mla_attention: cache width does not match the query");
  }
  int64_t max_pos = 0;
  for (int32_t p : a.positions) max_pos = std::max<int64_t>(max_pos, p);
  if (max_pos >= kv.dim(0)) return absl::OutOfRangeError("mla_attention: position beyond the KV cache");
  const int64_t len = max_pos + 1;
  const int heads_threads = static_cast<int>(std::min<int64_t>(ctx.threads(), a.heads));
#pragma omp parallel num_threads(heads_threads)
  {
    std::vector<float> scores(len), kv_tmp(a.rank), pe_tmp(a.rope_dim);
#pragma omp for collapse(2) schedule(static)
    for (int64_t t = 0; t < a.tokens; ++t) {
      for (int64_t h = 0; h < a.heads; ++h) {
        const int64_t n = static_cast<int64_t>(a.positions[t]) + 1;  // causal: keys 0..pos
        const float* ql = a.q_lat + (t * a.heads + h) * a.rank;
        const float* qp = a.q_pe + (t * a.heads + h) * a.rope_dim;
        float mx = -INFINITY;
        for (int64_t s = 0; s < n; ++s) {
          scores[s] = a.scale * (Dot(ql, CacheRow(kv, s, kv_tmp.data()), a.rank) +
                                 Dot(qp, CacheRow(pe, s, pe_tmp.data()), a.rope_dim));
          mx = std::max(mx, scores[s]);
        }
        float sum = 0.0f;
        for (int64_t s = 0; s < n; ++s) sum += (scores[s] = std::exp(scores[s] - mx));
        float* out = a.out + (t * a.heads + h) * a.rank;
        std::fill(out, out + a.rank, 0.0f);
        for (int64_t s = 0; s < n; ++s) {
          const float p = scores[s] / sum;
          const float* row = CacheRow(kv, s, kv_tmp.data());
#pragma omp simd
          for (int64_t i = 0; i < a.rank; ++i) out[i] += p * row[i];
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ds::cpu
