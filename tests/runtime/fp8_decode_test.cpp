// The AVX-512 f8_e4m3 decode GEMV reads 64 codes per load and turns each into the f32 value times
// 2^-120 (small codes become f32 subnormals), and multiplies x by each scale-row block's scales
// (and a power of two) once per block of rows. Subnormal and extreme codes, every row block, row
// views starting inside a block, and activations of any magnitude must come out exact, with or
// without the CPU's denormals-are-zero mode (then the kernel takes its widening path).
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "runtime/cpu/cpu_isa.h"
#include "runtime/kernel_registry.h"
#include "reference.h"

namespace ds {
namespace {

// y = x W^T for one activation row by the kernel: rows [first_row, rows) of the weight (a view when first_row > 0) are multiplied.
std::vector<float> RunFp8Gemv(const std::vector<uint8_t>& codes, int64_t rows, int64_t cols,
                              const std::vector<float>& x, std::vector<float>* scales, int64_t first_row = 0) {
  Tensor w = Tensor::Empty(DType::kF8E4M3, {rows, cols});
  std::memcpy(w.raw(), codes.data(), codes.size());
  const int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
  Tensor s = Tensor::Empty(DType::kF32, {sr, sc});
  for (int64_t i = 0; i < s.numel(); ++i) s.data<float>()[i] = 0.5f + 0.25f * static_cast<float>(i % 3);
  scales->assign(s.data<float>(), s.data<float>() + s.numel());
  w.SetBlockScales(std::move(s), 128);
  const Tensor view = first_row > 0 ? w.Rows(first_row, rows) : w;
  std::vector<float> y(rows - first_row);
  KernelContext ctx(2);
  EXPECT_TRUE(RunMatMul({x.data(), 1, cols, cols, &view, false, y.data(), rows - first_row, false}, ctx).ok());
  return y;
}

// The kernel's y against the one computed in double from the e4m3 spec.
void ExpectExactFp8GemvHere(const std::vector<uint8_t>& codes, int64_t rows, int64_t cols, const std::vector<float>& x,
                            int64_t first_row) {
  std::vector<float> scales;
  const std::vector<float> y = RunFp8Gemv(codes, rows, cols, x, &scales, first_row);
  const int64_t sc = (cols + 127) / 128;
  for (int64_t r = first_row; r < rows; ++r) {
    double want = 0, mag = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double t = static_cast<double>(x[c]) * testref::Fp8E4M3(codes[r * cols + c]) * scales[(r / 128) * sc + c / 128];
      want += t;
      mag += std::fabs(t);
    }
    // 1e-6 of the magnitude, or of the smallest normal float for sums that small.
    EXPECT_NEAR(y[r - first_row], want, 1e-6 * std::max(mag, 1e-38)) << "row " << r;
  }
}

// Under every instruction set the CPU has (AVX-512 and AVX2 kernels, the scalar loop).
void ExpectExactFp8Gemv(const std::vector<uint8_t>& codes, int64_t rows, int64_t cols, const std::vector<float>& x,
                        int64_t first_row = 0) {
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
    cpu::ScopedCpuIsa force(isa);
    SCOPED_TRACE(testing::Message() << "ISA " << static_cast<int>(isa));
    ExpectExactFp8GemvHere(codes, rows, cols, x, first_row);
  }
}

std::vector<uint8_t> Codes(int64_t n, bool subnormal_only, std::mt19937& rng) {
  std::vector<uint8_t> out(n);
  for (auto& v : out) {
    do {
      v = static_cast<uint8_t>(rng());
      if (subnormal_only) v &= 0x87;  // exponent 0: +-m * 2^-9, m = 0..7
    } while ((v & 0x7f) == 0x7f);
  }
  return out;
}

TEST(Fp8Decode, SubnormalAndLargeCodesAreExact) {
  std::mt19937 rng(7);
  for (int64_t cols : {48, 64, 300, 4100}) {  // a tail; one group; blocks and a tail; long rows (row groups)
    for (bool subnormal_only : {true, false}) {
      SCOPED_TRACE(testing::Message() << cols << " columns, subnormal only " << subnormal_only);
      const int64_t rows = 19;
      std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
      ExpectExactFp8Gemv(Codes(rows * cols, subnormal_only, rng), rows, cols, x);
    }
  }
  // Large activations: x * scale is brought near 2^125 inside, and back.
  std::vector<uint8_t> big(8 * 128, 0x7e);  // 448, the largest finite code
  ExpectExactFp8Gemv(big, 8, 128, std::vector<float>(128, 1e20f));
}

TEST(Fp8Decode, EveryRowBlockViewAndMagnitudeIsExact) {
  std::mt19937 rng(9);
  // 300 rows: three scale-row blocks, the two threads' cut inside one; long rows take 8-row groups.
  for (int64_t cols : {1000, 4100}) {
    const int64_t rows = 300;
    const std::vector<uint8_t> codes = Codes(rows * cols, false, rng);
    for (float magnitude : {1.0f, 1e-30f, 1e30f}) {
      SCOPED_TRACE(testing::Message() << cols << " columns, x up to " << magnitude);
      std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
      for (float& v : x) v *= magnitude;
      ExpectExactFp8Gemv(codes, rows, cols, x);
    }
    // Values 2^40 apart in one row, and a view whose rows start inside a scale-row block.
    std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
    x[cols / 2] = 1e12f;
    x[cols / 3] = -1e-30f;
    SCOPED_TRACE(testing::Message() << cols << " columns, mixed magnitudes");
    ExpectExactFp8Gemv(codes, rows, cols, x);
    ExpectExactFp8Gemv(codes, rows, cols, x, 100);
  }
}

TEST(Fp8Decode, NonFiniteActivationsPropagate) {
  std::mt19937 rng(10);
  const int64_t rows = 140, cols = 1000;
  const std::vector<uint8_t> codes = Codes(rows * cols, false, rng);
  std::vector<float> scales;
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
  cpu::ScopedCpuIsa force(isa);
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
    x[77] = bad;
    const std::vector<float> y = RunFp8Gemv(codes, rows, cols, x, &scales);
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_FALSE(std::isfinite(y[r])) << "row " << r << ", x holds " << bad;
      const double w77 = testref::Fp8E4M3(codes[r * cols + 77]);
      if (std::isnan(bad) || w77 == 0) {  // inf * 0 is NaN
        EXPECT_TRUE(std::isnan(y[r])) << "row " << r;
      } else {
        EXPECT_EQ(y[r], w77 > 0 ? bad : -bad) << "row " << r;  // inf plus finite products
      }
    }
  }
  }
}

TEST(Fp8Decode, DenormalsAreZeroModeStaysExact) {
  std::mt19937 rng(8);
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(csr | 0x0040);  // DAZ
  ExpectExactFp8Gemv(Codes(19 * 300, true, rng), 19, 300, testref::RandomFloats(300, rng, -3.0f, 3.0f));
  _mm_setcsr(csr);
}

}  // namespace
}  // namespace ds
