// MTP speculative decoding on the fixtures with MTP weights (tiny-v3, tiny-v3-fp8): greedy output
// identical with and without drafting over hundreds of tokens, KV caches after rollback equal to
// those of a run that never drafted, and (end to end, with a drafter whose q overlaps p) the
// distribution of sampled tokens unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "generation/generator.h"
#include "models/architectures.h"

namespace ds {
namespace {

const std::string kData = DS_TEST_DATA_DIR;
const std::vector<int32_t> kPrompt = {5, 17, 250, 3, 999, 42, 7, 128};

std::unique_ptr<CausalLm> Load(const std::string& fixture, bool mtp, int64_t ctx) {
  ModelLoadOptions o;
  o.max_context = ctx;
  o.load_mtp = mtp;
  o.threads = 1;  // tiny shapes: threads only add synchronization
  return LoadCausalLm(kData + "/fixtures/" + fixture, o).value();
}

// Drafts with the target model itself on a second cache, its logits distorted so that q differs
// from p but overlaps it: exercises acceptance, rejection and the extra token of full acceptance.
class SelfDrafter : public Drafter {
 public:
  SelfDrafter(const CausalLm& lm, int32_t first_token) : lm_(lm), seq_(lm.NewSequence().value()), tokens_{first_token} {}
  // Starts over from `tokens` (prompt + pending token), reusing cached rows of the same prefix.
  void Reset(const std::vector<int32_t>& tokens) {
    tokens_ = tokens;
    verified_ = std::min<int64_t>(seq_->length(), static_cast<int64_t>(tokens.size()) - 1);
    seq_->Truncate(verified_);
  }
  Status Observe(std::span<const float>, std::span<const int32_t> next) override {
    seq_->Truncate(verified_);
    tokens_.insert(tokens_.end(), next.begin(), next.end());
    return absl::OkStatus();
  }
  Status First(std::vector<float>& logits) override {
    const std::span<const int32_t> todo = std::span<const int32_t>(tokens_).subspan(seq_->length());
    DS_RETURN_IF_ERROR(lm_.Forward(*seq_, todo, false, logits));
    verified_ = seq_->length();
    Distort(logits);
    return absl::OkStatus();
  }
  Status Next(int32_t draft, std::vector<float>& logits) override {
    DS_RETURN_IF_ERROR(lm_.Forward(*seq_, std::span<const int32_t>(&draft, 1), false, logits));
    Distort(logits);
    return absl::OkStatus();
  }

 private:
  void Distort(std::vector<float>& l) const {
    for (size_t i = 0; i < l.size(); ++i) l[i] = 0.8f * l[i] + noise * std::sin(static_cast<float>(i));
  }

 public:
  float noise = 0.4f;  // strength of the distortion

 private:
  const CausalLm& lm_;
  std::unique_ptr<SequenceState> seq_;
  std::vector<int32_t> tokens_;
  int64_t verified_ = 0;
};

// Prefill + speculative rounds of `k` drafts until at least `n` tokens were emitted; stops at a
// round boundary so the caches are in their rolled-back state.
std::vector<int32_t> RunSpeculative(const CausalLm& lm, SequenceState& seq, Drafter& drafter, const SamplingParams& sp,
                                    int64_t n, int k, SpeculativeStats& stats) {
  Sampler sampler(sp);
  std::vector<int32_t> history = kPrompt;
  std::vector<float> logits, hidden;
  EXPECT_TRUE(lm.ForwardHidden(seq, kPrompt, false, logits, hidden).ok());
  history.push_back(sampler.Sample(logits, history, kPrompt.size()));
  EXPECT_TRUE(drafter.Observe(hidden, std::span<const int32_t>(history).subspan(1)).ok());
  SpeculativeDecoder decoder(lm, seq, drafter, sampler, history, kPrompt.size(), stats);
  const TokenSink sink = [](int32_t) { return true; };
  while (static_cast<int64_t>(history.size() - kPrompt.size()) < n) {
    auto go = decoder.Round(k, sink);
    EXPECT_TRUE(go.ok()) << go.status();
    if (!go.ok()) break;
  }
  return std::vector<int32_t>(history.begin() + kPrompt.size(), history.end());
}

// Plain greedy decoding, token by token, on `seq`.
std::vector<int32_t> RunPlainGreedy(const CausalLm& lm, SequenceState& seq, int64_t n) {
  std::vector<float> logits;
  EXPECT_TRUE(lm.Forward(seq, kPrompt, false, logits).ok());
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(ArgMax(logits));
    if (i + 1 < n) {
      EXPECT_TRUE(lm.Forward(seq, std::span<const int32_t>(&out.back(), 1), false, logits).ok());
    }
  }
  return out;
}

GenerateRequest GreedyRequest(int64_t n, MtpMode mode) {
  GenerateRequest r;
  r.prompt = kPrompt;
  r.sampling.temperature = 0;
  r.max_tokens = n;
  r.mtp = mode;
  return r;  // no EOS ids: run the full length
}

class SpeculativeDecodingTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SpeculativeDecodingTest, GreedyOutputIdenticalWithAndWithoutMtp) {
  auto lm = Load(GetParam(), true, 512);
  ASSERT_EQ(lm->mtp_modules(), 1);
  auto tok = Tokenizer::Load(kData + "/tokenizers/deepseek-v3").value();
  const int64_t n = 300;
  auto off = Generate(*lm, *tok, GreedyRequest(n, MtpMode::kOff), nullptr).value();
  ASSERT_EQ(static_cast<int64_t>(off.tokens.size()), n);
  EXPECT_FALSE(off.mtp_used);
  for (int k : {1, 3}) {
    GenerateRequest r = GreedyRequest(n, MtpMode::kOn);
    r.draft_tokens = k;
    auto on = Generate(*lm, *tok, r, nullptr).value();
    EXPECT_TRUE(on.mtp_used);
    EXPECT_EQ(on.tokens, off.tokens) << "draft " << k;
    EXPECT_EQ(on.text, off.text);
    EXPECT_GT(on.speculative.rounds, 0);
    EXPECT_EQ(on.speculative.drafted_at.size(), static_cast<size_t>(k));
  }
  // The same with a drafter that is often right, so long runs of accepted drafts are verified.
  SpeculativeStats stats;
  auto seq = lm->NewSequence().value();
  SelfDrafter drafter(*lm, kPrompt[0]);
  SamplingParams greedy;
  greedy.temperature = 0;
  auto spec = RunSpeculative(*lm, *seq, drafter, greedy, n, 4, stats);
  spec.resize(n);
  EXPECT_EQ(spec, off.tokens);
  EXPECT_GT(stats.AcceptanceRate(), 0.3);
  EXPECT_GT(stats.accepted_at[3], 0);  // some rounds accepted all four drafts
}

TEST_P(SpeculativeDecodingTest, KvCacheAfterRollbackEqualsARunThatNeverDrafted) {
  auto lm = Load(GetParam(), true, 512);
  const CausalLm& m = *lm;
  const int64_t layers = m.config().num_hidden_layers;
  SamplingParams greedy;
  greedy.temperature = 0;
  for (int k : {2, 4}) {
    SCOPED_TRACE(k);
    SpeculativeStats stats;
    auto seq = m.NewSequence().value();
    MtpDrafter drafter(m, *seq);
    auto tokens = RunSpeculative(m, *seq, drafter, greedy, 120, k, stats);
    ASSERT_GT(stats.drafted, stats.accepted);  // some drafts were rolled back
    // The target's cache holds prompt + every emitted token but the last (not yet run).
    const int64_t len = static_cast<int64_t>(kPrompt.size() + tokens.size()) - 1;
    ASSERT_EQ(seq->length(), len);
    auto plain = m.NewSequence().value();
    EXPECT_EQ(RunPlainGreedy(m, *plain, static_cast<int64_t>(tokens.size())), tokens);
    ASSERT_EQ(plain->length(), len);
    double worst = 0.0;
    for (int64_t l = 0; l < layers; ++l) {
      for (int64_t pos = 0; pos < len; ++pos) {
        const auto a = seq->CacheRow(l, pos), b = plain->CacheRow(l, pos);
        ASSERT_EQ(a.size(), b.size());
        ASSERT_FALSE(a.empty());
        for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
      }
    }
    // Verification runs k + 1 rows at once (k = 4: through the GEMM path) where plain decoding
    // runs one: rows agree to f32 summation order (~1e-5); a rollback bug moves them by ~1.
    EXPECT_LE(worst, 1e-4) << "main cache";
    EXPECT_TRUE(seq->CacheRow(0, len).empty());  // nothing past the rollback point
    // The MTP cache keeps only verified positions, computed from the target's own hidden states:
    // compare with the module run once over a never-drafted sequence's hidden states.
    const int64_t mtp_len = seq->mtp_length();
    EXPECT_GE(mtp_len, len - k - 1);
    EXPECT_LT(mtp_len, len);
    std::vector<int32_t> all = kPrompt;
    all.insert(all.end(), tokens.begin(), tokens.end());
    auto ref = m.NewSequence().value();
    std::vector<float> logits, hidden, out_hidden;
    ASSERT_TRUE(m.ForwardHidden(*ref, std::span<const int32_t>(all).first(mtp_len), true, logits, hidden).ok());
    ASSERT_TRUE(m.MtpForward(*ref, 0, hidden, std::span<const int32_t>(all).subspan(1, mtp_len), logits, out_hidden).ok());
    double worst_mtp = 0.0;
    for (int64_t pos = 0; pos < mtp_len; ++pos) {
      const auto a = seq->CacheRow(layers, pos), b = ref->CacheRow(layers, pos);
      ASSERT_EQ(a.size(), b.size());
      ASSERT_FALSE(a.empty());
      for (size_t i = 0; i < a.size(); ++i) worst_mtp = std::max(worst_mtp, static_cast<double>(std::fabs(a[i] - b[i])));
    }
    EXPECT_LE(worst_mtp, 1e-4) << "MTP cache";
    EXPECT_TRUE(seq->CacheRow(layers, mtp_len).empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SpeculativeDecodingTest, ::testing::Values("tiny-v3", "tiny-v3-fp8"));

// The bundled demo model (models/deepseek-demo, whose MTP module was trained): greedy output
// identical with and without drafting. Skipped when the model is not in the tree.
TEST(SpeculativeDemoModelTest, GreedyOutputIdenticalWithAndWithoutMtp) {
  const char* env = std::getenv("DS_DEMO_MODEL");
  const std::string dir = env != nullptr ? env : kData + "/../../models/deepseek-demo";
  if (!std::filesystem::exists(dir + "/config.json")) GTEST_SKIP() << "no bundled model at " << dir;
  ModelLoadOptions o;
  o.max_context = 512;
  o.threads = 1;
  o.load_mtp = true;
  auto lm = LoadCausalLm(dir, o).value();
  ASSERT_EQ(lm->mtp_modules(), 1);
  auto tok = Tokenizer::Load(dir).value();
  GenerateRequest r = GreedyRequest(300, MtpMode::kOff);
  r.prompt = tok->Encode("And God said unto Moses", false).value();
  auto off = Generate(*lm, *tok, r, nullptr).value();
  ASSERT_EQ(off.tokens.size(), 300u);
  for (int k : {1, 3}) {
    r.mtp = MtpMode::kOn;
    r.draft_tokens = k;
    auto on = Generate(*lm, *tok, r, nullptr).value();
    EXPECT_EQ(on.tokens, off.tokens) << "draft " << k;
    EXPECT_GT(on.speculative.AcceptanceRate(), 0.5);  // a trained MTP head, unlike the fixtures'
  }
}

// End to end: after a fixed prompt + first token, the next two tokens under speculative decoding
// (1 draft per round: the first comes from verification — the draft or the residual — and the
// second from full acceptance or the next round) must follow the exact distribution computed from
// the target's own processed probabilities (top-k 2 at temperature 2: four outcomes).
TEST(SpeculativeDistributionTest, SampledTokensKeepTheTargetDistribution) {
  auto lm = Load("tiny-v3", true, 32);
  SamplingParams sp;
  sp.temperature = 2.0f;
  sp.top_k = 2;
  std::vector<int32_t> ctx = kPrompt;
  ctx.push_back(77);
  // Exact joint distribution of (t2, t3).
  std::map<std::pair<int32_t, int32_t>, double> expected;
  Sampler probe(sp);
  std::vector<float> logits, p2, p3;
  {
    auto s = lm->NewSequence().value();
    ASSERT_TRUE(lm->Forward(*s, ctx, false, logits).ok());
    probe.Probabilities(logits, ctx, p2, kPrompt.size());
    for (int32_t a = 0; a < lm->vocab_size(); ++a) {
      if (p2[a] <= 0) continue;
      ASSERT_TRUE(lm->Forward(*s, std::span<const int32_t>(&a, 1), false, logits).ok());
      std::vector<int32_t> ctx2 = ctx;
      ctx2.push_back(a);
      probe.Probabilities(logits, ctx2, p3, kPrompt.size());
      for (int32_t b = 0; b < lm->vocab_size(); ++b) {
        if (p3[b] > 0) expected[{a, b}] = static_cast<double>(p2[a]) * p3[b];
      }
      s->Truncate(static_cast<int64_t>(ctx.size()));
    }
  }
  ASSERT_EQ(expected.size(), 4u);
  // Many seeds on one sequence, rolled back to the prompt each time.
  const int64_t n = 2000;
  std::map<std::pair<int32_t, int32_t>, int64_t> counts;
  SpeculativeStats stats;
  auto seq = lm->NewSequence().value();
  ASSERT_TRUE(lm->Forward(*seq, kPrompt, false, logits).ok());
  SelfDrafter drafter(*lm, kPrompt[0]);
  drafter.noise = 3.0f;
  const TokenSink sink = [](int32_t) { return true; };
  for (int64_t i = 0; i < n; ++i) {
    sp.seed = static_cast<uint64_t>(i) * 104729 + 3;
    Sampler sampler(sp);
    seq->Truncate(static_cast<int64_t>(kPrompt.size()));
    drafter.Reset(ctx);
    std::vector<int32_t> history = ctx;
    SpeculativeDecoder decoder(*lm, *seq, drafter, sampler, history, kPrompt.size(), stats);
    while (history.size() < ctx.size() + 2) ASSERT_TRUE(decoder.Round(1, sink).ok());
    const std::pair<int32_t, int32_t> key{history[ctx.size()], history[ctx.size() + 1]};
    ASSERT_TRUE(expected.count(key)) << "impossible tokens " << key.first << " " << key.second;
    ++counts[key];
  }
  double x = 0.0;
  for (const auto& [key, prob] : expected) {
    const double e = prob * n, c = static_cast<double>(counts[key]);
    x += (c - e) * (c - e) / e;
  }
  const int df = 3;
  const double a = 2.0 / (9.0 * df), critical = df * std::pow(1.0 - a + 3.719 * std::sqrt(a), 3.0);
  EXPECT_LT(x, critical);
  // Both verification outcomes occurred many times.
  EXPECT_GT(stats.accepted, n / 10);
  EXPECT_GT(stats.drafted - stats.accepted, n / 10);
}

}  // namespace
}  // namespace ds
