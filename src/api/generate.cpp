#include "deepseek/generate.h"

#include <algorithm>

#include "api/model_impl.h"
#include "api/status_convert.h"
#include "api/tokenizer_impl.h"
#include "generation/generator.h"

namespace deepseek {
namespace {

ds::SamplingParams ToSampling(const SamplingOptions& s) {
  ds::SamplingParams p;
  p.temperature = s.temperature;
  p.top_k = s.top_k;
  p.top_p = s.top_p;
  p.min_p = s.min_p;
  p.repetition_penalty = s.repetition_penalty;
  p.presence_penalty = s.presence_penalty;
  p.frequency_penalty = s.frequency_penalty;
  p.seed = s.seed;
  return p;
}

Result<GenerateResult> Run(const Model& model, const Tokenizer& tokenizer, const std::string& prompt,
                           bool add_bos, const GenerateOptions& options, const StreamCallback& on_piece) {
  const ds::Tokenizer& tok = *tokenizer.impl().tokenizer;
  auto ids = tok.Encode(prompt, false);
  if (!ids.ok()) return ds::ToPublic(ids.status());
  ds::GenerateRequest req;
  const std::vector<int32_t>& prefix = tok.prefix_ids();  // BOS, when tokenizer_config.json asks for it
  const bool has_prefix = ids->size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), ids->begin());
  if (add_bos && !has_prefix) {
    req.prompt = prefix;
  }
  req.prompt.insert(req.prompt.end(), ids->begin(), ids->end());
  req.sampling = ToSampling(options.sampling);
  req.max_tokens = options.max_tokens;
  req.stop = options.stop;
  if (tok.eos_id()) req.eos_ids.push_back(*tok.eos_id());
  for (int64_t id : model.impl().lm->config().eos_token_ids) {
    if (std::find(req.eos_ids.begin(), req.eos_ids.end(), id) == req.eos_ids.end()) req.eos_ids.push_back(static_cast<int32_t>(id));
  }
  req.split_reasoning = options.split_reasoning;
  req.prompt_opens_thinking = options.split_reasoning && ds::PromptOpensThinking(prompt);
  req.cancel = options.cancel;
  req.mtp = options.mtp == MtpMode::kOn ? ds::MtpMode::kOn
                                        : (options.mtp == MtpMode::kOff ? ds::MtpMode::kOff : ds::MtpMode::kAuto);
  req.draft_tokens = options.draft_tokens;
  ds::PieceCallback cb;
  if (on_piece) {
    cb = [&](ds::TextChannel ch, std::string_view text) {
      return on_piece(text, ch == ds::TextChannel::kReasoning ? Channel::kReasoning : Channel::kContent);
    };
  }
  try {
    auto out = ds::Generate(*model.impl().lm, tok, req, cb);
    if (!out.ok()) return ds::ToPublic(out.status());
    GenerateResult r;
    r.text = std::move(out->text);
    r.reasoning = std::move(out->reasoning);
    r.finish_reason = static_cast<FinishReason>(out->finish);
    r.prompt_tokens = out->prompt_tokens;
    r.completion_tokens = static_cast<int64_t>(out->tokens.size());
    if (out->prefill_seconds > 0) r.prefill_tokens_per_second = out->prompt_tokens / out->prefill_seconds;
    if (out->decode_seconds > 0) r.decode_tokens_per_second = r.completion_tokens / out->decode_seconds;
    const ds::SpeculativeStats& spec = out->speculative;
    r.mtp_used = out->mtp_used;
    r.drafted_tokens = spec.drafted;
    r.accepted_tokens = spec.accepted;
    r.acceptance_rate = spec.AcceptanceRate();
    for (size_t j = 0; j < spec.drafted_at.size(); ++j) {
      r.acceptance_by_position.push_back(spec.drafted_at[j] > 0 ? static_cast<double>(spec.accepted_at[j]) / spec.drafted_at[j] : 0.0);
    }
    return r;
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "out of memory during generation");
  }
}

}  // namespace

Result<GenerateResult> Generate(const Model& model, const Tokenizer& tokenizer, const std::string& prompt,
                                const GenerateOptions& options, const StreamCallback& on_piece) {
  return Run(model, tokenizer, prompt, true, options, on_piece);
}

Result<GenerateResult> GenerateChat(const Model& model, const Tokenizer& tokenizer, const std::string& messages_json,
                                    const GenerateOptions& options, const StreamCallback& on_piece) {
  auto prompt = tokenizer.RenderChat(messages_json, true);
  if (!prompt.ok()) return prompt.status();
  return Run(model, tokenizer, *prompt, false, options, on_piece);  // the template writes BOS itself
}

}  // namespace deepseek
