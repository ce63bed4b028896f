// Every registered kernel against a plain reference loop on random inputs. The test is
// parameterized over KernelRegistry::Global().Keys(), so a kernel registered later is checked
// automatically, and one this file has no reference for fails instead of passing silently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>

#include "runtime/cpu/attention_rows.h"
#include "runtime/cpu/cpu_isa.h"
#include "runtime/kernel_registry.h"
#include "runtime/quant_blocks.h"
#include "quant_reference.h"
#include "reference.h"

namespace ds {
namespace {

using testref::Near;
using testref::RandomFloats;

// ---- MatMul ----

struct MatCase {
  int64_t m, n, k;
  bool transpose;        // W stored [K, N] instead of [N, K]
  int64_t pad_x, pad_y;  // ldx = k + pad_x, ldy = n + pad_y
  bool accumulate;
  int64_t row_off;       // weight is Rows(row_off, ...) of a larger tensor
  int64_t block;         // FP8 scale block size
};

std::string Describe(const MatCase& c) {
  return StrCat("m=", c.m, " n=", c.n, " k=", c.k, " transpose_w=", c.transpose, " ldx=", c.k + c.pad_x,
                " ldy=", c.n + c.pad_y, " accumulate=", c.accumulate, " row_off=", c.row_off, " block=", c.block);
}

// Runs one matmul case with kernel `fn` and weight dtype `dt`, comparing with a double loop over
// the exactly dequantized weight.
void CheckMatMul(MatMulOp::Fn fn, DType dt, const MatCase& c, std::mt19937& rng) {
  SCOPED_TRACE(Describe(c));
  const int64_t rows = c.transpose ? c.k : c.n, cols = c.transpose ? c.n : c.k;
  const int64_t big_rows = rows + c.row_off;
  testref::Codes codes = testref::RandomCodes(dt, big_rows * cols, rng);
  Tensor big = Tensor::Empty(dt, {big_rows, cols});
  std::memcpy(big.raw(), codes.bytes.data(), codes.bytes.size());
  std::vector<double> scale(big_rows * cols, 1.0);
  if (dt == DType::kF8E4M3) {
    const int64_t sr = (big_rows + c.block - 1) / c.block, sc = (cols + c.block - 1) / c.block;
    Tensor s = Tensor::Empty(DType::kF32, {sr, sc});
    std::vector<float> sv = RandomFloats(sr * sc, rng, 0.25f, 4.0f);
    std::copy(sv.begin(), sv.end(), s.data<float>());
    for (int64_t r = 0; r < big_rows; ++r) {
      for (int64_t q = 0; q < cols; ++q) scale[r * cols + q] = sv[(r / c.block) * sc + q / c.block];
    }
    big.SetBlockScales(s, c.block);
  }
  Tensor w = c.row_off ? big.Rows(c.row_off, c.row_off + rows) : big;
  auto wval = [&](int64_t kk, int64_t nn) {  // dequantized W as the math sees it: [K, N]
    const int64_t r = (c.transpose ? kk : nn) + c.row_off, q = c.transpose ? nn : kk;
    return static_cast<double>(static_cast<float>(codes.values[r * cols + q] * scale[r * cols + q]));
  };
  const int64_t ldx = c.k + c.pad_x, ldy = c.n + c.pad_y;
  std::vector<float> x = RandomFloats(c.m * ldx, rng);
  std::vector<float> y0 = RandomFloats(c.m * ldy, rng), y = y0;
  KernelContext ctx(2);
  Status st = fn({x.data(), c.m, c.k, ldx, &w, c.transpose, y.data(), ldy, c.accumulate}, ctx);
  ASSERT_TRUE(st.ok()) << st;
  int bad = 0;
  for (int64_t i = 0; i < c.m && bad < 5; ++i) {
    for (int64_t j = 0; j < ldy && bad < 5; ++j) {
      const float got = y[i * ldy + j];
      if (j >= c.n) {  // the stride gap must be left alone
        if (got != y0[i * ldy + j]) ++bad, ADD_FAILURE() << "wrote into the ldy gap at " << i << "," << j;
        continue;
      }
      double want = c.accumulate ? y0[i * ldy + j] : 0.0, mag = std::fabs(want);
      for (int64_t kk = 0; kk < c.k; ++kk) {
        const double t = x[i * ldx + kk] * wval(kk, j);
        want += t;
        mag += std::fabs(t);
      }
      if (!Near(got, want, mag)) ++bad, ADD_FAILURE() << "y[" << i << "," << j << "] = " << got << ", want " << want;
    }
  }
}

void CheckMatMulKernel(const KernelKey& key) {
  if (IsBlockQuantized(key.weight)) return testref::CheckQuantMatMulKernel(key);
  if (!testref::HasCodes(key.weight)) {
    FAIL() << "no reference for weight dtype " << DTypeName(key.weight) << ": add one to this test";
  }
  auto fn = KernelRegistry::Global().Find<MatMulOp>(key.device, key.activation, key.weight);
  ASSERT_TRUE(fn.ok()) << fn.status();
  std::mt19937 rng(1234);
  const int64_t shapes[][2] = {{37, 70}, {300, 45}, {20, 300}};  // {n, k}; K=70,45 not multiples of 16
  int idx = 0;
  for (int64_t m : {1, 3, 4, 5, 17, 300}) {
    for (const auto& nk : shapes) {
      for (bool transpose : {false, true}) {
        for (bool accumulate : {false, true}) {
          ++idx;
          const bool pad = idx % 2 == 0;
          const MatCase c{m, nk[0], nk[1], transpose, pad ? 5 : 0, pad ? 3 : 0, accumulate,
                          (idx % 3 == 0) ? 0 : 7, (idx % 2 == 0) ? 128 : 24};
          CheckMatMul(*fn, key.weight, c, rng);
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
  // Long rows (x beyond 16 KiB): the decode kernel groups 8 weight rows; 19 rows leave a tail
  // and split unevenly over the threads, K=4100 is not a multiple of 16.
  for (bool accumulate : {false, true}) {
    for (int64_t row_off : {0, 5}) {
      CheckMatMul(*fn, key.weight, MatCase{1, 19, 4100, false, 0, 0, accumulate, row_off, 128}, rng);
      if (::testing::Test::HasFailure()) return;
    }
  }
  // Wrong inner dimension: an error, not a read out of bounds.
  Tensor w = Tensor::Empty(key.weight, {8, 16});
  std::vector<float> x(5 * 20), y(5 * 8);
  KernelContext ctx(1);
  EXPECT_FALSE((*fn)({x.data(), 5, 20, 20, &w, false, y.data(), 8, false}, ctx).ok());
}

// ---- MatMulGroup ----

Tensor RandomWeight(DType t, int64_t n, int64_t k, std::mt19937& rng) {
  Tensor w = Tensor::Empty(t, {n, k});
  if (IsBlockQuantized(t)) {
    const std::vector<float> src = RandomFloats(n * k, rng);
    for (int64_t r = 0; r < n; ++r) {
      EXPECT_TRUE(QuantizeRow(t, src.data() + r * k, w.data<uint8_t>() + r * DTypeBytes(t, k), k).ok());
    }
    return w;
  }
  const testref::Codes codes = testref::RandomCodes(t, n * k, rng);
  std::memcpy(w.raw(), codes.bytes.data(), codes.bytes.size());
  if (t == DType::kF8E4M3) {
    Tensor s = Tensor::Empty(DType::kF32, {(n + 127) / 128, (k + 127) / 128});
    const std::vector<float> sv = RandomFloats(s.numel(), rng, 0.25f, 4.0f);
    std::copy(sv.begin(), sv.end(), s.data<float>());
    w.SetBlockScales(s, 128);
  }
  return w;
}

// A group mixing weight dtypes, inputs shared by several items and not, accumulation, an item
// that is not a GEMV (m = 3), enough bytes for a parallel region and more items than one region
// takes: in both precisions every output equals the same matmul run alone (MatMulOp, checked
// against the reference loop above). A bad item is an error.
void CheckMatMulGroupKernel(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<MatMulGroupOp>(key.device, key.activation, key.weight);
  ASSERT_TRUE(fn.ok()) << fn.status();
  std::mt19937 rng(99);
  struct Spec { DType t; int64_t n, k; int input; int64_t m; bool accumulate; };
  const Spec specs[] = {{DType::kBF16, 37, 256, 0, 1, false},   {DType::kQ4_K, 40, 256, 0, 1, false},
                        {DType::kQ5_0, 33, 256, 0, 1, true},    {DType::kF8E4M3, 70, 256, 0, 1, false},
                        {DType::kBF16, 19, 4100, 1, 1, false},  {DType::kF32, 10, 45, 2, 1, true},
                        {DType::kQ4_K, 64, 256, 0, 3, false},   {DType::kF16, 30, 256, 0, 1, false},
                        {DType::kBF16, 37, 256, 0, 1, true},    {DType::kQ8_0, 2048, 256, 3, 1, false}};
  const int64_t widths[] = {256, 4100, 45, 256};
  std::vector<std::vector<float>> inputs;
  for (int64_t wd : widths) inputs.push_back(RandomFloats(3 * wd, rng));
  std::vector<Tensor> weights;
  std::vector<Spec> items;
  for (int copy = 0; copy < 4; ++copy) {  // 40 items
    for (const Spec& sp : specs) {
      weights.push_back(RandomWeight(sp.t, sp.n, sp.k, rng));
      items.push_back(sp);
    }
  }
  for (ComputePrecision precision : {ComputePrecision::kF32, ComputePrecision::kBF16}) {
    std::vector<std::vector<float>> grouped, alone;
    std::vector<MatMulOp::Args> args;
    for (size_t i = 0; i < items.size(); ++i) {
      grouped.push_back(RandomFloats(items[i].m * items[i].n, rng));
      alone.push_back(grouped.back());
    }
    auto item_args = [&](size_t i, std::vector<float>& y) {
      const Spec& sp = items[i];
      return MatMulOp::Args{inputs[sp.input].data(), sp.m, sp.k, sp.k, &weights[i], false, y.data(), sp.n, sp.accumulate};
    };
    for (size_t i = 0; i < items.size(); ++i) args.push_back(item_args(i, grouped[i]));
    KernelContext ctx(2, precision), single(2, precision);
    ASSERT_TRUE((*fn)({args}, ctx).ok());
    for (size_t i = 0; i < items.size(); ++i) {
      ASSERT_TRUE(RunMatMul(item_args(i, alone[i]), single).ok());
      for (size_t j = 0; j < alone[i].size(); ++j) {
        ASSERT_EQ(grouped[i][j], alone[i][j]) << "item " << i << " (" << DTypeName(items[i].t) << ") output " << j
                                              << (precision == ComputePrecision::kBF16 ? " bf16" : " f32");
      }
    }
  }
  std::vector<float> y(8);
  MatMulOp::Args bad{inputs[0].data(), 1, 20, 20, &weights[0], false, y.data(), 8, false};  // k != 256
  KernelContext ctx(2);
  EXPECT_FALSE((*fn)({std::span<const MatMulOp::Args>(&bad, 1)}, ctx).ok());
}

// ---- Embedding ----

void CheckEmbeddingKernel(const KernelKey& key) {
  if (IsBlockQuantized(key.weight)) return testref::CheckQuantEmbeddingKernel(key);
  if (!testref::HasCodes(key.weight)) FAIL() << "no reference for table dtype " << DTypeName(key.weight);
  auto fn = KernelRegistry::Global().Find<EmbeddingOp>(key.device, key.activation, key.weight);
  ASSERT_TRUE(fn.ok()) << fn.status();
  std::mt19937 rng(7);
  const int64_t vocab = 50, dim = 45, block = 16;
  testref::Codes codes = testref::RandomCodes(key.weight, vocab * dim, rng);
  Tensor table = Tensor::Empty(key.weight, {vocab, dim});
  std::memcpy(table.raw(), codes.bytes.data(), codes.bytes.size());
  std::vector<float> sv;
  if (key.weight == DType::kF8E4M3) {
    Tensor s = Tensor::Empty(DType::kF32, {4, 3});
    sv = RandomFloats(12, rng, 0.5f, 2.0f);
    std::copy(sv.begin(), sv.end(), s.data<float>());
    table.SetBlockScales(s, block);
  }
  const std::vector<int32_t> ids = {0, 49, 17, 17, 33};
  std::vector<float> out(ids.size() * dim);
  KernelContext ctx(1);
  ASSERT_TRUE((*fn)({&table, ids, out.data()}, ctx).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t c = 0; c < dim; ++c) {
      double v = codes.values[ids[i] * dim + c];
      if (!sv.empty()) v = static_cast<float>(v * sv[(ids[i] / block) * 3 + c / block]);
      ASSERT_EQ(out[i * dim + c], static_cast<float>(v)) << "token " << ids[i] << " column " << c;
    }
  }
  for (int32_t bad : {-1, 50}) {
    const std::vector<int32_t> one = {bad};
    Status st = (*fn)({&table, one, out.data()}, ctx);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(std::string(st.message()).find(std::to_string(bad)), std::string::npos) << st;
  }
}

// ---- Element-wise and row ops ----

void CheckRmsNorm(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<RmsNormOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(3);
  const int64_t rows = 3, dim = 70, ldx = 75, ldy = 72;
  std::vector<float> x = RandomFloats(rows * ldx, rng), w = RandomFloats(dim, rng), y(rows * ldy, 9.0f);
  KernelContext ctx(1);
  ASSERT_TRUE(fn({x.data(), rows, dim, ldx, w.data(), 1e-6f, y.data(), ldy}, ctx).ok());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(x[r * ldx + i]) * x[r * ldx + i];
    const double inv = 1.0 / std::sqrt(ss / dim + 1e-6);
    for (int64_t i = 0; i < dim; ++i) {
      const double want = x[r * ldx + i] * inv * w[i];
      EXPECT_TRUE(Near(y[r * ldy + i], want, std::fabs(want) + 1e-6)) << r << "," << i;
    }
    for (int64_t i = dim; i < ldy; ++i) EXPECT_EQ(y[r * ldy + i], 9.0f);
  }
  // In place (y aliases x), as the op allows.
  std::vector<float> x2 = x, want = x;
  ASSERT_TRUE(fn({x.data(), rows, dim, ldx, w.data(), 1e-6f, want.data(), ldx}, ctx).ok());
  ASSERT_TRUE(fn({x2.data(), rows, dim, ldx, w.data(), 1e-6f, x2.data(), ldx}, ctx).ok());
  EXPECT_EQ(x2, want);
}

// The HF Llama/Qwen2 layout: element i pairs with i + rot/2 (rotate_half).
void CheckRopeRotateHalf(RopeOp::Fn fn) {
  std::mt19937 rng(41);
  const int64_t tokens = 2, heads = 3, head_stride = 20, token_stride = 64, rot = 16, half = rot / 2;
  const std::vector<int32_t> pos = {3, 7};
  std::vector<float> x = RandomFloats(tokens * token_stride, rng), orig = x;
  std::vector<float> cosv = RandomFloats(8 * half, rng), sinv = RandomFloats(8 * half, rng);
  KernelContext ctx(1);
  ASSERT_TRUE(fn({x.data(), tokens, heads, token_stride, head_stride, rot, pos, cosv.data(), sinv.data(), true}, ctx).ok());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t i = 0; i < token_stride; ++i) {
      const int64_t h = i / head_stride, j = i % head_stride;
      double want = orig[t * token_stride + i];
      if (h < heads && j < rot) {
        // out = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[half:], x[:half])
        const int64_t f = j % half;
        const double c = cosv[pos[t] * half + f], s = sinv[pos[t] * half + f];
        const double rotated = j < half ? -orig[t * token_stride + h * head_stride + j + half]
                                        : orig[t * token_stride + h * head_stride + j - half];
        want = orig[t * token_stride + i] * c + rotated * s;
      }
      EXPECT_TRUE(Near(x[t * token_stride + i], want, 2.0)) << "rotate_half token " << t << " element " << i;
    }
  }
}

void CheckRope(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<RopeOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(4);
  const int64_t tokens = 3, heads = 2, head_stride = 24, token_stride = 50, rot = 16, half = rot / 2;
  const std::vector<int32_t> pos = {5, 0, 9};
  std::vector<float> x = RandomFloats(tokens * token_stride, rng), orig = x;
  std::vector<float> cosv = RandomFloats(10 * half, rng), sinv = RandomFloats(10 * half, rng);
  KernelContext ctx(1);
  ASSERT_TRUE(fn({x.data(), tokens, heads, token_stride, head_stride, rot, pos, cosv.data(), sinv.data()}, ctx).ok());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t i = 0; i < token_stride; ++i) {
      const int64_t h = i / head_stride, j = i % head_stride;
      double want = orig[t * token_stride + i];
      if (h < heads && j < rot) {
        const double c = cosv[pos[t] * half + j / 2], s = sinv[pos[t] * half + j / 2];
        const double a = orig[t * token_stride + h * head_stride + (j & ~1)];
        const double b = orig[t * token_stride + h * head_stride + (j | 1)];
        want = (j % 2 == 0) ? a * c - b * s : a * s + b * c;
      }
      EXPECT_TRUE(Near(x[t * token_stride + i], want, 2.0)) << "token " << t << " element " << i;
    }
  }
  CheckRopeRotateHalf(fn);
}

void CheckSoftmax(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<SoftmaxOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(5);
  const int64_t rows = 4, cols = 33;
  std::vector<float> x = RandomFloats(rows * cols, rng, -30.0f, 30.0f), orig = x;
  KernelContext ctx(1);
  ASSERT_TRUE(fn({x.data(), rows, cols}, ctx).ok());
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < cols; ++i) sum += std::exp(double(orig[r * cols + i]));
    for (int64_t i = 0; i < cols; ++i) {
      const double want = std::exp(double(orig[r * cols + i])) / sum;
      EXPECT_TRUE(Near(x[r * cols + i], want, want + 1e-7)) << r << "," << i;
    }
  }
}

void CheckSiluMul(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<SiluMulOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(6);
  const int64_t rows = 3, cols = 21, ld = 2 * cols + 4;
  std::vector<float> in = RandomFloats(rows * ld, rng, -8.0f, 8.0f), out(rows * cols);
  in[0] = -100.0f, in[1] = 100.0f, in[2] = -88.5f, in[3] = 89.5f, in[4] = 0.0f;  // exp over/underflow
  KernelContext ctx(1);
  ASSERT_TRUE(fn({in.data(), in.data() + cols, ld, rows, cols, out.data()}, ctx).ok());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < cols; ++i) {
      const double g = in[r * ld + i], u = in[r * ld + cols + i];
      const double want = g / (1.0 + std::exp(-g)) * u;
      EXPECT_TRUE(Near(out[r * cols + i], want, std::fabs(want) + 1e-6)) << r << "," << i;
    }
  }
}

void CheckAdd(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<AddOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(8);
  std::vector<float> a = RandomFloats(101, rng), b = RandomFloats(101, rng), y(101);
  KernelContext ctx(1);
  ASSERT_TRUE(fn({a.data(), b.data(), y.data(), 101}, ctx).ok());
  for (int i = 0; i < 101; ++i) EXPECT_EQ(y[i], a[i] + b[i]);
  ASSERT_TRUE(fn({a.data(), b.data(), a.data(), 101}, ctx).ok());  // y aliases a
  EXPECT_EQ(a, y);
}

// ---- MoE routing: a direct transcription of DeepSeek's gate (HF modeling_deepseek MoEGate) ----

struct Routed {
  std::vector<int32_t> ids;
  std::vector<double> weights;
};

Routed ReferenceRoute(const float* logits, int64_t e, const float* bias, MoeScoring scoring, MoeGroupScore gs,
                      int64_t groups, int64_t topk_groups, int64_t topk, bool normalize, double scale) {
  std::vector<double> s(e), choice(e);
  double mx = -INFINITY, sum = 0;
  for (int64_t i = 0; i < e; ++i) mx = std::max(mx, double(logits[i]));
  for (int64_t i = 0; i < e; ++i) {
    s[i] = scoring == MoeScoring::kSoftmax ? std::exp(logits[i] - mx) : 1.0 / (1.0 + std::exp(-double(logits[i])));
    sum += s[i];
  }
  for (int64_t i = 0; i < e; ++i) {
    if (scoring == MoeScoring::kSoftmax) s[i] /= sum;
    choice[i] = s[i] + (bias ? bias[i] : 0.0);
  }
  if (gs != MoeGroupScore::kNone && groups > 1) {
    const int64_t per = e / groups;
    std::vector<std::pair<double, int64_t>> g(groups);
    for (int64_t j = 0; j < groups; ++j) {
      std::vector<double> m(choice.begin() + j * per, choice.begin() + (j + 1) * per);
      std::sort(m.rbegin(), m.rend());
      g[j] = {gs == MoeGroupScore::kMax ? m[0] : m[0] + (per > 1 ? m[1] : 0.0), -j};
    }
    std::sort(g.rbegin(), g.rend());
    std::vector<bool> keep(groups, false);
    for (int64_t j = 0; j < topk_groups; ++j) keep[-g[j].second] = true;
    for (int64_t i = 0; i < e; ++i) if (!keep[i / per]) choice[i] = -INFINITY;
  }
  std::vector<int32_t> order(e);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return choice[a] > choice[b]; });
  Routed r;
  double total = 0;
  for (int64_t i = 0; i < topk; ++i) total += s[order[i]];
  for (int64_t i = 0; i < topk; ++i) {
    r.ids.push_back(order[i]);
    r.weights.push_back(s[order[i]] * (normalize && topk > 1 ? 1.0 / (total + 1e-20) : 1.0) * scale);
  }
  return r;
}

void CheckMoeRoute(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<MoeRouteOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(9);
  const int64_t tokens = 5, e = 16;
  struct Variant { MoeScoring sc; MoeGroupScore gs; int64_t groups, tg, topk; bool bias, norm; float scale; };
  const Variant variants[] = {
      {MoeScoring::kSoftmax, MoeGroupScore::kNone, 1, 1, 6, false, false, 1.0f},
      {MoeScoring::kSoftmax, MoeGroupScore::kMax, 4, 2, 3, false, true, 1.0f},
      {MoeScoring::kSigmoid, MoeGroupScore::kTop2Sum, 4, 2, 4, true, true, 2.5f},
      {MoeScoring::kSigmoid, MoeGroupScore::kTop2Sum, 8, 3, 5, true, false, 1.5f},
  };
  for (const Variant& v : variants) {
    std::vector<float> logits = RandomFloats(tokens * e, rng, -4.0f, 4.0f), bias = RandomFloats(e, rng, -0.3f, 0.3f);
    std::vector<int32_t> ids(tokens * v.topk);
    std::vector<float> w(tokens * v.topk);
    KernelContext ctx(1);
    ASSERT_TRUE(fn({logits.data(), tokens, e, v.bias ? bias.data() : nullptr, v.sc, v.gs, v.groups, v.tg, v.topk,
                    v.norm, v.scale, ids.data(), w.data()}, ctx).ok());
    for (int64_t t = 0; t < tokens; ++t) {
      Routed want = ReferenceRoute(logits.data() + t * e, e, v.bias ? bias.data() : nullptr, v.sc, v.gs, v.groups,
                                   v.tg, v.topk, v.norm, v.scale);
      for (int64_t i = 0; i < v.topk; ++i) {
        EXPECT_EQ(ids[t * v.topk + i], want.ids[i]) << "token " << t << " rank " << i;
        EXPECT_TRUE(Near(w[t * v.topk + i], want.weights[i], want.weights[i])) << "token " << t << " rank " << i;
      }
    }
  }
}

// ---- MLA attention ----

void CheckMlaAttention(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<MlaAttentionOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(10);
  const int64_t rank = 32, rope = 8, cap = 300;
  // 3 tokens take the per-head path; 11 (positions with gaps, not sorted) the prefill GEMM path,
  // with 300 heads in blocks of 3 tokens that each see only the keys up to their last position;
  // decoding (3 tokens with 2 or 300 heads, one with 8 heads over 76 keys) 16 query rows per vector
  // on AVX-512, or the per-head loop / the GEMMs (over 64 or more keys) below it; 2 tokens with 20
  // heads over 300 keys: three groups of 16 rows, the last partial, and P x V in key blocks of 128.
  // Reduced precision runs out = P kv on bf16 operands.
  const std::vector<int32_t> few = {2, 3, 5}, many = {4, 5, 6, 7, 9, 10, 11, 12, 13, 17, 8};
  struct Case {
    DType cache;
    std::vector<int32_t> pos;
    int64_t heads;
    ComputePrecision precision;
  };
  std::vector<Case> cases;
  for (ComputePrecision p : {ComputePrecision::kF32, ComputePrecision::kBF16}) {
    for (DType c : {DType::kF32, DType::kBF16}) {
      for (const Case& base : {Case{c, few, 2, p}, Case{c, many, 2, p}, Case{c, many, 300, p}, Case{c, {75}, 8, p},
                               Case{c, few, 300, p}, Case{c, {140, 299}, 20, p}}) {
        cases.push_back(base);
      }
    }
  }
  for (const Case& cs : cases) {
    const DType cache_dtype = cs.cache;
    const std::vector<int32_t>& pos = cs.pos;
    const int64_t heads = cs.heads;
    const bool reduced = cs.precision == ComputePrecision::kBF16;
    SCOPED_TRACE(StrCat(DTypeName(cache_dtype), " tokens=", pos.size(), " heads=", heads, reduced ? " bf16" : " f32"));
    const int64_t tokens = static_cast<int64_t>(pos.size());
    testref::Codes kvc = testref::RandomCodes(cache_dtype, cap * rank, rng);
    testref::Codes pec = testref::RandomCodes(cache_dtype, cap * rope, rng);
    Tensor kv = Tensor::Empty(cache_dtype, {cap, rank}), pe = Tensor::Empty(cache_dtype, {cap, rope});
    std::memcpy(kv.raw(), kvc.bytes.data(), kvc.bytes.size());
    std::memcpy(pe.raw(), pec.bytes.data(), pec.bytes.size());
    std::vector<float> ql = RandomFloats(tokens * heads * rank, rng), qp = RandomFloats(tokens * heads * rope, rng);
    std::vector<float> out(tokens * heads * rank);
    const float scale = 0.37f;
    KernelContext ctx(2, cs.precision);
    ASSERT_TRUE(fn({ql.data(), qp.data(), tokens, heads, rank, rope, &kv, &pe, pos, scale, out.data()}, ctx).ok());
    int64_t bad = 0;
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        std::vector<double> p(pos[t] + 1);
        double mx = -INFINITY, sum = 0;
        for (int64_t s = 0; s <= pos[t]; ++s) {
          double d = 0;
          for (int64_t i = 0; i < rank; ++i) d += ql[(t * heads + h) * rank + i] * kvc.values[s * rank + i];
          for (int64_t i = 0; i < rope; ++i) d += qp[(t * heads + h) * rope + i] * pec.values[s * rope + i];
          p[s] = scale * d;
          mx = std::max(mx, p[s]);
        }
        for (double& v : p) sum += (v = std::exp(v - mx));
        for (int64_t i = 0; i < rank && bad < 10; ++i) {
          double want = 0;
          for (int64_t s = 0; s <= pos[t]; ++s) want += p[s] / sum * kvc.values[s * rank + i];
          const bool near = Near(out[(t * heads + h) * rank + i], want, 1.0, reduced ? 1e-2 : 1e-5);
          if (!near) ++bad, ADD_FAILURE() << t << "," << h << "," << i << ": " << out[(t * heads + h) * rank + i] << " want " << want;
        }
      }
    }
    const std::vector<int32_t> beyond = {static_cast<int32_t>(cap)};
    EXPECT_FALSE(fn({ql.data(), qp.data(), 1, heads, rank, rope, &kv, &pe, beyond, scale, out.data()}, ctx).ok());
    EXPECT_FALSE(fn({ql.data(), qp.data(), 1, heads, rank + 1, rope, &kv, &pe, pos, scale, out.data()}, ctx).ok());
  }
}

// ---- GQA attention ----

struct GqaCase {
  int64_t heads, kv_heads, head_dim, capacity;
  DType cache;
  std::vector<int32_t> positions;  // one per token
  int threads = 2;
};

void CheckGqaAttention(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<GqaAttentionOp>(key.device, key.activation, key.weight).value();
  std::mt19937 rng(11);
  // Positions with gaps, not sorted. With AVX-512 and head_dim 16..128 (a multiple of 16 but not
  // 48), up to 8 query rows per KV head take the decode kernel (1, 3, 6, 7, 8 rows; 2 tokens with
  // their own causal limits; 21 and 70 keys: full 16-key blocks and a tail); more rows take the
  // 16-row tiles (30 rows leave a partial tile); head_dim 12 and 48 the per-row path or tiles.
  // With fewer KV heads than threads and 512+ keys the decode kernel splits each head's keys: 4
  // chunks (the last shorter), 2 chunks with one token's keys all in the first, 20 chunks (the last
  // past the keys).
  const std::vector<int32_t> one = {20}, two = {13, 8}, few = {4, 5, 8}, many = {6, 7, 8, 9, 11, 12, 13, 14, 20, 10};
  const std::vector<GqaCase> cases = {
      {6, 2, 12, 21, DType::kF32, few},   {6, 2, 12, 21, DType::kBF16, few}, {6, 2, 12, 21, DType::kF32, many},
      {6, 2, 12, 21, DType::kBF16, many}, {6, 2, 32, 21, DType::kF32, many}, {6, 2, 32, 21, DType::kBF16, many},
      {6, 2, 32, 21, DType::kF32, few},   {6, 2, 32, 21, DType::kBF16, one}, {6, 2, 32, 21, DType::kF32, one},
      {12, 2, 128, 70, DType::kF32, {69}}, {12, 2, 128, 70, DType::kBF16, {45}}, {8, 1, 16, 70, DType::kF32, {66}},
      {14, 2, 96, 70, DType::kBF16, {37}}, {4, 4, 64, 21, DType::kF32, one},  {8, 2, 32, 21, DType::kF32, two},
      {8, 2, 32, 21, DType::kBF16, two},  {6, 2, 48, 21, DType::kF32, one},
      {8, 1, 64, 1100, DType::kF32, {1099}, 4}, {6, 2, 128, 700, DType::kBF16, {650, 300}, 4},
      {2, 1, 16, 5131, DType::kF32, {5129}, 20},  // 20 chunks of 272 keys: the last one is empty
      {6, 2, 12, 21, DType::kBF16, one, 4},        // per-row path, one query head per task (4 threads)
  };
  for (const GqaCase& c : cases) {
    const int64_t heads = c.heads, kv_heads = c.kv_heads, d = c.head_dim, cap = c.capacity;
    const std::vector<int32_t>& pos = c.positions;
    SCOPED_TRACE(StrCat(DTypeName(c.cache), " tokens=", pos.size(), " heads=", heads, "/", kv_heads, " head_dim=", d,
                        " threads=", c.threads));
    const int64_t width = kv_heads * d;
    const int64_t tokens = static_cast<int64_t>(pos.size());
    testref::Codes kc = testref::RandomCodes(c.cache, cap * width, rng);
    testref::Codes vc = testref::RandomCodes(c.cache, cap * width, rng);
    Tensor k = Tensor::Empty(c.cache, {cap, width}), v = Tensor::Empty(c.cache, {cap, width});
    std::memcpy(k.raw(), kc.bytes.data(), kc.bytes.size());
    std::memcpy(v.raw(), vc.bytes.data(), vc.bytes.size());
    std::vector<float> q = RandomFloats(tokens * heads * d, rng), out(tokens * heads * d);
    const float scale = 0.29f;
    KernelContext ctx(c.threads);
    // Scratch holding NaN from "earlier calls": a kernel must not read what it did not write.
    for (int slot = 0; slot < 16; ++slot) std::fill_n(ctx.Scratch(slot, 1 << 17), 1 << 17, NAN);
    ASSERT_TRUE(fn({q.data(), tokens, heads, kv_heads, d, &k, &v, pos, scale, out.data()}, ctx).ok());
    int bad = 0;
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t h = 0; h < heads && bad < 10; ++h) {
        const int64_t g = h / (heads / kv_heads);  // consecutive query heads share a KV head
        std::vector<double> p(pos[t] + 1);
        double mx = -INFINITY, sum = 0;
        for (int64_t s = 0; s <= pos[t]; ++s) {
          double dot = 0;
          for (int64_t i = 0; i < d; ++i) dot += q[(t * heads + h) * d + i] * kc.values[s * width + g * d + i];
          p[s] = scale * dot;
          mx = std::max(mx, p[s]);
        }
        for (double& x : p) sum += (x = std::exp(x - mx));
        for (int64_t i = 0; i < d; ++i) {
          double want = 0;
          for (int64_t s = 0; s <= pos[t]; ++s) want += p[s] / sum * vc.values[s * width + g * d + i];
          if (!Near(out[(t * heads + h) * d + i], want, 1.0)) {
            ++bad, ADD_FAILURE() << t << "," << h << "," << i << ": " << out[(t * heads + h) * d + i] << " want " << want;
          }
        }
      }
    }
    const std::vector<int32_t> beyond = {static_cast<int32_t>(cap)};
    EXPECT_FALSE(fn({q.data(), 1, heads, kv_heads, d, &k, &v, beyond, scale, out.data()}, ctx).ok());
    EXPECT_FALSE(fn({q.data(), 1, heads, 5, d, &k, &v, pos, scale, out.data()}, ctx).ok());  // heads % 5 != 0
    EXPECT_FALSE(fn({q.data(), 1, heads, kv_heads, d + 1, &k, &v, pos, scale, out.data()}, ctx).ok());  // cache width
  }
}

// ---- The parameterized test ----

bool DevicePresent(Device d) {
  if (d == Device::kCpu) return true;
  std::error_code ec;
  return std::filesystem::exists("/dev/nvidia0", ec);
}

class KernelTest : public ::testing::TestWithParam<KernelKey> {};

void CheckKernel(const KernelKey& key) {
  switch (key.op) {
    case OpKind::kMatMul: return CheckMatMulKernel(key);
    case OpKind::kEmbedding: return CheckEmbeddingKernel(key);
    case OpKind::kRmsNorm: return CheckRmsNorm(key);
    case OpKind::kRope: return CheckRope(key);
    case OpKind::kSoftmax: return CheckSoftmax(key);
    case OpKind::kSiluMul: return CheckSiluMul(key);
    case OpKind::kAdd: return CheckAdd(key);
    case OpKind::kMoeRoute: return CheckMoeRoute(key);
    case OpKind::kMlaAttention: return CheckMlaAttention(key);
    case OpKind::kGqaAttention: return CheckGqaAttention(key);
    case OpKind::kMatMulGroup: return CheckMatMulGroupKernel(key);
    case OpKind::kCount: break;
  }
  FAIL() << "no reference check for " << KernelKeyString(key);
}

TEST_P(KernelTest, MatchesReferenceLoop) {
  const KernelKey key = GetParam();
  if (!DevicePresent(key.device)) GTEST_SKIP() << "no " << DeviceName(key.device) << " device here";
  if (key.device != Device::kCpu) {
    // The runtime has no device-memory tensors yet, so device kernels cannot be fed from here.
    GTEST_SKIP() << KernelKeyString(key) << ": device tensors are not available to this test yet";
  }
  // Every instruction-set variant this CPU can run (scalar, AVX2, AVX-512), not only the best.
  for (cpu::CpuIsa isa : cpu::SupportedCpuIsas()) {
    cpu::ScopedCpuIsa force(isa);
    SCOPED_TRACE(StrCat("cpu isa ", cpu::CpuIsaName(isa)));
    CheckKernel(key);
    if (::testing::Test::HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, KernelTest, ::testing::ValuesIn(KernelRegistry::Global().Keys()),
                         [](const ::testing::TestParamInfo<KernelKey>& info) {
                           const KernelKey& k = info.param;
                           return StrCat(OpName(k.op), "_", DeviceName(k.device), "_", DTypeName(k.activation), "_",
                                         DTypeName(k.weight));
                         });

TEST(KernelRegistryTest, EveryOpHasACpuKernel) {
  for (int op = 0; op < static_cast<int>(OpKind::kCount); ++op) {
    bool found = false;
    for (const KernelKey& k : KernelRegistry::Global().Keys()) found |= (static_cast<int>(k.op) == op && k.device == Device::kCpu);
    EXPECT_TRUE(found) << OpName(static_cast<OpKind>(op));
  }
}

TEST(KernelRegistryTest, MissingCombinationNamesOpDeviceAndDtypes) {
  Tensor w = Tensor::Empty(DType::kI16, {4, 256});
  std::vector<float> x(256), y(4);
  KernelContext ctx(1);
  Status st = RunMatMul({x.data(), 1, 256, 256, &w, false, y.data(), 4, false}, ctx);
  ASSERT_FALSE(st.ok());
  const std::string msg(st.message());
  for (const char* part : {"matmul", "cpu", "f32", "i16"}) EXPECT_NE(msg.find(part), std::string::npos) << msg;
  auto cuda = KernelRegistry::Global().Find<RmsNormOp>(Device::kCuda, DType::kF32, DType::kBF16);
  if (!KernelRegistry::Global().Has({OpKind::kRmsNorm, Device::kCuda, DType::kF32, DType::kBF16})) {
    ASSERT_FALSE(cuda.ok());
    const std::string m2(cuda.status().message());
    for (const char* part : {"rms_norm", "cuda", "f32", "bf16"}) EXPECT_NE(m2.find(part), std::string::npos) << m2;
  }
}


// Decoding token by token, the MLA decode kernel's scratch is requested for the whole cache, so it
// is allocated once at exactly the size the models' memory plans count (a request growing with the
// keys let the buffer's geometric growth overshoot it).
TEST(MlaAttentionDecode, ScratchIsAllocatedOnceForTheWholeCache) {
  if (cpu::ActiveCpuIsa() != cpu::CpuIsa::kAvx512) GTEST_SKIP() << "the 16-lane decode kernel needs AVX-512";
  auto fn = KernelRegistry::Global().Find<MlaAttentionOp>(Device::kCpu, DType::kF32, DType::kF32).value();
  std::mt19937 rng(12);
  const int64_t rank = 64, rope = 16, cap = 300, heads = 40;
  Tensor kv = Tensor::Empty(DType::kF32, {cap, rank}), pe = Tensor::Empty(DType::kF32, {cap, rope});
  const std::vector<float> kvv = RandomFloats(cap * rank, rng), pev = RandomFloats(cap * rope, rng);
  std::copy(kvv.begin(), kvv.end(), kv.data<float>());
  std::copy(pev.begin(), pev.end(), pe.data<float>());
  const std::vector<float> ql = RandomFloats(heads * rank, rng), qp = RandomFloats(heads * rope, rng);
  std::vector<float> out(heads * rank);
  KernelContext ctx(2, ComputePrecision::kF32);
  const size_t want = sizeof(float) * cpu::MlaDecodeScratchFloats(heads, rank, rope, cap, ctx.threads());
  for (int32_t pos = 0; pos < cap; ++pos) {
    const std::vector<int32_t> p = {pos};
    ASSERT_TRUE(fn({ql.data(), qp.data(), 1, heads, rank, rope, &kv, &pe, p, 0.1f, out.data()}, ctx).ok());
    ASSERT_EQ(ctx.scratch_bytes(), want) << "position " << pos;
  }
}

// Positions come from the caller: each must lie in the cache (a negative one would make the
// softmax's causal fill write before its row) and there must be one per token.
TEST(MlaAttentionArgs, PositionsOutsideTheCacheAreRefused) {
  auto fn = KernelRegistry::Global().Find<MlaAttentionOp>(Device::kCpu, DType::kF32, DType::kF32).value();
  const int64_t rank = 16, rope = 16, cap = 32, heads = 2;
  Tensor kv = Tensor::Empty(DType::kF32, {cap, rank}), pe = Tensor::Empty(DType::kF32, {cap, rope});
  std::memset(kv.raw(), 0, kv.nbytes());
  std::memset(pe.raw(), 0, pe.nbytes());
  for (const int64_t tokens : {1, 9}) {  // the decode and the prompt (GEMM) paths
    std::vector<float> ql(tokens * heads * rank, 0.5f), qp(tokens * heads * rope, 0.5f), out(tokens * heads * rank);
    KernelContext ctx(1);
    for (const int32_t bad : {-1, -100, static_cast<int32_t>(cap)}) {
      std::vector<int32_t> pos(tokens, 0);
      pos[tokens - 1] = bad;
      const Status st = fn({ql.data(), qp.data(), tokens, heads, rank, rope, &kv, &pe, pos, 0.1f, out.data()}, ctx);
      EXPECT_EQ(st.code(), absl::StatusCode::kOutOfRange) << tokens << " tokens, position " << bad << ": " << st;
    }
    const std::vector<int32_t> short_pos(tokens - 1, 0);
    const Status st = fn({ql.data(), qp.data(), tokens, heads, rank, rope, &kv, &pe, short_pos, 0.1f, out.data()}, ctx);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  }
}

// Prompt-sized MLA calls hold no more scratch than MlaPromptScratchFloats, their part of the bound
// the models' memory plans count: with 1100 heads one token's scores (heads x keys) exceed the 4 Mi score block,
// and calls of growing size must not leave a slot larger than the largest call needs.
TEST(MlaAttentionPrefill, ScratchStaysWithinTheCountedBound) {
  auto fn = KernelRegistry::Global().Find<MlaAttentionOp>(Device::kCpu, DType::kF32, DType::kF32).value();
  std::mt19937 rng(13);
  const int64_t rank = 16, rope = 16, cap = 4000;
  for (const int64_t heads : {4, 1100}) {
    for (const DType cache_type : {DType::kF32, DType::kBF16}) {
      for (const ComputePrecision precision : {ComputePrecision::kF32, ComputePrecision::kBF16}) {
        SCOPED_TRACE(testing::Message() << heads << " heads, " << DTypeName(cache_type) << " cache, precision "
                                        << static_cast<int>(precision));
        Tensor kv = Tensor::Empty(cache_type, {cap, rank}), pe = Tensor::Empty(cache_type, {cap, rope});
        std::memset(kv.raw(), 0, kv.nbytes());
        std::memset(pe.raw(), 0, pe.nbytes());
        KernelContext ctx(2, precision);
        for (const int64_t tokens : {8, 12, 20}) {
          const std::vector<float> ql = RandomFloats(tokens * heads * rank, rng), qp = RandomFloats(tokens * heads * rope, rng);
          std::vector<float> out(tokens * heads * rank);
          std::vector<int32_t> pos(tokens);
          for (int64_t t = 0; t < tokens; ++t) pos[t] = static_cast<int32_t>(cap - tokens + t);
          ASSERT_TRUE(fn({ql.data(), qp.data(), tokens, heads, rank, rope, &kv, &pe, pos, 0.1f, out.data()}, ctx).ok());
          EXPECT_LE(ctx.scratch_bytes(), sizeof(float) * cpu::MlaPromptScratchFloats(tokens, heads, rank, rope, cap))
              << tokens << " tokens";
        }
      }
    }
  }
}


}  // namespace
}  // namespace ds
