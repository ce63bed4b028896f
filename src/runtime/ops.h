// Operator declarations: one struct per op naming it and fixing its kernel signature.
// Kernels for an op are registered per (device, activation dtype, weight dtype) in the
// KernelRegistry; runtime/cpu/register_cpu.cpp lists the CPU ones.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"
#include "runtime/kernel_context.h"
#include "runtime/tensor.h"

namespace ds {

enum class OpKind : uint8_t {
  kMatMul, kEmbedding, kRmsNorm, kRope, kSoftmax, kSiluMul, kMoeRoute, kMlaAttention, kAdd, kGqaAttention,
  kMatMulGroup, kCount
};
std::string_view OpName(OpKind op);

// y[M,N] = x[M,K] * W^T (W stored [N,K], as nn.Linear), or x * W when `transpose_w` (W stored
// [K,N]). x, y: f32 contiguous rows; y may have a row stride > N (ldy). Weight dtype selects the kernel.
struct MatMulOp {
  static constexpr OpKind kKind = OpKind::kMatMul;
  struct Args {
    const float* x; int64_t m; int64_t k;
    int64_t ldx;  // x row stride in elements (>= k)
    const Tensor* w; bool transpose_w;
    float* y; int64_t ldy;  // y row stride in elements (>= N)
    bool accumulate;        // y += result instead of y = result
  };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// Independent matmuls run as one: in decoding (one activation row, W stored [N, K]) the items share
// one parallel region, their weight rows split over the threads by bytes, so there is one wake-up
// and one barrier instead of one per item (MoE experts with the shared expert, gate with up, q
// with k and v). Items may mix weight dtypes; any other item (m > 1, transpose_w) runs as a plain
// MatMulOp. Outputs must not overlap. Registered with weight dtype f32 (it serves them all).
struct MatMulGroupOp {
  static constexpr OpKind kKind = OpKind::kMatMulGroup;
  struct Args { std::span<const MatMulOp::Args> items; };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// out[i, :] = f32(table[ids[i], :]).
struct EmbeddingOp {
  static constexpr OpKind kKind = OpKind::kEmbedding;
  struct Args { const Tensor* table; std::span<const int32_t> ids; float* out; };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// y = x * rsqrt(mean(x^2) + eps) * w, per row of length `dim` (y may alias x).
struct RmsNormOp {
  static constexpr OpKind kKind = OpKind::kRmsNorm;
  struct Args { const float* x; int64_t rows; int64_t dim; int64_t ldx; const float* w; float eps; float* y; int64_t ldy; };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// In-place rotary embedding of `rot_dim` elements starting at each head's offset, on adjacent
// pairs (x[2i], x[2i+1]) or, with `rotate_half` (HF Llama/Qwen2 layout), on pairs (x[i], x[i + rot_dim/2]).
// cos/sin tables are [positions, rot_dim/2].
struct RopeOp {
  static constexpr OpKind kKind = OpKind::kRope;
  struct Args {
    float* x; int64_t tokens; int64_t heads; int64_t token_stride; int64_t head_stride;
    int64_t rot_dim; std::span<const int32_t> positions; const float* cos; const float* sin;
    bool rotate_half = false;
  };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// In-place softmax over each row.
struct SoftmaxOp {
  static constexpr OpKind kKind = OpKind::kSoftmax;
  struct Args { float* x; int64_t rows; int64_t cols; };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// out[r, i] = silu(gate[r, i]) * up[r, i]; gate/up are halves of rows with stride ld_in.
struct SiluMulOp {
  static constexpr OpKind kKind = OpKind::kSiluMul;
  struct Args { const float* gate; const float* up; int64_t ld_in; int64_t rows; int64_t cols; float* out; };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// DeepSeekMoE router: scores -> (expert ids, weights) per token.
enum class MoeScoring : uint8_t { kSoftmax, kSigmoid };
enum class MoeGroupScore : uint8_t { kNone, kMax, kTop2Sum };  // greedy / group_limited_greedy / noaux_tc
struct MoeRouteOp {
  static constexpr OpKind kKind = OpKind::kMoeRoute;
  struct Args {
    const float* logits; int64_t tokens; int64_t experts;
    const float* bias;  // selection-only correction bias [experts] or null
    MoeScoring scoring; MoeGroupScore group_score; int64_t groups; int64_t topk_groups; int64_t topk;
    bool normalize; float scale;
    int32_t* out_ids; float* out_weights;  // [tokens, topk]
  };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// Multi-head latent attention over the compressed cache (up-projections absorbed):
// score[t,h,s] = scale * (q_lat[t,h,:] . kv[s,:] + q_pe[t,h,:] . pe[s,:]), causal over
// s <= positions[t]; out[t,h,:] = softmax(score) . kv.
struct MlaAttentionOp {
  static constexpr OpKind kKind = OpKind::kMlaAttention;
  struct Args {
    const float* q_lat; const float* q_pe; int64_t tokens; int64_t heads; int64_t rank; int64_t rope_dim;
    const Tensor* kv_cache; const Tensor* pe_cache;  // [capacity, rank], [capacity, rope_dim]
    std::span<const int32_t> positions; float scale; float* out;  // out [tokens, heads, rank]
  };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// Grouped-query attention over a plain K/V cache: query head h reads KV head h / (heads / kv_heads);
// score[t,h,s] = scale * q[t,h,:] . k[s,kvh,:], causal over s <= positions[t];
// out[t,h,:] = softmax(score) . v[s,kvh,:]. q and out are [tokens, heads, head_dim] contiguous.
struct GqaAttentionOp {
  static constexpr OpKind kKind = OpKind::kGqaAttention;
  struct Args {
    const float* q; int64_t tokens; int64_t heads; int64_t kv_heads; int64_t head_dim;
    const Tensor* k_cache; const Tensor* v_cache;  // [capacity, kv_heads * head_dim], f32 or bf16
    std::span<const int32_t> positions; float scale; float* out;
  };
  using Fn = Status (*)(const Args&, KernelContext&);
};

// y[i] = a[i] + b[i] (y may alias a).
struct AddOp {
  static constexpr OpKind kKind = OpKind::kAdd;
  struct Args { const float* a; const float* b; float* y; int64_t n; };
  using Fn = Status (*)(const Args&, KernelContext&);
};

}  // namespace ds
