// deepseek/tokenizer.h: Hugging Face tokenizers (tokenizer.json + tokenizer_config.json) and chat
// templates (standard library only).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "deepseek/status.h"

namespace deepseek {

// Thread safety: every const member is thread-safe and keeps no state between calls, so one
// Tokenizer may serve any number of threads (tests/concurrency checks concurrent Encode and
// RenderChat).
class Tokenizer {
 public:
  // `path`: a tokenizer.json file or a folder holding one (tokenizer_config.json beside it supplies
  // BOS/EOS and the chat template), or a GGUF model file (its embedded tokenizer.ggml.* metadata).
  static Result<std::unique_ptr<Tokenizer>> Load(const std::string& path);
  ~Tokenizer();

  // Token ids of `text` (valid UTF-8). Special tokens written in the text are recognized; with
  // `add_special_tokens`, BOS/EOS are added as tokenizer_config.json asks.
  Result<std::vector<int32_t>> Encode(std::string_view text, bool add_special_tokens = false) const;
  // Text of `ids`; bytes that do not form complete UTF-8 become U+FFFD.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  int32_t vocab_size() const;
  // -1 when the tokenizer defines none.
  int32_t bos_id() const;
  int32_t eos_id() const;

  // Renders a conversation with the model's chat template. `messages_json` is a JSON array of
  // OpenAI/HF messages ({"role": ..., "content": ...}); `tools_json` an optional JSON array.
  Result<std::string> RenderChat(const std::string& messages_json, bool add_generation_prompt,
                                 const std::string& tools_json = "") const;
  // Same, with a caller-supplied Jinja template instead of the model's own.
  Result<std::string> RenderChatWithTemplate(const std::string& chat_template, const std::string& messages_json,
                                             bool add_generation_prompt, const std::string& tools_json = "") const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepseek
