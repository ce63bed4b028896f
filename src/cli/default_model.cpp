#include "cli/default_model.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace ds::cli {
namespace fs = std::filesystem;

namespace {

constexpr char kDemoModel[] = "deepseek-demo";

// The running binary's folder (Linux /proc/self/exe), or "" when it cannot be read.
std::string ExecutableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::vector<std::string> DefaultModelCandidates() {
  std::vector<std::string> out;
  // An explicit $DEEPSEEK_MODEL is the only candidate: a wrong path should fail, not fall through.
  if (const char* env = std::getenv("DEEPSEEK_MODEL"); env != nullptr && *env != '\0') return {env};
  if (std::string exe = ExecutableDir(); !exe.empty()) {
    out.push_back((fs::path(exe) / ".." / "share" / "deepseek" / "models" / kDemoModel).lexically_normal().string());
  }
#ifdef DS_INSTALL_DATA_DIR
  out.push_back((fs::path(DS_INSTALL_DATA_DIR) / "models" / kDemoModel).string());
#endif
#ifdef DS_SOURCE_DIR
  out.push_back((fs::path(DS_SOURCE_DIR) / "models" / kDemoModel).string());
#endif
  return out;
}

std::string FindDefaultModel() {
  std::error_code ec;
  for (const std::string& dir : DefaultModelCandidates()) {
    if (fs::is_regular_file(fs::path(dir) / "config.json", ec)) return dir;
  }
  return "";
}

}  // namespace ds::cli
