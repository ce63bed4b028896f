// The generation loop: prefill the prompt, then sample, detokenize and stream one token at a time,
// with EOS / stop strings / max-tokens / cancellation, and R1 reasoning split into its own channel.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "generation/reasoning_splitter.h"
#include "generation/sampler.h"
#include "generation/speculative.h"
#include "models/causal_lm.h"
#include "tokenizer/tokenizer.h"

namespace ds {

enum class FinishReason { kStop, kLength, kCancelled };

struct GenerateRequest {
  std::vector<int32_t> prompt;         // token ids
  SamplingParams sampling;
  int64_t max_tokens = 256;            // > 0
  std::vector<std::string> stop;       // stop strings (not included in the output)
  std::vector<int32_t> eos_ids;        // generation ends when one is sampled
  bool split_reasoning = true;         // route <think>...</think> text to the reasoning channel
  bool prompt_opens_thinking = false;  // the prompt ended inside an open <think>
  const std::atomic<bool>* cancel = nullptr;  // set from any thread to stop early
  // Speculative decoding with the model's MTP module (generation/speculative.h). auto: on when the
  // model has one loaded and decodes >= 512 MiB of weights per token (where drafting pays; a rule
  // on the model alone, so seeded output never depends on timing); on: an error without one.
  MtpMode mtp = MtpMode::kAuto;
  int32_t draft_tokens = 3;            // drafts per round, in [0, 16]; 0 = no drafting
};

struct GenerateOutput {
  std::string text, reasoning;
  std::vector<int32_t> tokens;  // generated ids (EOS excluded)
  FinishReason finish = FinishReason::kLength;
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  bool mtp_used = false;             // at least one speculative round ran
  SpeculativeStats speculative;
};

// Receives each streamed piece; return false to cancel.
using PieceCallback = std::function<bool(TextChannel, std::string_view)>;

// Runs one generation on a fresh sequence of `lm`. Errors: invalid parameters, a prompt that does
// not fit the context, token ids outside the vocabulary.
StatusOr<GenerateOutput> Generate(const CausalLm& lm, const Tokenizer& tokenizer, const GenerateRequest& request,
                                  const PieceCallback& callback);

}  // namespace ds
