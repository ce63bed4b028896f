// Jinja tokenizer with Hugging Face's chat-template settings: trim_blocks and lstrip_blocks on,
// `{%- -%}` / `{{- -}}` / `{#- -#}` whitespace control, `+` to opt out, keep_trailing_newline off.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ds::jinja {

enum class Tok { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  Tok type;
  std::string text;  // data text, name, operator, or decoded string literal
  int64_t int_value = 0;
  double float_value = 0;
  size_t pos = 0;  // byte offset in the normalized source
};

// Maps byte offsets of the normalized source to 1-based line and column numbers.
class SourceMap {
 public:
  explicit SourceMap(std::string_view src);
  // "line L, column C" for offset `pos`.
  std::string Where(size_t pos) const;

 private:
  std::vector<size_t> line_starts_;
};

// Python Jinja's preprocessing: \r\n and \r become \n and one trailing newline is dropped.
std::string NormalizeSource(std::string_view src);

// Splits normalized source into tokens ending with kEof. Errors name line and column.
StatusOr<std::vector<Token>> Tokenize(std::string_view src, const SourceMap& map);

// Human-readable token description for parser errors ("end of statement block", "'foo'").
std::string DescribeToken(const Token& t);

}  // namespace ds::jinja
