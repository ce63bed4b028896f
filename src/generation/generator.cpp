#include "generation/generator.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "generation/stop_matcher.h"
#include "generation/utf8_stream.h"

namespace ds {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
// Bytes -> complete UTF-8 -> stop-string filter -> reasoning split -> callback.
class TextPipeline {
 public:
  TextPipeline(const GenerateRequest& r, const PieceCallback& cb, GenerateOutput& out)
      : stop_(r.stop), splitter_(r.prompt_opens_thinking), split_(r.split_reasoning), cb_(cb), out_(out) {}

  // Returns false if the callback asked to cancel.
  bool Push(std::string_view bytes) { return Emit(stop_.Push(utf8_.Push(bytes))); }
  bool Finish() {
    bool ok = true;
    if (!stop_.stopped()) ok = Emit(stop_.Push(utf8_.Flush())) && Emit(stop_.Flush());
    if (split_) ok = Deliver(splitter_.Flush()) && ok;
    return ok;
  }
  bool stopped() const { return stop_.stopped(); }

 private:
  bool Emit(const std::string& text) {
    if (text.empty()) return true;
    if (!split_) return Deliver({ChannelText{TextChannel::kContent, text}});
    return Deliver(splitter_.Push(text));
  }
  bool Deliver(const std::vector<ChannelText>& pieces) {
    bool ok = true;
    for (const auto& p : pieces) {
      if (p.text.empty()) continue;
      (p.channel == TextChannel::kReasoning ? out_.reasoning : out_.text) += p.text;
      if (cb_ && !cb_(p.channel, p.text)) ok = false;
    }
    return ok;
  }
  Utf8StreamDecoder utf8_;
  StopMatcher stop_;
  ReasoningSplitter splitter_;
  bool split_;
  const PieceCallback& cb_;
  GenerateOutput& out_;
};

Status ValidateRequest(const CausalLm& lm, const GenerateRequest& r, int64_t capacity) {
  DS_RETURN_IF_ERROR(ValidateSamplingParams(r.sampling));
  if (r.max_tokens <= 0) return absl::InvalidArgumentError(StrCat("max_tokens must be positive, got ", r.max_tokens));
  if (r.prompt.empty()) return absl::InvalidArgumentError("the prompt is empty (no tokens)");
  for (int32_t t : r.prompt) {
    if (t < 0 || t >= lm.vocab_size()) {
      return absl::InvalidArgumentError(StrCat("prompt token id ", t, " is outside the model's vocabulary [0, ",
                                               lm.vocab_size(), ")"));
    }
  }
  if (static_cast<int64_t>(r.prompt.size()) >= capacity) {
    return absl::OutOfRangeError(StrCat("the prompt has ", r.prompt.size(), " tokens but the context holds ",
                                        capacity, " positions (including at least one generated token)"));
  }
  for (const auto& s : r.stop) {
    if (s.empty()) return absl::InvalidArgumentError("stop strings must not be empty");
  }
  if (r.draft_tokens < 0 || r.draft_tokens > 16) {
    return absl::InvalidArgumentError(StrCat("draft_tokens must be in [0, 16], got ", r.draft_tokens));
  }
  return absl::OkStatus();
}

// MtpMode::kAuto drafts only for models whose decode streams more weight bytes per token than a
// server CPU's caches hold: there verifying k+1 tokens costs about one token's weight traffic, so
// accepted drafts are nearly free. Smaller models (the bundled demo, test fixtures) are compute-bound
// and measured slower with drafting (docs/performance.md). The rule depends only on the model, never
// on timing, so a seeded request gives the same output on every run.
constexpr int64_t kMtpAutoMinWeightBytes = int64_t{512} << 20;

bool AutoDrafts(const CausalLm& lm) { return lm.stats().active_weight_bytes >= kMtpAutoMinWeightBytes; }

}  // namespace

StatusOr<GenerateOutput> Generate(const CausalLm& lm, const Tokenizer& tokenizer, const GenerateRequest& r,
                                  const PieceCallback& callback) {
  DS_ASSIGN_OR_RETURN(auto seq, lm.NewSequence());
  DS_RETURN_IF_ERROR(ValidateRequest(lm, r, seq->capacity()));
  const bool has_mtp = lm.mtp_modules() > 0;
  if (r.mtp == MtpMode::kOn && !has_mtp) {
    return absl::FailedPreconditionError(StrCat(
        "MTP drafting was requested but the model has no multi-token-prediction module loaded (config ",
        lm.config().source, " has num_nextn_predict_layers = ", lm.config().num_nextn_predict_layers, ")"));
  }
  bool drafting = has_mtp && r.draft_tokens > 0 && (r.mtp == MtpMode::kOn || (r.mtp == MtpMode::kAuto && AutoDrafts(lm)));
  GenerateOutput out;
  out.prompt_tokens = static_cast<int64_t>(r.prompt.size());
  Sampler sampler(r.sampling);
  TextPipeline text(r, callback, out);
  std::vector<int32_t> history = r.prompt;
  std::vector<float> logits, hidden;
  auto t0 = Clock::now();
  if (drafting) {
    DS_RETURN_IF_ERROR(lm.ForwardHidden(*seq, r.prompt, false, logits, hidden));
  } else {
    DS_RETURN_IF_ERROR(lm.Forward(*seq, r.prompt, false, logits));
  }
  auto t1 = Clock::now();
  out.prefill_seconds = Seconds(t0, t1);
  const int64_t room = seq->capacity() - seq->length();
  const int64_t limit = std::min(r.max_tokens, room);
  out.finish = FinishReason::kLength;
  // Every emitted token passes here; false ends generation.
  const TokenSink sink = [&](int32_t next) {
    if (std::find(r.eos_ids.begin(), r.eos_ids.end(), next) != r.eos_ids.end()) {
      out.finish = FinishReason::kStop;
      return false;
    }
    out.tokens.push_back(next);
    if (!text.Push(tokenizer.TokenBytes(next))) {
      out.finish = FinishReason::kCancelled;
      return false;
    }
    if (text.stopped()) {
      out.finish = FinishReason::kStop;
      return false;
    }
    return static_cast<int64_t>(out.tokens.size()) < limit;
  };
  auto cancelled = [&] { return r.cancel != nullptr && r.cancel->load(); };
  MtpDrafter drafter(lm, *seq);
  SpeculativeDecoder decoder(lm, *seq, drafter, sampler, history, r.prompt.size(), out.speculative);
  bool go = !cancelled();
  if (!go) out.finish = FinishReason::kCancelled;
  if (go) {
    history.push_back(sampler.Sample(logits, history, r.prompt.size()));
    go = sink(history.back());
    if (go && drafting) {
      // The MTP module at prompt position i sees the main model's state there and token i + 1.
      DS_RETURN_IF_ERROR(drafter.Observe(hidden, std::span<const int32_t>(history).subspan(1)));
    }
  }
  while (go) {
    if (cancelled()) {
      out.finish = FinishReason::kCancelled;
      break;
    }
    const int64_t left = limit - static_cast<int64_t>(out.tokens.size());
    const int k = static_cast<int>(std::min<int64_t>(r.draft_tokens, left - 1));
    if (drafting && k > 0) {
      DS_ASSIGN_OR_RETURN(go, decoder.Round(k, sink));
      out.mtp_used = true;
    } else if (drafting) {
      DS_ASSIGN_OR_RETURN(go, decoder.PlainStep(sink));
    } else {
      const int32_t last = history.back();
      DS_RETURN_IF_ERROR(lm.Forward(*seq, std::span<const int32_t>(&last, 1), false, logits));
      history.push_back(sampler.Sample(logits, history, r.prompt.size()));
      go = sink(history.back());
    }
  }
  if (!text.Finish() && out.finish != FinishReason::kStop) out.finish = FinishReason::kCancelled;
  out.decode_seconds = Seconds(t1, Clock::now());
  return out;
}

}  // namespace ds
