// Reusable transformer layers over the kernel registry: linear, RMSNorm, gated MLP, MoE.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <functional>
#include <string>
#include <vector>

#include "common/slot_buffers.h"
#include "models/weight_loader.h"
#include "runtime/kernel_registry.h"

namespace ds {

// Growable per-sequence scratch buffers addressed by slot, so steady-state decode allocates nothing.
class Workspace {
 public:
  float* Get(int slot, size_t n) { return GrowSlot(buffers_, slot, n); }
  // Integer buffers (token positions, expert ids), slots independent of Get's.
  int32_t* GetInts(int slot, size_t n) { return GrowSlot(ints_, slot, n); }
  size_t bytes() const { return SlotBytes(buffers_) + SlotBytes(ints_); }

 private:
  std::vector<std::vector<float>> buffers_;
  std::vector<std::vector<int32_t>> ints_;
};

// The buffers of one forward over m tokens at positions [start, start + m): the residual stream h
// and two scratch activations x, y ([m, d] each, workspace slots 30..32), and the positions.
struct ForwardRows {
  std::span<const int32_t> positions;  // workspace int slot 0
  float* h;
  float* x;
  float* y;
};
ForwardRows BeginForward(Workspace& ws, int64_t m, int64_t d, int64_t start);
// The error for a forward that is empty or would run past the sequence's `capacity` positions.
Status CheckForwardFits(int64_t start, int64_t m, int64_t capacity);

// Floats of kernel scratch (KernelContext) a matmul over m activation rows of width at most k may
// take: a decoded weight row, a 256-row weight panel in f32 and in bf16, the activations in bf16,
// 8-bit activation codes (or exact digit rows) with their per-32 scales and sums, and x rearranged for
// whole-line bf16 / fp8 loads; per kernel thread an f8_e4m3 work area.
// A decode matmul group reading `group_inputs` distinct activation rows prepares each once.
int64_t MatMulScratchFloats(int64_t m, int64_t k, int64_t group_inputs, int64_t threads);
// ResourceExhausted (naming `source`, the KV and scratch bytes and the cure) when a sequence of
// `sequence_bytes` (KV cache `kv_bytes` + scratch) exceeds `limit` (> 0); OK otherwise.
Status CheckSequenceFits(const std::string& source, int64_t capacity, int64_t kv_bytes, int64_t sequence_bytes,
                         int64_t limit);
// The tokens per forward chunk for an m-token forward: m halved until `scratch_bytes(chunk)` fits
// in `limit` - `kv_bytes` (at least 1); m when there is no limit (limit <= 0).
int64_t ChunkTokens(int64_t m, int64_t limit, int64_t kv_bytes, const std::function<int64_t(int64_t)>& scratch_bytes);

// Runs the matmuls args(0) .. args(count - 1) as matmul groups (RunMatMulGroup: in decoding one
// parallel region each) of up to 32, built on the stack: decoding allocates nothing.
template <typename ArgsAt>
Status RunMatMulsGrouped(int64_t count, ArgsAt&& args, KernelContext& ctx) {
  constexpr int64_t kChunk = 32;
  std::array<MatMulOp::Args, kChunk> chunk;
  for (int64_t i0 = 0; i0 < count; i0 += kChunk) {
    const int64_t n = std::min(kChunk, count - i0);
    for (int64_t i = 0; i < n; ++i) chunk[i] = args(i0 + i);
    DS_RETURN_IF_ERROR(RunMatMulGroup({chunk.data(), static_cast<size_t>(n)}, ctx));
  }
  return absl::OkStatus();
}

// y = x W^T (+ bias), W [out, in] in any registered weight dtype.
struct Linear {
  Tensor w;
  Tensor bias;  // optional f32 [out]
  int64_t out = 0, in = 0;
  static StatusOr<Linear> Load(WeightLoader& loader, const std::string& name, int64_t out, int64_t in,
                               bool with_bias = false);
  Status Apply(const float* x, int64_t m, int64_t ldx, float* y, int64_t ldy, KernelContext& ctx,
               bool accumulate = false) const;
  int64_t params() const { return out * in + (bias.defined() ? out : 0); }
};

// One Linear::Apply of a group: its input, output and whether it adds to y.
struct LinearCall {
  const Linear* linear;
  const float* x;
  int64_t ldx;
  float* y;
  int64_t ldy;
  bool accumulate = false;
};
// The calls over m rows each as one matmul group (decoding: one parallel region), biases added
// after: q, k and v; gate and up.
Status ApplyLinears(std::span<const LinearCall> calls, int64_t m, KernelContext& ctx);

struct RmsNormLayer {
  Tensor w;  // f32 [dim]
  float eps = 1e-6f;
  static StatusOr<RmsNormLayer> Load(WeightLoader& loader, const std::string& name, int64_t dim, double eps);
  Status Apply(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy, KernelContext& ctx) const;
};

// down(silu(gate(x)) * up(x)): the dense MLP, the shared experts and each routed expert.
struct GatedMlp {
  Linear gate, up, down;
  static StatusOr<GatedMlp> Load(WeightLoader& loader, const std::string& prefix, int64_t hidden, int64_t inter);
  // out[m, hidden] (+)= MLP(x[m, hidden]). Uses workspace slots 20..21.
  Status Forward(const float* x, int64_t m, float* out, bool accumulate, KernelContext& ctx, Workspace& ws) const;
  int64_t params() const { return gate.params() + up.params() + down.params(); }
};

// DeepSeekMoE: router + routed experts + shared experts.
struct MoeLayer {
  Tensor gate_w;  // router weight [experts, hidden]
  Tensor correction_bias;  // f32 [experts] (noaux_tc) or undefined
  std::vector<GatedMlp> experts;
  GatedMlp shared;  // n_shared_experts * moe_intermediate_size wide; absent when n_shared == 0
  bool has_shared = false;
  MoeRouteOp::Args route;  // routing attributes (pointers filled per call)
  static StatusOr<MoeLayer> Load(WeightLoader& loader, const std::string& prefix, const ModelConfig& c);
  // out[m, hidden] = MoE(x). Uses workspace slots 10..19.
  Status Forward(const float* x, int64_t m, int64_t hidden, float* out, KernelContext& ctx, Workspace& ws) const;
 private:
  // One token (decoding): ids/weights its route.topk choices. Every chosen expert's and the shared
  // expert's gate and up projections run as one matmul group, their down projections as another.
  Status ForwardToken(const float* x, int64_t hidden, const int32_t* ids, const float* weights, float* out,
                      KernelContext& ctx, Workspace& ws) const;
};

}  // namespace ds
