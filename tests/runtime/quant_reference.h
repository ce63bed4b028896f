// Checks of the registered kernels for GGUF block-quantized weights (quant_kernels_test.cpp),
// called from kernels_test.cpp's registry-wide test for keys whose weight dtype is a block type.
#pragma once

#include "runtime/kernel_registry.h"

namespace ds::testref {

void CheckQuantMatMulKernel(const KernelKey& key);
void CheckQuantEmbeddingKernel(const KernelKey& key);

}  // namespace ds::testref
