#include "runtime/memory_bandwidth.h"

#include <sys/mman.h>

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace ds {
namespace {

volatile uint64_t g_sink = 0;

bool UseAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Sums every 8-byte word of [begin, end) with 8 independent accumulators so the loop is bound
// by loads, not by the add chain; the result is consumed so the reads cannot be elided.
uint64_t SumWords(const uint64_t* begin, const uint64_t* end) {
  uint64_t acc[8] = {};
  for (const uint64_t* p = begin; p + 8 <= end; p += 8) {
    for (int i = 0; i < 8; ++i) acc[i] += p[i];
  }
  uint64_t s = 0;
  for (uint64_t a : acc) s += a;
  return s;
}

// The same with 32-byte loads: fewer instructions per byte, so that on a CPU shared with other
// processes the sweep stays bound by memory rather than by its share of instructions (with the
// 8-byte loop a decode step could outrun the "bandwidth").
__attribute__((target("avx2"))) uint64_t SumWordsAvx2(const uint64_t* begin, const uint64_t* end) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  const uint64_t* p = begin;
  for (; p + 16 <= end; p += 16) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 4)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 8)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 12)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + SumWords(p, end);
}

// One pass over the buffer with a static split; returns seconds.
double ReadPass(const uint64_t* words, size_t n, int threads, uint64_t& sink) {
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    const size_t nt = static_cast<size_t>(omp_get_num_threads()), id = static_cast<size_t>(omp_get_thread_num());
    const size_t per = (n / nt) & ~size_t{7};
    const size_t begin = id * per, end = id + 1 == nt ? n : begin + per;
    total += UseAvx2() ? SumWordsAvx2(words + begin, words + end) : SumWords(words + begin, words + end);
  }
  sink += total;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

StatusOr<BandwidthResult> MeasureReadBandwidth(size_t bytes, int threads, int passes) {
  bytes &= ~size_t{4095};
  if (bytes == 0 || passes <= 0 || threads <= 0) {
    return absl::InvalidArgumentError("bandwidth: buffer size, passes and threads must be positive");
  }
  std::unique_ptr<void, FreeDeleter> buf(std::aligned_alloc(size_t{2} << 20, (bytes + (size_t{2} << 20) - 1) & ~((size_t{2} << 20) - 1)));
  if (!buf) return absl::ResourceExhaustedError(StrCat("bandwidth: cannot allocate ", bytes, " bytes"));
  // Huge pages where the kernel grants them: the yardstick is the best read rate, and model weights
  // read into memory (WeightPlacement::kReadIntoMemory) get them too.
  ::madvise(buf.get(), bytes, MADV_HUGEPAGE);
  auto* words = static_cast<uint64_t*>(buf.get());
  const size_t n = bytes / 8;
  // First touch from the same threads and split as the reads (pages land near their reader).
#pragma omp parallel for schedule(static) num_threads(threads)
  for (size_t i = 0; i < n; ++i) words[i] = i;
  uint64_t sink = 0;
  ReadPass(words, n, threads, sink);  // warm-up: TLB, frequency
  BandwidthResult r;
  r.bytes = bytes;
  r.passes = passes;
  double sum = 0;
  for (int p = 0; p < passes; ++p) {
    const double gb_s = static_cast<double>(bytes) / ReadPass(words, n, threads, sink) / 1e9;
    r.best_gb_s = std::max(r.best_gb_s, gb_s);
    sum += gb_s;
  }
  r.mean_gb_s = sum / passes;
  g_sink = sink;  // keeps the sums, and so the reads, observable
  return r;
}

}  // namespace ds
