// Writes safetensors files (used by `deepseek logits` and by tests that build checkpoints).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/dtype.h"

namespace ds {

struct SafetensorsTensorData {
  std::string name;
  std::string dtype;  // safetensors spelling: "F32", "BF16", "I32", "F8_E4M3", ...
  std::vector<int64_t> shape;
  std::string bytes;  // raw little-endian data
};

// Serializes the tensors (in the given order) to `path`, replacing it. Errors name the file.
Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsTensorData>& tensors);
// The file contents as a string (for in-memory use and tests).
std::string SerializeSafetensors(const std::vector<SafetensorsTensorData>& tensors);

}  // namespace ds
