#include "models/mtp.h"

namespace ds {

StatusOr<MtpModule> MtpModule::Load(WeightLoader& loader, const ModelConfig& c, int64_t layer,
                                    const Tensor& main_embed, const Linear& main_head, float attention_scale) {
  const std::string p = StrCat("model.layers.", layer);
  const int64_t d = c.hidden_size;
  MtpModule m;
  m.own_embed = loader.Has(p + ".embed_tokens.weight");
  if (m.own_embed) {
    DS_ASSIGN_OR_RETURN(m.embed, loader.Matrix(p + ".embed_tokens.weight", c.vocab_size, d));
  } else {
    m.embed = main_embed;
  }
  DS_ASSIGN_OR_RETURN(m.enorm, RmsNormLayer::Load(loader, p + ".enorm.weight", d, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(m.hnorm, RmsNormLayer::Load(loader, p + ".hnorm.weight", d, c.rms_norm_eps));
  DS_ASSIGN_OR_RETURN(m.eh_proj, Linear::Load(loader, p + ".eh_proj", d, 2 * d));
  DS_ASSIGN_OR_RETURN(m.block, DeepseekDecoderLayer::Load(loader, p, c, c.IsMoeLayer(layer), attention_scale));
  DS_ASSIGN_OR_RETURN(m.head_norm, RmsNormLayer::Load(loader, p + ".shared_head.norm.weight", d, c.rms_norm_eps));
  m.own_head = loader.Has(p + ".shared_head.head.weight");
  if (m.own_head) {
    DS_ASSIGN_OR_RETURN(m.head, Linear::Load(loader, p + ".shared_head.head", c.vocab_size, d));
  } else {
    m.head = main_head;
  }
  return m;
}

int64_t MtpModule::params() const {
  const int64_t d = enorm.w.numel();
  int64_t n = 3 * d + eh_proj.params() + block.attention.params() + 2 * d;
  if (block.mlp) n += block.mlp->params();
  if (block.moe) {
    const MoeLayer& moe = *block.moe;
    n += moe.gate_w.numel() + (moe.correction_bias.defined() ? moe.correction_bias.numel() : 0);
    n += (moe.has_shared ? moe.shared.params() : 0) + moe.experts[0].params() * static_cast<int64_t>(moe.experts.size());
  }
  if (own_embed) n += embed.numel();
  if (own_head) n += head.params();
  return n;
}

Status MtpModule::Forward(const float* hidden, std::span<const int32_t> next_tokens,
                          std::span<const int32_t> positions, const RopeTables& rope, MlaKvCache& cache,
                          int64_t cache_layer, float* out_hidden, std::vector<float>& logits, KernelContext& ctx,
                          Workspace& ws) const {
  const int64_t m = static_cast<int64_t>(next_tokens.size()), d = enorm.w.dim(0);
  float* cat = ws.Get(40, m * 2 * d);
  float* h = ws.Get(41, m * d);
  float* x = ws.Get(42, m * d);
  float* y = ws.Get(43, m * d);
  // [enorm(embed(t_{i+1})); hnorm(h_i)] side by side in one [m, 2d] buffer.
  DS_RETURN_IF_ERROR(RunEmbedding({&embed, next_tokens, h}, ctx));
  DS_RETURN_IF_ERROR(enorm.Apply(h, m, d, cat, 2 * d, ctx));
  DS_RETURN_IF_ERROR(hnorm.Apply(hidden, m, d, cat + d, 2 * d, ctx));
  DS_RETURN_IF_ERROR(eh_proj.Apply(cat, m, 2 * d, h, d, ctx));
  DS_RETURN_IF_ERROR(block.Forward(h, x, y, m, positions, rope, cache, cache_layer, ctx, ws));
  DS_RETURN_IF_ERROR(head_norm.Apply(h, m, d, out_hidden, d, ctx));
  logits.resize(head.out);
  return head.Apply(out_hidden + (m - 1) * d, 1, d, logits.data(), head.out, ctx);
}

}  // namespace ds
