// Measures the machine's memory read bandwidth the way decode uses it: a sweep over a buffer far
// larger than the caches, split statically across the same number of threads as the kernels.
#pragma once

#include <cstddef>

#include "common/status.h"

namespace ds {

struct BandwidthResult {
  double best_gb_s = 0;  // fastest pass, 1e9 bytes/s
  double mean_gb_s = 0;  // mean over the passes
  int passes = 0;
  size_t bytes = 0;      // buffer size swept per pass
};

// Reads `bytes` (rounded down to 4 KiB) `passes` times with `threads` OpenMP threads after one
// untimed pass that faults the pages in. The buffer is freed before returning. ResourceExhausted
// if it cannot be allocated.
StatusOr<BandwidthResult> MeasureReadBandwidth(size_t bytes, int threads, int passes = 5);

}  // namespace ds
