// deepseek/generate.h: text generation with streaming, sampling and R1 reasoning split
// (standard library only).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "deepseek/model.h"
#include "deepseek/tokenizer.h"

namespace deepseek {

// Which stream a piece of generated text belongs to: R1's <think> reasoning or the answer.
enum class Channel { kContent = 0, kReasoning = 1 };
enum class FinishReason { kStop = 0, kLength = 1, kCancelled = 2 };

// Sampling. Order: repetition penalty, presence/frequency penalties, temperature, top-k, top-p,
// min-p, then a seeded draw. Invalid values (negative temperature, top_p outside (0, 1], ...) are
// errors naming the field.
struct SamplingOptions {
  float temperature = 0.6f;          // 0 = greedy (DeepSeek recommends 0.6 for R1)
  int32_t top_k = 0;                 // 0 = off
  float top_p = 0.95f;               // 1 = off; in (0, 1]
  float min_p = 0.0f;                // 0 = off; in [0, 1]
  float repetition_penalty = 1.0f;   // 1 = off; > 0
  float presence_penalty = 0.0f;     // 0 = off (OpenAI semantics)
  float frequency_penalty = 0.0f;    // 0 = off (OpenAI semantics)
  uint64_t seed = 0;                 // same seed + same inputs = same output
};

// Speculative decoding with DeepSeek-V3/R1's multi-token-prediction (MTP) module: it drafts
// tokens that the model verifies in one batched step. The output is unchanged (identical greedy
// text; the same distribution when sampling); only the speed differs.
enum class MtpMode {
  kAuto = 0,  // draft when the model has MTP weights and streams >= 512 MiB of weights per token
  kOn = 1,    // always draft; an error when the model has no MTP weights loaded
  kOff = 2,   // never draft
};

struct GenerateOptions {
  SamplingOptions sampling;
  int64_t max_tokens = 512;              // generated tokens at most; > 0
  std::vector<std::string> stop;         // stop strings, excluded from the output
  bool split_reasoning = true;           // deliver <think>...</think> text as Channel::kReasoning
  const std::atomic<bool>* cancel = nullptr;  // set to true from any thread to stop early
  MtpMode mtp = MtpMode::kAuto;          // speculative decoding with the MTP module
  int32_t draft_tokens = 3;              // tokens drafted per step when drafting; in [0, 16]
};

struct GenerateResult {
  std::string text;       // the answer (content channel)
  std::string reasoning;  // the reasoning channel ("" if none)
  FinishReason finish_reason = FinishReason::kLength;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double prefill_tokens_per_second = 0;
  double decode_tokens_per_second = 0;
  // Speculative decoding (MTP). All zero / empty when no drafting happened.
  bool mtp_used = false;                       // at least one drafting step ran
  int64_t drafted_tokens = 0;                  // tokens the MTP module proposed
  int64_t accepted_tokens = 0;                 // of those, accepted by the model
  double acceptance_rate = 0;                  // accepted_tokens / drafted_tokens
  // [j]: fraction of drafting steps in which draft j (0 = first) was accepted, which needs every
  // earlier draft of that step accepted too.
  std::vector<double> acceptance_by_position;
};

// Receives each streamed piece (always complete UTF-8) and its channel; return false to cancel.
using StreamCallback = std::function<bool(std::string_view piece, Channel channel)>;

// Generates a continuation of `prompt` (raw text, tokenized without added special tokens; BOS is
// added if the tokenizer asks for it).
// Thread-safe: any number of threads may call Generate / GenerateChat at once on one shared Model
// and Tokenizer. Each call is an independent session with its own KV cache and sampler; with the
// same prompt, options and seed it returns the same text whether it runs alone or beside others.
// `on_piece` runs on the calling thread. `options.cancel` may be set from any thread; the session
// stops before its next token. A failing call (bad options, prompt too long) affects no other call.
Result<GenerateResult> Generate(const Model& model, const Tokenizer& tokenizer, const std::string& prompt,
                                const GenerateOptions& options, const StreamCallback& on_piece = {});

// Renders `messages_json` with the model's chat template (adding the generation prompt) and
// generates the assistant's reply.
Result<GenerateResult> GenerateChat(const Model& model, const Tokenizer& tokenizer, const std::string& messages_json,
                                    const GenerateOptions& options, const StreamCallback& on_piece = {});

}  // namespace deepseek
