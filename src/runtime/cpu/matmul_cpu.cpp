#include "runtime/cpu/matmul_cpu.h"

#include <omp.h>

#include <algorithm>

#include "runtime/cpu/cpu_isa.h"
#include "runtime/cpu/onednn_matmul.h"
#include "runtime/cpu/scratch_slots.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {
namespace {

constexpr int64_t kGemvMaxRows = 4;   // activation rows handled by the register-dequant path
// Weight rows dequantized per oneDNN call: 256, or 64 for few activation rows and long weight
// rows. With few rows (a prompt's MoE experts: ~48 each at pp512 on V2-Lite, ~16 on V3)
// dequantizing dominates and a smaller panel stays in cache: 64 rows ran 1.15-1.45x faster at
// 48 x 1408 x 2048, 16 x 2048 x 7168 and 16 x 7168 x 2048 (q4_k, q8_0, q6_k; bf16 and f32
// compute), but 0.87x at 48 x 2048 x 1408 (f32). From 128 activation rows up wider oneDNN calls
// win (256 rows: ~1.2x at 128 and 512 rows).
constexpr int64_t kPanelRows = 256, kSmallPanelRows = 64, kSmallPanelMaxM = 63, kSmallPanelMinCols = 2048;
int64_t PanelRows(int64_t m, int64_t weight_rows, int64_t cols) {
  const bool small = m <= kSmallPanelMaxM && cols >= kSmallPanelMinCols;
  return std::min(small ? kSmallPanelRows : kPanelRows, weight_rows);
}
// y[:, n] for every weight row n, 2 <= M <= 4 activation rows at a time.
void GemvNk(const WeightRows& w, const MatMulOp::Args& a, KernelContext& ctx) {
  const bool parallel = w.rows * w.row_bytes >= kMinParallelGemvBytes;
#pragma omp parallel for schedule(static) num_threads(ctx.threads()) if (parallel)
  for (int64_t n = 0; n < w.rows; ++n) {
    for (int64_t m0 = 0; m0 < a.m; m0 += kGemvMaxRows) {
      const int64_t mm = std::min(kGemvMaxRows, a.m - m0);
      float out[kGemvMaxRows];
      DotRow(w, n, a.x + m0 * a.ldx, mm, a.ldx, out);
      for (int64_t i = 0; i < mm; ++i) {
        float& dst = a.y[(m0 + i) * a.ldy + n];
        dst = a.accumulate ? dst + out[i] : out[i];
      }
    }
  }
}

// x * W for W stored [K, N]: each decoded weight row k is an axpy into y (small M).
void GemvKn(const WeightRows& w, const MatMulOp::Args& a, KernelContext& ctx) {
  const int64_t n = w.cols;
  float* row = ctx.Scratch(slot::kMatMulRow, n);
  if (!a.accumulate) {
    for (int64_t i = 0; i < a.m; ++i) std::fill(a.y + i * a.ldy, a.y + i * a.ldy + n, 0.0f);
  }
  for (int64_t k = 0; k < w.rows; ++k) {
    DecodeRow(w, k, row);
    for (int64_t i = 0; i < a.m; ++i) {
      const float xv = a.x[i * a.ldx + k];
      float* y = a.y + i * a.ldy;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) y[j] += xv * row[j];
    }
  }
}

// Dequantize `rows` weight rows starting at r0 into a contiguous f32 panel.
void DecodePanel(const WeightRows& w, int64_t r0, int64_t rows, float* panel, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t r = 0; r < rows; ++r) DecodeRow(w, r0 + r, panel + r * w.cols);
}

// The same rounded to bf16, each row widened into its thread's f32 row and rounded while it is in
// L1 (a whole f32 panel, 2 MiB at K = 2048, went through L3 between the two passes).
void DecodePanelBf16(const WeightRows& w, int64_t r0, int64_t rows, float* row_f32, uint16_t* panel, int threads) {
#pragma omp parallel num_threads(threads)
  {
    float* row = row_f32 + omp_get_thread_num() * w.cols;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      DecodeRow(w, r0 + r, row);
      F32ToBf16Row(row, w.cols, panel + r * w.cols);
    }
  }
}

Status GemmPanels(const WeightRows& w, const MatMulOp::Args& a, KernelContext& ctx) {
  if (w.dtype == DType::kF32) {  // no decode needed: one oneDNN call on the mapped weight
    return OneDnnGemmF32(a.x, a.m, a.k, a.ldx, reinterpret_cast<const float*>(w.base), !a.transpose_w,
                         w.cols, a.transpose_w ? w.cols : w.rows, a.y, a.ldy, a.accumulate);
  }
  const int64_t panel_rows = PanelRows(a.m, w.rows, w.cols);
  float* panel = ctx.Scratch(slot::kMatMulPanel, panel_rows * w.cols);
  for (int64_t r0 = 0; r0 < w.rows; r0 += panel_rows) {
    const int64_t rows = std::min(panel_rows, w.rows - r0);
    DecodePanel(w, r0, rows, panel, ctx.threads());
    Status s;
    if (!a.transpose_w) {  // panel = W[r0:r0+rows, :K] -> y[:, r0:r0+rows]
      s = OneDnnGemmF32(a.x, a.m, a.k, a.ldx, panel, true, w.cols, rows, a.y + r0, a.ldy, a.accumulate);
    } else {  // panel = W[k0:k0+rows, :N] -> y += x[:, k0:k0+rows] * panel
      s = OneDnnGemmF32(a.x + r0, a.m, rows, a.ldx, panel, false, w.cols, w.cols, a.y, a.ldy,
                        a.accumulate || r0 > 0);
    }
    DS_RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

// ComputePrecision::kBF16: activations rounded to bf16 once, products accumulated in f32 by
// oneDNN's bf16 matmul (AVX512-BF16 / AMX). bf16 weights are used in place (no copy); f16 and FP8
// weights are widened panel by panel and rounded to bf16 first.
Status GemmBf16(const WeightRows& w, const MatMulOp::Args& a, KernelContext& ctx) {
  uint16_t* xb = reinterpret_cast<uint16_t*>(ctx.Scratch(slot::kMatMulXBf16, (a.m * a.k + 1) / 2));
  RowsToBf16(a.x, a.m, a.k, a.ldx, xb, ctx.threads());
  if (w.dtype == DType::kBF16) {
    return OneDnnGemmBf16(xb, a.m, a.k, a.k, reinterpret_cast<const uint16_t*>(w.base), !a.transpose_w, w.cols,
                          a.transpose_w ? w.cols : w.rows, a.y, a.ldy, a.accumulate);
  }
  const int64_t panel_rows = PanelRows(a.m, w.rows, w.cols);
  float* row_f32 = ctx.Scratch(slot::kMatMulPanel, ctx.threads() * w.cols);  // one decoded row per thread
  uint16_t* panel_bf16 = reinterpret_cast<uint16_t*>(ctx.Scratch(slot::kMatMulPanelBf16, (panel_rows * w.cols + 1) / 2));
  for (int64_t r0 = 0; r0 < w.rows; r0 += panel_rows) {
    const int64_t rows = std::min(panel_rows, w.rows - r0);
    DecodePanelBf16(w, r0, rows, row_f32, panel_bf16, ctx.threads());
    Status s;
    if (!a.transpose_w) {
      s = OneDnnGemmBf16(xb, a.m, a.k, a.k, panel_bf16, true, w.cols, rows, a.y + r0, a.ldy, a.accumulate);
    } else {
      s = OneDnnGemmBf16(xb + r0, a.m, rows, a.k, panel_bf16, false, w.cols, w.cols, a.y, a.ldy,
                         a.accumulate || r0 > 0);
    }
    DS_RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

}  // namespace

void RowsToBf16(const float* x, int64_t m, int64_t k, int64_t ldx, uint16_t* out, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if (m * k > 65536)
  for (int64_t i = 0; i < m; ++i) F32ToBf16Row(x + i * ldx, k, out + i * k);
}

StatusOr<WeightRows> CheckMatMul(const MatMulOp::Args& a) {
  DS_ASSIGN_OR_RETURN(WeightRows w, DescribeWeight(*a.w));
  const int64_t wk = a.transpose_w ? w.rows : w.cols;
  if (wk != a.k) {
    return absl::InvalidArgumentError(StrCat("matmul: activation has ", a.k, " columns but weight ",
                                             a.w->DebugString(), " expects ", wk));
  }
  if (a.m > 0 && a.ldx < a.k) return absl::InvalidArgumentError("matmul: activation row stride is below its width");
  return w;
}

Status MatMulDense(const MatMulOp::Args& a, KernelContext& ctx) {
  DS_ASSIGN_OR_RETURN(WeightRows w, CheckMatMul(a));
  if (a.m == 0) return absl::OkStatus();
  if (a.m <= kGemvMaxRows) {
    if (a.m == 1 && !a.transpose_w) {
      GemvGroup({&a, 1}, {&w, 1}, ctx);
    } else if (!a.transpose_w) {
      GemvNk(w, a, ctx);
    } else {
      GemvKn(w, a, ctx);
    }
    return absl::OkStatus();
  }
  if (ctx.precision() == ComputePrecision::kBF16 && w.dtype != DType::kF32 && Bf16PromptMatmulsAvailable()) {
    return GemmBf16(w, a, ctx);
  }
  return GemmPanels(w, a, ctx);
}

bool Bf16PromptMatmulsAvailable() { return HasAvx512() && OneDnnBf16MatmulAvailable(); }

std::string Bf16PrecisionFallbacks() {
  std::string parts;
  auto add = [&](const char* part) { parts += (parts.empty() ? "" : ", ") + std::string(part); };
  if (!Bf16PromptMatmulsAvailable()) add("prompt matmuls and MLA attention");
  if (!HasBf16ActivationKernels()) add("decoding on bf16 weights");
  if (!HasQ8ActivationKernels()) add("decoding on GGUF block types");
  return parts;
}

}  // namespace ds::cpu
