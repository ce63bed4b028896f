// The architecture registry: the one place that lists supported model types.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/causal_lm.h"

namespace ds {

// model_type values this build can run.
std::vector<std::string> SupportedModelTypes();

// Loads a Hugging Face checkpoint folder (config.json + safetensors) or a GGUF file with the
// matching architecture.
StatusOr<std::unique_ptr<CausalLm>> LoadCausalLm(const std::string& path, const ModelLoadOptions& options);

}  // namespace ds
