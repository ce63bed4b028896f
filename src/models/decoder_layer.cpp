#include "models/decoder_layer.h"

namespace ds {

StatusOr<DeepseekDecoderLayer> DeepseekDecoderLayer::Load(WeightLoader& loader, const std::string& p,
                                                          const ModelConfig& c, bool moe_layer,
                                                          float attention_scale) {
  DeepseekDecoderLayer l;
  DS_ASSIGN_OR_RETURN(l.input_norm, RmsNormLayer::Load(loader, p + ".input_layernorm.weight", c.hidden_size, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(l.post_attention_norm,
                      RmsNormLayer::Load(loader, p + ".post_attention_layernorm.weight", c.hidden_size, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(l.attention, MlaAttention::Load(loader, p + ".self_attn", c, attention_scale));
  if (moe_layer) {
    DS_ASSIGN_OR_RETURN(MoeLayer moe, MoeLayer::Load(loader, p + ".mlp", c));
    l.moe = std::move(moe);
  } else {
    DS_ASSIGN_OR_RETURN(GatedMlp mlp, GatedMlp::Load(loader, p + ".mlp", c.hidden_size, c.intermediate_size));
    l.mlp = std::move(mlp);
  }
  return l;
}

Status DeepseekDecoderLayer::Forward(float* h, float* x, float* y, int64_t m, std::span<const int32_t> positions,
                                     const RopeTables& rope, MlaKvCache& cache, int64_t cache_layer,
                                     KernelContext& ctx, Workspace& ws) const {
  const int64_t d = input_norm.w.dim(0);
  DS_RETURN_IF_ERROR(input_norm.Apply(h, m, d, x, d, ctx));
  DS_RETURN_IF_ERROR(attention.Forward(x, m, positions, rope, cache, cache_layer, y, ctx, ws));
  DS_RETURN_IF_ERROR(RunF32<AddOp>({h, y, h, m * d}, ctx));
  DS_RETURN_IF_ERROR(post_attention_norm.Apply(h, m, d, x, d, ctx));
  if (mlp) return mlp->Forward(x, m, h, true, ctx, ws);
  DS_RETURN_IF_ERROR(moe->Forward(x, m, d, y, ctx, ws));
  return RunF32<AddOp>({h, y, h, m * d}, ctx);
}

}  // namespace ds
