// Streaming GGUF v3 writer: metadata and tensor infos are declared first, the header is written
// once, then each tensor's bytes are appended in declaration order (a tensor can be produced and
// written row by row), so a model is never held in memory twice.
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "loader/gguf.h"

namespace ds {

class GgufWriter {
 public:
  GgufWriter() = default;
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Metadata, written in the order added.
  void Add(const std::string& key, GgufValue value);
  void AddString(const std::string& key, const std::string& v);
  void AddU32(const std::string& key, uint32_t v);
  void AddI32(const std::string& key, int32_t v);
  void AddF32(const std::string& key, float v);
  void AddBool(const std::string& key, bool v);
  void AddStringArray(const std::string& key, const std::vector<std::string>& v);
  void AddI32Array(const std::string& key, const std::vector<int32_t>& v);

  // Declares a tensor; `ne` in GGUF order (innermost first). Returns its byte size.
  uint64_t AddTensor(const std::string& name, DType dtype, std::vector<uint64_t> ne);

  // Creates `path` and writes the header (metadata + tensor infos + padding).
  Status Begin(const std::string& path);
  // Appends bytes of the current tensor; a tensor is complete when its declared size is reached,
  // then padding to the alignment follows and the next tensor starts.
  Status Write(const void* data, size_t bytes);
  // Checks every tensor was written in full and closes the file.
  Status Finish();

 private:
  Status WriteRaw(const void* data, size_t bytes);
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  struct Info {
    std::string name;
    DType dtype;
    std::vector<uint64_t> ne;
    uint64_t nbytes, offset;
  };
  std::vector<Info> tensors_;
  uint64_t data_bytes_ = 0;  // running offset while declaring
  static constexpr uint64_t kAlignment = 32;
  std::string path_;
  std::FILE* file_ = nullptr;
  size_t current_ = 0;       // tensor being written
  uint64_t written_ = 0;     // bytes of it written so far
};

}  // namespace ds
