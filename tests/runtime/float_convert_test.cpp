// Float format conversions against their definitions: FP8 E4M3 (OCP), IEEE binary16 (checked
// against the compiler's own _Float16 conversions) and bfloat16 round-to-nearest-even.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "common/float_convert.h"
#include "reference.h"

namespace ds {
namespace {

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

TEST(Fp8E4M3, AllCodesMatchTheOcpDefinition) {
  for (int v = 0; v < 256; ++v) {
    const double want = testref::Fp8E4M3(static_cast<uint8_t>(v));
    const float got = F8E4M3ToF32(static_cast<uint8_t>(v));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << "code " << v;
    } else {
      EXPECT_EQ(got, want) << "code " << v;
      EXPECT_EQ(std::signbit(got), (v & 0x80) != 0) << "code " << v;  // -0 stays -0
    }
  }
}

TEST(Fp8E4M3, KnownValuesFromTheSpecTable) {
  EXPECT_EQ(F8E4M3ToF32(0x00), 0.0f);
  EXPECT_EQ(F8E4M3ToF32(0x01), std::ldexp(1.0f, -9));    // smallest subnormal
  EXPECT_EQ(F8E4M3ToF32(0x07), 7 * std::ldexp(1.0f, -9));  // largest subnormal
  EXPECT_EQ(F8E4M3ToF32(0x08), std::ldexp(1.0f, -6));    // smallest normal
  EXPECT_EQ(F8E4M3ToF32(0x38), 1.0f);
  EXPECT_EQ(F8E4M3ToF32(0x40), 2.0f);
  EXPECT_EQ(F8E4M3ToF32(0xb8), -1.0f);
  EXPECT_EQ(F8E4M3ToF32(0x77), 240.0f);
  EXPECT_EQ(F8E4M3ToF32(0x7e), 448.0f);  // max finite (no infinities in the fn variant)
  EXPECT_EQ(F8E4M3ToF32(0xfe), -448.0f);
  EXPECT_TRUE(std::isnan(F8E4M3ToF32(0x7f)));
  EXPECT_TRUE(std::isnan(F8E4M3ToF32(0xff)));
  EXPECT_TRUE(std::signbit(F8E4M3ToF32(0x80)));
}

TEST(F16, EveryCodeDecodesAsDefinedAndAsTheCompiler) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const double want = testref::F16(static_cast<uint16_t>(h));
    const float got = F16ToF32(static_cast<uint16_t>(h));
    _Float16 hv;
    const uint16_t h16 = static_cast<uint16_t>(h);
    std::memcpy(&hv, &h16, 2);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << h;
      continue;
    }
    ASSERT_EQ(got, want) << "code " << h;
    ASSERT_EQ(got, static_cast<float>(hv)) << "code " << h;
  }
}

TEST(F16, SubnormalsAndLimits) {
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(F16ToF32(0x03ff), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(F16ToF32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(F16ToF32(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(F16ToF32(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(F16ToF32(0x7c00)));
  EXPECT_TRUE(std::isnan(F16ToF32(0x7e00)));
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);           // tie between 0 and 1 ulp: even (0)
  EXPECT_EQ(F32ToF16(3 * std::ldexp(1.0f, -25)), 0x0002);       // tie between 1 and 2: even (2)
  EXPECT_EQ(F32ToF16(std::ldexp(1.0001f, -25)), 0x0001);        // just above the tie
  EXPECT_EQ(F32ToF16(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(F32ToF16(std::ldexp(1023.5f, -24)), 0x0400);        // rounds up into the normals (even)
  EXPECT_EQ(F32ToF16(65519.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);                        // tie with the next binade: inf
  EXPECT_EQ(F32ToF16(1e10f), 0x7c00);
  EXPECT_EQ(F32ToF16(-1e10f), 0xfc00);
  EXPECT_EQ(F32ToF16(INFINITY), 0x7c00);
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(NAN))));
}

// F32ToF16 on every f16 value, every midpoint between neighbours (exact ties) and one f32 ulp
// either side of each midpoint, plus random floats: all must round as the compiler's _Float16.
TEST(F16, EncodeMatchesCompilerRoundingEverywhere) {
  auto check = [](float f) {
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &ref, 2);
    ASSERT_EQ(F32ToF16(f), want) << "f = " << f << " (bits 0x" << std::hex << Bits(f) << ")";
  };
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    for (uint32_t sign : {0u, 0x8000u}) {
      const float a = F16ToF32(static_cast<uint16_t>(h | sign));
      check(a);
      if (h + 1 <= 0x7c00) {
        const float b = h + 1 == 0x7c00 ? (sign ? -65536.0f : 65536.0f) : F16ToF32(static_cast<uint16_t>((h + 1) | sign));
        const float mid = static_cast<float>((static_cast<double>(a) + b) / 2);
        check(mid);
        check(std::nextafter(mid, 0.0f));
        check(std::nextafter(mid, b));
      }
    }
  }
  std::mt19937 rng(11);
  std::uniform_int_distribution<uint32_t> any;
  for (int i = 0; i < 200000; ++i) {
    const float f = FromBits(any(rng));
    if (!std::isnan(f)) check(f);
  }
}

// Round to nearest even in double arithmetic, inf beyond the largest bf16 plus half an ulp.
uint16_t ReferenceBf16(float f) {
  const uint32_t b = Bits(f);
  const uint16_t lo = static_cast<uint16_t>(b >> 16), hi = static_cast<uint16_t>(lo + 1);
  if ((b & 0xffff) == 0) return lo;
  auto value = [](uint16_t v) {
    return (v & 0x7fff) == 0x7f80 ? std::copysign(std::ldexp(1.0, 128), testref::Bf16(v)) : testref::Bf16(v);
  };
  const double dl = std::fabs(f - value(lo)), dh = std::fabs(f - value(hi));
  if (dl != dh) return dl < dh ? lo : hi;
  return (lo & 1) ? hi : lo;
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(F32ToBf16(FromBits(0x3f808000)), 0x3f80);  // tie, 0x3f80 even: down
  EXPECT_EQ(F32ToBf16(FromBits(0x3f818000)), 0x3f82);  // tie, 0x3f81 odd: up
  EXPECT_EQ(F32ToBf16(FromBits(0x3f808001)), 0x3f81);  // above the tie
  EXPECT_EQ(F32ToBf16(FromBits(0x3f807fff)), 0x3f80);  // below the tie
  EXPECT_EQ(F32ToBf16(FromBits(0xbf818000)), 0xbf82);  // negative tie
  EXPECT_EQ(F32ToBf16(FromBits(0x7f7fffff)), 0x7f80);  // FLT_MAX rounds to inf
  EXPECT_EQ(F32ToBf16(INFINITY), 0x7f80);
  EXPECT_EQ(F32ToBf16(-0.0f), 0x8000);
  const uint16_t nan = F32ToBf16(FromBits(0x7f800001));  // a NaN whose payload is only in the low half
  EXPECT_TRUE(std::isnan(Bf16ToF32(nan))) << std::hex << nan;
  std::mt19937 rng(12);
  std::uniform_int_distribution<uint32_t> any;
  for (int i = 0; i < 200000; ++i) {
    const float f = FromBits(any(rng));
    if (std::isnan(f)) continue;
    ASSERT_EQ(F32ToBf16(f), ReferenceBf16(f)) << std::hex << Bits(f);
  }
  for (uint32_t h = 0; h < 0x7f80; ++h) {  // every finite bf16, its midpoint with the next, +-1 ulp
    const uint32_t mid = (h << 16) | 0x8000;
    for (uint32_t b : {h << 16, mid, mid - 1, mid + 1}) ASSERT_EQ(F32ToBf16(FromBits(b)), ReferenceBf16(FromBits(b)));
  }
  for (uint32_t h = 0; h < 65536; ++h) {
    if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;  // NaN
    EXPECT_EQ(Bf16ToF32(static_cast<uint16_t>(h)), testref::Bf16(static_cast<uint16_t>(h)));
  }
}

}  // namespace
}  // namespace ds
