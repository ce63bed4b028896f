// Fetches checkpoint tensors for a model, checking each one's shape against the config and
// attaching FP8 block scales; errors name the file, the tensor, and what was expected.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

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
  // Every fetch so far as (tensor name, stored bytes), in order; a tensor fetched twice (tied
  // embeddings used as lm_head) appears twice.
  const std::vector<std::pair<std::string, int64_t>>& fetched() const { return fetched_; }
  // Addresses of the fetched tensors that decoding streams (for PlaceWeights): all but the
  // embedding table when it is not also the output head (a token then reads one row of it, so it
  // stays mapped, paged in row by row).
  AddressRanges StreamedRanges(bool embedding_is_head) const;
  // DataLoss naming the first fetched FP8 weight that holds an e4m3 NaN code (0x7F / 0xFF), which
  // DeepSeek's quantizer never writes: the vector kernels would read it as +-480, not NaN. Reads
  // every FP8 weight once (call after PlaceWeights); `progress` gets stage "checking FP8 weights".
  Status CheckFp8Codes(const std::function<void(double, const std::string&)>& progress) const;

 private:
  StatusOr<Tensor> Fetch(const std::string& name, const Tensor::Shape& shape);
  const TensorSource& store_;
  const ModelConfig& config_;
  std::map<std::string, int64_t> params_by_dtype_;
  std::vector<std::pair<std::string, int64_t>> fetched_;
  AddressRanges addresses_;  // of each fetched_ entry
  std::vector<std::pair<std::string, Tensor>> fp8_weights_;  // for CheckFp8Codes
};

// Weight bytes one decoded token reads, from the stored dtypes of the fetched tensors: every
// tensor once, except routed experts ("*.mlp.experts.*", counted num_experts_per_tok of
// n_routed_experts) and the embedding table (one row; a second fetch of it, as a tied lm_head,
// counts in full).
int64_t ActiveWeightBytes(const std::vector<std::pair<std::string, int64_t>>& fetched, const ModelConfig& c);

}  // namespace ds
