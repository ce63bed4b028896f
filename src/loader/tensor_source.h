// Where a model's weights come from, by Hugging Face tensor name: a safetensors folder
// (WeightStore), or any other container that maps its tensors onto the HF names (e.g. GGUF).
// Models read weights only through this interface (via models/weight_loader.h).
#pragma once

#include <string>

#include "runtime/tensor.h"

namespace ds {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // Does the source hold a tensor called `name` (HF naming)?
  virtual bool Has(const std::string& name) const = 0;
  // The tensor (zero-copy where the container allows), or NotFound.
  virtual StatusOr<Tensor> Get(const std::string& name) const = 0;
  // The file holding `name`, for error messages.
  virtual std::string FileOf(const std::string& name) const = 0;
};

}  // namespace ds
