#include "generation/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace ds {
namespace {

using Logits = std::vector<float>;
using History = std::vector<int32_t>;

// Reference softmax written independently of the sampler: exp(x / t) normalized.
std::vector<double> Softmax(const Logits& logits, double t = 1.0) {
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] / t);
  for (double& v : p) v /= sum;
  return p;
}

Logits LogOf(const std::vector<double>& probs) {
  Logits l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::vector<float> Probs(const SamplingParams& params, const Logits& logits,
                         const History& history = {}, size_t num_prompt = 0) {
  Sampler s(params);
  std::vector<float> probs;
  s.Probabilities(logits, history, probs, num_prompt);
  return probs;
}

void ExpectProbs(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "token " << i;
}

Logits RandomLogits(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Logits l(n);
  for (float& v : l) v = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 20 - 10);
  return l;
}

TEST(SamplingParamsTest, DefaultsAreValidAndOff) {
  SamplingParams p;
  EXPECT_TRUE(ValidateSamplingParams(p).ok());
  EXPECT_EQ(p.temperature, 1.0f);
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.top_p, 1.0f);
  EXPECT_EQ(p.min_p, 0.0f);
  EXPECT_EQ(p.repetition_penalty, 1.0f);
}

TEST(SamplingParamsTest, ValidationNamesTheField) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    SamplingParams p;
    std::string field;
  };
  std::vector<Case> cases;
  auto add = [&cases](auto mutate, const std::string& field) {
    SamplingParams p;
    mutate(p);
    cases.push_back({p, field});
  };
  add([](SamplingParams& p) { p.temperature = -0.1f; }, "temperature");
  add([nan](SamplingParams& p) { p.temperature = nan; }, "temperature");
  add([](SamplingParams& p) { p.top_k = -1; }, "top_k");
  add([](SamplingParams& p) { p.top_p = 0.0f; }, "top_p");
  add([](SamplingParams& p) { p.top_p = 1.5f; }, "top_p");
  add([nan](SamplingParams& p) { p.top_p = nan; }, "top_p");
  add([](SamplingParams& p) { p.min_p = -0.1f; }, "min_p");
  add([](SamplingParams& p) { p.min_p = 1.1f; }, "min_p");
  add([](SamplingParams& p) { p.repetition_penalty = 0.0f; }, "repetition_penalty");
  add([](SamplingParams& p) { p.repetition_penalty = -1.0f; }, "repetition_penalty");
  add([](SamplingParams& p) { p.repetition_window = -2; }, "repetition_window");
  add([nan](SamplingParams& p) { p.presence_penalty = nan; }, "presence_penalty");
  add([](SamplingParams& p) { p.frequency_penalty = INFINITY; }, "frequency_penalty");
  for (const Case& c : cases) {
    const Status st = ValidateSamplingParams(c.p);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(std::string(st.message()).find(c.field), std::string::npos) << st.message();
  }
  SamplingParams ok;
  ok.temperature = 0.0f;
  ok.top_p = 1.0f;
  ok.min_p = 1.0f;
  ok.presence_penalty = -2.0f;
  EXPECT_TRUE(ValidateSamplingParams(ok).ok());
}

TEST(SamplerTest, TemperatureZeroIsGreedyLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler s(p);
  Logits l = {1.0f, 3.0f, 3.0f, 2.0f};
  EXPECT_EQ(s.Sample(l, {}), 1);
  ExpectProbs(Probs(p, {1.0f, 3.0f, 3.0f, 2.0f}), {0, 1, 0, 0});
  Logits with_nan = {std::numeric_limits<float>::quiet_NaN(), -1.0f, 0.5f};
  EXPECT_EQ(s.Sample(with_nan, {}), 2);
}

TEST(SamplerTest, TopKOneEqualsGreedy) {
  SamplingParams p;
  p.top_k = 1;
  p.temperature = 1.5f;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    p.seed = seed;
    Sampler s(p);
    Logits l = RandomLogits(1000, seed + 100);
    const int32_t want = ArgMax(l);
    EXPECT_EQ(s.Sample(l, {}), want);
  }
}

TEST(SamplerTest, SameSeedSameSequence) {
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_p = 0.95f;
  p.seed = 1234;
  const Logits base = RandomLogits(5000, 7);
  auto draw = [&](Sampler& s) {
    std::vector<int32_t> out;
    for (int i = 0; i < 100; ++i) {
      Logits l = base;
      out.push_back(s.Sample(l, {}));
    }
    return out;
  };
  Sampler a(p), b(p);
  const std::vector<int32_t> seq = draw(a);
  EXPECT_EQ(seq, draw(b));
  a.Reset(1234);
  EXPECT_EQ(seq, draw(a));
  a.Reset(99);
  EXPECT_NE(seq, draw(a));  // 100 draws over a wide distribution: equal only by a bug
}

TEST(SamplerTest, UniformComesFromTheRawEngineOutput) {
  // The C++ standard fixes mt19937_64's sequence: the first output for seed 5489 is
  // 14514284786278117030, whatever the platform.
  SamplingParams p;
  p.seed = 5489;
  Sampler s(p);
  EXPECT_EQ(s.Uniform(), static_cast<double>(14514284786278117030ull >> 11) * 0x1.0p-53);
}

TEST(SamplerTest, ProbabilitiesAreSoftmaxWithTemperature) {
  const Logits l = {0.5f, -1.0f, 2.0f, 0.0f};
  SamplingParams p;
  ExpectProbs(Probs(p, l), Softmax(l));
  p.temperature = 0.5f;
  ExpectProbs(Probs(p, l), Softmax(l, 0.5));
  p.temperature = 2.0f;
  ExpectProbs(Probs(p, l), Softmax(l, 2.0));
}

TEST(SamplerTest, TopKKeepsTheKLargest) {
  const Logits l = {1.0f, 4.0f, 2.0f, 3.0f};
  SamplingParams p;
  p.top_k = 2;
  const double z = std::exp(4.0) + std::exp(3.0);
  ExpectProbs(Probs(p, l), {0, std::exp(4.0) / z, 0, std::exp(3.0) / z});
  p.top_k = 10;  // larger than the vocabulary: no filtering
  ExpectProbs(Probs(p, l), Softmax(l));
}

// Probabilities 0.5, 0.3, 0.15, 0.05 placed at ids 2, 0, 3, 1.
const Logits kFour = LogOf({0.3, 0.05, 0.5, 0.15});

TEST(SamplerTest, TopPKeepsTheShortestPrefixReachingP) {
  SamplingParams p;
  p.top_p = 0.4f;  // 0.5 alone reaches it
  ExpectProbs(Probs(p, kFour), {0, 0, 1, 0});
  p.top_p = 0.75f;  // 0.5 + 0.3
  ExpectProbs(Probs(p, kFour), {0.3 / 0.8, 0, 0.5 / 0.8, 0});
  p.top_p = 0.82f;  // 0.5 + 0.3 = 0.8 < 0.82, so 0.15 is needed too
  ExpectProbs(Probs(p, kFour), {0.3 / 0.95, 0, 0.5 / 0.95, 0.15 / 0.95});
}

TEST(SamplerTest, TopPStopsExactlyWhenTheMassIsReached) {
  // Equal logits give exactly equal weights: after two tokens the mass is exactly 0.5.
  SamplingParams p;
  p.top_p = 0.5f;
  p.top_k = 4;
  ExpectProbs(Probs(p, Logits(8, 0.0f)), {0.5, 0.5, 0, 0, 0, 0, 0, 0});
  p.top_k = 0;
  ExpectProbs(Probs(p, Logits(8, 0.0f)), {0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0});
}

TEST(SamplerTest, TopPAppliesToTheTopKDistribution) {
  // After top-k=3 the masses are 0.5/0.95, 0.3/0.95 = 0.842 cumulative, so top_p=0.82 keeps 2.
  SamplingParams p;
  p.top_k = 3;
  p.top_p = 0.82f;
  ExpectProbs(Probs(p, kFour), {0.3 / 0.8, 0, 0.5 / 0.8, 0});
}

TEST(SamplerTest, MinPKeepsTokensAboveFractionOfMax) {
  SamplingParams p;
  p.min_p = 0.25f;  // threshold 0.125: keeps 0.5, 0.3, 0.15
  ExpectProbs(Probs(p, kFour), {0.3 / 0.95, 0, 0.5 / 0.95, 0.15 / 0.95});
  p.min_p = 0.5f;  // threshold 0.25: keeps 0.5, 0.3
  ExpectProbs(Probs(p, kFour), {0.3 / 0.8, 0, 0.5 / 0.8, 0});
  p.min_p = 0.7f;  // only the top token
  ExpectProbs(Probs(p, kFour), {0, 0, 1, 0});
  // Close to the boundary: 0.15 / 0.5 = 0.3 of the maximum.
  p.min_p = 0.29f;
  ExpectProbs(Probs(p, kFour), {0.3 / 0.95, 0, 0.5 / 0.95, 0.15 / 0.95});
  p.min_p = 0.31f;
  ExpectProbs(Probs(p, kFour), {0.3 / 0.8, 0, 0.5 / 0.8, 0});
  // Equality keeps the token: two tokens tied for the maximum survive min_p = 1.
  p.min_p = 1.0f;
  ExpectProbs(Probs(p, {2.0f, 2.0f, 1.0f}), {0.5, 0.5, 0});
}

TEST(SamplerTest, TopPOnLargeFlatVocabularyKeepsLowestIds) {
  // 5000 equal logits: top_p=0.5 needs 2500 tokens (more than the first sorted prefix);
  // ties go to the lower ids.
  const Logits l(5000, 0.25f);
  SamplingParams p;
  p.top_p = 0.5f;
  const std::vector<float> probs = Probs(p, l);
  for (size_t i = 0; i < l.size(); ++i) {
    ASSERT_NEAR(probs[i], i < 2500 ? 1.0 / 2500 : 0.0, 1e-9) << i;
  }
}

TEST(SamplerTest, TopKTiesGoToLowerIds) {
  SamplingParams p;
  p.top_k = 3;  // 100 equal logits: ids 0, 1, 2
  std::vector<double> want(100, 0.0);
  want[0] = want[1] = want[2] = 1.0 / 3;
  ExpectProbs(Probs(p, Logits(100, 1.0f)), want);
  p.top_k = 2;  // k close to the vocabulary size
  ExpectProbs(Probs(p, {0.5f, 2.0f, 2.0f, 2.0f}), {0, 0.5, 0.5, 0});
}

// Reference top-p: sort all tokens by probability (descending, lower id first on ties) and keep
// each one while the mass before it is below top_p.
std::vector<double> ReferenceTopP(const Logits& logits, double top_p, double t) {
  const std::vector<double> p = Softmax(logits, t);
  std::vector<int32_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&p](int32_t a, int32_t b) { return p[a] > p[b]; });
  std::vector<double> out(p.size(), 0.0);
  double before = 0.0, kept = 0.0;
  for (int32_t id : order) {
    if (before >= top_p) break;
    out[id] = p[id];
    before += p[id];
    kept += p[id];
  }
  for (double& v : out) v /= kept;
  return out;
}

TEST(SamplerTest, TopPMatchesSortedReferenceOnLargeVocabulary) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Logits l = RandomLogits(20000, seed);
    for (float top_p : {0.1f, 0.5f, 0.9f, 0.99f}) {
      SamplingParams p;
      p.top_p = top_p;
      p.temperature = 0.7f;
      const std::vector<float> got = Probs(p, l);
      const std::vector<double> want = ReferenceTopP(l, top_p, 0.7);
      size_t kept_got = 0, kept_want = 0;
      for (size_t i = 0; i < l.size(); ++i) {
        kept_got += got[i] > 0.0f;
        kept_want += want[i] > 0.0;
        ASSERT_NEAR(got[i], want[i], 1e-6) << "seed " << seed << " top_p " << top_p << " id " << i;
      }
      EXPECT_EQ(kept_got, kept_want);
    }
  }
}

TEST(SamplerTest, RepetitionPenaltyDividesPositiveMultipliesNegative) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  Logits l = {2.0f, -2.0f, 1.0f, 0.5f};
  s.Sample(l, History{0, 1, 0});  // token 0 appears twice but is penalized once
  EXPECT_EQ(l, (Logits{1.0f, -4.0f, 1.0f, 0.5f}));

  p.repetition_window = 1;  // only the last token (1) is seen
  Sampler w(p);
  Logits l2 = {2.0f, -2.0f, 1.0f, 0.5f};
  w.Sample(l2, History{0, 1});
  EXPECT_EQ(l2, (Logits{2.0f, -4.0f, 1.0f, 0.5f}));
}

TEST(SamplerTest, PresenceAndFrequencyPenaltiesCountGeneratedTokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  Sampler s(p);
  Logits l = {1.0f, 1.0f, 1.0f, 1.0f};
  // Prompt = {1}; generated = {2, 2, 3}.
  s.Sample(l, History{1, 2, 2, 3}, /*num_prompt_tokens=*/1);
  EXPECT_EQ(l, (Logits{1.0f, 1.0f, 1.0f - 0.5f - 0.5f, 1.0f - 0.5f - 0.25f}));
  // The scratch counters were reset: a second call penalizes by the same amounts again.
  Logits again = {1.0f, 1.0f, 1.0f, 1.0f};
  s.Sample(again, History{1, 2, 2, 3}, 1);
  EXPECT_EQ(again, l);
}

TEST(SamplerTest, PenaltiesCombineAndShowInProbabilities) {
  SamplingParams p;
  p.repetition_penalty = 1.5f;   // over prompt + output
  p.frequency_penalty = 1.0f;    // over output only
  const Logits l = {3.0f, -1.0f, 0.0f};
  // History: prompt {1}, generated {0}. Token 0: 3/1.5 - 1 = 1; token 1: -1*1.5; token 2: 0.
  ExpectProbs(Probs(p, l, History{1, 0}, 1), Softmax({1.0f, -1.5f, 0.0f}));
  // Out-of-range ids are ignored.
  ExpectProbs(Probs(p, l, History{-5, 7}, 0), Softmax(l));
}

TEST(SamplerTest, FrequenciesFollowSoftmax) {
  const Logits l = {0.0f, 1.0f, 2.0f, 0.5f};
  const std::vector<double> want = Softmax(l);
  SamplingParams p;
  p.seed = 42;
  Sampler s(p);
  constexpr int kDraws = 20000;
  std::vector<int> counts(4, 0);
  for (int i = 0; i < kDraws; ++i) {
    Logits copy = l;
    const int32_t t = s.Sample(copy, {});
    ASSERT_GE(t, 0);
    ASSERT_LT(t, 4);
    ++counts[t];
  }
  double chi2 = 0.0;
  for (int i = 0; i < 4; ++i) {
    const double e = want[i] * kDraws;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  EXPECT_LT(chi2, 30.0);  // 3 degrees of freedom: p < 1e-5 for a correct sampler
}

TEST(SamplerTest, FilteredTokensAreNeverSampled) {
  SamplingParams p;
  p.top_k = 2;
  p.seed = 3;
  Sampler s(p);
  for (int i = 0; i < 2000; ++i) {
    Logits l = {1.0f, 4.0f, 2.0f, 3.9f};
    const int32_t t = s.Sample(l, {});
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(SamplerTest, LargeVocabularyTopK) {
  const Logits base = RandomLogits(130000, 11);
  Logits sorted = base;
  std::sort(sorted.begin(), sorted.end(), std::greater<float>());
  const float kth = sorted[39];
  SamplingParams p;
  p.top_k = 40;
  p.top_p = 0.9f;
  p.min_p = 0.01f;
  p.seed = 5;
  Sampler s(p);
  for (int i = 0; i < 50; ++i) {
    Logits l = base;
    const int32_t t = s.Sample(l, {});
    ASSERT_GE(t, 0);
    EXPECT_GE(base[t], kth);
  }
}

TEST(SamplerTest, DegenerateInputs) {
  SamplingParams p;
  Sampler s(p);
  Logits empty;
  EXPECT_EQ(s.Sample(empty, {}), -1);
  const float ninf = -std::numeric_limits<float>::infinity();
  Logits one_finite = {ninf, ninf, 0.0f, ninf};
  EXPECT_EQ(s.Sample(one_finite, {}), 2);
  Logits all_ninf = {ninf, ninf};
  EXPECT_EQ(s.Sample(all_ninf, {}), 0);
  Logits pos_inf = {0.0f, std::numeric_limits<float>::infinity(), 1.0f};
  EXPECT_EQ(s.Sample(pos_inf, {}), 1);
}

}  // namespace
}  // namespace ds
