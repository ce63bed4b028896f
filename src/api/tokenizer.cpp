#include "deepseek/tokenizer.h"

#include "api/status_convert.h"
#include "api/tokenizer_impl.h"
#include "loader/gguf_tokenizer.h"
#include "tokenizer/jinja/chat_template.h"

namespace deepseek {

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& path) {
  auto tok = ds::LoadTokenizerFromAnyFile(path);
  if (!tok.ok()) return ds::ToPublic(tok.status());
  auto impl = std::make_unique<Impl>();
  impl->tokenizer = std::move(tok).value();
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

Result<std::vector<int32_t>> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  auto ids = impl_->tokenizer->Encode(text, add_special_tokens);
  if (!ids.ok()) return ds::ToPublic(ids.status());
  return std::move(ids).value();
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return impl_->tokenizer->Decode(ids, skip_special_tokens);
}

int32_t Tokenizer::vocab_size() const { return impl_->tokenizer->vocab_size(); }
int32_t Tokenizer::bos_id() const { return impl_->tokenizer->bos_id().value_or(-1); }
int32_t Tokenizer::eos_id() const { return impl_->tokenizer->eos_id().value_or(-1); }

Result<std::string> Tokenizer::RenderChat(const std::string& messages_json, bool add_generation_prompt,
                                          const std::string& tools_json) const {
  const std::string& tmpl = impl_->tokenizer->chat_template();
  if (tmpl.empty()) return Status(StatusCode::kNotFound, "the tokenizer has no chat_template (tokenizer_config.json)");
  return RenderChatWithTemplate(tmpl, messages_json, add_generation_prompt, tools_json);
}

Result<std::string> Tokenizer::RenderChatWithTemplate(const std::string& chat_template, const std::string& messages_json,
                                                      bool add_generation_prompt, const std::string& tools_json) const {
  ds::ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(messages_json, nullptr, false);
  if (in.messages.is_discarded() || !in.messages.is_array()) {
    return Status(StatusCode::kInvalidArgument, "messages must be a JSON array of {\"role\", \"content\"} objects");
  }
  if (!tools_json.empty()) {
    in.tools = nlohmann::ordered_json::parse(tools_json, nullptr, false);
    if (in.tools.is_discarded() || !in.tools.is_array()) {
      return Status(StatusCode::kInvalidArgument, "tools must be a JSON array");
    }
  }
  in.add_generation_prompt = add_generation_prompt;
  in.bos_token = impl_->tokenizer->bos_token();
  in.eos_token = impl_->tokenizer->eos_token();
  auto compiled = ds::ChatTemplate::Compile(chat_template);
  if (!compiled.ok()) return ds::ToPublic(compiled.status());
  auto text = compiled->Render(in);
  if (!text.ok()) return ds::ToPublic(text.status());
  return std::move(text).value();
}

}  // namespace deepseek
