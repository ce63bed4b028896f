// The CUDA device is declared to the registry here. Kernels are added by builds with DS_WITH_CUDA
// (src/runtime/cuda/); without them any CUDA lookup fails with a message naming the op.
#include "runtime/kernel_registry.h"

namespace ds {

#ifndef DS_WITH_CUDA
void RegisterCudaKernels(KernelRegistry& registry) {}
#endif

}  // namespace ds
