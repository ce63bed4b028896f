#include "common/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ds {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t PageRounded(size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

// Reserves `bytes` of address space starting at an address congruent to `like` modulo 2 MiB (so
// huge pages moved between the two stay whole), unmapping the slack around it. nullptr on failure.
uint8_t* ReserveCongruent(size_t bytes, int prot, const void* like) {
  void* p = ::mmap(nullptr, bytes + kHugePage, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* raw = static_cast<uint8_t*>(p);
  const uintptr_t want = reinterpret_cast<uintptr_t>(like) & (kHugePage - 1);
  uint8_t* at = raw + ((want - (reinterpret_cast<uintptr_t>(raw) & (kHugePage - 1))) & (kHugePage - 1));
  if (at > raw) ::munmap(raw, at - raw);
  if (const size_t tail = kHugePage - (at - raw); tail > 0) ::munmap(at + bytes, tail);
  return at;
}

// Page-aligned (offset, length) segments covering `ranges` within [0, span), sorted, with gaps
// under 2 MiB merged (fewer, larger huge-page-friendly moves for a little extra reading).
std::vector<std::pair<size_t, size_t>> Segments(std::vector<std::pair<uint64_t, uint64_t>> ranges, size_t span) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<size_t, size_t>> out;  // (begin, end) until the final conversion
  for (const auto& [off, len] : ranges) {
    if (len == 0 || off >= span) continue;
    const size_t b = off / page * page, e = std::min<size_t>(span, (std::min<uint64_t>(off + len, span) + page - 1) / page * page);
    if (!out.empty() && b <= out.back().second + kHugePage) {
      out.back().second = std::max(out.back().second, e);
    } else {
      out.emplace_back(b, e);
    }
  }
  for (auto& [b, e] : out) e -= b;
  return out;
}

// Reads `size` bytes at `offset` of `fd` into `dst`, reporting each 64 MiB read to `on_read`.
Status ReadAt(int fd, const std::string& path, uint8_t* dst, size_t offset, size_t size,
              const std::function<void(size_t)>& on_read) {
  constexpr size_t kChunk = size_t{64} << 20;
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, dst + done, std::min(kChunk, size - done), static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return absl::DataLossError(StrCat(path, ": read failed at byte ", offset + done, ": ",
                                        got < 0 ? std::strerror(errno) : "unexpected end of file"));
    }
    done += static_cast<size_t>(got);
    on_read(static_cast<size_t>(got));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::shared_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(StrCat(path, ": no such file"));
    return absl::InvalidArgumentError(StrCat(path, ": cannot open: ", std::strerror(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(StrCat(path, ": not a regular file"));
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->fd_ = fd;
  file->size_ = static_cast<size_t>(st.st_size);
  file->mtime_ns_ = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (file->size_ > 0) {
    // 2 MiB-aligned, so ReadIntoMemory's huge pages keep their alignment when moved here.
    const size_t span = PageRounded(file->size_);
    uint8_t* at = ReserveCongruent(span, PROT_NONE, nullptr);
    void* p = at == nullptr ? MAP_FAILED : ::mmap(at, file->size_, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
      if (at != nullptr) ::munmap(at, span);
      return absl::ResourceExhaustedError(
          StrCat(path, ": mmap of ", file->size_, " bytes failed: ", std::strerror(errno)));
    }
    file->data_ = static_cast<const uint8_t*>(p);
  }
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), PageRounded(size_));
  if (fd_ >= 0) ::close(fd_);
}

Status MappedFile::ReadIntoMemory(std::vector<std::pair<uint64_t, uint64_t>> ranges,
                                  const std::function<void(uint64_t)>& on_bytes) const {
  if (in_memory_ || size_ == 0) return absl::OkStatus();
  const size_t span = PageRounded(size_);
  uint64_t done = 0;
  auto on_read = [&](size_t n) {
    done += n;
    if (on_bytes) on_bytes(done);
  };
  const auto segments = Segments(std::move(ranges), span);
  for (const auto& [off, len] : segments) {
    uint8_t* dst = const_cast<uint8_t*>(data_) + off;
    uint8_t* buf = ReserveCongruent(len, PROT_READ | PROT_WRITE, dst);
    if (buf == nullptr) return absl::ResourceExhaustedError(StrCat(path_, ": cannot allocate ", len, " bytes to read it into"));
    ::madvise(buf, len, MADV_HUGEPAGE);  // advisory: without it the copy still works, in 4 KiB pages
    const size_t readable = std::min(len, size_ - off);  // the last page may extend past the file's end
    if (Status s = ReadAt(fd_, path_, buf, off, readable, on_read); !s.ok()) {
      ::munmap(buf, len);
      return s;
    }
    // Moving the pages over the mapping keeps every address (tensor views) and its bytes.
    ::mprotect(buf, len, PROT_READ);
    if (::mremap(buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
      const int err = errno;
      ::munmap(buf, len);
      return absl::InternalError(StrCat(path_, ": cannot move the read bytes over the mapping: ", std::strerror(err)));
    }
  }
  in_memory_ = segments.size() == 1 && segments[0].first == 0 && segments[0].second == span;
  return absl::OkStatus();
}

std::vector<std::pair<uint64_t, uint64_t>> FileOffsets(const MappedFile& file, const AddressRanges& ranges) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const uint8_t* base = file.data();
  for (const auto& [p, n] : ranges) {
    if (base == nullptr || p + n <= base || p >= base + file.size()) continue;
    const uint8_t* b = std::max(p, base);
    const uint8_t* e = std::min(p + n, base + file.size());
    out.emplace_back(static_cast<uint64_t>(b - base), static_cast<uint64_t>(e - b));
  }
  return out;
}

uint64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  unsigned long long kib = 0;
  while (std::getline(in, line)) {
    if (std::sscanf(line.c_str(), "MemAvailable: %llu kB", &kib) == 1) return kib * 1024;
  }
  return static_cast<uint64_t>(::sysconf(_SC_AVPHYS_PAGES)) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

bool MappedFile::ChangedOnDisk() const {
  if (in_memory_) return false;  // the bytes are ours now: truncation or writes cannot reach them
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return true;
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return static_cast<size_t>(st.st_size) != size_ || mtime_ns != mtime_ns_;
}

StatusOr<std::string> ReadFileToString(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return absl::NotFoundError(StrCat(path, ": no such file"));
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(StrCat(path, ": not a regular file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(StrCat(path, ": cannot open"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ds
