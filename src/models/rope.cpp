#include "models/rope.h"

#include <algorithm>
#include <cmath>

namespace ds {
namespace {

double YarnCorrectionDim(double rotations, int64_t dim, double base, double max_pos) {
  return dim * std::log(max_pos / (rotations * 2 * M_PI)) / (2 * std::log(base));
}

}  // namespace

double YarnMscale(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

std::vector<float> RopeInverseFrequencies(const ModelConfig& c, int64_t dim) {
  const int64_t half = dim / 2;
  std::vector<float> inv(half);
  for (int64_t i = 0; i < half; ++i) {
    // float32 like the reference implementations (torch computes these tables in f32)
    inv[i] = static_cast<float>(1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / dim));
  }
  const RopeScaling& rs = c.rope_scaling;
  if (static_cast<int64_t>(rs.freq_factors.size()) == half) {
    for (int64_t i = 0; i < half; ++i) inv[i] /= rs.freq_factors[i];
  } else if (rs.type == "yarn" && rs.factor > 1.0) {
    const double orig = rs.original_max_position_embeddings > 0 ? rs.original_max_position_embeddings : 4096;
    double low = std::floor(YarnCorrectionDim(rs.beta_fast, dim, c.rope_theta, orig));
    double high = std::ceil(YarnCorrectionDim(rs.beta_slow, dim, c.rope_theta, orig));
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      const float ramp = std::clamp(static_cast<float>((i - low) / (high - low)), 0.0f, 1.0f);
      const float extrapolate = 1.0f - ramp;  // share of the original frequency kept
      inv[i] = inv[i] / static_cast<float>(rs.factor) * (1.0f - extrapolate) + inv[i] * extrapolate;
    }
  } else if (rs.type == "llama3") {
    const double orig = static_cast<double>(rs.original_max_position_embeddings);
    const double low_wavelen = orig / rs.low_freq_factor, high_wavelen = orig / rs.high_freq_factor;
    for (int64_t i = 0; i < half; ++i) {
      const double wavelen = 2 * M_PI / inv[i];
      if (wavelen > low_wavelen) {
        inv[i] = static_cast<float>(inv[i] / rs.factor);
      } else if (wavelen >= high_wavelen) {
        const double smooth = (orig / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        inv[i] = static_cast<float>((1 - smooth) * inv[i] / rs.factor + smooth * inv[i]);
      }
    }
  } else if (rs.type == "linear" && rs.factor > 0) {
    for (auto& f : inv) f = static_cast<float>(f / rs.factor);
  }
  return inv;
}

RopeTables BuildRopeTables(const ModelConfig& c, int64_t rot_dim, int64_t positions) {
  RopeTables t;
  t.rot_dim = rot_dim;
  t.positions = positions;
  const std::vector<float> inv = RopeInverseFrequencies(c, rot_dim);
  const int64_t half = rot_dim / 2;
  float cos_scale = 1.0f;
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "yarn" && rs.factor > 1.0) {
    // HF DeepSeek: softmax scale gets mscale(mscale_all_dim)^2; cos/sin get the ratio of the two.
    const double all = YarnMscale(rs.factor, rs.mscale_all_dim);
    t.attention_scale = static_cast<float>(rs.mscale_all_dim != 0.0 ? all * all : 1.0);
    cos_scale = static_cast<float>(YarnMscale(rs.factor, rs.mscale) / all);
  }
  t.cos.resize(positions * half);
  t.sin.resize(positions * half);
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(p) * inv[i];
      t.cos[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle))) * cos_scale;
      t.sin[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle))) * cos_scale;
    }
  }
  return t;
}

}  // namespace ds
