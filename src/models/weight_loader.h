// Fetches checkpoint tensors for a model, checking each one's shape against the config and
// attaching FP8 block scales; errors name the file, the tensor, and what was expected.
#pragma once

#include <map>
#include <string>

#include "loader/model_config.h"
#include "loader/tensor_source.h"

namespace ds {

class WeightLoader {
 public:
  WeightLoader(const TensorSource& store, const ModelConfig& config) : store_(store), config_(config) {}

  // A matrix weight [rows, cols] in its stored dtype (zero-copy); FP8 weights get their
  // `<name>_scale_inv` block scales attached.
  StatusOr<Tensor> Matrix(const std::string& name, int64_t rows, int64_t cols);
  // A vector [n] converted to f32 (norm weights, biases, router correction bias).
  StatusOr<Tensor> VectorF32(const std::string& name, int64_t n);
  bool Has(const std::string& name) const { return store_.Has(name); }

  // Parameter counts per stored dtype over the tensors fetched so far.
  const std::map<std::string, int64_t>& params_by_dtype() const { return params_by_dtype_; }

 private:
  StatusOr<Tensor> Fetch(const std::string& name, const Tensor::Shape& shape);
  const TensorSource& store_;
  const ModelConfig& config_;
  std::map<std::string, int64_t> params_by_dtype_;
};

}  // namespace ds
