// DeepSeek-V2, V2-Lite, V3 and R1 (model_type deepseek_v2 / deepseek_v3): MLA attention, dense
// MLP for the first layers, DeepSeekMoE after; every variant is selected by the config.
#pragma once

#include <memory>

#include "loader/tensor_source.h"
#include "models/causal_lm.h"

namespace ds {

// Checks that the config describes a runnable DeepSeek model (positive sizes, consistent routing).
Status ValidateDeepseekConfig(const ModelConfig& c);

StatusOr<std::unique_ptr<CausalLm>> LoadDeepseek(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                                 const ModelLoadOptions& options);

}  // namespace ds
