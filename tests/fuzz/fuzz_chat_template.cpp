// Fuzzes the chat-template engine. Fields (split by fuzz_util's separator): template source,
// messages JSON, extra-variables JSON. An empty template field renders the messages with the real
// DeepSeek-V3 template, so the messages and the template text are both fuzzed.
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/json_util.h"
#include "fuzz_util.h"
#include "tokenizer/jinja/chat_template.h"

namespace {
const ds::ChatTemplate* g_deepseek = nullptr;

nlohmann::ordered_json ParseOr(std::string_view text, nlohmann::ordered_json fallback) {
  auto j = nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, false);
  return j.is_discarded() ? fallback : j;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto cfg = ds::ReadJsonFile(ds::fuzz::DataDir() + "/chat_templates/deepseek-v3/tokenizer_config.json");
  if (!cfg.ok() || !(*cfg)["chat_template"].is_string()) std::abort();
  auto t = ds::ChatTemplate::Compile((*cfg)["chat_template"].get<std::string>());
  if (!t.ok()) std::abort();
  g_deepseek = new ds::ChatTemplate(*t);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ds::fuzz::SplitFields(std::string_view(reinterpret_cast<const char*>(data), size), 3);
  ds::ChatTemplate tmpl = *g_deepseek;
  if (!f[0].empty()) {
    auto compiled = ds::ChatTemplate::Compile(f[0]);
    if (!compiled.ok()) return 0;
    tmpl = *compiled;
  }
  ds::ChatTemplateInputs in;
  in.messages = ParseOr(f[1], nlohmann::ordered_json::array({{{"role", "user"}, {"content", "hi"}}}));
  in.extra = ParseOr(f[2], nullptr);
  in.add_generation_prompt = size % 2 == 0;
  in.bos_token = "<｜begin▁of▁sentence｜>";
  in.eos_token = "<｜end▁of▁sentence｜>";
  (void)tmpl.Render(in);
  return 0;
}
