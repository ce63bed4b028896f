// Hugging Face chat templates: compiles a tokenizer_config.json `chat_template` (a Jinja2 source)
// and renders it the way transformers' apply_chat_template does (trim_blocks, lstrip_blocks,
// `tojson` as json.dumps(ensure_ascii=False), `raise_exception`, `strftime_now`).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ds {

namespace jinja {
struct Program;
}

// The variables a chat template sees.
struct ChatTemplateInputs {
  nlohmann::ordered_json messages;  // OpenAI/HF message list
  nlohmann::ordered_json tools;     // null or a list (passed as `tools`; null renders as none)
  bool add_generation_prompt = false;
  std::string bos_token, eos_token;
  nlohmann::ordered_json extra;  // extra context variables (object or null); they override the above
};

// A compiled template. Cheap to copy (the parsed program is shared and immutable) and safe to
// Render from several threads at once.
class ChatTemplate {
 public:
  // Parses `source`. Syntax errors and unsupported constructs name the template line and column.
  static StatusOr<ChatTemplate> Compile(std::string_view source);
  // Renders the template. Runtime errors (undefined values used wrongly, type errors, a
  // raise_exception call) name the template line and column and carry the template's message.
  StatusOr<std::string> Render(const ChatTemplateInputs& inputs) const;

 private:
  std::shared_ptr<const jinja::Program> program_;
};

}  // namespace ds
