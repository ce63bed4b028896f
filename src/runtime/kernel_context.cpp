#include "runtime/kernel_context.h"

#include <omp.h>

#include "common/slot_buffers.h"
#include "runtime/cpu/cpu_isa.h"

namespace ds {

KernelContext::KernelContext(int threads, ComputePrecision precision)
    : threads_(threads > 0 ? threads : omp_get_max_threads()), precision_(precision) {
  // Reads DS_CPU_ISA now, before any kernel can reach oneDNN, which it may cap (cpu_isa.h).
  cpu::ActiveCpuIsa();
  // oneDNN sizes its OpenMP regions from the calling thread's default, so one setting governs
  // both our parallel loops and its GEMMs.
  if (threads > 0) omp_set_num_threads(threads);
}

float* KernelContext::Scratch(int slot, size_t n) { return GrowSlot(scratch_, slot, n); }

int32_t* KernelContext::ScratchInts(int slot, size_t n) { return GrowSlot(scratch_ints_, slot, n); }

size_t KernelContext::scratch_bytes() const { return SlotBytes(scratch_) + SlotBytes(scratch_ints_); }

}  // namespace ds
