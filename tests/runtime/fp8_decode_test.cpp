// The AVX-512 f8_e4m3 decode GEMV reads 64 codes per load and turns each into the f32 value times
// 2^-120 (small codes become f32 subnormals). Subnormal and extreme codes must come out exact, with
// or without the CPU's denormals-are-zero mode (then the kernel takes its widening path).
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "runtime/kernel_registry.h"
#include "reference.h"

namespace ds {
namespace {

// y = x W^T for one activation row, computed with the kernel and in double from the e4m3 spec.
void ExpectExactFp8Gemv(const std::vector<uint8_t>& codes, int64_t rows, int64_t cols, const std::vector<float>& x) {
  Tensor w = Tensor::Empty(DType::kF8E4M3, {rows, cols});
  std::memcpy(w.raw(), codes.data(), codes.size());
  const int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
  Tensor s = Tensor::Empty(DType::kF32, {sr, sc});
  for (int64_t i = 0; i < s.numel(); ++i) s.data<float>()[i] = 0.5f + 0.25f * static_cast<float>(i % 3);
  const std::vector<float> scales(s.data<float>(), s.data<float>() + s.numel());
  w.SetBlockScales(std::move(s), 128);
  std::vector<float> y(rows);
  KernelContext ctx(2);
  ASSERT_TRUE(RunMatMul({x.data(), 1, cols, cols, &w, false, y.data(), rows, false}, ctx).ok());
  for (int64_t r = 0; r < rows; ++r) {
    double want = 0, mag = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double t = static_cast<double>(x[c]) * testref::Fp8E4M3(codes[r * cols + c]) * scales[(r / 128) * sc + c / 128];
      want += t;
      mag += std::fabs(t);
    }
    EXPECT_NEAR(y[r], want, 1e-6 * mag + 1e-30) << "row " << r;
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
  for (int64_t cols : {64, 300, 4100}) {  // one group; blocks and a tail; long rows (8-row groups)
    for (bool subnormal_only : {true, false}) {
      SCOPED_TRACE(testing::Message() << cols << " columns, subnormal only " << subnormal_only);
      const int64_t rows = 19;
      std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
      ExpectExactFp8Gemv(Codes(rows * cols, subnormal_only, rng), rows, cols, x);
    }
  }
  // Large activations: x is scaled by 2^60 inside; 1e20 * 2^60 is still finite.
  std::vector<uint8_t> big(8 * 128, 0x7e);  // 448, the largest finite code
  ExpectExactFp8Gemv(big, 8, 128, std::vector<float>(128, 1e20f));
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
