// MatMul kernels on DeepSeek / R1-Distill-Qwen shapes, per weight dtype, CPU ISA variant and compute
// precision. Decode (M = 1) reports weight bytes read per second (bytes_per_second) beside the
// machine's read bandwidth (BM_ReadBandwidth), cycling over >= 256 MiB of weight copies so the bytes
// come from DRAM; prefill (M = 128, 512) reports FLOP/s. BM_MoeExpertsDecode runs a decode step's
// MoE gate/up projections (shared + routed experts) as one matmul group.
// Run: build/bin/ds_bench_kernels --benchmark_filter=MatMul
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "common/float_convert.h"
#include "runtime/cpu/cpu_isa.h"
#include "runtime/kernel_registry.h"
#include "runtime/memory_bandwidth.h"
#include "runtime/quant_blocks.h"

namespace ds {
namespace {

// Rows of a block-quantized weight: a few distinct rows quantized from random floats (valid blocks,
// the quantizer is slow) and repeated down the matrix.
void FillQuantWeight(Tensor& w, std::mt19937& rng) {
  const int64_t n = w.dim(0), k = w.dim(1), row_bytes = DTypeBytes(w.dtype(), k), distinct = std::min<int64_t>(n, 16);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> src(k);
  uint8_t* base = static_cast<uint8_t*>(w.raw());
  for (int64_t r = 0; r < distinct; ++r) {
    for (auto& v : src) v = dist(rng);
    if (!QuantizeRow(w.dtype(), src.data(), base + r * row_bytes, k).ok()) std::abort();
  }
  for (int64_t r = distinct; r < n; ++r) std::memcpy(base + r * row_bytes, base + (r % distinct) * row_bytes, row_bytes);
}

Tensor RandomWeight(DType dtype, int64_t n, int64_t k) {
  Tensor w = Tensor::Empty(dtype, {n, k});
  std::mt19937 rng(1);
  if (IsBlockQuantized(dtype)) {
    FillQuantWeight(w, rng);
    return w;
  }
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

// Decode runs cycle over copies of the weight totalling at least this many bytes, so the weight
// bytes come from DRAM and not from the 32 MiB L3 (a single 27 MB weight would partly hit it).
constexpr size_t kDecodeBytes = size_t{256} << 20;

std::vector<Tensor> WeightCopies(const Tensor& w, size_t total_bytes) {
  std::vector<Tensor> copies = {w};
  while (copies.size() * w.nbytes() < total_bytes) {
    Tensor c = Tensor::Empty(w.dtype(), w.shape());
    std::memcpy(c.raw(), w.raw(), w.nbytes());
    if (const Tensor* s = w.block_scales()) {
      Tensor sc = Tensor::Empty(s->dtype(), s->shape());
      std::memcpy(sc.raw(), s->raw(), s->nbytes());
      c.SetBlockScales(std::move(sc), w.block_size());
    }
    copies.push_back(std::move(c));
  }
  return copies;
}

// args: m, n, k, isa (CpuIsa), precision (0 f32, 1 bf16)
void BM_MatMul(benchmark::State& state, DType dtype) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const auto isa = static_cast<cpu::CpuIsa>(state.range(3));
  if (isa > cpu::DetectedCpuIsa()) return state.SkipWithError("ISA not supported by this CPU");
  cpu::ScopedCpuIsa force(isa);
  const std::vector<Tensor> ws = WeightCopies(RandomWeight(dtype, n, k), m == 1 ? kDecodeBytes : 0);
  std::vector<float> x(m * k, 0.5f), y(m * n);
  KernelContext ctx(0, state.range(4) ? ComputePrecision::kBF16 : ComputePrecision::kF32);
  size_t next = 0;
  for (auto _ : state) {
    const Tensor& w = ws[next++ % ws.size()];
    auto s = RunMatMul({x.data(), m, k, k, &w, false, y.data(), n, false}, ctx);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * ws[0].nbytes());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * m * n * k * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(StrCat(cpu::CpuIsaName(isa), state.range(4) ? " bf16-compute" : " f32-compute"));
}

// Decode shapes [N, K] (weights > caches so the read comes from memory):
//   V2-Lite q_proj 3072x2048, V2-Lite expert gate 1408x2048, V3 q_b_proj 24576x1536,
//   V3 expert gate 2048x7168, Qwen-1.5B mlp gate 8960x1536, Qwen-1.5B down 1536x8960.
constexpr int64_t kDecodeShapes[][2] = {{3072, 2048}, {1408, 2048}, {24576, 1536},
                                        {2048, 7168}, {8960, 1536}, {1536, 8960}};
void DecodeShapes(benchmark::internal::Benchmark* b) {
  for (int isa = 0; isa <= 2; ++isa) {
    for (const auto& s : kDecodeShapes) b->Args({1, s[0], s[1], isa, 0});
  }
}
// bf16 weights with reduced precision: decode GEMVs on bf16-rounded activations (rows of more
// than 8192 columns stay exact).
void ReducedDecodeShapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : kDecodeShapes) b->Args({1, s[0], s[1], 2, 1});
}
// Block-quantized weights: the decode shapes at the best ISA, f32 (exact) and reduced precision
// (8-bit activations with VNNI); the AVX2 fallback (exact and 8-bit activations) and the scalar
// path on two shapes, AVX2 exact on two long-row shapes too.
void QuantDecodeShapes(benchmark::internal::Benchmark* b) {
  for (int prec = 0; prec <= 1; ++prec) {
    for (const auto& s : kDecodeShapes) b->Args({1, s[0], s[1], 2, prec});
  }
  for (int isa = 0; isa <= 1; ++isa) b->Args({1, 1408, 2048, isa, 0})->Args({1, 8960, 1536, isa, 0});
  b->Args({1, 1408, 2048, 1, 1})->Args({1, 8960, 1536, 1, 1});
  b->Args({1, 2048, 7168, 1, 0})->Args({1, 1536, 8960, 1, 0});
}
// Prefill shapes at the best ISA, f32 (exact) and bf16 compute.
void PrefillShapes(benchmark::internal::Benchmark* b) {
  const int64_t shapes[][2] = {{3072, 2048}, {24576, 1536}, {8960, 1536}};
  for (int64_t m : {128, 512}) {
    for (int prec = 0; prec <= 1; ++prec) {
      for (const auto& s : shapes) b->Args({m, s[0], s[1], 2, prec});
    }
  }
  // A V2-Lite routed expert during a 512-token prefill: 512 x 6 / 64 = 48 tokens each (gate, down).
  b->Args({48, 1408, 2048, 2, 1})->Args({48, 2048, 1408, 2, 1});
}

BENCHMARK_CAPTURE(BM_MatMul, bf16, DType::kBF16)
    ->Apply(DecodeShapes)
    ->Apply(ReducedDecodeShapes)
    ->Apply(PrefillShapes)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, f16, DType::kF16)->Apply(DecodeShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, f8_e4m3_block128, DType::kF8E4M3)->Apply(DecodeShapes)->Apply(PrefillShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q8_0, DType::kQ8_0)->Apply(QuantDecodeShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q4_0, DType::kQ4_0)->Apply(QuantDecodeShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q5_0, DType::kQ5_0)->Apply(QuantDecodeShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q4_k, DType::kQ4_K)->Apply(QuantDecodeShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q5_k, DType::kQ5_K)->Apply(QuantDecodeShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q6_k, DType::kQ6_K)->Apply(QuantDecodeShapes)->UseRealTime();
// Block-quantized weights in prefill (panels dequantized, then oneDNN's bf16 or f32 matmul): a
// V2-Lite routed expert at pp512 (48 tokens) and the same weight at 128 / 512 rows, a V3 routed
// expert (16 tokens), the Qwen-1.5B mlp gate.
void QuantPrefillShapes(benchmark::internal::Benchmark* b) {
  for (int prec = 0; prec <= 1; ++prec) {
    b->Args({48, 1408, 2048, 2, prec})->Args({128, 1408, 2048, 2, prec})->Args({512, 1408, 2048, 2, prec});
  }
  b->Args({16, 2048, 7168, 2, 1})->Args({16, 7168, 2048, 2, 1})->Args({512, 8960, 1536, 2, 1});
}
// The V2-Lite expert's down projection (K = 1408, not a whole number of k-quant super-blocks).
BENCHMARK_CAPTURE(BM_MatMul, q8_0, DType::kQ8_0)
    ->Apply(QuantPrefillShapes)
    ->Args({48, 2048, 1408, 2, 0})
    ->Args({48, 2048, 1408, 2, 1})
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q4_k, DType::kQ4_K)->Apply(QuantPrefillShapes)->UseRealTime();
BENCHMARK_CAPTURE(BM_MatMul, q6_k, DType::kQ6_K)->Apply(QuantPrefillShapes)->UseRealTime();

BENCHMARK_CAPTURE(BM_MatMul, f32, DType::kF32)->Args({1, 3072, 2048, 2, 0})->Args({128, 3072, 2048, 2, 0})->UseRealTime();

// One decode step's MoE gate/up projections as one matmul group (what MoeLayer::ForwardToken
// runs): the shared expert(s) plus top-k routed experts, each a gate and an up weight [N, K],
// cycled over copies so the bytes come from DRAM. Reports weight bytes read per second.
// args: shape (0 V2-Lite: 2 shared x 1408 + 6 of 64 routed, K 2048; 1 V3: 1 shared + 8 of 256
// routed, 2048 x 7168), dtype (0 bf16, 1 q8_0, 2 q4_k, 3 f8_e4m3 block128), precision (0 f32, 1 bf16)
void BM_MoeExpertsDecode(benchmark::State& state) {
  const bool v3 = state.range(0) == 1;
  const DType dtypes[] = {DType::kBF16, DType::kQ8_0, DType::kQ4_K, DType::kF8E4M3};
  const DType dtype = dtypes[state.range(1)];
  const int64_t n = v3 ? 2048 : 1408, k = v3 ? 7168 : 2048, experts = v3 ? 1 + 8 : 2 + 6;
  const std::vector<Tensor> ws = WeightCopies(RandomWeight(dtype, n, k), kDecodeBytes);
  std::vector<float> x(k, 0.5f), y(2 * experts * n);
  KernelContext ctx(0, state.range(2) ? ComputePrecision::kBF16 : ComputePrecision::kF32);
  std::vector<MatMulOp::Args> items;
  size_t next = 0, bytes = 0;
  for (auto _ : state) {
    items.clear();
    for (int64_t e = 0; e < 2 * experts; ++e) {  // gate and up of each expert: distinct copies
      const Tensor& w = ws[next++ % ws.size()];
      items.push_back({x.data(), 1, k, k, &w, false, y.data() + e * n, n, false});
      bytes += w.nbytes();
    }
    auto s = RunMatMulGroup(items, ctx);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel(StrCat(v3 ? "V3" : "V2-Lite", " ", DTypeName(dtype), state.range(2) ? " bf16-compute" : " f32-compute"));
}
BENCHMARK(BM_MoeExpertsDecode)
    ->ArgsProduct({{0, 1}, {0, 1, 2, 3}, {0}})
    ->Args({0, 1, 1})->Args({0, 2, 1})->Args({1, 1, 1})->Args({1, 2, 1})
    ->UseRealTime();

// The yardstick for the decode rows: a 1 GiB read sweep with the default thread count.
void BM_ReadBandwidth(benchmark::State& state) {
  for (auto _ : state) {
    auto r = MeasureReadBandwidth(size_t{1} << 30, KernelContext().threads(), 3);
    if (!r.ok()) return state.SkipWithError(std::string(r.status().message()).c_str());
    state.counters["GB/s"] = r->best_gb_s;
  }
}
BENCHMARK(BM_ReadBandwidth)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ds
