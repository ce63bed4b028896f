// One DeepSeek decoder block (pre-norm MLA attention + dense MLP or DeepSeekMoE), shared by the
// main model's layers and the multi-token-prediction modules, which reuse the same block.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "models/mla_attention.h"

namespace ds {

struct DeepseekDecoderLayer {
  RmsNormLayer input_norm, post_attention_norm;
  MlaAttention attention;
  std::optional<GatedMlp> mlp;  // dense layers
  std::optional<MoeLayer> moe;  // MoE layers

  // Loads `<prefix>.{input_layernorm,self_attn,post_attention_layernorm,mlp}`; `moe_layer` picks
  // DeepSeekMoE over the dense MLP.
  static StatusOr<DeepseekDecoderLayer> Load(WeightLoader& loader, const std::string& prefix, const ModelConfig& c,
                                             bool moe_layer, float attention_scale);
  // h[m, d] += attention(norm(h)); h += mlp(norm(h)). x and y are [m, d] scratch. The new latents
  // go to `cache` layer `cache_layer` at `positions`.
  Status Forward(float* h, float* x, float* y, int64_t m, std::span<const int32_t> positions, const RopeTables& rope,
                 MlaKvCache& cache, int64_t cache_layer, KernelContext& ctx, Workspace& ws) const;
};

}  // namespace ds
