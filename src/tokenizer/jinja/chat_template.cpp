#include "tokenizer/jinja/chat_template.h"

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/value.h"

namespace ds {

StatusOr<ChatTemplate> ChatTemplate::Compile(std::string_view source) {
  ChatTemplate t;
  DS_ASSIGN_OR_RETURN(t.program_, jinja::Parse(jinja::NormalizeSource(source)));
  return t;
}

StatusOr<std::string> ChatTemplate::Render(const ChatTemplateInputs& inputs) const {
  using jinja::Value;
  if (program_ == nullptr) return absl::FailedPreconditionError("chat template was not compiled");
  if (!inputs.extra.is_null() && !inputs.extra.is_object())
    return absl::InvalidArgumentError("chat template: extra variables must be a JSON object");
  jinja::ContainerArena arena;  // first, so it outlives the frames and frees cycles they left
  auto root = std::make_shared<jinja::Frame>();
  root->Set("messages", jinja::FromJson(inputs.messages));
  root->Set("tools", jinja::FromJson(inputs.tools));
  root->Set("add_generation_prompt", Value(inputs.add_generation_prompt));
  root->Set("bos_token", Value(inputs.bos_token));
  root->Set("eos_token", Value(inputs.eos_token));
  if (inputs.extra.is_object())
    for (auto it = inputs.extra.begin(); it != inputs.extra.end(); ++it)
      root->Set(it.key(), jinja::FromJson(it.value()));
  jinja::Interpreter interp(*program_);
  return interp.Render(root);
}

}  // namespace ds
