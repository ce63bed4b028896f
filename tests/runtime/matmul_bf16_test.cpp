// ComputePrecision::kBF16: multi-row matmuls round activations (and non-bf16 weights) to bf16 and
// accumulate in f32. The reference rounds the same operands to bf16 by the format's definition and
// sums exactly in double, so only f32 accumulation error may remain. Single-row (decode) calls on
// bf16 weights of up to 8192 columns round the activations to bf16 too (bf16 dot products) where
// the CPU has AVX512-BF16; other decode-sized calls (m <= 4) stay exact f32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "runtime/cpu/cpu_isa.h"
#include "runtime/cpu/onednn_matmul.h"
#include "runtime/cpu/weight_rows.h"
#include "runtime/kernel_registry.h"
#include "reference.h"

namespace ds {
namespace {

// Round to nearest even at 16 bits (bfloat16), as a double.
double RoundBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint32_t lsb = (bits >> 16) & 1u;
  bits = (bits + 0x7fffu + lsb) & 0xffff0000u;
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}

struct Bf16Case {
  DType dtype;
  int64_t m, n, k;
  bool transpose, accumulate;
};

void CheckBf16MatMul(const Bf16Case& c) {
  SCOPED_TRACE(StrCat(DTypeName(c.dtype), " m=", c.m, " n=", c.n, " k=", c.k, " transpose=", c.transpose,
                      " accumulate=", c.accumulate));
  std::mt19937 rng(99);
  const int64_t rows = c.transpose ? c.k : c.n, cols = c.transpose ? c.n : c.k, block = 128;
  testref::Codes codes = testref::RandomCodes(c.dtype, rows * cols, rng);
  Tensor w = Tensor::Empty(c.dtype, {rows, cols});
  std::memcpy(w.raw(), codes.bytes.data(), codes.bytes.size());
  std::vector<float> sv;
  const int64_t sc = (cols + block - 1) / block;
  if (c.dtype == DType::kF8E4M3) {
    Tensor s = Tensor::Empty(DType::kF32, {(rows + block - 1) / block, sc});
    sv = testref::RandomFloats(s.numel(), rng, 0.25f, 4.0f);
    std::copy(sv.begin(), sv.end(), s.data<float>());
    w.SetBlockScales(s, block);
  }
  auto wval = [&](int64_t kk, int64_t nn, bool round) {
    const int64_t r = c.transpose ? kk : nn, q = c.transpose ? nn : kk;
    float v = static_cast<float>(codes.values[r * cols + q]);
    if (!sv.empty()) v = static_cast<float>(v * sv[(r / block) * sc + q / block]);
    return round ? RoundBf16(v) : static_cast<double>(v);
  };
  // Decode-sized calls keep f32 activations, except single rows on weights the bf16 GEMV takes.
  bool bf16_gemv = false;
  if (c.m == 1 && !c.transpose) {
    auto rows = cpu::DescribeWeight(w);
    bf16_gemv = rows.ok() && cpu::Bf16ActivationSupports(*rows);
  }
  const bool rounded = c.m > 4 || bf16_gemv;
  const bool exact_weights = c.m <= 4;  // the GEMVs read weights exactly
  std::vector<float> x = testref::RandomFloats(c.m * c.k, rng);
  std::vector<float> y0 = testref::RandomFloats(c.m * c.n, rng), y = y0;
  KernelContext ctx(2, ComputePrecision::kBF16);
  Status st = RunMatMul({x.data(), c.m, c.k, c.k, &w, c.transpose, y.data(), c.n, c.accumulate}, ctx);
  ASSERT_TRUE(st.ok()) << st;
  int bad = 0;
  for (int64_t i = 0; i < c.m && bad < 5; ++i) {
    for (int64_t j = 0; j < c.n && bad < 5; ++j) {
      double want = c.accumulate ? y0[i * c.n + j] : 0.0, mag = std::fabs(want);
      for (int64_t kk = 0; kk < c.k; ++kk) {
        const double xv = rounded ? RoundBf16(x[i * c.k + kk]) : x[i * c.k + kk];
        const double t = xv * wval(kk, j, rounded && !exact_weights);
        want += t;
        mag += std::fabs(t);
      }
      const float got = y[i * c.n + j];
      if (!testref::Near(got, want, mag)) ++bad, ADD_FAILURE() << "y[" << i << "," << j << "] = " << got << ", want " << want;
    }
  }
}

TEST(MatMulBf16Precision, RoundsOperandsToBf16AndAccumulatesInF32) {
  if (cpu::ActiveCpuIsa() != cpu::CpuIsa::kAvx512 || !cpu::OneDnnBf16MatmulAvailable()) {
    GTEST_SKIP() << "bf16 matmuls run only with AVX-512 and oneDNN bf16 support";
  }
  for (DType dt : {DType::kBF16, DType::kF16, DType::kF8E4M3}) {
    for (int64_t m : {1, 3, 5, 40}) {
      for (bool transpose : {false, true}) {
        CheckBf16MatMul({dt, m, 300, 200, transpose, transpose});
        // Weight rows of 2048 columns ([130, 2048] stored): m < 64 dequantizes 64-row panels.
        CheckBf16MatMul({dt, m, transpose ? 2048 : 130, transpose ? 130 : 2048, transpose, !transpose});
        // 8960 columns: past the bf16 GEMV's row limit (exact path).
        if (m == 1) CheckBf16MatMul({dt, m, 20, 8960, transpose, false});
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// bf16 primitives are built per row count and at most 512 are kept: 530 row counts evict the first
// ones, which must then be rebuilt and still give the right products.
TEST(MatMulBf16Precision, EveryRowCountAndEvictedPrimitivesAreRight) {
  if (cpu::ActiveCpuIsa() != cpu::CpuIsa::kAvx512 || !cpu::OneDnnBf16MatmulAvailable()) {
    GTEST_SKIP() << "bf16 matmuls run only with AVX-512 and oneDNN bf16 support";
  }
  for (int64_t m = 5; m < 535; ++m) {
    CheckBf16MatMul({DType::kBF16, m, 8, 16, false, m % 2 == 0});
    if (::testing::Test::HasFailure()) return;
  }
  for (int64_t m : {5, 6, 7}) CheckBf16MatMul({DType::kBF16, m, 8, 16, false, false});
}

TEST(MatMulBf16Precision, BelowAvx512StaysF32) {
  // With the AVX-512 variant disabled the bf16 path is not taken: results are the exact f32 ones.
  cpu::ScopedCpuIsa force(cpu::CpuIsa::kAvx2);
  std::mt19937 rng(5);
  Tensor w = Tensor::Empty(DType::kBF16, {8, 16});
  testref::Codes codes = testref::RandomCodes(DType::kBF16, 128, rng);
  std::memcpy(w.raw(), codes.bytes.data(), codes.bytes.size());
  const std::vector<double>& wv = codes.values;
  std::vector<float> x = testref::RandomFloats(6 * 16, rng), y(6 * 8);
  KernelContext ctx(1, ComputePrecision::kBF16);
  ASSERT_TRUE(RunMatMul({x.data(), 6, 16, 16, &w, false, y.data(), 8, false}, ctx).ok());
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 8; ++j) {
      double want = 0, mag = 0;
      for (int q = 0; q < 16; ++q) want += double(x[i * 16 + q]) * wv[j * 16 + q], mag += std::fabs(x[i * 16 + q] * wv[j * 16 + q]);
      EXPECT_TRUE(testref::Near(y[i * 8 + j], want, mag)) << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace ds
