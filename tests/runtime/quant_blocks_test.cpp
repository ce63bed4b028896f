// GGUF block formats: dequantization of hand-built blocks (expected values written out from the
// layout, not from our decoder), quantize -> dequantize error bounds on random data, and the
// registered MatMul / Embedding kernels for block types against a double-precision loop.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "quant_reference.h"
#include "runtime/cpu/weight_rows.h"
#include "runtime/kernel_registry.h"
#include "runtime/quant_blocks.h"

namespace ds {
namespace {

// f16 bit patterns used below.
constexpr uint16_t kHalf1 = 0x3C00, kHalf2 = 0x4000, kHalfHalf = 0x3800, kHalfMinus1 = 0xBC00;

void PutU16(std::vector<uint8_t>& b, size_t at, uint16_t v) { std::memcpy(&b[at], &v, 2); }

std::vector<float> Decode(DType t, const std::vector<uint8_t>& b) {
  std::vector<float> out(GetDTypeInfo(t).block_elems);
  DequantizeBlock(t, b.data(), out.data());
  return out;
}

TEST(QuantBlocks, Q8_0HandBuilt) {
  std::vector<uint8_t> b(34);
  PutU16(b, 0, kHalfHalf);  // d = 0.5
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j * 8 - 128));
  auto y = Decode(DType::kQ8_0, b);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * (j * 8 - 128)) << j;
}

TEST(QuantBlocks, Q4_0AndQ4_1HandBuilt) {
  std::vector<uint8_t> b(18);
  PutU16(b, 0, kHalf2);  // d = 2
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  auto y = Decode(DType::kQ4_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * (j - 8)) << j;             // low nibbles: values 0..15
    EXPECT_EQ(y[j + 16], 2.0f * (15 - j - 8)) << j;   // high nibbles: values 16..31
  }
  std::vector<uint8_t> c(20);
  PutU16(c, 0, kHalf1);       // d = 1
  PutU16(c, 2, kHalfMinus1);  // m = -1
  for (int j = 0; j < 16; ++j) c[4 + j] = static_cast<uint8_t>(j | (3 << 4));
  auto z = Decode(DType::kQ4_1, c);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(z[j], j - 1.0f);
    EXPECT_EQ(z[j + 16], 2.0f);
  }
}

TEST(QuantBlocks, Q5_0AndQ5_1HandBuilt) {
  std::vector<uint8_t> b(22);
  PutU16(b, 0, kHalf1);
  const uint32_t qh = 0xFFFF0000u;  // fifth bit set for values 16..31 only
  std::memcpy(&b[2], &qh, 4);
  for (int j = 0; j < 16; ++j) b[6 + j] = static_cast<uint8_t>(j | (j << 4));
  auto y = Decode(DType::kQ5_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j - 16.0f);     // 5-bit value j
    EXPECT_EQ(y[j + 16], j + 0.0f);  // 5-bit value 16 + j
  }
  std::vector<uint8_t> c(24);
  PutU16(c, 0, kHalfHalf);  // d = 0.5
  PutU16(c, 2, kHalf1);     // m = 1
  const uint32_t qh1 = 0x00000005u;  // bit 0 and bit 2: values 0 and 2 get +16
  std::memcpy(&c[4], &qh1, 4);
  for (int j = 0; j < 16; ++j) c[8 + j] = static_cast<uint8_t>(j);
  auto z = Decode(DType::kQ5_1, c);
  for (int j = 0; j < 16; ++j) {
    const int q = j + ((j == 0 || j == 2) ? 16 : 0);
    EXPECT_EQ(z[j], 0.5f * q + 1.0f) << j;
    EXPECT_EQ(z[j + 16], 1.0f) << j;
  }
}

// q4_k / q5_k: sub-block j has 6-bit scale sc[j] and min m[j]; j < 4 in bytes j and j+4, j >= 4
// split into a low nibble in byte j+4 and two high bits in the top of bytes j-4 (scale) and j (min).
std::vector<uint8_t> KScales(const int sc[8], const int m[8]) {
  std::vector<uint8_t> s(12, 0);
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
  return s;
}

TEST(QuantBlocks, Q4_KHandBuilt) {
  const int sc[8] = {1, 2, 3, 63, 17, 40, 7, 33}, m[8] = {0, 5, 63, 1, 20, 2, 48, 9};
  std::vector<uint8_t> b(144);
  PutU16(b, 0, kHalfHalf);  // d = 0.5
  PutU16(b, 2, kHalf2);     // dmin = 2
  auto s = KScales(sc, m);
  std::copy(s.begin(), s.end(), b.begin() + 4);
  // 32 bytes per pair of sub-blocks: low nibble -> sub-block 2p, high nibble -> 2p + 1.
  for (int p = 0; p < 4; ++p) {
    for (int l = 0; l < 32; ++l) b[16 + 32 * p + l] = static_cast<uint8_t>(((l + p) & 15) | ((15 - (l & 15)) << 4));
  }
  auto y = Decode(DType::kQ4_K, b);
  for (int p = 0; p < 4; ++p) {
    for (int l = 0; l < 32; ++l) {
      EXPECT_EQ(y[64 * p + l], 0.5f * sc[2 * p] * ((l + p) & 15) - 2.0f * m[2 * p]) << p << "," << l;
      EXPECT_EQ(y[64 * p + 32 + l], 0.5f * sc[2 * p + 1] * (15 - (l & 15)) - 2.0f * m[2 * p + 1]) << p << "," << l;
    }
  }
}

TEST(QuantBlocks, Q5_KHandBuilt) {
  const int sc[8] = {4, 9, 63, 1, 32, 16, 5, 60}, m[8] = {3, 0, 10, 63, 31, 33, 8, 1};
  std::vector<uint8_t> b(176);
  PutU16(b, 0, kHalf1);     // d = 1
  PutU16(b, 2, kHalfHalf);  // dmin = 0.5
  auto s = KScales(sc, m);
  std::copy(s.begin(), s.end(), b.begin() + 4);
  // qh[l] bit 2p is the fifth bit of value l of sub-block 2p, bit 2p+1 that of sub-block 2p+1.
  for (int l = 0; l < 32; ++l) b[16 + l] = static_cast<uint8_t>(l % 2 ? 0xAA : 0x55);
  for (int p = 0; p < 4; ++p) {
    for (int l = 0; l < 32; ++l) b[48 + 32 * p + l] = static_cast<uint8_t>((l & 15) | (((l + 3) & 15) << 4));
  }
  auto y = Decode(DType::kQ5_K, b);
  for (int p = 0; p < 4; ++p) {
    for (int l = 0; l < 32; ++l) {
      const int lo = (l & 15) + (l % 2 ? 0 : 16), hi = ((l + 3) & 15) + (l % 2 ? 16 : 0);
      EXPECT_EQ(y[64 * p + l], 1.0f * sc[2 * p] * lo - 0.5f * m[2 * p]) << p << "," << l;
      EXPECT_EQ(y[64 * p + 32 + l], 1.0f * sc[2 * p + 1] * hi - 0.5f * m[2 * p + 1]) << p << "," << l;
    }
  }
}

TEST(QuantBlocks, Q6_KHandBuilt) {
  // Value v (0..255) gets the 6-bit code q(v) = (v * 7) % 64; scale of sub-block v/16 is s[v/16].
  auto code = [](int v) { return (v * 7) % 64; };
  const int8_t scales[16] = {1, -2, 3, -4, 5, 127, -128, 8, 9, 10, -11, 12, 13, 14, 15, 16};
  std::vector<uint8_t> b(210, 0);
  // Layout per half h (128 values): ql[64h + l] holds values l (low) and l+64 (high nibble),
  // ql[64h + 32 + l] values l+32 and l+96; qh[32h + l] holds the top 2 bits of l, l+32, l+64, l+96.
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int v0 = 128 * h + l;
      const int q1 = code(v0), q2 = code(v0 + 32), q3 = code(v0 + 64), q4 = code(v0 + 96);
      b[64 * h + l] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
      b[64 * h + 32 + l] = static_cast<uint8_t>((q2 & 15) | ((q4 & 15) << 4));
      b[128 + 32 * h + l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
  std::memcpy(&b[192], scales, 16);
  PutU16(b, 208, kHalfHalf);  // d = 0.5
  auto y = Decode(DType::kQ6_K, b);
  for (int v = 0; v < 256; ++v) EXPECT_EQ(y[v], 0.5f * scales[v / 16] * (code(v) - 32)) << v;
}

// Quantize -> dequantize on random normal data: per-type error bounds.
struct ErrorCase {
  DType type;
  double max_rel_rms;  // rms(error) / rms(x) over the row
};

class QuantizeError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(QuantizeError, WithinBounds) {
  const DType t = GetParam().type;
  const int64_t n = 256 * 16;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  x[5] = 9.0f;  // an outlier in one block
  std::vector<uint8_t> q(DTypeBytes(t, n));
  ASSERT_TRUE(QuantizeRow(t, x.data(), q.data(), n).ok());
  std::vector<float> y(n);
  DequantizeRow(t, q.data(), y.data(), n);
  double err2 = 0, x2 = 0;
  const int64_t block = GetDTypeInfo(t).block_elems;
  for (int64_t b = 0; b < n / block; ++b) {
    float amax = 0, lo = x[b * block], hi = lo;
    for (int64_t i = b * block; i < (b + 1) * block; ++i) {
      amax = std::max(amax, std::fabs(x[i]));
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
    // Hard per-value bounds where the format fixes the step: half a step (q8_0) or one step at the
    // clamped end (q4_0 / q5_0); q4_1 / q5_1 half a step of the range. f16 scales add ~1e-3.
    double bound = INFINITY;
    if (t == DType::kQ8_0) bound = amax / 254.0 + amax * 1e-3;
    if (t == DType::kQ4_0) bound = amax / 8.0 * 1.001;
    if (t == DType::kQ5_0) bound = amax / 16.0 * 1.001;
    if (t == DType::kQ4_1) bound = (hi - lo) / 30.0 + (hi - lo) * 2e-3;
    if (t == DType::kQ5_1) bound = (hi - lo) / 62.0 + (hi - lo) * 2e-3;
    for (int64_t i = b * block; i < (b + 1) * block; ++i) {
      ASSERT_LE(std::fabs(y[i] - x[i]), bound) << DTypeName(t) << " value " << i;
      err2 += (y[i] - x[i]) * (y[i] - x[i]);
      x2 += x[i] * x[i];
    }
  }
  const double rel = std::sqrt(err2 / x2);
  std::printf("%s: rms(error)/rms(x) = %.4f\n", std::string(DTypeName(t)).c_str(), rel);
  EXPECT_LE(rel, GetParam().max_rel_rms);
  // All-zero input stays exactly zero.
  std::vector<float> zeros(n, 0.0f), back(n, 1.0f);
  ASSERT_TRUE(QuantizeRow(t, zeros.data(), q.data(), n).ok());
  DequantizeRow(t, q.data(), back.data(), n);
  for (float v : back) ASSERT_EQ(v, 0.0f) << DTypeName(t);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizeError,
                         ::testing::Values(ErrorCase{DType::kQ8_0, 0.0065}, ErrorCase{DType::kQ4_0, 0.12},
                                           ErrorCase{DType::kQ4_1, 0.11}, ErrorCase{DType::kQ5_0, 0.06},
                                           ErrorCase{DType::kQ5_1, 0.055}, ErrorCase{DType::kQ4_K, 0.1},
                                           ErrorCase{DType::kQ5_K, 0.05}, ErrorCase{DType::kQ6_K, 0.025}),
                         [](const auto& info) { return std::string(DTypeName(info.param.type)); });

// The AVX-512 block decoders against the scalar ones: the same floats, bit for bit.
TEST(QuantBlocks, Avx512DequantizeEqualsScalar) {
  if (!cpu::HasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> byte(0, 255);
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K,
                  DType::kQ6_K}) {
    const DTypeInfo& info = GetDTypeInfo(t);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<uint8_t> block(info.block_bytes);
      if (trial % 2 == 0) {  // a quantized block, or random bytes with a sane f16 scale
        std::vector<float> x(info.block_elems);
        for (auto& v : x) v = normal(rng);
        ASSERT_TRUE(QuantizeRow(t, x.data(), block.data(), info.block_elems).ok());
      } else {
        for (auto& v : block) v = static_cast<uint8_t>(byte(rng));
        const size_t d_at = t == DType::kQ6_K ? 208 : 0;
        PutU16(block, d_at, 0x2E66);  // ~0.1
        if (t == DType::kQ4_K || t == DType::kQ5_K || t == DType::kQ4_1 || t == DType::kQ5_1) PutU16(block, 2, 0x2A66);
      }
      alignas(64) float a[256], b[256];
      DequantizeBlock(t, block.data(), a);
      ASSERT_TRUE(cpu::DequantizeBlockAvx512(t, block.data(), b));
      for (int64_t i = 0; i < info.block_elems; ++i) ASSERT_EQ(a[i], b[i]) << DTypeName(t) << " value " << i;
    }
  }
}

TEST(QuantBlocks, QuantizeRejectsBadArguments) {
  std::vector<float> x(48);
  std::vector<uint8_t> q(64);
  EXPECT_FALSE(QuantizeRow(DType::kQ8_0, x.data(), q.data(), 48).ok());  // not a multiple of 32
  EXPECT_FALSE(QuantizeRow(DType::kBF16, x.data(), q.data(), 32).ok());  // not a block type
}

}  // namespace
}  // namespace ds
