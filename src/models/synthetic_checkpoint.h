// Random-weight Hugging Face checkpoints at a real model's shape, for benchmarks and tests
// (`deepseek synth`). Supports every architecture in architectures.cpp (deepseek_v2/v3, qwen2, llama).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace ds {

struct SynthOptions {
  std::string config_path;    // a config.json (or a folder holding one)
  std::string out_dir;        // created if missing; config.json + safetensors are written into it
  int64_t layers = 0;         // > 0: override num_hidden_layers
  bool fp8 = false;           // e4m3 linear weights with 128x128 f32 `_scale_inv` blocks (DeepSeek's layout)
  uint64_t seed = 0;
  int64_t shard_bytes = int64_t{4} << 30;  // start a new model-0000i-of-0000N file past this size
  std::function<void(double, const std::string&)> progress;  // fraction of bytes written, tensor name
};

struct SynthSummary {
  int64_t tensors = 0, params = 0, bytes = 0, files = 0;
};

// Writes the folder, streaming each tensor to disk in chunks (memory stays at a few MB plus the
// FP8 scale grid of one tensor). Weights: matrices ~ N(0, 1/fan_in), norms 1, biases N(0, 0.02²),
// router correction bias N(0, 0.01²), embeddings N(0, 1/hidden); the same seed gives the same
// values for every dtype (FP8 quantizes the very numbers BF16 rounds).
StatusOr<SynthSummary> WriteSyntheticCheckpoint(const SynthOptions& options);

// f32 -> OCP e4m3fn, round to nearest even, saturating at +-448 (NaN -> 0x7f).
uint8_t F32ToF8E4M3(float f);

}  // namespace ds
