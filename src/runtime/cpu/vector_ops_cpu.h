// CPU kernels for the non-matmul ops (f32 activations).
#pragma once

#include "runtime/ops.h"

namespace ds::cpu {

Status Embedding(const EmbeddingOp::Args& a, KernelContext& ctx);
Status RmsNorm(const RmsNormOp::Args& a, KernelContext& ctx);
Status Rope(const RopeOp::Args& a, KernelContext& ctx);
Status Softmax(const SoftmaxOp::Args& a, KernelContext& ctx);
Status SiluMul(const SiluMulOp::Args& a, KernelContext& ctx);
Status Add(const AddOp::Args& a, KernelContext& ctx);
Status MoeRoute(const MoeRouteOp::Args& a, KernelContext& ctx);
Status MlaAttention(const MlaAttentionOp::Args& a, KernelContext& ctx);
Status GqaAttention(const GqaAttentionOp::Args& a, KernelContext& ctx);

// out[i] = silu(gate[i]) * up[i] for i < n, AVX-512 (vector_ops_avx512.cpp).
void SiluMulRowAvx512(const float* gate, const float* up, int64_t n, float* out);
// CausalSoftmaxRow (attention_rows.h) on AVX-512 with the vector exp. If max_out / sum_out are
// given they receive max(scale * row[0..n)) and the sum of exp(scale * row[s] - max) (-inf and 0
// for n = 0: then row[0..len) is all zero), from which softmaxes over parts of a row combine.
void CausalSoftmaxRowAvx512(float* row, int64_t n, int64_t len, float scale, float* max_out = nullptr,
                            float* sum_out = nullptr);

}  // namespace ds::cpu
