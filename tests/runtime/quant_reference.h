// Checks of the registered kernels for GGUF block-quantized weights (quant_kernels_test.cpp),
// called from kernels_test.cpp's registry-wide test for keys whose weight dtype is a block type.
#pragma once

#include <vector>

#include "runtime/kernel_registry.h"

namespace ds::testref {

void CheckQuantMatMulKernel(const KernelKey& key);
void CheckQuantEmbeddingKernel(const KernelKey& key);

// values [rows, cols] quantized to block type t (w), and w dequantized (values).
struct QuantWeight {
  Tensor w;
  std::vector<float> values;
};
QuantWeight QuantizeMatrix(DType t, const std::vector<float>& src, int64_t rows, int64_t cols);

}  // namespace ds::testref
