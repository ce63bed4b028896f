#include "models/mla_attention.h"

#include <cmath>
#include <cstring>

namespace ds {

StatusOr<MlaAttention> MlaAttention::Load(WeightLoader& loader, const std::string& p, const ModelConfig& c,
                                          float attention_scale) {
  MlaAttention a;
  a.heads = c.num_attention_heads;
  a.dn = c.qk_nope_head_dim;
  a.dr = c.qk_rope_head_dim;
  a.dv = c.v_head_dim;
  a.rank = c.kv_lora_rank;
  a.hidden = c.hidden_size;
  const int64_t qdim = a.heads * (a.dn + a.dr);
  a.q_lora = c.q_lora_rank > 0;
  if (a.q_lora) {
    DS_ASSIGN_OR_RETURN(a.q_a_proj, Linear::Load(loader, p + ".q_a_proj", c.q_lora_rank, a.hidden));
    DS_ASSIGN_OR_RETURN(a.q_a_norm, RmsNormLayer::Load(loader, p + ".q_a_layernorm.weight", c.q_lora_rank, c.rms_norm_eps));
    DS_ASSIGN_OR_RETURN(a.q_b_proj, Linear::Load(loader, p + ".q_b_proj", qdim, c.q_lora_rank));
  } else {
    DS_ASSIGN_OR_RETURN(a.q_proj, Linear::Load(loader, p + ".q_proj", qdim, a.hidden));
  }
  DS_ASSIGN_OR_RETURN(a.kv_a_proj, Linear::Load(loader, p + ".kv_a_proj_with_mqa", a.rank + a.dr, a.hidden));
  DS_ASSIGN_OR_RETURN(a.kv_a_norm, RmsNormLayer::Load(loader, p + ".kv_a_layernorm.weight", a.rank, c.rms_norm_eps));
  if (!loader.Has(p + ".kv_b_proj.weight") && loader.Has(p + ".k_b_proj.weight")) {
    DS_ASSIGN_OR_RETURN(a.k_b, loader.Matrix(p + ".k_b_proj.weight", a.heads * a.rank, a.dn));
    DS_ASSIGN_OR_RETURN(a.v_b, loader.Matrix(p + ".v_b_proj.weight", a.heads * a.dv, a.rank));
  } else {
    DS_ASSIGN_OR_RETURN(a.kv_b, loader.Matrix(p + ".kv_b_proj.weight", a.heads * (a.dn + a.dv), a.rank));
  }
  DS_ASSIGN_OR_RETURN(a.o_proj, Linear::Load(loader, p + ".o_proj", a.hidden, a.heads * a.dv));
  const int64_t dn = a.dn, dv = a.dv, rank = a.rank;
  for (int64_t h = 0; h < a.heads; ++h) {
    a.w_uk.push_back(a.kv_b.defined() ? a.kv_b.Rows(h * (dn + dv), h * (dn + dv) + dn) : a.k_b.Rows(h * rank, (h + 1) * rank));
    a.w_uv.push_back(a.kv_b.defined() ? a.kv_b.Rows(h * (dn + dv) + dn, (h + 1) * (dn + dv)) : a.v_b.Rows(h * dv, (h + 1) * dv));
  }
  a.softmax_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.dn + a.dr))) * attention_scale;
  return a;
}

int64_t MlaAttention::params() const {
  const int64_t q = q_lora ? q_a_proj.params() + q_a_norm.w.numel() + q_b_proj.params() : q_proj.params();
  return q + kv_a_proj.params() + kv_a_norm.w.numel() + (kv_b.defined() ? kv_b.numel() : k_b.numel() + v_b.numel()) +
         o_proj.params();
}

Status MlaAttention::Forward(const float* x, int64_t m, std::span<const int32_t> positions, const RopeTables& rope,
                             MlaKvCache& cache, int64_t layer, float* out, KernelContext& ctx, Workspace& ws) const {
  const int64_t qd = dn + dr, qdim = heads * qd, kvd = rank + dr;
  // Queries.
  // The projections of x (the query's, or its low-rank first half, and the compressed KV's) as one group.
  float* q = ws.Get(0, m * qdim);
  float* kv = ws.Get(2, m * kvd);
  float* qa = q_lora ? ws.Get(1, m * q_a_proj.out) : nullptr;
  const LinearCall from_x[] = {q_lora ? LinearCall{&q_a_proj, x, hidden, qa, q_a_proj.out} : LinearCall{&q_proj, x, hidden, q, qdim},
                               {&kv_a_proj, x, hidden, kv, kvd}};
  DS_RETURN_IF_ERROR(ApplyLinears(from_x, m, ctx));
  if (q_lora) {
    DS_RETURN_IF_ERROR(q_a_norm.Apply(qa, m, q_a_proj.out, qa, q_a_proj.out, ctx));
    DS_RETURN_IF_ERROR(q_b_proj.Apply(qa, m, q_a_proj.out, q, qdim, ctx));
  }
  DS_RETURN_IF_ERROR(RunF32<RopeOp>({q + dn, m, heads, qdim, qd, dr, positions, rope.cos.data(), rope.sin.data()}, ctx));
  // Compressed keys/values: normalized latent + rotated shared RoPE key, stored in the cache.
  DS_RETURN_IF_ERROR(kv_a_norm.Apply(kv, m, kvd, kv, kvd, ctx));
  DS_RETURN_IF_ERROR(RunF32<RopeOp>({kv + rank, m, 1, kvd, 0, dr, positions, rope.cos.data(), rope.sin.data()}, ctx));
  cache.Write(layer, positions[0], m, kv, kv + rank, kvd);
  // Absorb W_UK into the queries: q_lat[t,h] = q_nope[t,h] . W_UK[h] ([dn, rank]).
  float* q_lat = ws.Get(3, m * heads * rank);
  float* q_pe = ws.Get(4, m * heads * dr);
  const bool split = !kv_b.defined();  // per-head views of kv_b are read transposed
  DS_RETURN_IF_ERROR(RunMatMulsGrouped(
      heads,
      [&](int64_t h) {
        return MatMulOp::Args{q + h * qd, m, dn, qdim, &w_uk[h], !split, q_lat + h * rank, heads * rank, false};
      },
      ctx));
  for (int64_t t = 0; t < m; ++t) {
    for (int64_t h = 0; h < heads; ++h) std::memcpy(q_pe + (t * heads + h) * dr, q + t * qdim + h * qd + dn, dr * sizeof(float));
  }
  float* o_lat = ws.Get(5, m * heads * rank);
  DS_RETURN_IF_ERROR(RunF32<MlaAttentionOp>({q_lat, q_pe, m, heads, rank, dr, &cache.latent(layer),
                                             &cache.rope_key(layer), positions, softmax_scale, o_lat}, ctx));
  // Values: o[t,h] = o_lat[t,h] . W_UV[h]^T, then the output projection.
  float* o = ws.Get(6, m * heads * dv);
  DS_RETURN_IF_ERROR(RunMatMulsGrouped(
      heads,
      [&](int64_t h) {
        return MatMulOp::Args{o_lat + h * rank, m, rank, heads * rank, &w_uv[h], false, o + h * dv, heads * dv, false};
      },
      ctx));
  return o_proj.Apply(o, m, heads * dv, out, hidden, ctx);
}

}  // namespace ds
