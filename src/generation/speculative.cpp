#include "generation/speculative.h"

#include <algorithm>

namespace ds {

int32_t SampleFromProbs(std::span<const float> probs, Sampler& sampler) {
  double total = 0.0;
  for (float v : probs) total += v;
  if (!(total > 0.0)) return ArgMax(probs);
  const double target = sampler.Uniform() * total;
  double cum = 0.0;
  int32_t last = -1;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0.0f) continue;
    cum += probs[i];
    last = static_cast<int32_t>(i);
    if (target < cum) return last;
  }
  return last;  // rounding left the target at the very end
}

DraftVerdict VerifyDraft(std::span<const float> p, std::span<const float> q, int32_t draft, Sampler& sampler) {
  const double pd = p[draft], qd = q[draft];
  // p >= q accepts for sure (no draw); otherwise accept with probability p/q.
  if (pd > 0.0 && (pd >= qd || sampler.Uniform() * qd < pd)) return {true, draft};
  // Rejected: draw from the residual max(0, p - q), renormalized (SampleFromProbs normalizes).
  std::vector<float> residual(p.size());
  double mass = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    residual[i] = std::max(0.0f, p[i] - q[i]);
    mass += residual[i];
  }
  // p == q up to rounding leaves no residual; p itself is then the right distribution.
  return {false, mass > 1e-12 ? SampleFromProbs(residual, sampler) : SampleFromProbs(p, sampler)};
}

Status MtpDrafter::Observe(std::span<const float> hidden, std::span<const int32_t> next_tokens) {
  const int64_t d = lm_.config().hidden_size;
  if (static_cast<int64_t>(hidden.size()) != d * static_cast<int64_t>(next_tokens.size())) {
    return absl::InvalidArgumentError(StrCat("MTP drafter: ", next_tokens.size(), " rows need ",
                                             d * static_cast<int64_t>(next_tokens.size()), " hidden values, got ",
                                             hidden.size()));
  }
  seq_.TruncateMtp(verified_);  // drop the chained (draft) positions of the last round
  pending_hidden_.insert(pending_hidden_.end(), hidden.begin(), hidden.end());
  pending_tokens_.insert(pending_tokens_.end(), next_tokens.begin(), next_tokens.end());
  return absl::OkStatus();
}

Status MtpDrafter::First(std::vector<float>& logits) {
  if (pending_tokens_.empty()) return absl::FailedPreconditionError("MTP drafter: nothing observed since the last draft");
  // The verified positions since the last round, in one batch: their cache rows are those of a
  // run that never drafted, and the last row predicts the first draft.
  DS_RETURN_IF_ERROR(lm_.MtpForward(seq_, 0, pending_hidden_, pending_tokens_, logits, out_hidden_));
  verified_ = seq_.mtp_length();
  const int64_t d = lm_.config().hidden_size;
  chain_hidden_.assign(out_hidden_.end() - d, out_hidden_.end());
  pending_hidden_.clear();
  pending_tokens_.clear();
  return absl::OkStatus();
}

Status MtpDrafter::Next(int32_t draft, std::vector<float>& logits) {
  DS_RETURN_IF_ERROR(lm_.MtpForward(seq_, 0, chain_hidden_, std::span<const int32_t>(&draft, 1), logits, out_hidden_));
  chain_hidden_.swap(out_hidden_);
  return absl::OkStatus();
}

StatusOr<bool> SpeculativeDecoder::PlainStep(const TokenSink& sink) {
  const int32_t last = history_.back();
  DS_RETURN_IF_ERROR(lm_.ForwardHidden(seq_, std::span<const int32_t>(&last, 1), false, logits_, hidden_));
  const int32_t next = sampler_.Sample(logits_, history_, prompt_);
  history_.push_back(next);
  if (!sink(next)) return false;
  DS_RETURN_IF_ERROR(drafter_.Observe(hidden_, std::span<const int32_t>(&next, 1)));
  return true;
}

StatusOr<bool> SpeculativeDecoder::Round(int k, const TokenSink& sink) {
  const int64_t start = seq_.length();  // position of history_.back()
  const int64_t vocab = lm_.vocab_size();
  // Draft k tokens, each drawn from the processed draft distribution q_j.
  drafts_.clear();
  q_.resize(k);
  for (int j = 0; j < k; ++j) {
    DS_RETURN_IF_ERROR(j == 0 ? drafter_.First(logits_) : drafter_.Next(drafts_.back(), logits_));
    sampler_.Probabilities(logits_, history_, q_[j], prompt_);
    const int32_t d = SampleFromProbs(q_[j], sampler_);
    drafts_.push_back(d);
    history_.push_back(d);  // later drafts see it in their penalties, as the target will
  }
  history_.resize(history_.size() - k);
  // Verify every draft with one forward of the target over [last, d1..dk].
  verify_.assign(1, history_.back());
  verify_.insert(verify_.end(), drafts_.begin(), drafts_.end());
  DS_RETURN_IF_ERROR(lm_.ForwardHidden(seq_, verify_, true, logits_, hidden_));
  ++stats_.rounds;
  if (static_cast<int>(stats_.drafted_at.size()) < k) {
    stats_.drafted_at.resize(k, 0);
    stats_.accepted_at.resize(k, 0);
  }
  int accepted = 0;
  int32_t next = -1;
  for (int j = 0; j < k; ++j) {
    ++stats_.drafted;
    ++stats_.drafted_at[j];
  }
  for (int j = 0; j <= k; ++j) {
    const std::span<const float> row(logits_.data() + j * vocab, vocab);
    sampler_.Probabilities(row, history_, p_, prompt_);
    if (j == k) {  // every draft accepted: one more token from the last row
      next = SampleFromProbs(p_, sampler_);
      break;
    }
    const DraftVerdict v = VerifyDraft(p_, q_[j], drafts_[j], sampler_);
    if (!v.accepted) {
      next = v.token;
      break;
    }
    ++accepted;
    ++stats_.accepted;
    ++stats_.accepted_at[j];
    history_.push_back(v.token);
    if (!sink(v.token)) return false;
  }
  history_.push_back(next);
  if (!sink(next)) return false;
  // Keep [last, d1..d_accepted]; the rejected drafts' cache rows are forgotten.
  seq_.Truncate(start + 1 + accepted);
  const int64_t d = lm_.config().hidden_size;
  const std::span<const float> kept(hidden_.data(), (accepted + 1) * d);
  DS_RETURN_IF_ERROR(drafter_.Observe(kept, std::span<const int32_t>(history_).last(accepted + 1)));
  return true;
}

}  // namespace ds
