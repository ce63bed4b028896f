// Independent reference definitions for the runtime tests: float formats decoded from their
// published bit layouts (not through src/common/float_convert.h), random inputs, tolerances.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "runtime/dtype.h"

namespace ds::testref {

// bfloat16 is the upper half of an IEEE binary32.
inline double Bf16(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
inline double F16(uint16_t v) {
  const int sign = v >> 15, exp = (v >> 10) & 31, mant = v & 1023;
  double mag;
  if (exp == 31) {
    mag = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else if (exp == 0) {
    mag = std::ldexp(mant, -24);  // subnormal: mant * 2^-10 * 2^-14
  } else {
    mag = std::ldexp(1024 + mant, exp - 25);
  }
  return sign ? -mag : mag;
}

// OCP 8-bit floating point spec, E4M3: bias 7, no infinities, S.1111.111 is NaN, the largest
// finite value is 448 (S.1111.110).
inline double Fp8E4M3(uint8_t v) {
  const int sign = v >> 7, exp = (v >> 3) & 15, mant = v & 7;
  if (exp == 15 && mant == 7) return std::numeric_limits<double>::quiet_NaN();
  const double mag = exp == 0 ? std::ldexp(mant, -9) : std::ldexp(8 + mant, exp - 10);
  return sign ? -mag : mag;
}

// Random storage codes of a dtype (finite, moderate magnitudes), and their exact values.
struct Codes {
  std::vector<uint8_t> bytes;
  std::vector<double> values;
};

inline Codes RandomCodes(DType t, int64_t n, std::mt19937& rng) {
  Codes c;
  c.values.resize(n);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::uniform_int_distribution<int> byte(0, 255);
  if (t == DType::kF32) {
    c.bytes.resize(n * 4);
    for (int64_t i = 0; i < n; ++i) {
      const float f = uni(rng);
      std::memcpy(&c.bytes[i * 4], &f, 4);
      c.values[i] = f;
    }
  } else if (t == DType::kBF16 || t == DType::kF16) {
    c.bytes.resize(n * 2);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      if (t == DType::kBF16) {
        const float f = uni(rng);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        v = static_cast<uint16_t>(bits >> 16);
      } else {  // sign, exponent 8..16 (values 2^-7..2), random mantissa; includes a few subnormals
        const int exp = (i % 97 == 0) ? 0 : 8 + byte(rng) % 9;
        v = static_cast<uint16_t>((byte(rng) & 1) << 15 | exp << 10 | ((byte(rng) << 8 | byte(rng)) & 1023));
      }
      std::memcpy(&c.bytes[i * 2], &v, 2);
      c.values[i] = t == DType::kBF16 ? Bf16(v) : F16(v);
    }
  } else if (t == DType::kF8E4M3) {
    c.bytes.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      uint8_t v;
      do v = static_cast<uint8_t>(byte(rng)); while ((v & 0x7f) == 0x7f);  // no NaN codes
      c.bytes[i] = v;
      c.values[i] = Fp8E4M3(v);
    }
  }
  return c;
}

inline bool HasCodes(DType t) {
  return t == DType::kF32 || t == DType::kBF16 || t == DType::kF16 || t == DType::kF8E4M3;
}

inline std::vector<float> RandomFloats(int64_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// |got - want| within `rel` of the magnitude `scale` of the terms that produced `want`.
inline bool Near(double got, double want, double scale, double rel = 1e-5) {
  return std::fabs(got - want) <= rel * scale + 1e-30;
}

}  // namespace ds::testref
