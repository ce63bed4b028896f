// Dense grouped-query-attention decoders: Qwen2 (R1-Distill-Qwen) and Llama (R1-Distill-Llama).
// The two differ only by config (Qwen2 always has q/k/v biases; Llama biases follow
// attention_bias; RoPE theta and Llama-3 rope_scaling come from the config), so one file serves both.
#pragma once

#include <memory>

#include "loader/tensor_source.h"
#include "models/causal_lm.h"

namespace ds {

// Checks that the config describes a runnable dense GQA decoder (positive sizes, heads divisible).
Status ValidateDenseDecoderConfig(const ModelConfig& c);

StatusOr<std::unique_ptr<CausalLm>> LoadQwen2(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                              const ModelLoadOptions& options);
StatusOr<std::unique_ptr<CausalLm>> LoadLlama(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                              const ModelLoadOptions& options);

}  // namespace ds
