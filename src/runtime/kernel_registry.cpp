#include "runtime/kernel_registry.h"

#include <array>

namespace ds {

std::string_view OpName(OpKind op) {
  static constexpr std::array<std::string_view, static_cast<size_t>(OpKind::kCount)> kNames = {
      "matmul", "embedding", "rms_norm", "rope", "softmax", "silu_mul", "moe_route", "mla_attention", "add", "gqa_attention",
      "matmul_group"};
  return kNames[static_cast<size_t>(op)];
}

std::string KernelKeyString(const KernelKey& key) {
  return StrCat("op '", OpName(key.op), "' on device ", DeviceName(key.device), " with activation ",
                DTypeName(key.activation), " and weight ", DTypeName(key.weight));
}

KernelRegistry& KernelRegistry::Global() {
  static KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();
    RegisterCpuKernels(*r);
    RegisterCudaKernels(*r);
    return r;
  }();
  return *registry;
}

std::vector<KernelKey> KernelRegistry::Keys() const {
  std::vector<KernelKey> keys;
  for (const auto& [k, v] : kernels_) keys.push_back(k);
  return keys;
}

StatusOr<void (*)()> KernelRegistry::FindRaw(const KernelKey& key) const {
  auto it = kernels_.find(key);
  if (it == kernels_.end()) {
    return absl::UnimplementedError(StrCat("no kernel registered for ", KernelKeyString(key)));
  }
  return it->second;
}

Status RunMatMul(const MatMulOp::Args& args, KernelContext& ctx) {
  DS_ASSIGN_OR_RETURN(auto fn, KernelRegistry::Global().Find<MatMulOp>(args.w->device(), DType::kF32,
                                                                       args.w->dtype()));
  return fn(args, ctx);
}

Status RunMatMulGroup(std::span<const MatMulOp::Args> items, KernelContext& ctx) {
  if (items.empty()) return absl::OkStatus();
  const Device device = items[0].w->device();
  bool one_device = true;
  for (const auto& a : items) one_device &= a.w->device() == device;
  const KernelKey key{OpKind::kMatMulGroup, device, DType::kF32, DType::kF32};
  if (one_device && KernelRegistry::Global().Has(key)) {
    DS_ASSIGN_OR_RETURN(auto fn, KernelRegistry::Global().Find<MatMulGroupOp>(device, DType::kF32, DType::kF32));
    return fn({items}, ctx);
  }
  for (const auto& a : items) DS_RETURN_IF_ERROR(RunMatMul(a, ctx));
  return absl::OkStatus();
}

Status RunEmbedding(const EmbeddingOp::Args& args, KernelContext& ctx) {
  DS_ASSIGN_OR_RETURN(auto fn, KernelRegistry::Global().Find<EmbeddingOp>(
                                   args.table->device(), DType::kF32, args.table->dtype()));
  return fn(args, ctx);
}

}  // namespace ds
