// Helpers shared by the CPU attention kernels (MLA and GQA): cache rows as f32 and the causal
// softmax of one row of scores.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/float_convert.h"
#include "runtime/kernel_context.h"
#include "runtime/ops.h"
#include "runtime/tensor.h"

namespace ds::cpu {

// Prefill (at least this many tokens) computes attention as GEMMs over the cache.
constexpr int64_t kAttentionGemmMinTokens = 8;
// Scores of one block of query rows in the GEMM path (16 MiB).
constexpr int64_t kAttentionScoreBlockFloats = 4 << 20;

// Rows [0, len) of a [capacity, width] f32 or bf16 cache as contiguous f32: the cache itself when
// it is f32, else widened into scratch `slot`.
inline const float* CacheRowsF32(const Tensor& cache, int64_t len, KernelContext& ctx, int slot) {
  if (cache.dtype() == DType::kF32) return cache.data<float>();
  const int64_t n = len * cache.dim(1);
  float* out = ctx.Scratch(slot, cache.numel());  // the whole cache (KernelContext::Scratch)
  const uint16_t* src = cache.data<uint16_t>();
  for (int64_t i = 0; i < n; ++i) out[i] = Bf16ToF32(src[i]);
  return out;
}

// In place: row = softmax(scale * row[0..n)), zero in [n, len) (keys after the query: causal mask).
inline void CausalSoftmaxRow(float* row, int64_t n, int64_t len, float scale) {
  float mx = -INFINITY;
  for (int64_t s = 0; s < n; ++s) mx = std::max(mx, scale * row[s]);
  float sum = 0.0f;
  for (int64_t s = 0; s < n; ++s) sum += (row[s] = std::exp(scale * row[s] - mx));
  const float inv = 1.0f / sum;
  for (int64_t s = 0; s < n; ++s) row[s] *= inv;
  std::fill(row + n, row + len, 0.0f);
}

// Grouped-query attention for prompt processing on AVX-512 (gqa_attention_blocks_avx512.cpp), 16
// query rows of a KV head per vector: K/V as f32 rows [0, len) of width kv_heads * head_dim,
// head_dim a multiple of 16; thread_scratch holds GqaBlockScratchFloats(head_dim, len) floats per
// thread. Arguments already checked.
void GqaAttentionBlocksAvx512(const GqaAttentionOp::Args& a, const float* k, const float* v, int64_t len,
                              float* thread_scratch, int threads);
int64_t GqaBlockScratchFloats(int64_t head_dim, int64_t len);

// Grouped-query attention for decoding on AVX-512 (gqa_decode_avx512.cpp): at most
// kGqaDecodeMaxRows query rows per KV head, head dims across the lanes, an f32 or bf16 cache read
// in place over rows [0, len); with fewer KV heads than threads each head's keys are split among
// them. scratch holds GqaDecodeScratchFloats(a, len, threads) floats. GqaDecodeAvx512Fits says
// whether a call's shape is one it takes. Arguments already checked.
constexpr int kGqaDecodeMaxRows = 8;
bool GqaDecodeAvx512Fits(int64_t rows_per_kv_head, int64_t head_dim);
void GqaDecodeAvx512(const GqaAttentionOp::Args& a, int64_t len, float* scratch, int threads);
int64_t GqaDecodeScratchFloats(const GqaAttentionOp::Args& a, int64_t len, int threads);

// MLA attention for fewer than kAttentionGemmMinTokens query tokens on AVX-512
// (mla_decode_avx512.cpp) over cache rows [0, len) (f32 or bf16), rank a multiple of 16; scratch
// holds MlaDecodeScratchFloats(tokens * heads, rank, rope_dim, len, threads) floats. Arguments
// already checked. Its query rows go 16 to a vector (kMlaDecodeLanes), its keys 8 per step.
inline constexpr int64_t kMlaDecodeLanes = 16, kMlaDecodeKeysPerStep = 8;
void MlaDecodeAvx512(const MlaAttentionOp::Args& a, int64_t len, float* scratch, int threads);
// Baseline code (mla_attention_cpu.cpp), also used for the models' memory plans.
int64_t MlaDecodeScratchFloats(int64_t rows, int64_t rank, int64_t rope_dim, int64_t len, int threads);
// Scores of one query block of the prompt (GEMM) path for `tokens` query tokens over a cache of
// `capacity` rows: the size requested whatever the call's keys.
int64_t MlaScoreBlockFloats(int64_t tokens, int64_t heads, int64_t capacity);
// Scratch floats of the GEMM path (prompts) for calls of up to `tokens` query tokens.
int64_t MlaPromptScratchFloats(int64_t tokens, int64_t heads, int64_t rank, int64_t rope_dim, int64_t capacity);
// Every scratch float MlaAttention may hold for calls of up to `tokens` query tokens, on any path.
int64_t MlaAttentionScratchFloats(int64_t tokens, int64_t heads, int64_t rank, int64_t rope_dim, int64_t capacity,
                                  int threads);

inline float DotF32(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace ds::cpu
