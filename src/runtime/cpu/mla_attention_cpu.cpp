// Multi-head latent attention over the compressed (latent + RoPE key) cache on CPU.
//
// Decode (a few tokens): 16 query rows per vector on AVX-512 (mla_decode_avx512.cpp); elsewhere per
// (token, head) dot products over the cache rows, or the GEMMs over a longer cache. Prefill: every head
// of a block of tokens reads the same latent cache, so scores and outputs are three GEMMs over it
// (oneDNN): scores = q_lat kv^T + q_pe pe^T (f32), softmax with the causal mask, out = P kv (bf16
// under reduced precision), in blocks of queries that each read only the keys they may see.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "common/float_convert.h"
#include "common/strings.h"
#include "runtime/cpu/attention_rows.h"
#include "runtime/cpu/matmul_cpu.h"
#include "runtime/cpu/onednn_matmul.h"
#include "runtime/cpu/scratch_slots.h"
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

// Query rows (tokens x heads) per block of the GEMM path: small enough that skipping the keys after
// each block's last position (the causal mask) saves most of the masked half, large enough that the
// GEMMs run near peak.
constexpr int64_t kMlaBlockRows = 1024;
// Decoding switches to the GEMM path at this many query rows (tokens x heads) and cached keys.
constexpr int64_t kMlaGemmMinRows = 8, kMlaGemmMinKeys = 64;

// Rows [0, len) of a cache as bf16: the cache itself when it is bf16, else rounded into scratch.
const uint16_t* CacheRowsBf16(const Tensor& cache, int64_t len, KernelContext& ctx, int slot) {
  if (cache.dtype() == DType::kBF16) return cache.data<uint16_t>();
  const int64_t width = cache.dim(1);
  // Requested for the whole cache (KernelContext::Scratch).
  uint16_t* out = reinterpret_cast<uint16_t*>(ctx.Scratch(slot, (cache.numel() + 1) / 2));
  RowsToBf16(cache.data<float>(), len, width, width, out, ctx.threads());
  return out;
}

// y[m, n] (+)= x[m, k] W with W = rows of a cache ([n, k] when w_nk, else [k, n]): f32 when xb is
// null, else with x rounded to bf16 into xb (m * k values) and W already bf16.
Status AttentionGemm(const float* x, int64_t m, int64_t k, const void* w, bool w_nk, int64_t ldw, int64_t n,
                     float* y, bool accumulate, uint16_t* xb, int threads) {
  if (xb == nullptr) {
    return OneDnnGemmF32AnyShape(x, m, k, k, static_cast<const float*>(w), w_nk, ldw, n, y, n, accumulate);
  }
  RowsToBf16(x, m, k, k, xb, threads);
  return OneDnnGemmBf16AnyShape(xb, m, k, k, static_cast<const uint16_t*>(w), w_nk, ldw, n, y, n, accumulate);
}

Status MlaAttentionGemm(const MlaAttentionOp::Args& a, int64_t len, KernelContext& ctx) {
  // Scores always use f32 operands: bf16 queries and keys (scores of 10-15 in real checkpoints' sharp
  // heads) moved a tiny V3 FP8 model's logits by a third of their range. Under reduced precision the
  // probabilities (in [0, 1]) and latent rows of out = P kv are bf16, at twice the f32 GEMM rate.
  const float* kv = CacheRowsF32(*a.kv_cache, len, ctx, slot::kMlaKvF32);
  const float* pe = CacheRowsF32(*a.pe_cache, len, ctx, slot::kMlaPeF32);
  const bool bf16_values = ctx.precision() == ComputePrecision::kBF16 && Bf16PromptMatmulsAvailable();
  const void* values = bf16_values ? static_cast<const void*>(CacheRowsBf16(*a.kv_cache, len, ctx, slot::kMlaKvBf16)) : kv;
  const int64_t block_rows = std::min(kMlaBlockRows, kAttentionScoreBlockFloats / len);
  const int64_t block = std::clamp<int64_t>(block_rows / a.heads, 1, a.tokens);
  // Requested at the bound for the whole cache (KernelContext::Scratch); block * heads * len is within it.
  const int64_t score_floats = MlaScoreBlockFloats(a.tokens, a.heads, a.kv_cache->dim(0));
  float* scores = ctx.Scratch(slot::kMlaScores, score_floats);
  uint16_t* probs_bf16 =
      bf16_values ? reinterpret_cast<uint16_t*>(ctx.Scratch(slot::kMlaProbsBf16, (score_floats + 1) / 2)) : nullptr;
  const bool vector_exp = HasAvx512();
  for (int64_t t0 = 0; t0 < a.tokens; t0 += block) {
    const int64_t tb = std::min(block, a.tokens - t0), rows = tb * a.heads;
    int64_t keys = 0;  // keys any query of the block sees: 0..max position
    for (int64_t t = t0; t < t0 + tb; ++t) keys = std::max<int64_t>(keys, a.positions[t] + 1);
    const float* ql = a.q_lat + t0 * a.heads * a.rank;
    const float* qp = a.q_pe + t0 * a.heads * a.rope_dim;
    DS_RETURN_IF_ERROR(AttentionGemm(ql, rows, a.rank, kv, true, a.rank, keys, scores, false, nullptr, ctx.threads()));
    DS_RETURN_IF_ERROR(
        AttentionGemm(qp, rows, a.rope_dim, pe, true, a.rope_dim, keys, scores, true, nullptr, ctx.threads()));
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = static_cast<int64_t>(a.positions[t0 + r / a.heads]) + 1;  // causal: keys 0..pos
      if (vector_exp) {
        CausalSoftmaxRowAvx512(scores + r * keys, n, keys, a.scale);
      } else {
        CausalSoftmaxRow(scores + r * keys, n, keys, a.scale);
      }
    }
    float* out = a.out + t0 * a.heads * a.rank;
    DS_RETURN_IF_ERROR(
        AttentionGemm(scores, rows, keys, values, false, a.rank, a.rank, out, false, probs_bf16, ctx.threads()));
  }
  return absl::OkStatus();
}

}  // namespace

int64_t MlaScoreBlockFloats(int64_t tokens, int64_t heads, int64_t capacity) {
  // A block is one token's heads when they alone exceed the score budget, else at most
  // kMlaBlockRows rows within it (MlaAttentionGemm), and never more tokens than the call has.
  const int64_t per_block = std::max(heads * capacity, std::min(kMlaBlockRows * capacity, kAttentionScoreBlockFloats));
  return std::min(tokens * heads * capacity, per_block);
}

int64_t MlaPromptScratchFloats(int64_t tokens, int64_t heads, int64_t rank, int64_t rope_dim, int64_t capacity) {
  const int64_t scores = MlaScoreBlockFloats(tokens, heads, capacity);
  const int64_t widened_cache = capacity * (rank + rope_dim);  // a bf16 cache as f32
  const int64_t bf16_operands = (scores + 1) / 2 + (capacity * rank + 1) / 2;  // P and an f32 latent cache as bf16
  return scores + widened_cache + bf16_operands;
}

int64_t MlaAttentionScratchFloats(int64_t tokens, int64_t heads, int64_t rank, int64_t rope_dim, int64_t capacity,
                                  int threads) {
  const int64_t per_head_rows = threads * (capacity + rank + rope_dim);  // the portable decode loop
  const int64_t decode_rows = std::min<int64_t>(tokens, kAttentionGemmMinTokens - 1) * heads;
  return MlaPromptScratchFloats(tokens, heads, rank, rope_dim, capacity) + per_head_rows +
         MlaDecodeScratchFloats(decode_rows, rank, rope_dim, capacity, threads);
}

int64_t MlaDecodeScratchFloats(int64_t rows, int64_t rank, int64_t rope_dim, int64_t len, int threads) {
  // Per group of 16 rows: transposed queries, scores down the cache, reciprocal sums; per thread:
  // 8 keys' rows of a bf16 cache widened (mla_decode_avx512.cpp's layout).
  const int64_t groups = (rows + kMlaDecodeLanes - 1) / kMlaDecodeLanes;
  return groups * (rank + rope_dim + len + 1) * kMlaDecodeLanes + threads * kMlaDecodeKeysPerStep * (rank + rope_dim);
}

Status MlaAttention(const MlaAttentionOp::Args& a, KernelContext& ctx) {
  const Tensor& kv = *a.kv_cache;
  const Tensor& pe = *a.pe_cache;
  if (kv.dim(1) != a.rank || pe.dim(1) != a.rope_dim) {
    return absl::InvalidArgumentError("mla_attention: cache width does not match the query");
  }
  if (static_cast<int64_t>(a.positions.size()) < a.tokens) {
    return absl::InvalidArgumentError("mla_attention: fewer positions than tokens");
  }
  int64_t max_pos = 0;
  for (int64_t t = 0; t < a.tokens; ++t) {
    const int32_t p = a.positions[t];
    if (p < 0 || p >= kv.dim(0)) return absl::OutOfRangeError(StrCat("mla_attention: position ", p, " outside the KV cache"));
    max_pos = std::max<int64_t>(max_pos, p);
  }
  const int64_t len = max_pos + 1;
  if (a.tokens >= kAttentionGemmMinTokens) return MlaAttentionGemm(a, len, ctx);
  // Decoding: 16 query rows per vector, all groups of them per cache block (AVX-512). Elsewhere, over a longer
  // cache, the GEMMs read it once for all heads; the loop below reads it once per head.
  if (HasAvx512() && a.rank % 16 == 0) {
    // Requested for the whole cache, not this call's keys (KernelContext::Scratch).
    float* scratch = ctx.Scratch(slot::kMlaDecode, MlaDecodeScratchFloats(a.tokens * a.heads, a.rank, a.rope_dim, kv.dim(0),
                                                                        ctx.threads()));
    MlaDecodeAvx512(a, len, scratch, ctx.threads());
    return absl::OkStatus();
  }
  if (a.tokens * a.heads >= kMlaGemmMinRows && len >= kMlaGemmMinKeys) return MlaAttentionGemm(a, len, ctx);
  const int heads_threads = static_cast<int>(std::min<int64_t>(ctx.threads(), a.heads));
  // Per-thread scores and widened cache rows, requested for the whole cache (KernelContext::Scratch).
  const int64_t per_thread = kv.dim(0) + a.rank + a.rope_dim;
  float* thread_rows = ctx.Scratch(slot::kMlaThreadRows, heads_threads * per_thread);
#pragma omp parallel num_threads(heads_threads)
  {
    float* scores = thread_rows + omp_get_thread_num() * per_thread;
    float* kv_tmp = scores + len;
    float* pe_tmp = kv_tmp + a.rank;
#pragma omp for collapse(2) schedule(static)
    for (int64_t t = 0; t < a.tokens; ++t) {
      for (int64_t h = 0; h < a.heads; ++h) {
        const int64_t n = static_cast<int64_t>(a.positions[t]) + 1;  // causal: keys 0..pos
        const float* ql = a.q_lat + (t * a.heads + h) * a.rank;
        const float* qp = a.q_pe + (t * a.heads + h) * a.rope_dim;
        float mx = -INFINITY;
        for (int64_t s = 0; s < n; ++s) {
          scores[s] = a.scale * (DotF32(ql, CacheRow(kv, s, kv_tmp), a.rank) + DotF32(qp, CacheRow(pe, s, pe_tmp), a.rope_dim));
          mx = std::max(mx, scores[s]);
        }
        float sum = 0.0f;
        for (int64_t s = 0; s < n; ++s) sum += (scores[s] = std::exp(scores[s] - mx));
        float* out = a.out + (t * a.heads + h) * a.rank;
        std::fill(out, out + a.rank, 0.0f);
        for (int64_t s = 0; s < n; ++s) {
          const float p = scores[s] / sum;
          const float* row = CacheRow(kv, s, kv_tmp);
#pragma omp simd
          for (int64_t i = 0; i < a.rank; ++i) out[i] += p * row[i];
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ds::cpu
