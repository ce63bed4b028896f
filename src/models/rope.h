// Rotary position embedding tables: plain, YaRN (DeepSeek-V2/V3) and Llama-3 frequency scaling.
#pragma once

#include <vector>

#include "loader/model_config.h"

namespace ds {

struct RopeTables {
  int64_t rot_dim = 0;
  int64_t positions = 0;
  std::vector<float> cos, sin;  // [positions, rot_dim / 2]
  float attention_scale = 1.0f;  // multiplier of the softmax scale (YaRN mscale^2)
};

// Inverse frequencies (rot_dim / 2 of them) after the config's rope_scaling.
std::vector<float> RopeInverseFrequencies(const ModelConfig& config, int64_t rot_dim);
// cos/sin for positions [0, positions).
RopeTables BuildRopeTables(const ModelConfig& config, int64_t rot_dim, int64_t positions);

// YaRN's attention magnitude correction: 0.1 * mscale * ln(factor) + 1 (1 when factor <= 1).
double YarnMscale(double factor, double mscale);

}  // namespace ds
