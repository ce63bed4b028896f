#include "runtime/cpu/onednn_matmul.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

namespace ds::cpu {
namespace {

using dnnl::memory;
// (m, k, ldx, n, w_nk, ldw, ldy, accumulate, bf16 inputs); a dimension or stride is kAny when it is
// given at run time.
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, int64_t, int64_t, bool, bool>;
constexpr int64_t kAny = DNNL_RUNTIME_DIM_VAL;
// Primitives kept (least recently used dropped first): bf16 primitives are built per row count.
constexpr size_t kMaxCachedPrimitives = 512;

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct Cached {
  dnnl::matmul prim;
  uint64_t last_use = 0;
};

dnnl::matmul CreatePrimitive(const Key& key) {
  auto [m, k, ldx, n, w_nk, ldw, ldy, accumulate, bf16] = key;
  const auto in_type = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  memory::desc src({m, k}, in_type, memory::dims{ldx, 1});
  memory::desc wei({k, n}, in_type, w_nk ? memory::dims{1, ldw} : memory::dims{ldw, 1});
  memory::desc dst({m, n}, memory::data_type::f32, memory::dims{ldy, 1});
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, Engine()));
}

// Creating a primitive costs far more than running a small one, hence the cache.
dnnl::matmul GetPrimitive(const Key& key) {
  static std::mutex mu;
  static std::map<Key, Cached> cache;
  static uint64_t uses = 0;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() >= kMaxCachedPrimitives) {
      cache.erase(std::min_element(cache.begin(), cache.end(), [](const auto& a, const auto& b) {
        return a.second.last_use < b.second.last_use;
      }));
    }
    it = cache.emplace(key, Cached{CreatePrimitive(key)}).first;
  }
  it->second.last_use = ++uses;
  return it->second.prim;
}

// Runs the cached primitive for f32 or bf16 inputs (f32 output either way).
Status RunGemm(bool bf16, const void* x, int64_t m, int64_t k, int64_t ldx, const void* w, bool w_nk,
               int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate, bool any_shape = false) {
  if (m == 0 || n == 0) return absl::OkStatus();
  try {
    // f32 primitives take M at run time (oneDNN's jit sgemm, as fast as a fixed M). bf16 ones are
    // built for each M: a run-time M selects a plain jit gemm, 1.5x slower than the brgemm kernels
    // at the 48-row products of a prefill's MoE experts (bench/matmul_bench.cpp).
    const Key key = any_shape ? Key{kAny, kAny, kAny, kAny, w_nk, kAny, kAny, accumulate, bf16}
                              : Key{bf16 ? m : kAny, k, ldx, n, w_nk, ldw, ldy, accumulate, bf16};
    dnnl::matmul prim = GetPrimitive(key);
    const auto in_type = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    memory src_m({{m, k}, in_type, memory::dims{ldx, 1}}, Engine(), const_cast<void*>(x));
    memory wei_m({{k, n}, in_type, w_nk ? memory::dims{1, ldw} : memory::dims{ldw, 1}}, Engine(),
                 const_cast<void*>(w));
    memory dst_m({{m, n}, memory::data_type::f32, memory::dims{ldy, 1}}, Engine(), y);
    dnnl::stream stream(Engine());
    prim.execute(stream, {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}});
    stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(StrCat("oneDNN ", bf16 ? "bf16" : "f32", " matmul failed: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

Status OneDnnGemmF32(const float* x, int64_t m, int64_t k, int64_t ldx, const float* w, bool w_nk,
                     int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate) {
  return RunGemm(false, x, m, k, ldx, w, w_nk, ldw, n, y, ldy, accumulate);
}

Status OneDnnGemmF32AnyShape(const float* x, int64_t m, int64_t k, int64_t ldx, const float* w, bool w_nk,
                             int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate) {
  return RunGemm(false, x, m, k, ldx, w, w_nk, ldw, n, y, ldy, accumulate, /*any_shape=*/true);
}

Status OneDnnGemmBf16(const uint16_t* x, int64_t m, int64_t k, int64_t ldx, const uint16_t* w, bool w_nk,
                      int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate) {
  return RunGemm(true, x, m, k, ldx, w, w_nk, ldw, n, y, ldy, accumulate);
}

bool OneDnnBf16MatmulAvailable() {
  static const bool available = [] {
    try {  // every layout and post-op combination the bf16 callers use
      for (bool w_nk : {false, true}) {
        for (bool accumulate : {false, true}) {
          CreatePrimitive(Key{4, 32, 32, 16, w_nk, w_nk ? 32 : 16, 16, accumulate, true});
          CreatePrimitive(Key{kAny, kAny, kAny, kAny, w_nk, kAny, kAny, accumulate, true});
        }
      }
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return available;
}

Status OneDnnGemmBf16AnyShape(const uint16_t* x, int64_t m, int64_t k, int64_t ldx, const uint16_t* w, bool w_nk,
                              int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate) {
  return RunGemm(true, x, m, k, ldx, w, w_nk, ldw, n, y, ldy, accumulate, /*any_shape=*/true);
}

}  // namespace ds::cpu
