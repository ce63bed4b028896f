// Element types and devices known to the runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ds {

// Storage types of tensors. Block-quantized types (GGUF) store `block_elems` values in
// `block_bytes`; all others store one element per `block_bytes` bytes.
enum class DType : uint8_t {
  kF32, kF16, kBF16,
  kF8E4M3,  // OCP e4m3fn; DeepSeek checkpoints pair it with 128x128 f32 block scales
  kI8, kU8, kI16, kI32, kI64, kBool, kF64,
  kQ8_0, kQ4_0, kQ4_K, kQ5_K, kQ6_K,  // GGUF block formats (runtime/quant_blocks.h)
  kQ5_0, kQ5_1, kQ4_1,                 // GGUF fallbacks llama-quantize picks for rows not a multiple of 256
};

struct DTypeInfo {
  std::string_view name;
  int64_t block_elems;  // elements per block (1 for scalar types)
  int64_t block_bytes;  // bytes per block
};

const DTypeInfo& GetDTypeInfo(DType t);
inline std::string_view DTypeName(DType t) { return GetDTypeInfo(t).name; }
// Bytes needed for `elems` elements; elems must be a multiple of the block size.
int64_t DTypeBytes(DType t, int64_t elems);
// True for the GGUF block formats (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k).
inline bool IsBlockQuantized(DType t) { return t >= DType::kQ8_0; }
// Parses a safetensors dtype string ("F32", "BF16", "F8_E4M3", ...).
std::optional<DType> DTypeFromSafetensors(std::string_view s);

enum class Device : uint8_t { kCpu = 0, kCuda = 1 };
std::string_view DeviceName(Device d);

}  // namespace ds
