#include "cli/omp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace ds::cli {

void PreferPassiveOmpWaits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's choice stands
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with libgomp's default
}

}  // namespace ds::cli
