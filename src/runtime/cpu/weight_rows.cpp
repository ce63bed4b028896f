#include "runtime/cpu/weight_rows.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/float_convert.h"
#include "runtime/cpu/cpu_isa.h"

namespace ds::cpu {

bool HasAvx512() { return ActiveCpuIsa() == CpuIsa::kAvx512; }
bool HasAvx2() { return ActiveCpuIsa() >= CpuIsa::kAvx2; }

bool Q8ActivationSupports(DType t) {
  switch (t) {
    case DType::kQ8_0: case DType::kQ4_0: case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1:
    case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K: return true;
    default: return false;
  }
}

// AVX2 or better. AVX-512 without VNNI (Skylake-X) takes the AVX2 kernels.
bool HasQ8ActivationKernels() { return HasAvx2(); }
bool HasBf16ActivationKernels() { return HasAvx512() && CpuHasAvx512Bf16(); }

namespace {
bool UseQ8ActivationAvx512() { return HasAvx512() && CpuHasAvx512Vnni(); }
}  // namespace

// Rows longer than this stay on the exact path: their bf16 x outgrows half of L1 and is re-read
// from L2 for every row (an f8_e4m3 trial of the kernel fell from 22 to 13-15 GB/s per core at
// 7168-8960 columns for that reason: 22 with x confined to 4 KiB).
constexpr int64_t kBf16ActivationMaxColumns = 8192;

bool Bf16ActivationSupports(const WeightRows& w) {
  return w.dtype == DType::kBF16 && w.cols <= kBf16ActivationMaxColumns && HasBf16ActivationKernels();
}

void QuantizeActivation(const float* x, int64_t n, int8_t* q, float* d, float* sum) {
  if (UseQ8ActivationAvx512()) return QuantizeActivationAvx512(x, n, q, d, sum);
  QuantizeActivationAvx2(x, n, q, d, sum);
}

bool LimbActivationSupports(DType t) { return t != DType::kQ8_0 && Q8ActivationSupports(t) && HasAvx2(); }

void GemvRowsQ8Activation(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                          bool accumulate) {
  if (UseQ8ActivationAvx512()) return GemvRowsQ8ActivationAvx512(w, r0, r1, a, y, accumulate);
  GemvRowsQ8ActivationAvx2(w, r0, r1, a, y, accumulate);
}

StatusOr<WeightRows> DescribeWeight(const Tensor& w) {
  if (w.rank() != 2 || !w.is_contiguous()) {
    return absl::InvalidArgumentError(StrCat("matmul weight must be a contiguous matrix, got ", w.DebugString()));
  }
  if (IsBlockQuantized(w.dtype()) && w.dim(1) % GetDTypeInfo(w.dtype()).block_elems != 0) {
    return absl::InvalidArgumentError(StrCat("matmul weight ", w.DebugString(), ": row length is not a multiple of the ",
                                             DTypeName(w.dtype()), " block size"));
  }
  WeightRows d{w.dtype(), static_cast<const uint8_t*>(w.raw()), w.dim(0), w.dim(1),
               DTypeBytes(w.dtype(), w.dim(1))};
  if (w.dtype() == DType::kF8E4M3 && w.block_scales() != nullptr) {
    const Tensor& s = *w.block_scales();
    if (s.dtype() != DType::kF32 || s.rank() != 2 || w.block_size() <= 0) {
      return absl::InvalidArgumentError("FP8 block scales must be a 2-D f32 tensor");
    }
    d.scales = s.data<float>();
    d.scale_cols = s.dim(1);
    d.block = w.block_size();
    d.scale_row0 = w.scale_row0();
  }
  return d;
}

namespace {
inline float LoadScalar(const WeightRows& w, const uint8_t* row, int64_t c) {
  switch (w.dtype) {
    case DType::kF32: return reinterpret_cast<const float*>(row)[c];
    case DType::kBF16: return Bf16ToF32(reinterpret_cast<const uint16_t*>(row)[c]);
    case DType::kF16: return F16ToF32(reinterpret_cast<const uint16_t*>(row)[c]);
    case DType::kF8E4M3: return F8E4M3ToF32(row[c]);
    default: return 0.0f;
  }
}
}  // namespace

void DecodeRow(const WeightRows& w, int64_t r, float* out) {
  if (IsBlockQuantized(w.dtype)) return DecodeRowQuant(w, r, out);
  if (HasAvx512() && w.dtype != DType::kF32) return DecodeRowAvx512(w, r, out);
  if (HasAvx2() && w.dtype != DType::kF32) return DecodeRowAvx2(w, r, out);
  const uint8_t* row = w.base + r * w.row_bytes;
  for (int64_t c = 0; c < w.cols; ++c) out[c] = LoadScalar(w, row, c);
  if (w.scales != nullptr) {
    const float* srow = ScaleRow(w, r);
    for (int64_t c = 0; c < w.cols; ++c) out[c] *= srow[c / w.block];
  }
}

void DotRow(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  if (IsBlockQuantized(w.dtype)) return DotRowQuant(w, r, x, m, ldx, out);
  if (HasAvx512()) return DotRowAvx512(w, r, x, m, ldx, out);
  if (HasAvx2()) return DotRowAvx2(w, r, x, m, ldx, out);
  const uint8_t* row = w.base + r * w.row_bytes;
  const int64_t block = w.scales ? w.block : w.cols;
  const float* srow = ScaleRow(w, r);
  for (int64_t i = 0; i < m; ++i) {
    float total = 0.0f;
    for (int64_t c0 = 0; c0 < w.cols; c0 += block) {
      const int64_t c1 = std::min(w.cols, c0 + block);
      float acc = 0.0f;
      for (int64_t c = c0; c < c1; ++c) acc += x[i * ldx + c] * LoadScalar(w, row, c);
      total += srow ? acc * srow[c0 / block] : acc;
    }
    out[i] = total;
  }
}

void F32ToBf16Row(const float* x, int64_t n, uint16_t* out) {
  if (HasBf16ActivationKernels()) return F32ToBf16Avx512Bf16(x, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = F32ToBf16(x[i]);
}

int Fp8XExponent(const float* srow, const float* block_max, int64_t blocks) {
  double largest = 0;  // |s * x| is exact in double
  for (int64_t b = 0; b < blocks; ++b) largest = std::max(largest, std::fabs(double(srow[b]) * block_max[b]));
  return largest > 0 && std::isfinite(largest) ? 125 - std::ilogb(largest) : 0;
}

}  // namespace ds::cpu
