// Multi-head latent attention (DeepSeek-V2/V3) with absorbed up-projections: queries are mapped
// into the kv_lora_rank latent space, attention runs over the compressed cache, and the result is
// mapped back per head with kv_b_proj's value half.
#pragma once

#include <vector>

#include "models/kv_cache.h"
#include "models/layers.h"
#include "models/rope.h"

namespace ds {

struct MlaAttention {
  bool q_lora = false;
  Linear q_proj;             // no q_lora: [H*(dn+dr), hidden]
  Linear q_a_proj, q_b_proj; // q_lora: [q_rank, hidden], [H*(dn+dr), q_rank]
  RmsNormLayer q_a_norm;
  Linear kv_a_proj;          // [rank + dr, hidden]
  RmsNormLayer kv_a_norm;    // [rank]
  Tensor kv_b;               // [H*(dn+dv), rank]
  // llama.cpp's split form of kv_b (GGUF attn_k_b / attn_v_b), used when kv_b is absent:
  Tensor k_b;                // [H*rank, dn]: per head W_UK transposed
  Tensor v_b;                // [H*dv, rank]: per head W_UV
  // Per-head views of the above, made once at load (a view per call would allocate per token):
  std::vector<Tensor> w_uk;  // W_UK[h]: [dn, rank] rows of kv_b, or [rank, dn] rows of k_b
  std::vector<Tensor> w_uv;  // W_UV[h]: [dv, rank]
  Linear o_proj;             // [hidden, H*dv]
  int64_t heads = 0, dn = 0, dr = 0, dv = 0, rank = 0, hidden = 0;
  float softmax_scale = 0.0f;

  static StatusOr<MlaAttention> Load(WeightLoader& loader, const std::string& prefix, const ModelConfig& c,
                                     float attention_scale);
  // out[m, hidden] = attention of x[m, hidden] at `positions` (consecutive, starting at the cache
  // length), after storing the new latents in `cache` layer `layer`. Workspace slots 0..9.
  Status Forward(const float* x, int64_t m, std::span<const int32_t> positions, const RopeTables& rope,
                 MlaKvCache& cache, int64_t layer, float* out, KernelContext& ctx, Workspace& ws) const;
  int64_t params() const;
};

}  // namespace ds
