// CPU matmul kernels, one per weight dtype (f32, bf16, f16, f8_e4m3 with block scales).
#pragma once

#include <span>
#include <string>

#include "runtime/cpu/weight_rows.h"
#include "runtime/ops.h"

namespace ds::cpu {

// Any dense weight dtype: small M runs row dot products dequantizing in registers (decode is
// bandwidth-bound); larger M dequantizes panels of the weight into scratch and runs oneDNN GEMM.
Status MatMulDense(const MatMulOp::Args& args, KernelContext& ctx);
// MatMulGroupOp (matmul_group_cpu.cpp): the decode items in one parallel region, the others one
// by one through MatMulDense.
Status MatMulGroup(const MatMulGroupOp::Args& args, KernelContext& ctx);

// GEMVs with fewer weight bytes than this (in all) run on the calling thread: waking the team costs more.
inline constexpr int64_t kMinParallelGemvBytes = 256 << 10;

// Whether ComputePrecision::kBF16 prompt matmuls (and MLA attention) run on bf16 here: AVX-512
// and oneDNN's bf16 matmul.
bool Bf16PromptMatmulsAvailable();
// What ComputePrecision::kBF16 leaves exact (f32) on this CPU at the active ISA, for messages:
// "" when every part applies, else e.g. "prompt matmuls and MLA attention, decoding on bf16 weights".
// Prompt matmuls need AVX-512 and oneDNN's bf16 matmul, bf16-weight decoding AVX512-BF16, the
// 8-bit-activation decoding of GGUF block types AVX2. Exact on every CPU, so not listed: FP8 and
// f16 decoding, bf16 rows over 8192 columns, matmuls of 2-4 rows, GQA attention.
std::string Bf16PrecisionFallbacks();

// Rounds m rows of x (row stride ldx) to contiguous bf16 rows [m, k], rows split over the threads.
void RowsToBf16(const float* x, int64_t m, int64_t k, int64_t ldx, uint16_t* out, int threads);

// Validates a matmul's shapes against its weight and describes the weight.
StatusOr<WeightRows> CheckMatMul(const MatMulOp::Args& a);
// Decode matmuls (m == 1, W stored [N, K], checked by CheckMatMul; weights[i] describes
// items[i].w): each distinct activation row prepared once for its kernels, then every item's rows
// computed in one parallel region over the threads' shares of the total weight bytes.
void GemvGroup(std::span<const MatMulOp::Args> items, std::span<const WeightRows> weights, KernelContext& ctx);

}  // namespace ds::cpu
