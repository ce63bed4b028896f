// The architecture registry: the one place that lists supported model types.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "loader/tensor_source.h"
#include "models/causal_lm.h"

namespace ds {

// model_type values this build can run.
std::vector<std::string> SupportedModelTypes();

// Loads a Hugging Face checkpoint folder (config.json + safetensors) with the matching architecture.
StatusOr<std::unique_ptr<CausalLm>> LoadCausalLm(const std::string& path, const ModelLoadOptions& options);

// Builds the architecture `config.model_type` from any weight source whose tensors carry the HF
// names (e.g. a GGUF file mapped onto them); the model keeps `weights` alive.
StatusOr<std::unique_ptr<CausalLm>> LoadCausalLm(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                                 const ModelLoadOptions& options);

}  // namespace ds
