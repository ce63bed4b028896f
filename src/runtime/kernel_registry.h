// The operator registry: (op, device, activation dtype, weight dtype) -> kernel function.
// Backends register their kernels explicitly (RegisterCpuKernels); no static self-registration,
// which static linking silently drops.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "runtime/ops.h"

namespace ds {

struct KernelKey {
  OpKind op;
  Device device;
  DType activation;
  DType weight;  // the weight/table dtype for ops that have one; == activation otherwise
  bool operator<(const KernelKey& o) const {
    return std::tie(op, device, activation, weight) < std::tie(o.op, o.device, o.activation, o.weight);
  }
};
std::string KernelKeyString(const KernelKey& key);

class KernelRegistry {
 public:
  // The process-wide registry with every compiled-in backend registered.
  static KernelRegistry& Global();

  template <typename Op>
  void Register(Device device, DType activation, DType weight, typename Op::Fn fn) {
    kernels_[KernelKey{Op::kKind, device, activation, weight}] = reinterpret_cast<void (*)()>(fn);
  }

  // The kernel for the combination, or NotFound/Unimplemented naming op, device and dtypes.
  template <typename Op>
  StatusOr<typename Op::Fn> Find(Device device, DType activation, DType weight) const {
    DS_ASSIGN_OR_RETURN(auto fn, FindRaw(KernelKey{Op::kKind, device, activation, weight}));
    return reinterpret_cast<typename Op::Fn>(fn);
  }
  // Can this device run the op with these dtypes?
  bool Has(const KernelKey& key) const { return kernels_.count(key) > 0; }
  // Every registered combination, for tests and `deepseek info`.
  std::vector<KernelKey> Keys() const;
  // Devices declared to the runtime, whether or not they have kernels or hardware here.
  static std::vector<Device> DeclaredDevices() { return {Device::kCpu, Device::kCuda}; }

 private:
  StatusOr<void (*)()> FindRaw(const KernelKey& key) const;
  std::map<KernelKey, void (*)()> kernels_;
};

void RegisterCpuKernels(KernelRegistry& registry);
// Declares the CUDA device; kernels are registered only by builds with DS_WITH_CUDA.
void RegisterCudaKernels(KernelRegistry& registry);

// Convenience: look up in the global registry and run. Ops whose weight dtype matters take it
// from the tensor argument.
Status RunMatMul(const MatMulOp::Args& args, KernelContext& ctx);
// MatMulGroupOp when every weight is on one device that has it; otherwise each item by RunMatMul.
Status RunMatMulGroup(std::span<const MatMulOp::Args> items, KernelContext& ctx);
Status RunEmbedding(const EmbeddingOp::Args& args, KernelContext& ctx);
template <typename Op>
Status RunF32(const typename Op::Args& args, KernelContext& ctx) {
  DS_ASSIGN_OR_RETURN(auto fn, KernelRegistry::Global().Find<Op>(Device::kCpu, DType::kF32, DType::kF32));
  return fn(args, ctx);
}

}  // namespace ds
