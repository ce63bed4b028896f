#include "runtime/kernel_context.h"

#include <omp.h>

namespace ds {

KernelContext::KernelContext(int threads, ComputePrecision precision)
    : threads_(threads > 0 ? threads : omp_get_max_threads()), precision_(precision) {
  // oneDNN sizes its OpenMP regions from the calling thread's default, so one setting governs
  // both our parallel loops and its GEMMs.
  if (threads > 0) omp_set_num_threads(threads);
}

float* KernelContext::Scratch(int slot, size_t n) {
  if (static_cast<size_t>(slot) >= scratch_.size()) scratch_.resize(slot + 1);
  if (scratch_[slot].size() < n) scratch_[slot].resize(n);
  return scratch_[slot].data();
}

int32_t* KernelContext::ScratchInts(int slot, size_t n) {
  if (static_cast<size_t>(slot) >= scratch_ints_.size()) scratch_ints_.resize(slot + 1);
  if (scratch_ints_[slot].size() < n) scratch_ints_[slot].resize(n);
  return scratch_ints_[slot].data();
}

size_t KernelContext::scratch_bytes() const {
  size_t b = 0;
  for (const auto& v : scratch_) b += v.capacity() * sizeof(float);
  for (const auto& v : scratch_ints_) b += v.capacity() * sizeof(int32_t);
  return b;
}

}  // namespace ds
