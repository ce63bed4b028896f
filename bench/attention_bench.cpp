// Attention kernels for one decode step at depth, per layer: GQA (R1-Distill-Qwen-1.5B, -Llama-8B
// shapes) and MLA (DeepSeek-V2-Lite, V3 shapes) over a KV cache of `len` positions, f32 or bf16.
// Reports the cache bytes read per second (bytes_per_second) beside the machine's read bandwidth
// (BM_ReadBandwidth in matmul_bench.cpp); the caches of 28 layers are cycled so they come from DRAM.
// Run: build/bin/ds_bench_kernels --benchmark_filter='Attention'
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "common/float_convert.h"
#include "runtime/kernel_registry.h"

namespace ds {
namespace {

constexpr int kLayers = 28;  // distinct caches cycled per run (R1-Distill-Qwen-1.5B has 28 layers)

// Values in [-2, 2) from a cheap generator (the caches run to GBs; the distribution hardly matters).
Tensor RandomCache(DType dtype, int64_t rows, int64_t width, std::mt19937& rng) {
  Tensor t = Tensor::Empty(dtype, {rows, width});
  uint32_t x = rng() | 1;
  for (int64_t i = 0; i < rows * width; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    const float v = static_cast<float>(x >> 8) * (4.0f / 16777216.0f) - 2.0f;
    if (dtype == DType::kF32) t.data<float>()[i] = v;
    else t.data<uint16_t>()[i] = F32ToBf16(v);
  }
  return t;
}

std::vector<float> RandomFloats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Two caches per layer (K and V, or latent and RoPE keys): [len, width_a] and [len, width_b].
struct LayerCaches {
  std::vector<Tensor> a, b;
  LayerCaches(DType dtype, int64_t len, int64_t width_a, int64_t width_b, std::mt19937& rng) {
    for (int l = 0; l < kLayers; ++l) {
      a.push_back(RandomCache(dtype, len, width_a, rng));
      b.push_back(RandomCache(dtype, len, width_b, rng));
    }
  }
};

// Runs step(layer) once per iteration, the layers in turn; reports cache bytes read per second.
template <typename Step>
void RunOverLayers(benchmark::State& state, const LayerCaches& caches, Step step) {
  int next = 0;
  for (auto _ : state) {
    const Status s = step(next++ % kLayers);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  }
  state.SetBytesProcessed(state.iterations() * (caches.a[0].nbytes() + caches.b[0].nbytes()));
}

// args: heads, kv_heads, head_dim, len, cache dtype (0 f32, 1 bf16)
void BM_GqaAttentionDecode(benchmark::State& state) {
  const int64_t heads = state.range(0), kv_heads = state.range(1), d = state.range(2), len = state.range(3);
  std::mt19937 rng(3);
  const LayerCaches kv(state.range(4) ? DType::kBF16 : DType::kF32, len, kv_heads * d, kv_heads * d, rng);
  const std::vector<float> q = RandomFloats(heads * d, rng);
  std::vector<float> out(heads * d);
  const std::vector<int32_t> pos = {static_cast<int32_t>(len - 1)};
  KernelContext ctx;
  RunOverLayers(state, kv, [&](int l) {
    return RunF32<GqaAttentionOp>({q.data(), 1, heads, kv_heads, d, &kv.a[l], &kv.b[l], pos, 0.088f, out.data()}, ctx);
  });
}

// args: heads, rank, rope_dim, len, cache dtype (0 f32, 1 bf16)
void BM_MlaAttentionDecode(benchmark::State& state) {
  const int64_t heads = state.range(0), rank = state.range(1), rope = state.range(2), len = state.range(3);
  std::mt19937 rng(5);
  const LayerCaches cache(state.range(4) ? DType::kBF16 : DType::kF32, len, rank, rope, rng);
  const std::vector<float> q_lat = RandomFloats(heads * rank, rng), q_pe = RandomFloats(heads * rope, rng);
  std::vector<float> out(heads * rank);
  const std::vector<int32_t> pos = {static_cast<int32_t>(len - 1)};
  KernelContext ctx;
  RunOverLayers(state, cache, [&](int l) {
    return RunF32<MlaAttentionOp>(
        {q_lat.data(), q_pe.data(), 1, heads, rank, rope, &cache.a[l], &cache.b[l], pos, 0.07f, out.data()}, ctx);
  });
}

// Qwen-1.5B (12 heads over 2 KV heads) and Llama-8B (32 over 8), head_dim 128; and 8 heads over
// one KV head (fewer KV heads than threads: each head's keys are split among the threads).
void GqaShapes(benchmark::internal::Benchmark* b) {
  for (int64_t len : {2048, 8192}) {
    for (int dtype = 0; dtype <= 1; ++dtype) b->Args({12, 2, 128, len, dtype})->Args({32, 8, 128, len, dtype});
    b->Args({8, 1, 128, len, 0});
  }
}
// V2-Lite (16 heads) and V3 (128 heads): latent rank 512, RoPE dims 64.
void MlaShapes(benchmark::internal::Benchmark* b) {
  for (int64_t len : {2048, 8192}) {
    for (int dtype = 0; dtype <= 1; ++dtype) b->Args({16, 512, 64, len, dtype})->Args({128, 512, 64, len, dtype});
  }
}

BENCHMARK(BM_GqaAttentionDecode)->Apply(GqaShapes)->UseRealTime();
BENCHMARK(BM_MlaAttentionDecode)->Apply(MlaShapes)->UseRealTime();

}  // namespace
}  // namespace ds
