// MatMul kernels on DeepSeek shapes, per weight dtype. Reports bytes/s of weight read (decode,
// M = 1) and FLOP/s (prefill, M = 128). Run: build/bin/ds_bench_kernels --benchmark_filter=MatMul
#include <benchmark/benchmark.h>

#include <random>

#include "common/float_convert.h"
#include "runtime/kernel_registry.h"

namespace ds {
namespace {

Tensor RandomWeight(DType dtype, int64_t n, int64_t k) {
  Tensor w = Tensor::Empty(dtype, {n, k});
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (int64_t i = 0; i < n * k; ++i) {
    const float v = dist(rng);
    if (dtype == DType::kF32) w.data<float>()[i] = v;
    if (dtype == DType::kBF16) w.data<uint16_t>()[i] = F32ToBf16(v);
    if (dtype == DType::kF16) w.data<uint16_t>()[i] = F32ToF16(v);
    if (dtype == DType::kF8E4M3) w.data<uint8_t>()[i] = static_cast<uint8_t>(rng() & 0x77);
  }
  if (dtype == DType::kF8E4M3) {
    Tensor s = Tensor::Empty(DType::kF32, {(n + 127) / 128, (k + 127) / 128});
    for (int64_t i = 0; i < s.numel(); ++i) s.data<float>()[i] = 0.01f;
    w.SetBlockScales(std::move(s), 128);
  }
  return w;
}

void BM_MatMul(benchmark::State& state, DType dtype) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  Tensor w = RandomWeight(dtype, n, k);
  std::vector<float> x(m * k, 0.5f), y(m * n);
  KernelContext ctx;
  for (auto _ : state) {
    auto s = RunMatMul({x.data(), m, k, k, &w, false, y.data(), n, false}, ctx);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * w.nbytes());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * m * n * k * state.iterations(), benchmark::Counter::kIsRate);
}

// V2-Lite shapes: q_proj 3072x2048, expert gate 1408x2048; V3: q_b_proj 24576x1536.
#define DS_MATMUL_SHAPES Args({1, 3072, 2048})->Args({1, 1408, 2048})->Args({1, 24576, 1536})->Args({128, 3072, 2048})
BENCHMARK_CAPTURE(BM_MatMul, f32, DType::kF32)->DS_MATMUL_SHAPES->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, bf16, DType::kBF16)->DS_MATMUL_SHAPES->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, f16, DType::kF16)->DS_MATMUL_SHAPES->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, f8_e4m3_block128, DType::kF8E4M3)->DS_MATMUL_SHAPES->UseRealTime();

}  // namespace
}  // namespace ds
