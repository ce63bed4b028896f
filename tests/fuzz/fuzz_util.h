// Shared helpers for the libFuzzer targets: a per-process scratch folder (the loaders take paths)
// and splitting one input into several fields.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace ds::fuzz {

// A folder under $TMPDIR that lives as long as the process (removed at exit).
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ds_fuzz_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    static std::string keep = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(keep, ec);
    });
    return tmpl;
  }();
  return dir;
}

inline void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Splits `in` at each occurrence of kFieldSeparator into at most `n` fields (the last one keeps
// the rest). Seeds are written with the separator so mutations land inside fields.
constexpr std::string_view kFieldSeparator = "\n#####\n";
inline std::vector<std::string_view> SplitFields(std::string_view in, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    size_t at = in.find(kFieldSeparator);
    if (at == std::string_view::npos) break;
    out.push_back(in.substr(0, at));
    in.remove_prefix(at + kFieldSeparator.size());
  }
  out.push_back(in);
  while (out.size() < n) out.push_back({});
  return out;
}

// The test data folder: $DS_TEST_DATA_DIR, else the source tree's tests/data.
inline std::string DataDir() {
  const char* env = std::getenv("DS_TEST_DATA_DIR");
  return env != nullptr ? std::string(env) : std::string(DS_TEST_DATA_DIR);
}

}  // namespace ds::fuzz
