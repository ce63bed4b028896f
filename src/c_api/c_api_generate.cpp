// C ABI: generation (raw prompt or chat) with streaming and cancellation.
#include <algorithm>
#include <cstdlib>

#include "c_api/c_api_internal.h"
#include "deepseek/generate.h"

using ds::capi::Fail;
using ds::capi::Guard;

namespace {

constexpr size_t kGenerateParamsV1 = offsetof(ds_generate_params, user_data) + sizeof(void*);
static_assert(static_cast<int>(deepseek::MtpMode::kAuto) == DS_MTP_AUTO &&
              static_cast<int>(deepseek::MtpMode::kOn) == DS_MTP_ON &&
              static_cast<int>(deepseek::MtpMode::kOff) == DS_MTP_OFF);
constexpr size_t kGenerateResultV1 = offsetof(ds_generate_result, decode_tokens_per_second) + sizeof(double);

// Reads the caller's params (NULL = defaults) into C++ options.
ds_status ToOptions(const char* function, const ds_generate_params* params, ds_generate_params& p,
                    deepseek::GenerateOptions& o) {
  p = ds_generate_default_params();
  if (params != nullptr) {
    ds_status s = ds::capi::ReadParams(params, params->struct_size, kGenerateParamsV1, &p, sizeof p, "ds_generate_params");
    if (s != DS_OK) return s;
  }
  if (p.stop == nullptr && p.n_stop > 0) {
    return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": ds_generate_params.stop is NULL but n_stop > 0");
  }
  o.sampling.temperature = p.temperature;
  o.sampling.top_k = p.top_k;
  o.sampling.top_p = p.top_p;
  o.sampling.min_p = p.min_p;
  o.sampling.repetition_penalty = p.repetition_penalty;
  o.sampling.presence_penalty = p.presence_penalty;
  o.sampling.frequency_penalty = p.frequency_penalty;
  o.sampling.seed = p.seed;
  o.max_tokens = p.max_tokens;
  o.split_reasoning = p.split_reasoning != 0;
  if (p.mtp_mode < DS_MTP_AUTO || p.mtp_mode > DS_MTP_OFF) {
    return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": ds_generate_params.mtp_mode is " +
                                         std::to_string(p.mtp_mode) + ", expected DS_MTP_AUTO, DS_MTP_ON or DS_MTP_OFF");
  }
  if (p.draft_tokens < 0 || p.draft_tokens > DS_MAX_DRAFT_TOKENS) {
    return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": ds_generate_params.draft_tokens is " +
                                         std::to_string(p.draft_tokens) + ", expected 0.." +
                                         std::to_string(DS_MAX_DRAFT_TOKENS));
  }
  o.mtp = static_cast<deepseek::MtpMode>(p.mtp_mode);  // the numbering matches
  o.draft_tokens = p.draft_tokens;
  for (size_t i = 0; i < p.n_stop; ++i) {
    if (p.stop[i] == nullptr) {
      return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": ds_generate_params.stop[" + std::to_string(i) + "] is NULL");
    }
    o.stop.emplace_back(p.stop[i]);
  }
  return DS_OK;
}

// Calls the C stream callback; the piece is copied so that it is NUL-terminated.
deepseek::StreamCallback ToCallback(const ds_generate_params& p) {
  if (p.on_piece == nullptr) return {};
  ds_stream_fn fn = p.on_piece;
  void* user = p.user_data;
  return [fn, user](std::string_view piece, deepseek::Channel ch) {
    std::string text(piece);
    const ds_channel c = ch == deepseek::Channel::kReasoning ? DS_CHANNEL_REASONING : DS_CHANNEL_CONTENT;
    return fn(text.c_str(), text.size(), c, user) == 0;
  };
}

// Speculative decoding statistics; acceptance_by_position is cut at DS_MAX_DRAFT_TOKENS entries.
void CopyMtpStats(const deepseek::GenerateResult& g, ds_generate_result& c) {
  c.mtp_used = g.mtp_used ? 1 : 0;
  c.drafted_tokens = g.drafted_tokens;
  c.accepted_tokens = g.accepted_tokens;
  c.acceptance_rate = g.acceptance_rate;
  const size_t n = std::min<size_t>(g.acceptance_by_position.size(), DS_MAX_DRAFT_TOKENS);
  for (size_t j = 0; j < n; ++j) c.acceptance_by_position[j] = g.acceptance_by_position[j];
  c.acceptance_by_position_count = static_cast<int32_t>(n);
}

// Writes the result (as much of it as out->struct_size covers) and maps cancellation to a status.
ds_status Finish(const char* function, const deepseek::Result<deepseek::GenerateResult>& r, ds_generate_result* out) {
  if (!r.ok()) return Fail(r.status());
  const deepseek::GenerateResult& g = r.value();
  if (out != nullptr) {
    ds_generate_result c;
    std::memset(&c, 0, sizeof c);
    std::unique_ptr<char, void (*)(void*)> text(ds::capi::CopyString(g.text), std::free);  // freed if the next throws
    c.reasoning = ds::capi::CopyString(g.reasoning);
    c.text = text.release();
    c.finish_reason = static_cast<ds_finish_reason>(g.finish_reason);
    c.prompt_tokens = g.prompt_tokens;
    c.completion_tokens = g.completion_tokens;
    c.prefill_tokens_per_second = g.prefill_tokens_per_second;
    c.decode_tokens_per_second = g.decode_tokens_per_second;
    CopyMtpStats(g, c);
    const size_t n = out->struct_size < sizeof c ? out->struct_size : sizeof c;
    c.struct_size = n;
    std::memcpy(out, &c, n);
  }
  if (g.finish_reason == deepseek::FinishReason::kCancelled) {
    return Fail(DS_CANCELLED, std::string(function) + ": cancelled by the stream callback");
  }
  return DS_OK;
}

// Shared checks of ds_generate and ds_chat.
ds_status CheckCommon(const char* function, const ds_model* model, ds_generate_result* out) {
  if (model == nullptr) return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": model is NULL");
  if (out != nullptr && out->struct_size < kGenerateResultV1) {
    return Fail(DS_INVALID_ARGUMENT, std::string(function) +
                                         ": out->struct_size is too small (set it to sizeof(ds_generate_result))");
  }
  return ds::capi::RequireTokenizer(model, function);
}

}  // namespace

extern "C" {

ds_generate_params ds_generate_default_params(void) {
  ds_generate_params p;
  std::memset(&p, 0, sizeof p);
  const deepseek::GenerateOptions d;  // one source of truth for the defaults
  p.struct_size = sizeof p;
  p.max_tokens = d.max_tokens;
  p.temperature = d.sampling.temperature;
  p.top_k = d.sampling.top_k;
  p.top_p = d.sampling.top_p;
  p.min_p = d.sampling.min_p;
  p.repetition_penalty = d.sampling.repetition_penalty;
  p.presence_penalty = d.sampling.presence_penalty;
  p.frequency_penalty = d.sampling.frequency_penalty;
  p.seed = d.sampling.seed;
  p.split_reasoning = d.split_reasoning ? 1 : 0;
  p.mtp_mode = static_cast<int32_t>(d.mtp);
  p.draft_tokens = d.draft_tokens;
  return p;
}

void ds_generate_result_free(ds_generate_result* result) {
  if (result == nullptr) return;
  std::free(result->text);
  std::free(result->reasoning);
  result->text = nullptr;
  result->reasoning = nullptr;
}

ds_status ds_generate(const ds_model* model, const char* prompt, const ds_generate_params* params,
                      ds_generate_result* out) {
  return Guard("ds_generate", [&]() -> ds_status {
    if (ds_status s = CheckCommon("ds_generate", model, out); s != DS_OK) return s;
    if (prompt == nullptr) return Fail(DS_INVALID_ARGUMENT, "ds_generate: prompt is NULL");
    ds_generate_params p;
    deepseek::GenerateOptions o;
    if (ds_status s = ToOptions("ds_generate", params, p, o); s != DS_OK) return s;
    auto r = deepseek::Generate(*model->model, *model->tokenizer, prompt, o, ToCallback(p));
    return Finish("ds_generate", r, out);
  });
}

ds_status ds_chat(const ds_model* model, const ds_chat_message* messages, size_t count,
                  const ds_generate_params* params, ds_generate_result* out) {
  return Guard("ds_chat", [&]() -> ds_status {
    if (ds_status s = CheckCommon("ds_chat", model, out); s != DS_OK) return s;
    std::string json;
    if (ds_status s = ds::capi::MessagesToJson("ds_chat", messages, count, json); s != DS_OK) return s;
    ds_generate_params p;
    deepseek::GenerateOptions o;
    if (ds_status s = ToOptions("ds_chat", params, p, o); s != DS_OK) return s;
    auto r = deepseek::GenerateChat(*model->model, *model->tokenizer, json, o, ToCallback(p));
    return Finish("ds_chat", r, out);
  });
}

}  // extern "C"
