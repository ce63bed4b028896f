#include "runtime/cpu/onednn_matmul.h"

#include <map>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

namespace ds::cpu {
namespace {

using dnnl::memory;
using Key = std::tuple<int64_t, int64_t, int64_t, bool, int64_t, int64_t, bool>;

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct Cached {
  dnnl::matmul prim;
};

// Creating a primitive costs far more than running a small one, hence the cache.
dnnl::matmul GetPrimitive(const Key& key) {
  static std::mutex mu;
  static std::map<Key, Cached> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second.prim;
  auto [k, ldx, n, w_nk, ldw, ldy, accumulate] = key;
  const memory::dim rt = DNNL_RUNTIME_DIM_VAL;
  memory::desc src({rt, k}, memory::data_type::f32, memory::dims{ldx, 1});
  memory::desc wei({k, n}, memory::data_type::f32, w_nk ? memory::dims{1, ldw} : memory::dims{ldw, 1});
  memory::desc dst({rt, n}, memory::data_type::f32, memory::dims{ldy, 1});
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), attr, Engine());
  dnnl::matmul prim(pd);
  cache.emplace(key, Cached{prim});
  return prim;
}

}  // namespace

Status OneDnnGemmF32(const float* x, int64_t m, int64_t k, int64_t ldx, const float* w, bool w_nk,
                     int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate) {
  if (m == 0 || n == 0) return absl::OkStatus();
  try {
    dnnl::matmul prim = GetPrimitive(Key{k, ldx, n, w_nk, ldw, ldy, accumulate});
    memory src_m({{m, k}, memory::data_type::f32, memory::dims{ldx, 1}}, Engine(), const_cast<float*>(x));
    memory wei_m({{k, n}, memory::data_type::f32, w_nk ? memory::dims{1, ldw} : memory::dims{ldw, 1}},
                 Engine(), const_cast<float*>(w));
    memory dst_m({{m, n}, memory::data_type::f32, memory::dims{ldy, 1}}, Engine(), y);
    dnnl::stream stream(Engine());
    prim.execute(stream, {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}});
    stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(StrCat("oneDNN matmul failed: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace ds::cpu
