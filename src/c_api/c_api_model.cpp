// C ABI: loading, model facts, tokenizer, chat template and logits.
#include <cstdlib>
#include <filesystem>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "c_api/c_api_internal.h"

using ds::capi::Fail;
using ds::capi::Guard;

namespace {

// v1 of each struct ends at its last field; later versions only append.
constexpr size_t kModelParamsV1 = offsetof(ds_model_params, progress_user_data) + sizeof(void*);
constexpr size_t kModelInfoV1 = offsetof(ds_model_info, eos_id) + sizeof(int32_t);

ds_status InvalidArg(const char* function, const char* what) {
  return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": " + what);
}

deepseek::ModelOptions ToOptions(const ds_model_params& p) {
  deepseek::ModelOptions o;
  o.threads = p.threads;
  o.max_context = p.context_size;
  o.kv_cache_bf16 = p.kv_cache_bf16 != 0;
  o.memory_limit_bytes = p.memory_limit_bytes;
  o.load_mtp = p.load_mtp != 0;
  o.weight_placement = static_cast<deepseek::WeightPlacement>(p.weight_placement);
  if (p.progress != nullptr) {
    ds_progress_fn fn = p.progress;
    void* user = p.progress_user_data;
    o.progress = [fn, user](double f, const std::string& stage) { fn(f, stage.c_str(), user); };
  }
  return o;
}

// Loads the tokenizer named by the params, or the one in the model folder if there is one.
ds_status LoadTokenizer(const std::string& model_path, const char* tokenizer_path, ds_model& m) {
  std::string path = tokenizer_path != nullptr ? tokenizer_path : model_path;
  if (tokenizer_path == nullptr) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(model_path) / "tokenizer.json", ec)) {
      m.tokenizer_problem = model_path + " has no tokenizer.json (set ds_model_params.tokenizer_path)";
      return DS_OK;
    }
  }
  auto tok = deepseek::Tokenizer::Load(path);
  if (!tok.ok()) return Fail(tok.status());
  m.tokenizer = std::move(tok).value();
  return DS_OK;
}

// Checks every id against the vocabulary (`size` ids); DS_OK or an error naming the bad one.
ds_status CheckIds(const char* function, const int32_t* ids, size_t size, int64_t vocab) {
  for (size_t i = 0; i < size; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": token " + std::to_string(i) + " (id " +
                                           std::to_string(ids[i]) + ") is outside [0, " + std::to_string(vocab) + ")");
    }
  }
  return DS_OK;
}

}  // namespace

namespace ds::capi {

// Messages as the JSON array the chat template reads; an error for NULL fields or bad UTF-8.
ds_status MessagesToJson(const char* function, const ds_chat_message* messages, size_t count, std::string& out) {
  if (messages == nullptr && count > 0) return InvalidArg(function, "messages is NULL");
  nlohmann::json array = nlohmann::json::array();
  for (size_t i = 0; i < count; ++i) {
    if (messages[i].role == nullptr || messages[i].content == nullptr) {
      return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": message " + std::to_string(i) +
                                           " has a NULL role or content");
    }
    array.push_back({{"role", messages[i].role}, {"content", messages[i].content}});
  }
  try {
    out = array.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::type_error& e) {
    return Fail(DS_INVALID_ARGUMENT, std::string(function) + ": a message is not valid UTF-8 (" + e.what() + ")");
  }
  return DS_OK;
}

}  // namespace ds::capi

extern "C" {

ds_model_params ds_model_default_params(void) {
  ds_model_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.load_mtp = deepseek::ModelOptions().load_mtp ? 1 : 0;
  return p;
}

ds_status ds_model_load(const char* path, const ds_model_params* params, ds_model** out) {
  return Guard("ds_model_load", [&]() -> ds_status {
    if (path == nullptr) return InvalidArg("ds_model_load", "path is NULL");
    if (out == nullptr) return InvalidArg("ds_model_load", "out is NULL");
    ds_model_params p = ds_model_default_params();
    if (params != nullptr) {
      ds_status s = ds::capi::ReadParams(params, params->struct_size, kModelParamsV1, &p, sizeof p, "ds_model_params");
      if (s != DS_OK) return s;
    }
    if (p.threads < 0 || p.context_size < 0 || p.memory_limit_bytes < 0) {
      return InvalidArg("ds_model_load", "ds_model_params.threads, context_size and memory_limit_bytes must be >= 0");
    }
    if (p.weight_placement < 0 || p.weight_placement > 2) {
      return InvalidArg("ds_model_load", ("ds_model_params.weight_placement must be 0 (auto), 1 (map) or 2 (memory), got " +
                                          std::to_string(p.weight_placement)).c_str());
    }
    auto m = std::make_unique<ds_model>();
    ds_status s = LoadTokenizer(path, p.tokenizer_path, *m);
    if (s != DS_OK) return s;
    auto model = deepseek::Model::Load(path, ToOptions(p));
    if (!model.ok()) return Fail(model.status());
    m->model = std::move(model).value();
    *out = m.release();
    return DS_OK;
  });
}

void ds_model_free(ds_model* model) { delete model; }  // destructors do not throw

ds_status ds_model_info_get(const ds_model* model, ds_model_info* out) {
  return Guard("ds_model_info_get", [&]() -> ds_status {
    if (model == nullptr) return InvalidArg("ds_model_info_get", "model is NULL");
    if (out == nullptr) return InvalidArg("ds_model_info_get", "out is NULL");
    if (out->struct_size < kModelInfoV1) {
      return InvalidArg("ds_model_info_get", "out->struct_size is too small (set it to sizeof(ds_model_info))");
    }
    const deepseek::ModelInfo& i = model->model->info();
    ds_model_info r;
    std::memset(&r, 0, sizeof r);
    r.model_type = i.model_type.c_str();
    r.architecture = i.architecture.c_str();
    r.vocab_size = i.vocab_size;
    r.hidden_size = i.hidden_size;
    r.num_layers = i.num_layers;
    r.context_size = i.max_context;
    r.total_params = i.total_params;
    r.active_params = i.active_params;
    r.has_tokenizer = model->tokenizer != nullptr;
    r.bos_id = model->tokenizer ? model->tokenizer->bos_id() : -1;
    r.eos_id = model->tokenizer ? model->tokenizer->eos_id() : -1;
    r.mtp_modules = i.mtp_modules;
    r.weights_in_memory = i.weights_in_memory ? 1 : 0;
    const size_t n = out->struct_size < sizeof r ? out->struct_size : sizeof r;
    r.struct_size = n;
    std::memcpy(out, &r, n);
    return DS_OK;
  });
}

ds_status ds_tokenize(const ds_model* model, const char* text, size_t text_len, int add_special_tokens,
                      int32_t** out_tokens, size_t* out_count) {
  return Guard("ds_tokenize", [&]() -> ds_status {
    if (model == nullptr) return InvalidArg("ds_tokenize", "model is NULL");
    if (text == nullptr && text_len > 0) return InvalidArg("ds_tokenize", "text is NULL");
    if (out_tokens == nullptr || out_count == nullptr) return InvalidArg("ds_tokenize", "out_tokens or out_count is NULL");
    if (ds_status s = ds::capi::RequireTokenizer(model, "ds_tokenize"); s != DS_OK) return s;
    auto ids = model->tokenizer->Encode(std::string_view(text == nullptr ? "" : text, text_len), add_special_tokens != 0);
    if (!ids.ok()) return Fail(ids.status());
    int32_t* buf = nullptr;
    if (!ids->empty()) {
      buf = static_cast<int32_t*>(std::malloc(ids->size() * sizeof(int32_t)));
      if (buf == nullptr) throw std::bad_alloc();
      std::memcpy(buf, ids->data(), ids->size() * sizeof(int32_t));
    }
    *out_tokens = buf;
    *out_count = ids->size();
    return DS_OK;
  });
}

ds_status ds_detokenize(const ds_model* model, const int32_t* tokens, size_t count, int skip_special_tokens,
                        char** out_text, size_t* out_len) {
  return Guard("ds_detokenize", [&]() -> ds_status {
    if (model == nullptr) return InvalidArg("ds_detokenize", "model is NULL");
    if (tokens == nullptr && count > 0) return InvalidArg("ds_detokenize", "tokens is NULL");
    if (out_text == nullptr) return InvalidArg("ds_detokenize", "out_text is NULL");
    if (ds_status s = ds::capi::RequireTokenizer(model, "ds_detokenize"); s != DS_OK) return s;
    if (ds_status s = CheckIds("ds_detokenize", tokens, count, model->tokenizer->vocab_size()); s != DS_OK) return s;
    std::string text = model->tokenizer->Decode(std::span<const int32_t>(tokens, count), skip_special_tokens != 0);
    *out_text = ds::capi::CopyString(text);
    if (out_len != nullptr) *out_len = text.size();
    return DS_OK;
  });
}

ds_status ds_chat_render(const ds_model* model, const ds_chat_message* messages, size_t count,
                         int add_generation_prompt, char** out_prompt) {
  return Guard("ds_chat_render", [&]() -> ds_status {
    if (model == nullptr) return InvalidArg("ds_chat_render", "model is NULL");
    if (out_prompt == nullptr) return InvalidArg("ds_chat_render", "out_prompt is NULL");
    if (ds_status s = ds::capi::RequireTokenizer(model, "ds_chat_render"); s != DS_OK) return s;
    std::string json;
    if (ds_status s = ds::capi::MessagesToJson("ds_chat_render", messages, count, json); s != DS_OK) return s;
    auto prompt = model->tokenizer->RenderChat(json, add_generation_prompt != 0);
    if (!prompt.ok()) return Fail(prompt.status());
    *out_prompt = ds::capi::CopyString(*prompt);
    return DS_OK;
  });
}

ds_status ds_logits(const ds_model* model, const int32_t* tokens, size_t count, float** out_logits,
                    size_t* out_count) {
  return Guard("ds_logits", [&]() -> ds_status {
    if (model == nullptr) return InvalidArg("ds_logits", "model is NULL");
    if (tokens == nullptr) return InvalidArg("ds_logits", "tokens is NULL");
    if (count == 0) return InvalidArg("ds_logits", "count is 0 (give at least one token)");
    if (out_logits == nullptr) return InvalidArg("ds_logits", "out_logits is NULL");
    if (ds_status s = CheckIds("ds_logits", tokens, count, model->model->info().vocab_size); s != DS_OK) return s;
    auto logits = model->model->Logits(std::span<const int32_t>(tokens, count));
    if (!logits.ok()) return Fail(logits.status());
    float* buf = static_cast<float*>(std::malloc(logits->size() * sizeof(float)));
    if (buf == nullptr) throw std::bad_alloc();
    std::memcpy(buf, logits->data(), logits->size() * sizeof(float));
    *out_logits = buf;
    if (out_count != nullptr) *out_count = logits->size();
    return DS_OK;
  });
}

}  // extern "C"
