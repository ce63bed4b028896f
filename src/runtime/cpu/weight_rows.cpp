#include "runtime/cpu/weight_rows.h"

#include "common/float_convert.h"
#include "runtime/cpu/cpu_isa.h"

namespace ds::cpu {

bool HasAvx512() { return ActiveCpuIsa() == CpuIsa::kAvx512; }
bool HasAvx2() { return ActiveCpuIsa() >= CpuIsa::kAvx2; }

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
    const float* srow = w.scales + ((w.scale_row0 + r) / w.block) * w.scale_cols;
    for (int64_t c = 0; c < w.cols; ++c) out[c] *= srow[c / w.block];
  }
}

void DotRow(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out) {
  if (IsBlockQuantized(w.dtype)) return DotRowQuant(w, r, x, m, ldx, out);
  if (HasAvx512()) return DotRowAvx512(w, r, x, m, ldx, out);
  if (HasAvx2()) return DotRowAvx2(w, r, x, m, ldx, out);
  const uint8_t* row = w.base + r * w.row_bytes;
  const int64_t block = w.scales ? w.block : w.cols;
  const float* srow = w.scales ? w.scales + ((w.scale_row0 + r) / w.block) * w.scale_cols : nullptr;
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
  if (HasAvx512() && CpuHasAvx512Bf16()) return F32ToBf16Avx512Bf16(x, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = F32ToBf16(x[i]);
}

}  // namespace ds::cpu
