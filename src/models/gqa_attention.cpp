#include "models/gqa_attention.h"

#include <cmath>

namespace ds {

StatusOr<GqaAttention> GqaAttention::Load(WeightLoader& loader, const std::string& p, const ModelConfig& c,
                                          bool qkv_bias, bool o_bias) {
  GqaAttention a;
  a.heads = c.num_attention_heads;
  a.kv_heads = c.num_key_value_heads;
  a.head_dim = c.head_dim > 0 ? c.head_dim : c.hidden_size / c.num_attention_heads;
  a.hidden = c.hidden_size;
  a.rotate_half = !c.rope_interleaved;
  const int64_t qdim = a.heads * a.head_dim, kvdim = a.kv_heads * a.head_dim;
  DS_ASSIGN_OR_RETURN(a.q_proj, Linear::Load(loader, p + ".q_proj", qdim, a.hidden, qkv_bias));
  DS_ASSIGN_OR_RETURN(a.k_proj, Linear::Load(loader, p + ".k_proj", kvdim, a.hidden, qkv_bias));
  DS_ASSIGN_OR_RETURN(a.v_proj, Linear::Load(loader, p + ".v_proj", kvdim, a.hidden, qkv_bias));
  DS_ASSIGN_OR_RETURN(a.o_proj, Linear::Load(loader, p + ".o_proj", a.hidden, qdim, o_bias));
  a.softmax_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.head_dim)));
  return a;
}

Status GqaAttention::Forward(const float* x, int64_t m, std::span<const int32_t> positions, const RopeTables& rope,
                             GqaKvCache& cache, int64_t layer, float* out, KernelContext& ctx, Workspace& ws) const {
  const int64_t qdim = heads * head_dim, kvdim = kv_heads * head_dim;
  float* q = ws.Get(0, m * qdim);
  float* kv = ws.Get(1, m * 2 * kvdim);  // per token: k then v
  const LinearCall qkv[] = {
      {&q_proj, x, hidden, q, qdim}, {&k_proj, x, hidden, kv, 2 * kvdim}, {&v_proj, x, hidden, kv + kvdim, 2 * kvdim}};
  DS_RETURN_IF_ERROR(ApplyLinears(qkv, m, ctx));
  const float* cos = rope.cos.data();
  const float* sin = rope.sin.data();
  DS_RETURN_IF_ERROR(RunF32<RopeOp>({q, m, heads, qdim, head_dim, head_dim, positions, cos, sin, rotate_half}, ctx));
  DS_RETURN_IF_ERROR(RunF32<RopeOp>({kv, m, kv_heads, 2 * kvdim, head_dim, head_dim, positions, cos, sin, rotate_half}, ctx));
  cache.Write(layer, positions[0], m, kv, kv + kvdim, 2 * kvdim);
  float* o = ws.Get(2, m * qdim);
  DS_RETURN_IF_ERROR(RunF32<GqaAttentionOp>({q, m, heads, kv_heads, head_dim, &cache.keys(layer), &cache.values(layer),
                                             positions, softmax_scale, o}, ctx));
  return o_proj.Apply(o, m, qdim, out, hidden, ctx);
}

}  // namespace ds
