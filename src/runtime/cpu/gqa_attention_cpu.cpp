// Grouped-query attention over a plain K/V cache on CPU (Qwen2, Llama). With AVX-512:
// - decoding (≤ 8 query rows per KV head, head_dim 16-128): the rows of a KV head together, head
//   dims across the lanes, a head's keys split among threads when heads are fewer
//   (gqa_decode_avx512.cpp);
// - prompts (head_dim a multiple of 16, ≥ 4 rows per KV head): 16 query rows of a KV head at a
//   time, one per vector lane (gqa_attention_blocks_avx512.cpp).
// Otherwise per (token, KV head) dot products (gqa_attention_rows.h; 8 lanes wide with AVX2). (Per-head oneDNN GEMMs were measured slower: pp512 58
// vs 91 tok/s on the Qwen-1.5B shape; unlike MLA's shared latent, each head's K/V slice is small
// and strided.)
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "common/float_convert.h"
#include "common/strings.h"
#include "runtime/cpu/attention_rows.h"
#include "runtime/cpu/gqa_attention_rows.h"
#include "runtime/cpu/scratch_slots.h"
#include "runtime/cpu/vector_ops_cpu.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {

constexpr int64_t kGqaTileMinRows = 4;  // query rows per KV head from which the AVX-512 tiles run

Status CheckArgs(const GqaAttentionOp::Args& a) {
  const Tensor& k = *a.k_cache;
  const Tensor& v = *a.v_cache;
  if (a.heads <= 0 || a.kv_heads <= 0 || a.head_dim <= 0 || a.heads % a.kv_heads != 0) {
    return absl::InvalidArgumentError(StrCat("gqa_attention: ", a.heads, " query heads cannot share ", a.kv_heads,
                                             " KV heads (head_dim ", a.head_dim, ")"));
  }
  for (const Tensor* c : {&k, &v}) {
    if (c->rank() != 2 || c->dim(1) != a.kv_heads * a.head_dim || c->dim(0) != k.dim(0) ||
        (c->dtype() != DType::kF32 && c->dtype() != DType::kBF16)) {
      return absl::InvalidArgumentError("gqa_attention: K/V caches must be f32 or bf16 [capacity, kv_heads * head_dim]");
    }
  }
  for (int32_t p : a.positions) {
    if (p < 0 || p >= k.dim(0)) return absl::OutOfRangeError(StrCat("gqa_attention: position ", p, " outside the KV cache"));
  }
  if (static_cast<int64_t>(a.positions.size()) < a.tokens) {
    return absl::InvalidArgumentError("gqa_attention: fewer positions than tokens");
  }
  return absl::OkStatus();
}

}  // namespace

Status GqaAttention(const GqaAttentionOp::Args& a, KernelContext& ctx) {
  DS_RETURN_IF_ERROR(CheckArgs(a));
  const Tensor& k = *a.k_cache;
  const Tensor& v = *a.v_cache;
  const int64_t group = a.heads / a.kv_heads, d = a.head_dim;
  int64_t len = 0;
  for (int64_t t = 0; t < a.tokens; ++t) len = std::max<int64_t>(len, a.positions[t] + 1);
  const int64_t capacity = k.dim(0);  // scratch is requested for the whole cache (KernelContext::Scratch)
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(ctx.threads(), a.tokens * a.heads)));
  // Decoding (a few query rows per KV head): head dims across the lanes, each cache row read once
  // per KV head, in place.
  if (HasAvx512() && GqaDecodeAvx512Fits(a.tokens * group, d)) {
    const int all = ctx.threads();  // not capped by the heads: it splits a head's keys among threads
    GqaDecodeAvx512(a, len, ctx.Scratch(slot::kAttentionThreadRows, GqaDecodeScratchFloats(a, capacity, all)), all);
    return absl::OkStatus();
  }
  // Tiles pay once a KV head has many query rows (a prompt): each cache row is then read once per
  // 16 query rows, not once per query head.
  if (a.tokens * group >= kGqaTileMinRows && d % 16 == 0 && HasAvx512()) {
    const float* kf = CacheRowsF32(k, len, ctx, slot::kAttentionKeysF32);
    const float* vf = CacheRowsF32(v, len, ctx, slot::kAttentionValuesF32);
    float* scratch = ctx.Scratch(slot::kAttentionThreadRows, threads * GqaBlockScratchFloats(d, capacity));
    GqaAttentionBlocksAvx512(a, kf, vf, len, scratch, threads);
    return absl::OkStatus();
  }
  // Per (token, KV head) and the group's query heads together, each K / V row read once for them,
  // unless that leaves threads idle: then fewer query heads per task (down to one).
  GqaRowsCall c{a.q, a.out, a.positions.data(), a.tokens, a.heads, a.kv_heads, d, k.raw(), v.raw(),
                k.dtype() == DType::kBF16, k.dim(1), a.scale, group};
  while (c.heads_per_task > 1 && a.tokens * a.heads / c.heads_per_task < threads) {
    do --c.heads_per_task; while (group % c.heads_per_task != 0);
  }
  // Per-thread scores and a widened cache row, allocated once (nothing is allocated per token).
  float* thread_rows = ctx.Scratch(slot::kAttentionThreadRows, threads * GqaRowsScratchFloats(c, capacity));
  if (HasAvx2()) {
    GqaAttentionRowsAvx2(c, len, thread_rows, threads);
  } else {
    GqaAttentionPerRow(c, len, thread_rows, threads);
  }
  return absl::OkStatus();
}

}  // namespace ds::cpu
