#include "models/layers.h"

#include <algorithm>
#include <cstring>

#include "runtime/cpu/weight_rows.h"

namespace ds {

ForwardRows BeginForward(Workspace& ws, int64_t m, int64_t d, int64_t start) {
  int32_t* positions = ws.GetInts(0, m);
  for (int64_t i = 0; i < m; ++i) positions[i] = static_cast<int32_t>(start + i);
  return ForwardRows{{positions, static_cast<size_t>(m)}, ws.Get(30, m * d), ws.Get(31, m * d), ws.Get(32, m * d)};
}

Status CheckForwardFits(int64_t start, int64_t m, int64_t capacity) {
  if (m == 0) return absl::InvalidArgumentError("forward: no tokens given");
  if (start + m > capacity) {
    return absl::OutOfRangeError(StrCat("sequence of ", start + m, " tokens exceeds the context of ", capacity,
                                        " positions (set a larger max_context)"));
  }
  return absl::OkStatus();
}

int64_t MatMulScratchFloats(int64_t m, int64_t k, int64_t group_inputs, int64_t threads) {
  // Per distinct decode input (runtime/cpu/matmul_group_cpu.cpp): its 8-bit codes or exact digit
  // rows (kExactLimbs bytes per value) and their 4-value sums, block scales and sums, and x
  // rearranged (PrepareGemvX).
  const int64_t per_input = (cpu::kExactLimbs * k + 3) / 4 + k / 4 + 2 * (k / 32 + 1) + k;
  // A decoded row, f32 and bf16 panels, bf16 activations; the decode inputs; per thread an
  // f8_e4m3 work area (at the smallest scale block the kernels take, 32 columns), aligned.
  return k + 256 * k + 128 * k + (m * k + 1) / 2 + group_inputs * per_input + threads * cpu::Fp8WorkFloats(k, 32) + 16;
}

Status CheckSequenceFits(const std::string& source, int64_t capacity, int64_t kv_bytes, int64_t sequence_bytes,
                         int64_t limit) {
  if (limit <= 0 || sequence_bytes <= limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      StrCat(source, ": one sequence needs ", sequence_bytes, " bytes (KV cache for ", capacity, " positions: ", kv_bytes,
             ", scratch: ", sequence_bytes - kv_bytes, "), over the memory limit of ", limit,
             " bytes; lower max_context or raise the limit"));
}

int64_t ChunkTokens(int64_t m, int64_t limit, int64_t kv_bytes, const std::function<int64_t(int64_t)>& scratch_bytes) {
  if (limit <= 0) return m;
  int64_t chunk = m;
  while (chunk > 1 && scratch_bytes(chunk) > limit - kv_bytes) chunk = (chunk + 1) / 2;
  return chunk;
}

StatusOr<Linear> Linear::Load(WeightLoader& loader, const std::string& name, int64_t out, int64_t in,
                              bool with_bias) {
  Linear l;
  l.out = out;
  l.in = in;
  DS_ASSIGN_OR_RETURN(l.w, loader.Matrix(name + ".weight", out, in));
  if (with_bias) {
    DS_ASSIGN_OR_RETURN(l.bias, loader.VectorF32(name + ".bias", out));
  }
  return l;
}

Status Linear::Apply(const float* x, int64_t m, int64_t ldx, float* y, int64_t ldy, KernelContext& ctx,
                     bool accumulate) const {
  const LinearCall call{this, x, ldx, y, ldy, accumulate};
  return ApplyLinears({&call, 1}, m, ctx);
}

Status ApplyLinears(std::span<const LinearCall> calls, int64_t m, KernelContext& ctx) {
  DS_RETURN_IF_ERROR(RunMatMulsGrouped(
      static_cast<int64_t>(calls.size()),
      [&](int64_t i) {
        const LinearCall& c = calls[i];
        return MatMulOp::Args{c.x, m, c.linear->in, c.ldx, &c.linear->w, false, c.y, c.ldy, c.accumulate};
      },
      ctx));
  for (const LinearCall& c : calls) {
    if (!c.linear->bias.defined()) continue;
    const float* b = c.linear->bias.data<float>();
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < c.linear->out; ++j) c.y[i * c.ldy + j] += b[j];
    }
  }
  return absl::OkStatus();
}

StatusOr<RmsNormLayer> RmsNormLayer::Load(WeightLoader& loader, const std::string& name, int64_t dim, double eps) {
  RmsNormLayer n;
  DS_ASSIGN_OR_RETURN(n.w, loader.VectorF32(name, dim));
  n.eps = static_cast<float>(eps);
  return n;
}

Status RmsNormLayer::Apply(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy, KernelContext& ctx) const {
  return RunF32<RmsNormOp>({x, rows, w.dim(0), ldx, w.data<float>(), eps, y, ldy}, ctx);
}

StatusOr<GatedMlp> GatedMlp::Load(WeightLoader& loader, const std::string& prefix, int64_t hidden, int64_t inter) {
  GatedMlp m;
  DS_ASSIGN_OR_RETURN(m.gate, Linear::Load(loader, prefix + ".gate_proj", inter, hidden));
  DS_ASSIGN_OR_RETURN(m.up, Linear::Load(loader, prefix + ".up_proj", inter, hidden));
  DS_ASSIGN_OR_RETURN(m.down, Linear::Load(loader, prefix + ".down_proj", hidden, inter));
  return m;
}

Status GatedMlp::Forward(const float* x, int64_t m, float* out, bool accumulate, KernelContext& ctx,
                         Workspace& ws) const {
  const int64_t inter = gate.out, hidden = gate.in;
  float* g = ws.Get(20, m * inter * 2);
  float* u = g + m * inter;
  const LinearCall gate_up[] = {{&gate, x, hidden, g, inter}, {&up, x, hidden, u, inter}};
  DS_RETURN_IF_ERROR(ApplyLinears(gate_up, m, ctx));
  float* act = ws.Get(21, m * inter);
  DS_RETURN_IF_ERROR(RunF32<SiluMulOp>({g, u, inter, m, inter, act}, ctx));
  return down.Apply(act, m, inter, out, hidden, ctx, accumulate);
}

StatusOr<MoeLayer> MoeLayer::Load(WeightLoader& loader, const std::string& prefix, const ModelConfig& c) {
  MoeLayer moe;
  const int64_t e = c.n_routed_experts, h = c.hidden_size;
  DS_ASSIGN_OR_RETURN(moe.gate_w, loader.Matrix(prefix + ".gate.weight", e, h));
  const bool noaux = c.topk_method == "noaux_tc";
  if (noaux) {
    DS_ASSIGN_OR_RETURN(moe.correction_bias, loader.VectorF32(prefix + ".gate.e_score_correction_bias", e));
  }
  for (int64_t i = 0; i < e; ++i) {
    DS_ASSIGN_OR_RETURN(GatedMlp m, GatedMlp::Load(loader, StrCat(prefix, ".experts.", i), h, c.moe_intermediate_size));
    moe.experts.push_back(std::move(m));
  }
  if (c.n_shared_experts > 0) {
    DS_ASSIGN_OR_RETURN(moe.shared, GatedMlp::Load(loader, prefix + ".shared_experts", h,
                                                   c.n_shared_experts * c.moe_intermediate_size));
    moe.has_shared = true;
  }
  MoeRouteOp::Args& r = moe.route;
  r.experts = e;
  r.scoring = c.scoring_func == "sigmoid" ? MoeScoring::kSigmoid : MoeScoring::kSoftmax;
  r.group_score = noaux ? MoeGroupScore::kTop2Sum
                        : (c.topk_method == "group_limited_greedy" ? MoeGroupScore::kMax : MoeGroupScore::kNone);
  r.groups = r.group_score == MoeGroupScore::kNone ? 1 : c.n_group;
  r.topk_groups = r.group_score == MoeGroupScore::kNone ? 1 : c.topk_group;
  r.topk = c.num_experts_per_tok;
  r.normalize = c.norm_topk_prob;
  r.scale = static_cast<float>(c.routed_scaling_factor);
  return moe;
}

Status MoeLayer::Forward(const float* x, int64_t m, int64_t hidden, float* out, KernelContext& ctx,
                         Workspace& ws) const {
  const int64_t e = route.experts, k = route.topk;
  float* logits = ws.Get(10, m * e);
  DS_RETURN_IF_ERROR(RunMatMul({x, m, hidden, hidden, &gate_w, false, logits, e, false}, ctx));
  int32_t* ids = ws.GetInts(1, m * k);
  float* weights = ws.Get(11, m * k);
  MoeRouteOp::Args r = route;
  r.logits = logits;
  r.tokens = m;
  r.bias = correction_bias.defined() ? correction_bias.data<float>() : nullptr;
  r.out_ids = ids;
  r.out_weights = weights;
  DS_RETURN_IF_ERROR(RunF32<MoeRouteOp>(r, ctx));

  if (m == 1) return ForwardToken(x, hidden, ids, weights, out, ctx, ws);
  if (has_shared) {
    DS_RETURN_IF_ERROR(shared.Forward(x, m, out, false, ctx, ws));
  } else {
    std::fill(out, out + m * hidden, 0.0f);
  }
  // Group the (token, choice) pairs by expert (a counting sort in workspace buffers, nothing
  // allocated per call) so each expert's weights are read once per call.
  int32_t* start = ws.GetInts(2, e + 1);
  int32_t* order = ws.GetInts(3, m * k);  // indices t * k + j, grouped by expert
  std::fill(start, start + e + 1, 0);
  for (int64_t i = 0; i < m * k; ++i) ++start[ids[i] + 1];
  for (int64_t ex = 0; ex < e; ++ex) start[ex + 1] += start[ex];
  int32_t* fill = ws.GetInts(4, e);
  std::copy(start, start + e, fill);
  for (int64_t i = 0; i < m * k; ++i) order[fill[ids[i]]++] = static_cast<int32_t>(i);
  // An expert gets at most m rows (a token chooses it once): sized for that, so the buffers are
  // allocated once, not again for each larger expert.
  float* xin = ws.Get(12, m * hidden);
  float* yout = ws.Get(13, m * hidden);
  for (int64_t ex = 0; ex < e; ++ex) {
    const int32_t* rows = order + start[ex];
    const int64_t n = start[ex + 1] - start[ex];
    if (n == 0) continue;  // experts without tokens are skipped
    for (int64_t i = 0; i < n; ++i) std::memcpy(xin + i * hidden, x + (rows[i] / k) * hidden, hidden * sizeof(float));
    DS_RETURN_IF_ERROR(experts[ex].Forward(xin, n, yout, false, ctx, ws));
    for (int64_t i = 0; i < n; ++i) {
      float* dst = out + (rows[i] / k) * hidden;
      const float w = weights[rows[i]];
      for (int64_t j = 0; j < hidden; ++j) dst[j] += w * yout[i * hidden + j];
    }
  }
  return absl::OkStatus();
}

Status MoeLayer::ForwardToken(const float* x, int64_t hidden, const int32_t* ids, const float* weights, float* out,
                              KernelContext& ctx, Workspace& ws) const {
  // The chosen experts in id order (the order Forward adds them in, so both give the same sums),
  // the shared expert (if any) first: mlps[0..n), their weights and activation offsets.
  constexpr int kMaxMlps = 65;
  const int64_t k = route.topk;
  if (k + 1 > kMaxMlps) return absl::InvalidArgumentError(StrCat("moe: ", k, " experts per token is too many"));
  std::array<int32_t, kMaxMlps> order;
  for (int64_t j = 0; j < k; ++j) order[j] = static_cast<int32_t>(j);
  std::sort(order.begin(), order.begin() + k, [&](int32_t a, int32_t b) { return ids[a] < ids[b]; });
  std::array<const GatedMlp*, kMaxMlps> mlps;
  std::array<int64_t, kMaxMlps + 1> at{0};  // offset of mlp i's intermediate activations
  int64_t n = 0;
  if (has_shared) mlps[n++] = &shared;
  for (int64_t j = 0; j < k; ++j) mlps[n++] = &experts[ids[order[j]]];
  for (int64_t i = 0; i < n; ++i) at[i + 1] = at[i] + mlps[i]->gate.out;
  const int64_t inter = at[n];
  float* g = ws.Get(14, 2 * inter);  // the workspace estimate: DeepseekModel::ScratchBytes
  float* u = g + inter;
  float* act = ws.Get(15, inter);
  float* ys = ws.Get(16, k * hidden);  // routed experts' outputs
  DS_RETURN_IF_ERROR(RunMatMulsGrouped(
      2 * n,
      [&](int64_t c) {
        const int64_t i = c / 2;
        const Linear& l = c % 2 == 0 ? mlps[i]->gate : mlps[i]->up;
        float* y = (c % 2 == 0 ? g : u) + at[i];
        return MatMulOp::Args{x, 1, hidden, hidden, &l.w, false, y, l.out, false};
      },
      ctx));
  DS_RETURN_IF_ERROR(RunF32<SiluMulOp>({g, u, inter, 1, inter, act}, ctx));
  const int64_t first_routed = has_shared ? 1 : 0;
  DS_RETURN_IF_ERROR(RunMatMulsGrouped(
      n,
      [&](int64_t i) {
        float* y = i < first_routed ? out : ys + (i - first_routed) * hidden;
        const Linear& l = mlps[i]->down;
        return MatMulOp::Args{act + at[i], 1, l.in, l.in, &l.w, false, y, hidden, false};
      },
      ctx));
  if (!has_shared) std::fill(out, out + hidden, 0.0f);
  for (int64_t j = 0; j < k; ++j) {
    const float w = weights[order[j]];
    const float* y = ys + j * hidden;
    for (int64_t c = 0; c < hidden; ++c) out[c] += w * y[c];
  }
  return absl::OkStatus();
}

}  // namespace ds
