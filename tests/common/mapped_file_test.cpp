// MappedFile: mapping, and ReadIntoMemory moving the bytes into anonymous memory in place.
#include "common/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ds {
namespace {

namespace fs = std::filesystem;

// A file of `n` bytes whose byte i is (i * 7 + i / 4096) mod 256 (not page-periodic).
std::string WritePatternFile(size_t n) {
  const fs::path p = fs::temp_directory_path() / ("ds_mapped_" + std::to_string(::getpid()) + "_" + std::to_string(n));
  std::ofstream out(p, std::ios::binary);
  for (size_t i = 0; i < n; ++i) out.put(static_cast<char>((i * 7 + i / 4096) & 0xff));
  return p.string();
}

bool HoldsPattern(const uint8_t* d, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (d[i] != static_cast<uint8_t>((i * 7 + i / 4096) & 0xff)) return false;
  }
  return true;
}

TEST(MappedFile, ReadIntoMemoryKeepsAddressAndBytesAndDetachesFromTheFile) {
  for (size_t n : {size_t{1}, size_t{4095}, size_t{3} << 20 | 123}) {
    SCOPED_TRACE(n);
    const std::string path = WritePatternFile(n);
    auto f = MappedFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status();
    const uint8_t* before = (*f)->data();
    ASSERT_TRUE(HoldsPattern(before, n));
    EXPECT_FALSE((*f)->in_memory());
    uint64_t reported = 0;
    ASSERT_TRUE((*f)->ReadIntoMemory({{0, n}}, [&](uint64_t done) { reported = done; }).ok());
    EXPECT_TRUE((*f)->in_memory());
    EXPECT_EQ(reported, n);
    EXPECT_EQ((*f)->data(), before);
    EXPECT_TRUE(HoldsPattern((*f)->data(), n));
    fs::resize_file(path, 0);  // a mapped file would now raise SIGBUS on access
    EXPECT_FALSE((*f)->ChangedOnDisk());
    EXPECT_TRUE(HoldsPattern((*f)->data(), n));
    fs::remove(path);
  }
}

// Only the pages holding the ranges are read; the rest stays mapped, so the file still matters.
TEST(MappedFile, ReadIntoMemoryOfSomeRangesKeepsTheRestMapped) {
  const size_t n = size_t{16} << 20;
  const std::string path = WritePatternFile(n);
  auto f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  const uint8_t* before = (*f)->data();
  uint64_t reported = 0;
  // Two ranges 1 KiB apart (merged), and one 8 MiB later: pages [0, 12 KiB) and [10 MiB, +4 KiB).
  ASSERT_TRUE((*f)->ReadIntoMemory({{100, 4000}, {5096, 5000}, {10 << 20, 10}}, [&](uint64_t d) { reported = d; }).ok());
  EXPECT_EQ(reported, 3 * 4096u + 4096u);
  EXPECT_EQ((*f)->data(), before);
  EXPECT_FALSE((*f)->in_memory());
  EXPECT_TRUE(HoldsPattern((*f)->data(), n));
  const auto offsets = FileOffsets(**f, {{before + 10, 20}, {before - 100, 50}, {before + n - 5, 100}});
  ASSERT_EQ(offsets.size(), 2u);  // the range before the file is dropped, the one past its end clipped
  EXPECT_EQ(offsets[0], (std::pair<uint64_t, uint64_t>{10, 20}));
  EXPECT_EQ(offsets[1], (std::pair<uint64_t, uint64_t>{n - 5, 5}));
  fs::resize_file(path, 4096);
  EXPECT_TRUE((*f)->ChangedOnDisk());
  fs::remove(path);
}

TEST(MappedFile, MappedFileNoticesTruncation) {
  const std::string path = WritePatternFile(8192);
  auto f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE((*f)->ChangedOnDisk());
  fs::resize_file(path, 4096);
  EXPECT_TRUE((*f)->ChangedOnDisk());
  fs::remove(path);
}

TEST(MappedFile, AvailableMemoryIsPlausible) {
  const uint64_t avail = AvailableMemoryBytes();
  EXPECT_GT(avail, uint64_t{1} << 20);
  EXPECT_LT(avail, uint64_t{1} << 50);
}

}  // namespace
}  // namespace ds
