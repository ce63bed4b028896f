// Tensor views and conversions, and the routing / rotary / attention kernels on small hand-made
// inputs whose results are derived by hand in the comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "runtime/kernel_registry.h"
#include "reference.h"

namespace ds {
namespace {

Tensor Iota(int64_t rows, int64_t cols) {
  Tensor t = Tensor::Empty(DType::kF32, {rows, cols});
  std::iota(t.data<float>(), t.data<float>() + rows * cols, 0.0f);
  return t;
}

TEST(Tensor, EmptyIsZeroedContiguous) {
  Tensor t = Tensor::Empty(DType::kBF16, {3, 5});
  EXPECT_TRUE(t.defined());
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.nbytes(), 30);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.strides(), (Tensor::Shape{5, 1}));
  EXPECT_EQ(t.DebugString(), "bf16[3, 5]");
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t.data<uint16_t>()[i], 0);
  EXPECT_FALSE(Tensor().defined());
}

TEST(Tensor, RowsSharesStorage) {
  Tensor t = Iota(5, 3);
  Tensor r = t.Rows(1, 4);
  EXPECT_EQ(r.shape(), (Tensor::Shape{3, 3}));
  EXPECT_EQ(r.data<float>()[0], 3.0f);
  EXPECT_EQ(r.data<float>()[8], 11.0f);
  EXPECT_EQ(r.data<float>(), t.data<float>() + 3);
  Tensor rr = r.Rows(2, 3);  // rows of a view
  EXPECT_EQ(rr.shape(), (Tensor::Shape{1, 3}));
  EXPECT_EQ(rr.data<float>()[0], 9.0f);
  r.data<float>()[0] = -1.0f;  // shared, not copied
  EXPECT_EQ(t.data<float>()[3], -1.0f);
  Tensor h = Tensor::Empty(DType::kF16, {4, 6});
  EXPECT_EQ(static_cast<uint8_t*>(h.Rows(3, 4).raw()) - static_cast<uint8_t*>(h.raw()), 3 * 6 * 2);
}

TEST(Tensor, ReshapeKeepsValues) {
  Tensor t = Iota(4, 6);
  Tensor r = t.Reshape({3, 8});
  EXPECT_EQ(r.shape(), (Tensor::Shape{3, 8}));
  EXPECT_EQ(r.strides(), (Tensor::Shape{8, 1}));
  EXPECT_EQ(r.numel(), 24);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(r.data<float>()[i], i);
  EXPECT_EQ(r.raw(), t.raw());
  EXPECT_EQ(t.Reshape({24}).dim(-1), 24);
}

TEST(Tensor, ToF32WidensEveryFloatDtype) {
  std::mt19937 rng(21);
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3}) {
    SCOPED_TRACE(DTypeName(dt));
    testref::Codes c = testref::RandomCodes(dt, 6 * 10, rng);
    Tensor t = Tensor::Empty(dt, {6, 10});
    std::memcpy(t.raw(), c.bytes.data(), c.bytes.size());
    auto f = t.ToF32();
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->dtype(), DType::kF32);
    EXPECT_EQ(f->shape(), t.shape());
    for (int i = 0; i < 60; ++i) EXPECT_EQ(f->data<float>()[i], c.values[i]) << i;
    if (dt == DType::kF32) {  // a deep copy
      EXPECT_NE(f->raw(), t.raw());
    }
  }
}

TEST(Tensor, ToF32AppliesFp8BlockScalesOnRowViews) {
  // 5x7 FP8 weight, 2x2 blocks: scale grid 3x4. Every code is 1.0 (0x38) so the result is the scale.
  Tensor w = Tensor::Empty(DType::kF8E4M3, {5, 7});
  std::memset(w.raw(), 0x38, 35);
  Tensor s = Tensor::Empty(DType::kF32, {3, 4});
  for (int i = 0; i < 12; ++i) s.data<float>()[i] = static_cast<float>(i + 1);
  w.SetBlockScales(s, 2);
  auto full = w.ToF32().value();
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 7; ++c) EXPECT_EQ(full.data<float>()[r * 7 + c], (r / 2) * 4 + c / 2 + 1) << r << "," << c;
  }
  Tensor v = w.Rows(3, 5);  // rows 3..4: row 3 is in scale row 1, row 4 in scale row 2
  EXPECT_EQ(v.scale_row0(), 3);
  EXPECT_EQ(v.block_size(), 2);
  ASSERT_NE(v.block_scales(), nullptr);
  auto part = v.ToF32().value();
  EXPECT_EQ(part.shape(), (Tensor::Shape{2, 7}));
  for (int c = 0; c < 7; ++c) {
    EXPECT_EQ(part.data<float>()[c], 4 + c / 2 + 1);
    EXPECT_EQ(part.data<float>()[7 + c], 8 + c / 2 + 1);
  }
}

TEST(Tensor, ToF32RejectsIntegers) {
  auto r = Tensor::Empty(DType::kI32, {3}).ToF32();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("i32"), std::string::npos) << r.status();
}

TEST(DType, NamesAndSizes) {
  EXPECT_EQ(DTypeFromSafetensors("BF16"), DType::kBF16);
  EXPECT_EQ(DTypeFromSafetensors("F8_E4M3"), DType::kF8E4M3);
  EXPECT_EQ(DTypeFromSafetensors("F32"), DType::kF32);
  EXPECT_FALSE(DTypeFromSafetensors("bf16").has_value());
  EXPECT_FALSE(DTypeFromSafetensors("F8_E5M2").has_value());  // not supported: must not be misread
  EXPECT_EQ(DTypeBytes(DType::kF32, 10), 40);
  EXPECT_EQ(DTypeBytes(DType::kQ4_K, 512), 288);
  EXPECT_EQ(DTypeBytes(DType::kQ8_0, 64), 68);
}

// ---- MoE routing by hand ----

struct Route {
  std::vector<std::pair<int32_t, float>> picks;  // sorted by id
};

Route RunRoute(const std::vector<float>& logits, const float* bias, MoeScoring sc, MoeGroupScore gs, int64_t groups,
               int64_t tg, int64_t topk, bool norm, float scale) {
  std::vector<int32_t> ids(topk);
  std::vector<float> w(topk);
  KernelContext ctx(1);
  Status st = RunF32<MoeRouteOp>({logits.data(), 1, static_cast<int64_t>(logits.size()), bias, sc, gs, groups, tg, topk,
                                  norm, scale, ids.data(), w.data()}, ctx);
  EXPECT_TRUE(st.ok()) << st;
  Route r;
  for (int64_t i = 0; i < topk; ++i) r.picks.push_back({ids[i], w[i]});
  std::sort(r.picks.begin(), r.picks.end());
  return r;
}

void ExpectRoute(const Route& r, const std::vector<std::pair<int32_t, double>>& want) {
  ASSERT_EQ(r.picks.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.picks[i].first, want[i].first) << "pick " << i;
    EXPECT_NEAR(r.picks[i].second, want[i].second, 1e-5) << "expert " << want[i].first;
  }
}

float Logit(double p) { return static_cast<float>(std::log(p / (1 - p))); }  // sigmoid(Logit(p)) = p

TEST(MoeRoute, SoftmaxGreedy) {
  // softmax([1, 2, 3, 0]) = e^l / (e^0 + e^1 + e^2 + e^3); top-2 = experts 2 and 1.
  const double z = 1 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const std::vector<float> l = {1, 2, 3, 0};
  ExpectRoute(RunRoute(l, nullptr, MoeScoring::kSoftmax, MoeGroupScore::kNone, 1, 1, 2, false, 1.0f),
              {{1, std::exp(2.0) / z}, {2, std::exp(3.0) / z}});
  // normalized: e^2 / (e^2 + e^3) and e^3 / (e^2 + e^3); scale applies after.
  const double n = std::exp(2.0) + std::exp(3.0);
  ExpectRoute(RunRoute(l, nullptr, MoeScoring::kSoftmax, MoeGroupScore::kNone, 1, 1, 2, true, 2.0f),
              {{1, 2 * std::exp(2.0) / n}, {2, 2 * std::exp(3.0) / n}});
  // top-1 is never normalized (DeepSeek normalizes only when top_k > 1).
  ExpectRoute(RunRoute(l, nullptr, MoeScoring::kSoftmax, MoeGroupScore::kNone, 1, 1, 1, true, 1.0f),
              {{2, std::exp(3.0) / z}});
}

// sigmoid scores p = [.9 .1 | .6 .5 | .8 .7 | .2 .3] in 4 groups of 2.
const std::vector<double> kP = {0.9, 0.1, 0.6, 0.5, 0.8, 0.7, 0.2, 0.3};
std::vector<float> Logits() {
  std::vector<float> l;
  for (double p : kP) l.push_back(Logit(p));
  return l;
}

TEST(MoeRoute, SigmoidNoauxTcWithGroups) {
  // bias [0 0 | 0 0 | 0 0 | .4 .35] -> choice [.9 .1 | .6 .5 | .8 .7 | .6 .65]
  // group scores (sum of top 2): 1.0, 1.1, 1.5, 1.25 -> keep groups 2 and 3 (drops expert 0 = .9!)
  // top-3 choice inside: 4 (.8), 5 (.7), 7 (.65); weights = unbiased p: .8 .7 .3, sum 1.8,
  // normalized and scaled by 2.5: .8/1.8*2.5, .7/1.8*2.5, .3/1.8*2.5.
  const std::vector<float> bias = {0, 0, 0, 0, 0, 0, 0.4f, 0.35f};
  ExpectRoute(RunRoute(Logits(), bias.data(), MoeScoring::kSigmoid, MoeGroupScore::kTop2Sum, 4, 2, 3, true, 2.5f),
              {{4, 0.8 / 1.8 * 2.5}, {5, 0.7 / 1.8 * 2.5}, {7, 0.3 / 1.8 * 2.5}});
  // Without group limiting: top-3 choice is 0 (.9), 4 (.8), 5 (.7); unnormalized, scale 1.
  ExpectRoute(RunRoute(Logits(), bias.data(), MoeScoring::kSigmoid, MoeGroupScore::kNone, 4, 2, 3, false, 1.0f),
              {{0, 0.9}, {4, 0.8}, {5, 0.7}});
  // The bias only selects: with bias +1 on expert 1, it is picked but weighted by its own p = .1.
  const std::vector<float> b1 = {0, 1, 0, 0, 0, 0, 0, 0};
  ExpectRoute(RunRoute(Logits(), b1.data(), MoeScoring::kSigmoid, MoeGroupScore::kNone, 1, 1, 2, false, 1.0f),
              {{0, 0.9}, {1, 0.1}});
}

TEST(MoeRoute, GroupLimitedGreedyByGroupMax) {
  // group max of p: .9, .6, .8, .3 -> keep groups 0 and 2 -> experts {0 .9, 1 .1, 4 .8, 5 .7};
  // top-4 there is 0, 4, 5, 1 (expert 2 = .6 is excluded with group 1).
  ExpectRoute(RunRoute(Logits(), nullptr, MoeScoring::kSigmoid, MoeGroupScore::kMax, 4, 2, 4, false, 1.0f),
              {{0, 0.9}, {1, 0.1}, {4, 0.8}, {5, 0.7}});
  ExpectRoute(RunRoute(Logits(), nullptr, MoeScoring::kSigmoid, MoeGroupScore::kNone, 4, 2, 4, false, 1.0f),
              {{0, 0.9}, {2, 0.6}, {4, 0.8}, {5, 0.7}});
}

TEST(MoeRoute, RejectsInconsistentShapes) {
  std::vector<int32_t> ids(9);
  std::vector<float> w(9), l = Logits();
  KernelContext ctx(1);
  auto run = [&](int64_t groups, int64_t tg, int64_t topk) {
    return RunF32<MoeRouteOp>({l.data(), 1, 8, nullptr, MoeScoring::kSigmoid, MoeGroupScore::kTop2Sum, groups, tg,
                               topk, true, 1.0f, ids.data(), w.data()}, ctx);
  };
  EXPECT_FALSE(run(4, 2, 9).ok());  // topk > experts
  EXPECT_FALSE(run(4, 2, 0).ok());
  EXPECT_FALSE(run(3, 2, 2).ok());  // 8 experts not divisible into 3 groups
  EXPECT_FALSE(run(4, 5, 2).ok());  // topk_groups > groups
  EXPECT_FALSE(run(0, 0, 2).ok());
}

// ---- Rope by hand ----

TEST(Rope, RotatesAdjacentPairs) {
  // 2 heads of 6 (rot_dim 4, the last 2 elements untouched), token stride 13 (1 padding).
  // Position 1: pair 0 rotates by 90 degrees (cos 0, sin 1), pair 1 by 0 (cos 1, sin 0).
  // Pair (a, b) -> (a cos - b sin, a sin + b cos): (1, 2) -> (-2, 1); (3, 4) -> (3, 4).
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 1, 0, 0, 1, 7, 8, 99};
  const std::vector<float> cos = {1, 1, 0, 1}, sin = {0, 0, 1, 0};  // [positions 2, rot/2 2]
  const std::vector<int32_t> pos = {1};
  KernelContext ctx(1);
  ASSERT_TRUE(RunF32<RopeOp>({x.data(), 1, 2, 13, 6, 4, pos, cos.data(), sin.data()}, ctx).ok());
  EXPECT_EQ(x, (std::vector<float>{-2, 1, 3, 4, 5, 6, 0, 1, 0, 1, 7, 8, 99}));
  // Position 0 with the identity row leaves everything as it was.
  std::vector<float> y = x;
  const std::vector<int32_t> p0 = {0};
  ASSERT_TRUE(RunF32<RopeOp>({y.data(), 1, 2, 13, 6, 4, p0, cos.data(), sin.data()}, ctx).ok());
  EXPECT_EQ(y, x);
}

// ---- MLA attention by hand ----

TEST(MlaAttention, HandMadeCases) {
  // rank 2, rope 1, cache rows: kv = [1 0], [0 1], [5 5]; pe = [0], [0], [100].
  Tensor kv = Tensor::Empty(DType::kF32, {3, 2}), pe = Tensor::Empty(DType::kF32, {3, 1});
  const float kvv[] = {1, 0, 0, 1, 5, 5}, pev[] = {0, 0, 100};
  std::memcpy(kv.raw(), kvv, sizeof kvv);
  std::memcpy(pe.raw(), pev, sizeof pev);
  const float ql[] = {1, 1, 2, 0}, qp[] = {1, 1};  // two tokens, one head
  const std::vector<int32_t> pos = {0, 1};
  float out[4];
  KernelContext ctx(1);
  ASSERT_TRUE(RunF32<MlaAttentionOp>({ql, qp, 2, 1, 2, 1, &kv, &pe, pos, 1.0f, out}, ctx).ok());
  // token 0 sees only key 0: output = kv[0] = [1, 0].
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
  // token 1: scores 2 and 0 over keys 0, 1 (key 2 is in the future and ignored despite pe 100):
  // p = [e^2, 1] / (e^2 + 1); output = p0 * [1 0] + p1 * [0 1].
  const double p0 = std::exp(2.0) / (std::exp(2.0) + 1);
  EXPECT_NEAR(out[2], p0, 1e-6);
  EXPECT_NEAR(out[3], 1 - p0, 1e-6);
}

}  // namespace
}  // namespace ds
