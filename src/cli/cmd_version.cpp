// `deepseek version`: prints the library version.
#include <cstdio>

#include "cli/commands.h"
#include "deepseek/version.h"

namespace ds::cli {

int RunVersion(int argc, char** argv) {
  std::printf("deepseek %s\n", deepseek::Version());
  return 0;
}

}  // namespace ds::cli
