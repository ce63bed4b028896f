// Read-only memory-mapped file: the zero-copy backing store of checkpoint tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace ds {

class MappedFile {
 public:
  // Maps `path` read-only. Errors name the file (missing, unreadable, a directory).
  static StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // True if the mapped file was truncated or written to since it was mapped (its size or
  // modification time differ). Truncation makes touching pages past the new end raise SIGBUS and
  // in-place writes change the weights under a running model, so callers check before long work.
  // A file replaced by rename is not "changed": the mapping keeps the old, intact contents.
  bool ChangedOnDisk() const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;
  int64_t mtime_ns_ = 0;
};

// Reads a whole (small) file into a string. Errors name the file.
StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace ds
