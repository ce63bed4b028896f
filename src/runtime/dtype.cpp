#include "runtime/dtype.h"

#include <array>

namespace ds {

const DTypeInfo& GetDTypeInfo(DType t) {
  static const std::array<DTypeInfo, 19> kInfo = {{
      {"f32", 1, 4}, {"f16", 1, 2}, {"bf16", 1, 2}, {"f8_e4m3", 1, 1},
      {"i8", 1, 1}, {"u8", 1, 1}, {"i16", 1, 2}, {"i32", 1, 4}, {"i64", 1, 8}, {"bool", 1, 1},
      {"f64", 1, 8},
      {"q8_0", 32, 34}, {"q4_0", 32, 18}, {"q4_k", 256, 144}, {"q5_k", 256, 176}, {"q6_k", 256, 210},
      {"q5_0", 32, 22}, {"q5_1", 32, 24}, {"q4_1", 32, 20},
  }};
  return kInfo[static_cast<size_t>(t)];
}

int64_t DTypeBytes(DType t, int64_t elems) {
  const DTypeInfo& info = GetDTypeInfo(t);
  return elems / info.block_elems * info.block_bytes;
}

std::optional<DType> DTypeFromSafetensors(std::string_view s) {
  if (s == "F32") return DType::kF32;
  if (s == "F16") return DType::kF16;
  if (s == "BF16") return DType::kBF16;
  if (s == "F8_E4M3") return DType::kF8E4M3;
  if (s == "I8") return DType::kI8;
  if (s == "U8") return DType::kU8;
  if (s == "I16") return DType::kI16;
  if (s == "I32") return DType::kI32;
  if (s == "I64") return DType::kI64;
  if (s == "BOOL") return DType::kBool;
  if (s == "F64") return DType::kF64;
  return std::nullopt;
}

std::string_view DeviceName(Device d) { return d == Device::kCpu ? "cpu" : "cuda"; }

}  // namespace ds
