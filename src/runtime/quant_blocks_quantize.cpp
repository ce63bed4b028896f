// Quantization of f32 rows into the GGUF block formats. The k-quant scale searches follow the
// semantics of llama.cpp's reference quantizers (weighted least-squares over a few candidate
// scales); results need not be bit-identical to llama.cpp, only in the same format and of
// similar error.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/float_convert.h"
#include "runtime/quant_blocks.h"

namespace ds {
namespace {

inline void PutHalf(uint8_t* p, float v) {
  const uint16_t h = F32ToF16(v);
  std::memcpy(p, &h, 2);
}
inline float RoundHalf(float v) { return F16ToF32(F32ToF16(v)); }
inline int NearestInt(float v) { return static_cast<int>(std::lrintf(v)); }  // ties to even, as ggml

void QuantQ8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  PutHalf(b, d);
  int8_t* q = reinterpret_cast<int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(std::roundf(x[j] * id));  // ties away, as ggml's q8_0
}

// q4_0 / q5_0: the scale maps the value of largest magnitude to the most negative level.
void QuantSymmetric(const float* x, int bits, uint8_t* b) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
  }
  const int levels = 1 << bits, half = levels / 2;
  const float d = max / static_cast<float>(-half), id = d != 0.0f ? 1.0f / d : 0.0f;
  PutHalf(b, d);
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>(std::min(levels - 1, static_cast<int>(x[j] * id + half + 0.5f)));
  uint8_t* qs = b + (bits == 4 ? 2 : 6);
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  if (bits == 5) std::memcpy(b + 2, &qh, 4);
}

// q4_1 / q5_1: min + scale over the block's range.
void QuantAffine(const float* x, int bits, uint8_t* b) {
  float lo = x[0], hi = x[0];
  for (int j = 1; j < 32; ++j) { lo = std::min(lo, x[j]); hi = std::max(hi, x[j]); }
  const int levels = (1 << bits) - 1;
  const float d = (hi - lo) / levels, id = d != 0.0f ? 1.0f / d : 0.0f;
  PutHalf(b, d);
  PutHalf(b + 2, lo);
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>(std::min(levels, static_cast<int>((x[j] - lo) * id + 0.5f)));
  uint8_t* qs = b + (bits == 4 ? 4 : 8);
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  if (bits == 5) std::memcpy(b + 4, &qh, 4);
}

// Weighted search for scale and min of x ~ scale * L + min, L in [0, nmax] (llama.cpp's
// make_qkx2_quants semantics). Returns the scale; *neg_min receives -min (>= 0).
float SearchScaleMin(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, float rmin,
                     float rdelta, int nstep) {
  float lo = x[0], hi = x[0], sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (lo > 0) lo = 0;
  if (hi == lo) {
    std::fill(L, L + n, 0);
    *neg_min = -lo;
    return 0.0f;
  }
  float iscale = nmax / (hi - lo), scale = 1.0f / iscale, best_err = 0.0f;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(NearestInt(iscale * (x[i] - lo)), 0, nmax));
    float diff = scale * L[i] + lo - x[i];
    diff = diff * diff;  // same operation order as llama.cpp, so near-ties resolve the same way
    best_err += w[i] * diff;
  }
  uint8_t trial[256];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * (x[i] - lo)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float err = 0;
    for (int i = 0; i < n; ++i) {
      float diff = this_scale * trial[i] + this_min - x[i];
      diff = diff * diff;
      err += w[i] * diff;
    }
    if (err < best_err) {
      std::copy(trial, trial + n, L);
      best_err = err;
      scale = this_scale;
      lo = this_min;
    }
  }
  *neg_min = -lo;
  return scale;
}

// Packs 8 six-bit scales and mins into q4_k / q5_k's 12 bytes.
void PackScalesK4(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<uint8_t>((ls[j] & 0x0F) | ((lm[j] & 0x0F) << 4));
      s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Shared by q4_k (nmax 15) and q5_k (nmax 31): per-sub-block search, 6-bit super-block scales,
// then levels recomputed against the rounded scales. Writes d, dmin, scales; L gets 256 levels.
void QuantKScales(const float* x, int nmax, uint8_t* b, uint8_t* L) {
  float scales[8], mins[8], w[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xs[l]);
    scales[j] = nmax == 15 ? SearchScaleMin(32, nmax, xs, w, L + 32 * j, &mins[j], -1.0f, 0.1f, 20)
                           : SearchScaleMin(32, nmax, xs, w, L + 32 * j, &mins[j], -0.5f, 0.1f, 15);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(std::min(63, NearestInt(inv_scale * scales[j])));
    lm[j] = static_cast<uint8_t>(std::min(63, NearestInt(inv_min * mins[j])));
  }
  std::memset(b + 4, 0, 12);
  PackScalesK4(ls, lm, b + 4);
  PutHalf(b, max_scale / 63.0f);
  PutHalf(b + 2, max_min / 63.0f);
  const float d = RoundHalf(max_scale / 63.0f), dmin = RoundHalf(max_min / 63.0f);
  for (int j = 0; j < 8; ++j) {
    const float dj = d * ls[j];
    if (dj == 0.0f) continue;  // keeps the search's levels, as llama.cpp does
    const float dm = dmin * lm[j];
    for (int l = 0; l < 32; ++l) {
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(NearestInt((x[32 * j + l] + dm) / dj), 0, nmax));
    }
  }
}

void QuantQ4K(const float* x, uint8_t* b) {
  uint8_t L[256];
  QuantKScales(x, 15, b, L);
  uint8_t* q = b + 16;
  for (int j = 0; j < 256; j += 64) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    q += 32;
  }
}

void QuantQ5K(const float* x, uint8_t* b) {
  uint8_t L[256];
  QuantKScales(x, 31, b, L);
  uint8_t* qh = b + 16;
  uint8_t* ql = b + 48;
  std::memset(qh, 0, 32);
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < 256; n += 64) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[n + j], l2 = L[n + j + 32];
      if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
      if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
    m1 <<= 2;
    m2 <<= 2;
    ql += 32;
  }
}

// Signed scale search x ~ scale * L, L in [-nmax, nmax) weighted by x^2 (make_qx_quants with
// rmse_type 1). L receives levels shifted by +nmax.
float SearchScaleSigned(int n, int nmax, const float* x, uint8_t* L) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); max = x[i]; }
  }
  if (amax < 1e-30f) {
    std::fill(L, L + n, static_cast<uint8_t>(nmax));
    return 0.0f;
  }
  auto levels = [&](float iscale, float* sumlx, float* suml2, uint8_t* out) {
    *sumlx = 0;
    *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
      if (out) out[i] = static_cast<uint8_t>(l + nmax);
    }
  };
  float sumlx, suml2;
  levels(-nmax / max, &sumlx, &suml2, L);
  float scale = suml2 > 0 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(nmax + 0.1f * is) / max;
    levels(iscale, &sumlx, &suml2, nullptr);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      levels(iscale, &sumlx, &suml2, L);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void QuantQ6K(const float* x, uint8_t* b) {
  uint8_t L[256];
  float scales[16], max_scale = 0, max_abs = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = SearchScaleSigned(16, 32, x + 16 * ib, L + 16 * ib);
    if (std::fabs(scales[ib]) > max_abs) { max_abs = std::fabs(scales[ib]); max_scale = scales[ib]; }
  }
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  int8_t* sc = reinterpret_cast<int8_t*>(b + 192);
  if (max_abs == 0.0f) {
    std::memset(b, 0, 210);
    return;
  }
  const float iscale = -128.0f / max_scale;
  PutHalf(b + 208, 1.0f / iscale);
  const float d = RoundHalf(1.0f / iscale);
  for (int ib = 0; ib < 16; ++ib) {
    sc[ib] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[ib])));
    const float dj = d * sc[ib];
    if (dj == 0.0f) {
      std::fill(L + 16 * ib, L + 16 * ib + 16, 32);
      continue;
    }
    for (int l = 0; l < 16; ++l) {
      L[16 * ib + l] = static_cast<uint8_t>(std::clamp(NearestInt(x[16 * ib + l] / dj), -32, 31) + 32);
    }
  }
  for (int j = 0; j < 256; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
      ql[l] = static_cast<uint8_t>((q1 & 0x0F) | ((q3 & 0x0F) << 4));
      ql[l + 32] = static_cast<uint8_t>((q2 & 0x0F) | ((q4 & 0x0F) << 4));
      qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

}  // namespace

Status QuantizeRow(DType t, const float* src, uint8_t* dst, int64_t n) {
  if (!IsBlockQuantized(t)) return absl::InvalidArgumentError(StrCat("quantize: ", DTypeName(t), " is not a block type"));
  const DTypeInfo& info = GetDTypeInfo(t);
  if (n % info.block_elems != 0) {
    return absl::InvalidArgumentError(StrCat("quantize: row of ", n, " values is not a multiple of ", DTypeName(t),
                                             "'s block of ", info.block_elems));
  }
  for (int64_t i = 0; i < n / info.block_elems; ++i) {
    const float* x = src + i * info.block_elems;
    uint8_t* b = dst + i * info.block_bytes;
    switch (t) {
      case DType::kQ8_0: QuantQ8_0(x, b); break;
      case DType::kQ4_0: QuantSymmetric(x, 4, b); break;
      case DType::kQ5_0: QuantSymmetric(x, 5, b); break;
      case DType::kQ4_1: QuantAffine(x, 4, b); break;
      case DType::kQ5_1: QuantAffine(x, 5, b); break;
      case DType::kQ4_K: QuantQ4K(x, b); break;
      case DType::kQ5_K: QuantQ5K(x, b); break;
      case DType::kQ6_K: QuantQ6K(x, b); break;
      default: break;
    }
  }
  return absl::OkStatus();
}

}  // namespace ds
