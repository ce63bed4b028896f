// Norms, rotary embedding, softmax, gating, residual adds and embedding lookup on CPU.
// Eigen maps give vectorized reductions without copying.
#include <cmath>

#include <Eigen/Core>

#include "runtime/cpu/vector_ops_cpu.h"
#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {

using VecMap = Eigen::Map<Eigen::VectorXf>;
using ConstVecMap = Eigen::Map<const Eigen::VectorXf>;

Status Embedding(const EmbeddingOp::Args& a, KernelContext& ctx) {
  DS_ASSIGN_OR_RETURN(WeightRows w, DescribeWeight(*a.table));
  for (size_t i = 0; i < a.ids.size(); ++i) {
    const int32_t id = a.ids[i];
    if (id < 0 || id >= w.rows) {
      return absl::InvalidArgumentError(StrCat("token id ", id, " is out of range [0, ", w.rows, ")"));
    }
    DecodeRow(w, id, a.out + i * w.cols);
  }
  return absl::OkStatus();
}

Status RmsNorm(const RmsNormOp::Args& a, KernelContext& ctx) {
  ConstVecMap w(a.w, a.dim);
  for (int64_t r = 0; r < a.rows; ++r) {
    ConstVecMap x(a.x + r * a.ldx, a.dim);
    const float inv = 1.0f / std::sqrt(x.squaredNorm() / static_cast<float>(a.dim) + a.eps);
    VecMap y(a.y + r * a.ldy, a.dim);
    y = (x * inv).cwiseProduct(w);
  }
  return absl::OkStatus();
}

Status Rope(const RopeOp::Args& a, KernelContext& ctx) {
  const int64_t half = a.rot_dim / 2;
  for (int64_t t = 0; t < a.tokens; ++t) {
    const float* c = a.cos + static_cast<int64_t>(a.positions[t]) * half;
    const float* s = a.sin + static_cast<int64_t>(a.positions[t]) * half;
    for (int64_t h = 0; h < a.heads; ++h) {
      float* x = a.x + t * a.token_stride + h * a.head_stride;
      if (a.rotate_half) {
        for (int64_t i = 0; i < half; ++i) {
          const float x0 = x[i], x1 = x[i + half];
          x[i] = x0 * c[i] - x1 * s[i];
          x[i + half] = x1 * c[i] + x0 * s[i];
        }
        continue;
      }
      for (int64_t i = 0; i < half; ++i) {
        const float x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * c[i] - x1 * s[i];
        x[2 * i + 1] = x0 * s[i] + x1 * c[i];
      }
    }
  }
  return absl::OkStatus();
}

Status Softmax(const SoftmaxOp::Args& a, KernelContext& ctx) {
  for (int64_t r = 0; r < a.rows; ++r) {
    VecMap x(a.x + r * a.cols, a.cols);
    const float mx = x.maxCoeff();
    x = (x.array() - mx).exp();
    x /= x.sum();
  }
  return absl::OkStatus();
}

// Rows split over the threads when there are many (prompt processing: 512 x 8960 on Qwen-1.5B).
Status SiluMul(const SiluMulOp::Args& a, KernelContext& ctx) {
  const bool avx512 = HasAvx512();
#pragma omp parallel for schedule(static) num_threads(ctx.threads()) if (a.rows * a.cols >= (1 << 16))
  for (int64_t r = 0; r < a.rows; ++r) {
    const float* g = a.gate + r * a.ld_in;
    const float* u = a.up + r * a.ld_in;
    float* o = a.out + r * a.cols;
    if (avx512) {
      SiluMulRowAvx512(g, u, a.cols, o);
      continue;
    }
    for (int64_t i = 0; i < a.cols; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }
  return absl::OkStatus();
}

Status Add(const AddOp::Args& a, KernelContext& ctx) {
  VecMap(a.y, a.n) = ConstVecMap(a.a, a.n) + ConstVecMap(a.b, a.n);
  return absl::OkStatus();
}

}  // namespace ds::cpu
