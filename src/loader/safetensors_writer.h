// Writes safetensors files (used by `deepseek logits` and by tests that build checkpoints).
#pragma once

#include <cstdio>
#include <memory>
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

// Writes one safetensors file without holding its data: the header (every name, dtype and shape)
// goes first, then the tensors' bytes in the declared order, in as many Append calls as wanted.
class SafetensorsStreamWriter {
 public:
  struct Entry {
    std::string name;
    std::string dtype;  // safetensors spelling
    std::vector<int64_t> shape;
  };
  // Bytes `e` takes in the data section, or an error for an unknown dtype / negative dimension.
  static StatusOr<uint64_t> ByteSize(const Entry& e);
  // Creates `path` (replacing it) and writes the header.
  static StatusOr<std::unique_ptr<SafetensorsStreamWriter>> Create(const std::string& path,
                                                                   const std::vector<Entry>& entries);
  ~SafetensorsStreamWriter();
  // Appends the next `n` bytes of tensor data; fails past the declared total.
  Status Append(const void* data, size_t n);
  // Checks every declared byte was written and closes the file.
  Status Close();

 private:
  SafetensorsStreamWriter() = default;
  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t written_ = 0, total_ = 0;
};

}  // namespace ds
