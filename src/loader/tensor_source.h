// Where model code gets its weights: tensors by Hugging Face name, from a safetensors folder
// (WeightStore) or a GGUF file mapped onto HF names (GgufTensorSource). Tensors are zero-copy
// views where the format allows.
#pragma once

#include <string>

#include "runtime/tensor.h"

namespace ds {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual bool Has(const std::string& name) const = 0;
  // The tensor `name` (row-major shape), or NotFound.
  virtual StatusOr<Tensor> Get(const std::string& name) const = 0;
  // The file holding `name`, for error messages.
  virtual std::string FileOf(const std::string& name) const = 0;
};

}  // namespace ds
