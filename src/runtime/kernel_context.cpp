#include "runtime/kernel_context.h"

#include <omp.h>

namespace ds {

KernelContext::KernelContext(int threads, ComputePrecision precision)
    : threads_(threads > 0 ? threads : omp_get_max_threads()), precision_(precision) {}

float* KernelContext::Scratch(int slot, size_t n) {
  if (static_cast<size_t>(slot) >= scratch_.size()) scratch_.resize(slot + 1);
  if (scratch_[slot].size() < n) scratch_[slot].resize(n);
  return scratch_[slot].data();
}

size_t KernelContext::scratch_bytes() const {
  size_t b = 0;
  for (const auto& v : scratch_) b += v.capacity() * sizeof(float);
  return b;
}

}  // namespace ds
