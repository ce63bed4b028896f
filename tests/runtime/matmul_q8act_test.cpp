// ComputePrecision::kBF16 decode on GGUF block-quantized weights quantizes the activation row to 8
// bits per 32 values and sums integer products (AVX512-VNNI, or AVX2 vpmaddubsw; each ISA variant
// this CPU runs is tested). Checked against the definition
// computed here in double: x[32b + i] ~ s_b * round_half_even(x * 127 / max|x_b|), s_b = max|x_b| / 127
// rounded to f16, times the exactly dequantized weights. Also: f32 precision stays exact, and the 8-bit result
// stays close to the exact product.
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "runtime/cpu/cpu_isa.h"
#include "runtime/kernel_registry.h"
#include "runtime/quant_blocks.h"
#include "quant_reference.h"
#include "reference.h"

namespace ds {
namespace {

using testref::QuantizeMatrix;
using testref::QuantWeight;

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
    for (int64_t k : {int64_t{256}, int64_t{2048}, int64_t{4608}, int64_t{1056}}) {
      if (k % GetDTypeInfo(t).block_elems != 0) continue;  // 1056: 33 blocks of 32
      const int64_t n = 37;
      std::vector<float> src(n * k), x(k);
      for (auto& v : src) v = normal(rng);
      for (auto& v : x) v = normal(rng);
      x[5] = 0.0f;
      for (int i = 32; i < 64; ++i) x[i] = 0.0f;  // an all-zero block (scale 0)
      for (int i = 64; i < 96; ++i) x[i] *= 1e-6f;  // a block whose f16 scale is subnormal
      const QuantWeight m = QuantizeMatrix(t, src, n, k);
      const Tensor& w = m.w;
      const std::vector<float>& deq = m.values;
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

// Exact (f32) decode of block-quantized weights: with AVX2 or AVX512-VNNI the 4- to 6-bit types
// take x as three digit rows (block floating point, 22 bits) instead of widening codes to f32.
// Both must be as accurate as f32 arithmetic on ordinary activations: within 1e-6 of the sum of
// |products|, with blocks of very different magnitudes too. n rows: 19 (two groups of 8 long rows
// and a remainder), or 121 (enough bytes for both threads: a cut between 8-row groups).
double WorstExactError(DType t, int64_t k, int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> src(n * k), x(k);
  for (auto& v : src) v = normal(rng);
  for (int64_t c = 0; c < k; ++c) x[c] = normal(rng) * std::ldexp(1.0f, static_cast<int>(c / 32 % 7) * 3 - 9);
  x[40] = 1e3f;  // one large value among small ones in its block
  const QuantWeight m = QuantizeMatrix(t, src, n, k);
  const Tensor& w = m.w;
  const std::vector<float>& deq = m.values;
  std::vector<float> y(n);
  KernelContext exact(2, ComputePrecision::kF32);
  EXPECT_TRUE(RunMatMul({x.data(), 1, k, k, &w, false, y.data(), n, false}, exact).ok());
  double worst = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    double want = 0.0, mag = 0.0;
    for (int64_t c = 0; c < k; ++c) {
      want += static_cast<double>(x[c]) * deq[j * k + c];
      mag += std::fabs(static_cast<double>(x[c]) * deq[j * k + c]);
    }
    worst = std::max(worst, std::fabs(y[j] - want) / mag);
  }
  return worst;
}

TEST(MatMulExactDecode, AsAccurateAsF32ForEachTypeAndIsa) {
  std::mt19937 rng(11);
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
    cpu::ScopedCpuIsa force(isa);
    for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K,
                    DType::kQ5_K, DType::kQ6_K}) {
      // 4352: long rows, 8 at a time; 1056: 33 blocks of 32 (the legacy types' odd last block).
      for (int64_t k : {int64_t{256}, int64_t{1536}, int64_t{4352}, int64_t{1056}}) {
        if (k % GetDTypeInfo(t).block_elems != 0) continue;
        const double worst = WorstExactError(t, k, 19, rng);
        EXPECT_LE(worst, 1e-6) << cpu::CpuIsaName(isa) << " " << DTypeName(t) << " k=" << k;
        if (k == 4352) {
          EXPECT_LE(WorstExactError(t, k, 121, rng), 1e-6) << cpu::CpuIsaName(isa) << " " << DTypeName(t) << " 2 threads";
        }
        if (k == 1536) {
          std::printf("%s %s: worst |error| / sum|products| = %.2e\n", std::string(cpu::CpuIsaName(isa)).c_str(),
                      std::string(DTypeName(t)).c_str(), worst);
        }
      }
    }
  }
}

// A NaN or inf in x makes every output non-finite, NaN staying NaN (the digit rows cannot represent
// them: such x keeps the widening path; its AVX2 q4_0 / q4_k kernels subtract offset * sum(x), so
// an inf can come out as NaN).
// NaN in x gives NaN; inf gives the inf of the reference's sum (positive weights: +inf), under
// every ISA: the digit path declines such x and the widening kernels take it.
TEST(MatMulExactDecode, NonFiniteActivations) {
  const int64_t n = 8, k = 512;
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
    cpu::ScopedCpuIsa force(isa);
    for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K,
                    DType::kQ5_K, DType::kQ6_K}) {
      std::vector<float> w(n * k);
      for (int64_t i = 0; i < n * k; ++i) w[i] = 0.25f + 0.5f * static_cast<float>(i % 7);
      const QuantWeight m = QuantizeMatrix(t, w, n, k);
      KernelContext exact(1, ComputePrecision::kF32);
      std::vector<float> y(n);
      for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
        std::vector<float> x(k, 1.0f);
        x[300] = bad;
        ASSERT_TRUE(RunMatMul({x.data(), 1, k, k, &m.w, false, y.data(), n, false}, exact).ok());
        for (int64_t r = 0; r < n; ++r) {
          SCOPED_TRACE(testing::Message() << DTypeName(t) << ", ISA " << static_cast<int>(isa) << ", row " << r);
          if (std::isnan(bad) || m.values[r * k + 300] == 0) {
            EXPECT_TRUE(std::isnan(y[r])) << y[r];
          } else {
            EXPECT_EQ(y[r], m.values[r * k + 300] > 0 ? bad : -bad);
          }
        }
      }
    }
  }
}

// y[0] of an exact decode of x with m's first row, against double precision.
double FirstRowError(const QuantWeight& m, const std::vector<float>& x, int64_t n, int64_t k, double* mag) {
  std::vector<float> y(n);
  KernelContext exact(1, ComputePrecision::kF32);
  EXPECT_TRUE(RunMatMul({x.data(), 1, k, k, &m.w, false, y.data(), n, false}, exact).ok());
  double want = 0.0;
  *mag = 0.0;
  for (int64_t c = 0; c < k; ++c) {
    want += static_cast<double>(x[c]) * m.values[c];
    *mag += std::fabs(static_cast<double>(x[c]) * m.values[c]);
  }
  return std::fabs(y[0] - want);
}

// x with one block below the digit form's 2^-60 limit takes the widening kernels for the whole
// row, under every ISA: as accurate as f32 for every type (the affine types form each weight).
TEST(MatMulExactDecode, WideningKernelsAreAsAccurateAsF32) {
  std::mt19937 rng(5);
  const int64_t n = 8, k = 512;
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
    cpu::ScopedCpuIsa force(isa);
    for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K,
                    DType::kQ5_K, DType::kQ6_K}) {
      const QuantWeight m = QuantizeMatrix(t, testref::RandomFloats(n * k, rng, -1.0f, 1.0f), n, k);
      std::vector<float> x = testref::RandomFloats(k, rng, -1.0f, 1.0f);
      for (int i = 96; i < 128; ++i) x[i] *= 1e-20f;
      double mag = 0.0;
      const double err = FirstRowError(m, x, n, k, &mag);
      EXPECT_LE(err, 1e-6 * mag) << DTypeName(t) << ", ISA " << static_cast<int>(isa);
    }
  }
}

// A nonzero block too small for a digit scale stays exact: x up to 3.2e-30 (a digit scale near
// 2^-119) times f16 weight scales near 2^-18 would be an f32 subnormal with about 12 bits.
TEST(MatMulExactDecode, TinyBlocksStayExact) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1e-5f);
  const int64_t n = 8, k = 512;
  for (DType t : {DType::kQ4_0, DType::kQ5_0}) {
    std::vector<float> src(n * k);
    for (auto& v : src) v = normal(rng);
    const QuantWeight m = QuantizeMatrix(t, src, n, k);
    std::vector<float> x(k, 0.0f);
    for (int i = 0; i < 32; ++i) x[64 + i] = 1e-31f * static_cast<float>(i + 1);
    double mag = 0.0;
    const double err = FirstRowError(m, x, n, k, &mag);
    ASSERT_GT(mag, 0.0) << DTypeName(t);
    EXPECT_LE(err, 1e-6 * mag) << DTypeName(t);
  }
}

// The digit rows' error bound, block floating point: at most 2^-22 * sum over blocks of
// max|x_block| * sum |w| in the block (plus f32 rounding), here where it is far from f32's
// relative accuracy: a block of one 1000 among 0.001s whose weight at the 1000 is zero.
TEST(MatMulExactDecode, ErrorWithinBlockFloatingPointBound) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 8, k = 1024;
  for (DType t : {DType::kQ4_0, DType::kQ5_0, DType::kQ6_K}) {
    std::vector<float> src(n * k), x(k);
    for (auto& v : src) v = normal(rng);
    src[32] = 0.0f;  // stored as an exact zero by all three types
    for (auto& v : x) v = 1e-3f * normal(rng);
    x[32] = 1e3f;
    const QuantWeight m = QuantizeMatrix(t, src, n, k);
    ASSERT_EQ(m.values[32], 0.0f) << DTypeName(t);
    double bound = 0.0, mag = 0.0;
    for (int64_t b = 0; b < k / 32; ++b) {
      double amax = 0.0, wsum = 0.0;
      for (int64_t i = b * 32; i < b * 32 + 32; ++i) {
        amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
        wsum += std::fabs(m.values[i]);
      }
      bound += std::ldexp(amax * wsum, -22);
    }
    const double err = FirstRowError(m, x, n, k, &mag);
    EXPECT_LE(err, bound + 1e-6 * mag) << DTypeName(t);
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
