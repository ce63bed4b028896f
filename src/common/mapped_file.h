// Read-only memory-mapped file: the zero-copy backing store of checkpoint tensors.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

  // Replaces the pages of the file mapping holding `ranges` ((offset, length) pairs; rounded out to
  // whole pages, gaps under 2 MiB merged) with anonymous memory holding the same bytes, read with
  // pread, at the same addresses, transparent huge pages requested. Pointers into data() stay
  // valid and read the same bytes. Why: streaming weights from page-cache pages measured 0.6-0.9x
  // the speed of anonymous huge-page memory here (docs/performance.md). Pages outside `ranges` stay
  // mapped. `on_bytes` (may be empty) gets the bytes read so far. Call before sharing the file.
  Status ReadIntoMemory(std::vector<std::pair<uint64_t, uint64_t>> ranges,
                        const std::function<void(uint64_t)>& on_bytes) const;
  // True once every page was read into memory: the bytes no longer depend on the file on disk.
  bool in_memory() const { return in_memory_; }
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
  // Set once by ReadIntoMemory (const: the bytes and addresses seen by readers do not change).
  mutable std::atomic<bool> in_memory_{false};
};

// Address ranges as (first byte, length).
using AddressRanges = std::vector<std::pair<const uint8_t*, size_t>>;

// The parts of `ranges` inside `file`'s bytes, as (offset, length) pairs for ReadIntoMemory.
std::vector<std::pair<uint64_t, uint64_t>> FileOffsets(const MappedFile& file, const AddressRanges& ranges);

// Bytes the kernel reports it could give this process without swapping (MemAvailable of
// /proc/meminfo; free pages where that is missing).
uint64_t AvailableMemoryBytes();

// Reads a whole (small) file into a string. Errors name the file.
StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace ds
