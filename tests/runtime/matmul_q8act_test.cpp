// ComputePrecision::kBF16 decode on GGUF block-quantized weights quantizes the activation row to 8
// bits per 32 values and sums integer products (AVX512-VNNI, or AVX2 vpmaddubsw; each ISA variant
// this CPU runs is tested). Checked against the definition
// computed here in double: x[32b + i] ~ s_b * round_half_even(x * 127 / max|x_b|), s_b = max|x_b| / 127
// rounded to f16, times the exactly dequantized weights. Also: f32 precision stays exact, and the 8-bit result
// stays close to the exact product.
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <random>

#include "runtime/cpu/cpu_isa.h"
#include "runtime/kernel_registry.h"
#include "runtime/quant_blocks.h"

namespace ds {
namespace {

// v rounded to the nearest IEEE half (ties to even; subnormal below 2^-14), computed in double.
double RoundToHalf(double v) {
  int e = 0;
  std::frexp(v, &e);  // |v| in [2^(e-1), 2^e): 11 significant bits, at least the 2^-24 step
  const int step = std::max(e - 11, -24);
  return std::ldexp(std::nearbyint(std::ldexp(v, -step)), step);
}

// The activation as the 8-bit path sees it (independent of the kernel's quantizer): llama.cpp's
// q8_0 activation blocks, whose scale is stored as an f16.
std::vector<double> QuantizedActivation(const std::vector<float>& x) {
  std::vector<double> out(x.size());
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    const float scale = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < 32; ++i) out[b * 32 + i] = RoundToHalf(scale) * std::nearbyint(x[b * 32 + i] * inv);
  }
  return out;
}

// One ISA variant: every type and shape against the definition.
void CheckAgainstDefinition() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K,
                  DType::kQ6_K}) {
    for (int64_t k : {int64_t{256}, int64_t{2048}, int64_t{4608}}) {
      const int64_t n = 37, row_bytes = DTypeBytes(t, k);
      std::vector<float> src(n * k), deq(n * k), x(k);
      for (auto& v : src) v = normal(rng);
      for (auto& v : x) v = normal(rng);
      x[5] = 0.0f;
      for (int i = 32; i < 64; ++i) x[i] = 0.0f;  // an all-zero block (scale 0)
      for (int i = 64; i < 96; ++i) x[i] *= 1e-6f;  // a block whose f16 scale is subnormal
      Tensor w = Tensor::Empty(t, {n, k});
      for (int64_t r = 0; r < n; ++r) {
        ASSERT_TRUE(QuantizeRow(t, src.data() + r * k, w.data<uint8_t>() + r * row_bytes, k).ok());
        DequantizeRow(t, w.data<uint8_t>() + r * row_bytes, deq.data() + r * k, k);
      }
      const std::vector<double> xq = QuantizedActivation(x);
      for (bool accumulate : {false, true}) {
        std::vector<float> y(n, 0.5f), y_exact(n, 0.5f);
        KernelContext fast(2, ComputePrecision::kBF16), exact(2, ComputePrecision::kF32);
        ASSERT_TRUE(RunMatMul({x.data(), 1, k, k, &w, false, y.data(), n, accumulate}, fast).ok());
        ASSERT_TRUE(RunMatMul({x.data(), 1, k, k, &w, false, y_exact.data(), n, accumulate}, exact).ok());
        for (int64_t j = 0; j < n; ++j) {
          double want = accumulate ? 0.5 : 0.0, mag = std::fabs(want), exact_want = want;
          for (int64_t c = 0; c < k; ++c) {
            want += xq[c] * deq[j * k + c];
            exact_want += static_cast<double>(x[c]) * deq[j * k + c];
            mag += std::fabs(xq[c] * deq[j * k + c]);
          }
          ASSERT_NEAR(y[j], want, 1e-5 * mag + 1e-6) << DTypeName(t) << " k=" << k << " row " << j;
          ASSERT_NEAR(y_exact[j], exact_want, 2e-5 * mag + 1e-6) << DTypeName(t) << " f32 path";
          // 8-bit activations move each product by at most half a step of its block's scale.
          EXPECT_NEAR(y[j], exact_want, 0.02 * mag) << DTypeName(t) << " k=" << k << " row " << j;
        }
      }
    }
  }
}

TEST(MatMulQ8Activation, MatchesDefinitionForEachType) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  int variants = 0;
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
    if (isa == cpu::CpuIsa::kScalar) continue;  // no 8-bit kernels: reduced precision decodes exactly
    cpu::ScopedCpuIsa force(isa);
    SCOPED_TRACE(StrCat("cpu isa ", cpu::CpuIsaName(isa)));
    ASSERT_NO_FATAL_FAILURE(CheckAgainstDefinition());
    ++variants;
  }
  if (variants == 0) GTEST_SKIP() << "no AVX2";
}

}  // namespace
}  // namespace ds
