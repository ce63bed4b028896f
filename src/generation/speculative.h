// Speculative decoding with DeepSeek-V3's multi-token-prediction (MTP) module as the drafter.
//
// A round starts with the last emitted token not yet run by the target model. The drafter
// proposes k tokens (the single MTP module chained k times, as DeepSeek and SGLang do); the target
// runs [last, d1..dk] in one batched forward; drafts are accepted left to right by the standard
// rules (speculative sampling: accept d with probability min(1, p(d)/q(d)), else draw from
// norm(max(0, p - q)) and stop; with every draft accepted, one more token is drawn from the last
// row), so the output distribution is exactly the target's. Greedy decoding is the special case
// of one-hot p and q: exact match. The target's KV cache is then truncated past the rejected
// drafts and the MTP cache back to its verified positions.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "generation/sampler.h"
#include "models/causal_lm.h"

namespace ds {

// auto: draft when the model has MTP weights and drafting turns out faster than plain decoding.
enum class MtpMode { kAuto, kOn, kOff };

struct SpeculativeStats {
  int64_t rounds = 0;    // verification forwards
  int64_t drafted = 0;   // draft tokens proposed
  int64_t accepted = 0;  // draft tokens accepted
  // Per draft position j (0 = a round's first draft): rounds that drafted it, and rounds in which
  // it was accepted (which needs every earlier draft of the round accepted too).
  std::vector<int64_t> drafted_at, accepted_at;
  double AcceptanceRate() const { return drafted > 0 ? static_cast<double>(accepted) / drafted : 0.0; }
};

struct DraftVerdict {
  bool accepted = false;
  int32_t token = -1;  // the draft when accepted, else the replacement drawn from the residual
};

// Speculative-sampling verification of `draft`, drawn from `q`, against the target distribution
// `p` (both over the vocabulary, as Sampler::Probabilities gives them).
DraftVerdict VerifyDraft(std::span<const float> p, std::span<const float> q, int32_t draft, Sampler& sampler);
// Draws one token from the distribution `probs` with the sampler's engine.
int32_t SampleFromProbs(std::span<const float> probs, Sampler& sampler);

// Proposes draft tokens. Observe() hands it what the target committed; First()/Next() give the
// logits of successive drafts.
class Drafter {
 public:
  virtual ~Drafter() = default;
  // The target committed more positions: `hidden` holds their final hidden states
  // ([rows, hidden_size]) and `next_tokens` the token that follows each of them.
  virtual Status Observe(std::span<const float> hidden, std::span<const int32_t> next_tokens) = 0;
  // Draft logits for the token after everything observed.
  virtual Status First(std::vector<float>& logits) = 0;
  // Draft logits for the token after `draft` (the previous draft).
  virtual Status Next(int32_t draft, std::vector<float>& logits) = 0;
};

// Drafts with the model's first MTP module, chained on its own output for later drafts. Its KV
// cache keeps the verified positions only: chained positions are dropped at the next Observe().
class MtpDrafter : public Drafter {
 public:
  MtpDrafter(const CausalLm& lm, SequenceState& seq) : lm_(lm), seq_(seq) {}
  Status Observe(std::span<const float> hidden, std::span<const int32_t> next_tokens) override;
  Status First(std::vector<float>& logits) override;
  Status Next(int32_t draft, std::vector<float>& logits) override;

 private:
  const CausalLm& lm_;
  SequenceState& seq_;
  int64_t verified_ = 0;  // MTP cache positions computed from the target's own hidden states
  std::vector<float> pending_hidden_, chain_hidden_, out_hidden_;
  std::vector<int32_t> pending_tokens_;
};

// Receives each emitted token; returns false to end generation (EOS, stop string, limit, cancel).
using TokenSink = std::function<bool(int32_t)>;

// Drives rounds on one sequence. `history` is prompt + emitted tokens; its last token has been
// emitted but not yet run by `lm` (seq.length() == history.size() - 1).
class SpeculativeDecoder {
 public:
  SpeculativeDecoder(const CausalLm& lm, SequenceState& seq, Drafter& drafter, Sampler& sampler,
                     std::vector<int32_t>& history, size_t prompt_tokens, SpeculativeStats& stats)
      : lm_(lm), seq_(seq), drafter_(drafter), sampler_(sampler), history_(history), prompt_(prompt_tokens),
        stats_(stats) {}
  // Drafts k >= 1 tokens, verifies them, emits the accepted ones plus one through `sink` (each
  // appended to history first) and rolls the caches back. Returns false once the sink said stop.
  StatusOr<bool> Round(int k, const TokenSink& sink);
  // One plain decoding step that still keeps the drafter up to date.
  StatusOr<bool> PlainStep(const TokenSink& sink);

 private:
  const CausalLm& lm_;
  SequenceState& seq_;
  Drafter& drafter_;
  Sampler& sampler_;
  std::vector<int32_t>& history_;
  size_t prompt_;
  SpeculativeStats& stats_;
  std::vector<int32_t> drafts_, verify_;
  std::vector<std::vector<float>> q_;
  std::vector<float> logits_, hidden_, p_;
};

}  // namespace ds
