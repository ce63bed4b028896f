// GGUF (ggml) block-quantized weight formats: byte layouts, dequantization and quantization.
// Layouts follow ggml's definitions (docs: ggml/src/ggml-common.h); every block is little-endian
// and packed (no padding). A row of n values is n / block_elems consecutive blocks.
//
//   q8_0  32 values, 34 bytes: f16 d; i8 q[32]                 x = d * q
//   q4_0  32 values, 18 bytes: f16 d; u8 qs[16]                x = d * (nibble - 8)
//   q4_1  32 values, 20 bytes: f16 d, m; u8 qs[16]             x = d * nibble + m
//   q5_0  32 values, 22 bytes: f16 d; u8 qh[4]; u8 qs[16]      x = d * (5-bit - 16)
//   q5_1  32 values, 24 bytes: f16 d, m; u8 qh[4]; u8 qs[16]   x = d * 5-bit + m
//         (value j < 16 uses the low nibble of qs[j], value j + 16 the high one; bit 4 of value
//          j is bit j of qh read as a little-endian u32)
//   q4_k 256 values, 144 bytes: f16 d, dmin; u8 scales[12]; u8 qs[128]
//         8 sub-blocks of 32 with 6-bit scale sc and min m: x = d * sc * nibble - dmin * m
//   q5_k 256 values, 176 bytes: f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]
//   q6_k 256 values, 210 bytes: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d
//         16 sub-blocks of 16: x = d * scale * (6-bit - 32)
#pragma once

#include <cstdint>
#include <cstring>

#include "common/float_convert.h"
#include "common/status.h"
#include "runtime/dtype.h"

namespace ds {

// Dequantizes one block of `t` (block_elems values) from `block` into `out`.
void DequantizeBlock(DType t, const uint8_t* block, float* out);

// The f16 value stored (little-endian) at p, e.g. a block's scale.
inline float LoadHalf(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return F16ToF32(h);
}

// The 6-bit scale and min of sub-block j (0..7) from the 12 packed scale bytes of q4_k / q5_k.
inline void ScaleMinK4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Dequantizes `n` values (a multiple of the block size) stored as consecutive blocks of `t`.
void DequantizeRow(DType t, const uint8_t* src, float* out, int64_t n);

// Quantizes `n` f32 values (a multiple of the block size) into blocks of `t`. Scale searches
// follow llama.cpp's reference quantizers (q4_k/q5_k: weighted min/scale search; q6_k: signed
// scale search), so the blocks are what llama.cpp itself would produce up to rounding details.
// InvalidArgument if `t` is not a block type or `n` is not a multiple of its block size.
Status QuantizeRow(DType t, const float* src, uint8_t* dst, int64_t n);

}  // namespace ds
