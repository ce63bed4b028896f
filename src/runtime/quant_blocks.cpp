// Dequantization of the GGUF block formats (layouts in quant_blocks.h).
#include "runtime/quant_blocks.h"

#include <cstring>

#include "common/float_convert.h"

namespace ds {
namespace {

void DequantQ8_0(const uint8_t* b, float* y) {
  const float d = LoadHalf(b);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(q[j]);
}

// q4_0 / q4_1: low nibbles are values 0..15, high nibbles 16..31.
void DequantQ4(const uint8_t* qs, float d, float offset, float min, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = d * (static_cast<float>(qs[j] & 0x0F) - offset) + min;
    y[j + 16] = d * (static_cast<float>(qs[j] >> 4) - offset) + min;
  }
}

// q5_0 / q5_1: the fifth bit of value j is bit j of qh.
void DequantQ5(const uint8_t* qh_bytes, const uint8_t* qs, float d, float offset, float min, float* y) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
    const int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = d * (static_cast<float>(lo) - offset) + min;
    y[j + 16] = d * (static_cast<float>(hi) - offset) + min;
  }
}


void DequantQ4K(const uint8_t* b, float* y) {
  const float d = LoadHalf(b), dmin = LoadHalf(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0; j < 8; j += 2) {  // 64 values per step: two sub-blocks share 32 bytes
    int sc1, m1, sc2, m2;
    ScaleMinK4(j, scales, &sc1, &m1);
    ScaleMinK4(j + 1, scales, &sc2, &m2);
    const float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0x0F) - min1;
    for (int l = 0; l < 32; ++l) y[32 + l] = d2 * static_cast<float>(q[l] >> 4) - min2;
    y += 64;
    q += 32;
  }
}

void DequantQ5K(const uint8_t* b, float* y) {
  const float d = LoadHalf(b), dmin = LoadHalf(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < 8; j += 2) {
    int sc1, m1, sc2, m2;
    ScaleMinK4(j, scales, &sc1, &m1);
    ScaleMinK4(j + 1, scales, &sc2, &m2);
    const float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>((ql[l] & 0x0F) + ((qh[l] & u1) ? 16 : 0)) - min1;
    for (int l = 0; l < 32; ++l) y[32 + l] = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - min2;
    y += 64;
    ql += 32;
    u1 <<= 2;
    u2 <<= 2;
  }
}

void DequantQ6K(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = LoadHalf(b + 208);
  for (int n = 0; n < 256; n += 128) {  // each half: 64 bytes of ql, 32 of qh, 8 scales
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

void DequantizeBlock(DType t, const uint8_t* b, float* y) {
  switch (t) {
    case DType::kQ8_0: return DequantQ8_0(b, y);
    case DType::kQ4_0: return DequantQ4(b + 2, LoadHalf(b), 8.0f, 0.0f, y);
    case DType::kQ4_1: return DequantQ4(b + 4, LoadHalf(b), 0.0f, LoadHalf(b + 2), y);
    case DType::kQ5_0: return DequantQ5(b + 2, b + 6, LoadHalf(b), 16.0f, 0.0f, y);
    case DType::kQ5_1: return DequantQ5(b + 4, b + 8, LoadHalf(b), 0.0f, LoadHalf(b + 2), y);
    case DType::kQ4_K: return DequantQ4K(b, y);
    case DType::kQ5_K: return DequantQ5K(b, y);
    case DType::kQ6_K: return DequantQ6K(b, y);
    default: return;
  }
}

void DequantizeRow(DType t, const uint8_t* src, float* out, int64_t n) {
  const DTypeInfo& info = GetDTypeInfo(t);
  for (int64_t i = 0; i < n / info.block_elems; ++i) {
    DequantizeBlock(t, src + i * info.block_bytes, out + i * info.block_elems);
  }
}

}  // namespace ds
