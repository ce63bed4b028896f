// Every CPU kernel, one line each: (op, device, activation dtype, weight dtype) -> function.
#include "runtime/cpu/matmul_cpu.h"
#include "runtime/cpu/vector_ops_cpu.h"
#include "runtime/kernel_registry.h"

namespace ds {

void RegisterCpuKernels(KernelRegistry& r) {
  constexpr Device kCpu = Device::kCpu;
  constexpr DType kF32 = DType::kF32;
  r.Register<MatMulOp>(kCpu, kF32, DType::kF32, cpu::MatMulDense);
  r.Register<MatMulOp>(kCpu, kF32, DType::kBF16, cpu::MatMulDense);
  r.Register<MatMulOp>(kCpu, kF32, DType::kF16, cpu::MatMulDense);
  r.Register<MatMulOp>(kCpu, kF32, DType::kF8E4M3, cpu::MatMulDense);
  r.Register<MatMulGroupOp>(kCpu, kF32, kF32, cpu::MatMulGroup);
  r.Register<EmbeddingOp>(kCpu, kF32, DType::kF32, cpu::Embedding);
  r.Register<EmbeddingOp>(kCpu, kF32, DType::kBF16, cpu::Embedding);
  r.Register<EmbeddingOp>(kCpu, kF32, DType::kF16, cpu::Embedding);
  r.Register<EmbeddingOp>(kCpu, kF32, DType::kF8E4M3, cpu::Embedding);
  for (DType q : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K,
                  DType::kQ6_K}) {  // GGUF block formats (quant_rows.cpp)
    r.Register<MatMulOp>(kCpu, kF32, q, cpu::MatMulDense);
    r.Register<EmbeddingOp>(kCpu, kF32, q, cpu::Embedding);
  }
  r.Register<RmsNormOp>(kCpu, kF32, kF32, cpu::RmsNorm);
  r.Register<RopeOp>(kCpu, kF32, kF32, cpu::Rope);
  r.Register<SoftmaxOp>(kCpu, kF32, kF32, cpu::Softmax);
  r.Register<SiluMulOp>(kCpu, kF32, kF32, cpu::SiluMul);
  r.Register<AddOp>(kCpu, kF32, kF32, cpu::Add);
  r.Register<MoeRouteOp>(kCpu, kF32, kF32, cpu::MoeRoute);
  r.Register<MlaAttentionOp>(kCpu, kF32, kF32, cpu::MlaAttention);
  r.Register<GqaAttentionOp>(kCpu, kF32, kF32, cpu::GqaAttention);
}

}  // namespace ds
