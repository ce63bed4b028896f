// Grouped-query self-attention (Qwen2, Llama): q/k/v projections (optional biases), RoPE on the
// full head, a plain K/V cache, and the output projection.
#pragma once

#include <span>
#include <string>

#include "models/gqa_kv_cache.h"
#include "models/layers.h"
#include "models/rope.h"

namespace ds {

struct GqaAttention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int64_t heads = 0, kv_heads = 0, head_dim = 0, hidden = 0;
  bool rotate_half = true;  // HF layout; false for weights permuted for adjacent-pair RoPE
  float softmax_scale = 1.0f;

  // `p` is the layer's ".self_attn" prefix. Biases: q/k/v when `qkv_bias`, o_proj when `o_bias`.
  static StatusOr<GqaAttention> Load(WeightLoader& loader, const std::string& p, const ModelConfig& c, bool qkv_bias,
                                     bool o_bias);
  // out[m, hidden] = attention of x[m, hidden] at `positions` (consecutive, starting at the cache
  // length); appends this chunk's keys/values to `cache`. Uses workspace slots 0..2.
  Status Forward(const float* x, int64_t m, std::span<const int32_t> positions, const RopeTables& rope,
                 GqaKvCache& cache, int64_t layer, float* out, KernelContext& ctx, Workspace& ws) const;
  int64_t params() const { return q_proj.params() + k_proj.params() + v_proj.params() + o_proj.params(); }
};

}  // namespace ds
