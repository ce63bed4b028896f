#include "generation/generator.h"

#include <algorithm>
#include <chrono>

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
  return absl::OkStatus();
}

}  // namespace

StatusOr<GenerateOutput> Generate(const CausalLm& lm, const Tokenizer& tokenizer, const GenerateRequest& r,
                                  const PieceCallback& callback) {
  DS_ASSIGN_OR_RETURN(auto seq, lm.NewSequence());
  DS_RETURN_IF_ERROR(ValidateRequest(lm, r, seq->capacity()));
  GenerateOutput out;
  out.prompt_tokens = static_cast<int64_t>(r.prompt.size());
  Sampler sampler(r.sampling);
  TextPipeline text(r, callback, out);
  std::vector<int32_t> history = r.prompt;
  std::vector<float> logits;
  auto t0 = Clock::now();
  DS_RETURN_IF_ERROR(lm.Forward(*seq, r.prompt, false, logits));
  auto t1 = Clock::now();
  out.prefill_seconds = Seconds(t0, t1);
  const int64_t room = seq->capacity() - seq->length();
  const int64_t limit = std::min(r.max_tokens, room);
  out.finish = FinishReason::kLength;
  while (true) {
    if (r.cancel != nullptr && r.cancel->load()) {
      out.finish = FinishReason::kCancelled;
      break;
    }
    const int32_t next = sampler.Sample(logits, history, r.prompt.size());
    if (std::find(r.eos_ids.begin(), r.eos_ids.end(), next) != r.eos_ids.end()) {
      out.finish = FinishReason::kStop;
      break;
    }
    out.tokens.push_back(next);
    history.push_back(next);
    if (!text.Push(tokenizer.TokenBytes(next))) {
      out.finish = FinishReason::kCancelled;
      break;
    }
    if (text.stopped()) {
      out.finish = FinishReason::kStop;
      break;
    }
    if (static_cast<int64_t>(out.tokens.size()) >= limit) break;
    DS_RETURN_IF_ERROR(lm.Forward(*seq, std::span<const int32_t>(&next, 1), false, logits));
  }
  if (!text.Finish() && out.finish != FinishReason::kStop) out.finish = FinishReason::kCancelled;
  out.decode_seconds = Seconds(t1, Clock::now());
  return out;
}

}  // namespace ds
