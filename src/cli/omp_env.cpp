#include "cli/omp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace ds::cli {

void PreferShortOmpSpins(char** argv) {
  // The user's choice stands.
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0 || setenv("GOMP_SPINCOUNT", "10000", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with libgomp's default
}

}  // namespace ds::cli
