// The f8_e4m3 decode GEMV (AVX-512: 64 codes per load, AVX2: 32) turns each code into the f32
// value times 2^-120 (small codes become f32 subnormals), and multiplies x by each scale-row
// block's scales (and a power of two) once per block of rows; the scalar loop widens codes.
// Subnormal and extreme codes, every row block, row views starting inside a block, and
// activations from 1e-30 to 1e30 (and 2^80 apart in one row) must come out exact under every ISA,
// with or without the CPU's denormals-are-zero mode on any thread.
#include <gtest/gtest.h>
#include <omp.h>
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
  // 2^-9 to 2^-5 times 1 to 1.75: every block of rows and columns its own (sc is 1 to 33).
  for (int64_t i = 0; i < s.numel(); ++i) {
    s.data<float>()[i] = std::ldexp(1.0f + 0.125f * static_cast<float>(i % 7), static_cast<int>(i % 5) - 9);
  }
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
  // 300 rows: three scale-row blocks, the two threads' cut inside one; long rows take 16- and
  // 8-row groups (AVX-512) or 8-row groups (AVX2).
  for (int64_t cols : {1000, 4100}) {
    const int64_t rows = 300;
    const std::vector<uint8_t> codes = Codes(rows * cols, false, rng);
    for (float magnitude : {1.0f, 1e-30f, 1e30f}) {
      SCOPED_TRACE(testing::Message() << cols << " columns, x up to " << magnitude);
      std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
      for (float& v : x) v *= magnitude;
      ExpectExactFp8Gemv(codes, rows, cols, x);
    }
    // One value 2^80 above the rest, where every row's code is 0: the rows' sums come from the
    // small values alone, which must not lose bits to the large one's scaling. And a view whose
    // rows start inside a scale-row block.
    std::vector<uint8_t> zero_column = codes;
    for (int64_t r = 0; r < rows; ++r) zero_column[r * cols + cols / 2] = 0;
    std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
    for (float& v : x) v *= 1e-12f;
    x[cols / 2] = 1e12f;
    SCOPED_TRACE(testing::Message() << cols << " columns, mixed magnitudes");
    ExpectExactFp8Gemv(zero_column, rows, cols, x);
    ExpectExactFp8Gemv(zero_column, rows, cols, x, 100);
  }
}

TEST(Fp8Decode, NonFiniteActivationsPropagate) {
  std::mt19937 rng(10);
  const int64_t rows = 140, cols = 1000;
  const std::vector<uint8_t> codes = Codes(rows * cols, false, rng);
  std::vector<float> scales;
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
    cpu::ScopedCpuIsa force(isa);
    // Column 77 in the vector body, 999 in the tail past the last 64 (or 32) columns.
    for (int64_t at : {int64_t{77}, cols - 1}) {
      for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
        SCOPED_TRACE(testing::Message() << "ISA " << static_cast<int>(isa) << ", x[" << at << "] = " << bad);
        std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
        x[at] = bad;
        const std::vector<float> y = RunFp8Gemv(codes, rows, cols, x, &scales);
        for (int64_t r = 0; r < rows; ++r) {
          const double w = testref::Fp8E4M3(codes[r * cols + at]);
          if (std::isnan(bad) || w == 0) {  // inf * 0 is NaN
            EXPECT_TRUE(std::isnan(y[r])) << "row " << r;
          } else {
            EXPECT_EQ(y[r], w > 0 ? bad : -bad) << "row " << r;  // inf plus finite products
          }
        }
      }
    }
  }
}

// Sets (or clears) denormals-are-zero on the calling thread or on the thread pool's other threads
// (libgomp keeps its team, so the flag stays with them for the next regions).
void SetDaz(bool on, bool pool_threads) {
  constexpr unsigned kDaz = 0x0040;
#pragma omp parallel num_threads(2)
  {
    if ((omp_get_thread_num() != 0) == pool_threads) _mm_setcsr(on ? _mm_getcsr() | kDaz : _mm_getcsr() & ~kDaz);
  }
}

// Whether DAZ is set on the calling thread, or on every other thread of the pool.
bool DazSet(bool pool_threads) {
  bool all = true;
#pragma omp parallel num_threads(2) reduction(&& : all)
  {
    if ((omp_get_thread_num() != 0) == pool_threads) all = (_mm_getcsr() & 0x0040) != 0;
  }
  return all;
}

TEST(Fp8Decode, DenormalsAreZeroModeStaysExact) {
  std::mt19937 rng(8);
  // 19 x 300 runs on the calling thread alone; 300 x 1000 (300 KB) is split between two threads.
  for (int64_t rows : {19, 300}) {
    const int64_t cols = rows == 19 ? 300 : 1000;
    const std::vector<uint8_t> codes = Codes(rows * cols, true, rng);
    const std::vector<float> x = testref::RandomFloats(cols, rng, -3.0f, 3.0f);
    for (bool pool_threads : {false, true}) {
      SCOPED_TRACE(testing::Message() << rows << " rows, DAZ on the " << (pool_threads ? "pool's" : "calling") << " thread");
      SetDaz(true, pool_threads);
      ExpectExactFp8Gemv(codes, rows, cols, x);
      EXPECT_TRUE(DazSet(pool_threads)) << "the kernels must give the program its DAZ mode back";
      SetDaz(false, pool_threads);
    }
  }
}

}  // namespace
}  // namespace ds
