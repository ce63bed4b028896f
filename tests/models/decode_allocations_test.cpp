// Steady-state decoding allocates nothing: after a warm-up, single-token forwards of each
// architecture (MLA + MoE with softmax and sigmoid/noaux routing, FP8 weights, dense GQA) make no
// heap allocation. The global operator new of this test binary counts while a flag is set.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "models/architectures.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

// Every replaceable non-aligned form, all on malloc/free, so a block is always released by the
// family that allocated it (AddressSanitizer checks that; libraries use the nothrow and array forms).
namespace {
void* CountedAlloc(std::size_t n) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* CountedAllocOrThrow(std::size_t n) {
  if (void* p = CountedAlloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return CountedAllocOrThrow(n); }
void* operator new[](std::size_t n) { return CountedAllocOrThrow(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace ds {
namespace {

class DecodeAllocations : public ::testing::TestWithParam<std::string> {};

TEST_P(DecodeAllocations, SteadyStateDecodeAllocatesNothing) {
  ModelLoadOptions opts;
  opts.max_context = 64;
  opts.threads = 2;
  auto model = LoadCausalLm(std::string(DS_TEST_DATA_DIR) + "/fixtures/" + GetParam(), opts);
  ASSERT_TRUE(model.ok()) << model.status();
  auto seq = (*model)->NewSequence();
  ASSERT_TRUE(seq.ok());
  std::vector<float> logits;
  const std::vector<int32_t> prompt = {5, 17, 300, 2, 999, 42, 7, 11, 13, 19};
  ASSERT_TRUE((*model)->Forward(**seq, prompt, false, logits).ok());
  for (int32_t t : {3, 4}) ASSERT_TRUE((*model)->Forward(**seq, std::span<const int32_t>(&t, 1), false, logits).ok());
  g_allocations = 0;
  g_counting = true;
  for (int32_t t = 20; t < 36; ++t) {
    if (!(*model)->Forward(**seq, std::span<const int32_t>(&t, 1), false, logits).ok()) break;
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0) << "heap allocations during 16 decode steps of " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DecodeAllocations,
                         ::testing::Values("tiny-v2", "tiny-v3", "tiny-v3-fp8", "tiny-qwen2", "tiny-llama"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) c = c == '-' ? '_' : c;
                           return s;
                         });

}  // namespace
}  // namespace ds
