// Speculative-sampling acceptance at the sampler level: on a small vocabulary, draft from q,
// verify against p, and check with a chi-square test over many seeds that the emitted token is
// distributed as p (and, to show the test has power, not as q).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "generation/speculative.h"

namespace ds {
namespace {

// Upper critical value of chi-square with `df` degrees of freedom at alpha = 1e-4
// (Wilson-Hilferty; within a few percent of the exact quantile, on the conservative side).
double ChiSquareCritical(int df) {
  const double z = 3.719, a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

// Pearson's statistic of `counts` against `probs` (cells with zero probability must be empty).
double ChiSquare(const std::vector<int64_t>& counts, const std::vector<float>& probs, int64_t n, int* df) {
  double x = 0.0;
  *df = -1;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (probs[i] <= 0.0f) {
      if (counts[i] > 0) return INFINITY;
      continue;
    }
    const double e = probs[i] * static_cast<double>(n);
    x += (counts[i] - e) * (counts[i] - e) / e;
    ++*df;
  }
  return x;
}

struct Case {
  const char* name;
  SamplingParams params;
  std::vector<float> target, draft;
};

std::vector<Case> Cases() {
  SamplingParams plain;  // temperature 1, no filters
  SamplingParams filtered;
  filtered.temperature = 0.8f;
  filtered.top_k = 4;
  filtered.top_p = 0.9f;
  return {
      {"plain", plain, {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, -1.0f}, {0.1f, 1.5f, 0.3f, 0.4f, -2.0f, 0.9f}},
      {"top_k_top_p_temperature", filtered, {0.5f, 2.2f, -0.1f, 1.9f, 1.0f, -3.0f}, {2.0f, 0.0f, 1.0f, 1.5f, 2.5f, 0.2f}},
  };
}

TEST(SpeculativeSamplingTest, EmittedTokenIsDistributedAsTheTarget) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const int64_t n = 60000;
    std::vector<int64_t> counts(c.target.size(), 0);
    std::vector<float> p, q;
    int64_t accepted = 0;
    for (int64_t seed = 0; seed < n; ++seed) {
      SamplingParams sp = c.params;
      sp.seed = static_cast<uint64_t>(seed) * 7919 + 1;
      Sampler sampler(sp);
      sampler.Probabilities(c.target, {}, p);
      sampler.Probabilities(c.draft, {}, q);
      const int32_t d = SampleFromProbs(q, sampler);
      ASSERT_GT(q[d], 0.0f);
      const DraftVerdict v = VerifyDraft(p, q, d, sampler);
      accepted += v.accepted;
      ++counts[v.token];
    }
    int df = 0;
    const double x = ChiSquare(counts, p, n, &df);
    EXPECT_LT(x, ChiSquareCritical(df)) << "df " << df;
    // Power: the same counts are far from the draft distribution.
    int df_q = 0;
    EXPECT_GT(ChiSquare(counts, q, n, &df_q), 100.0 * ChiSquareCritical(std::max(df_q, 1)));
    // Acceptance probability is sum_i min(p_i, q_i).
    double expected_accept = 0.0;
    for (size_t i = 0; i < p.size(); ++i) expected_accept += std::min(p[i], q[i]);
    EXPECT_NEAR(static_cast<double>(accepted) / n, expected_accept, 5.0 * std::sqrt(0.25 / n));
  }
}

TEST(SpeculativeSamplingTest, GreedyAcceptsExactlyTheArgmax) {
  SamplingParams sp;
  sp.temperature = 0.0f;
  Sampler sampler(sp);
  std::vector<float> p, q;
  sampler.Probabilities(std::vector<float>{0.1f, 3.0f, 1.0f}, {}, p);
  sampler.Probabilities(std::vector<float>{5.0f, 0.0f, 1.0f}, {}, q);
  EXPECT_EQ(SampleFromProbs(q, sampler), 0);
  DraftVerdict v = VerifyDraft(p, q, 0, sampler);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.token, 1);  // the residual is the target's argmax
  v = VerifyDraft(p, p, 1, sampler);
  EXPECT_TRUE(v.accepted);
  EXPECT_EQ(v.token, 1);
}

TEST(SpeculativeSamplingTest, IdenticalDistributionsAlwaysAccept) {
  SamplingParams sp;
  Sampler sampler(sp);
  std::vector<float> p;
  sampler.Probabilities(std::vector<float>{0.3f, 0.1f, 2.0f, -1.0f}, {}, p);
  for (int i = 0; i < 1000; ++i) {
    const int32_t d = SampleFromProbs(p, sampler);
    EXPECT_TRUE(VerifyDraft(p, p, d, sampler).accepted);
  }
}

}  // namespace
}  // namespace ds
