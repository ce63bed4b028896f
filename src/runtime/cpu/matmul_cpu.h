// CPU matmul kernels, one per weight dtype (f32, bf16, f16, f8_e4m3 with block scales).
#pragma once

#include "runtime/ops.h"

namespace ds::cpu {

// Any dense weight dtype: small M runs row dot products dequantizing in registers (decode is
// bandwidth-bound); larger M dequantizes panels of the weight into scratch and runs oneDNN GEMM.
Status MatMulDense(const MatMulOp::Args& args, KernelContext& ctx);

}  // namespace ds::cpu
