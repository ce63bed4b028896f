// A compiled PCRE2 regex (UTF + UCP, JIT when available) that behaves like the Oniguruma / Rust
// regexes HF tokenizer.json files are written for. The one systematic difference, `\s`, is fixed at
// compile time: PCRE2's \s also matches U+180E, Oniguruma's is exactly Unicode White_Space.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;
struct pcre2_real_jit_stack_8;

namespace ds {

// Per-call matching state; not thread-safe, so each Encode call owns one.
class RegexScratch {
 public:
  RegexScratch();
  ~RegexScratch();
  RegexScratch(const RegexScratch&) = delete;
  RegexScratch& operator=(const RegexScratch&) = delete;

 private:
  friend class Regex;
  // Creates the large JIT stack, needed only when a match overflows the default 32 KiB one.
  void EnsureBigStack();
  pcre2_real_match_data_8* match_data_ = nullptr;
  pcre2_real_match_context_8* context_ = nullptr;
  pcre2_real_jit_stack_8* jit_stack_ = nullptr;
};

class Regex {
 public:
  // Compiles `pattern` (a literal string when `literal`). The error names the pattern.
  static StatusOr<std::unique_ptr<Regex>> Compile(std::string_view pattern, bool literal);
  ~Regex();

  // Finds the leftmost match in subject[start..] (subject must be valid UTF-8). Returns false when
  // there is none; on a match sets [*begin, *end).
  StatusOr<bool> Find(std::string_view subject, size_t start, size_t* begin, size_t* end,
                      RegexScratch* scratch) const;

 private:
  explicit Regex(pcre2_real_code_8* code) : code_(code) {}
  pcre2_real_code_8* code_;
};

// Rewrites `\s` / `\S` into explicit Unicode White_Space classes (see the file comment).
std::string RewriteWhitespaceClasses(std::string_view pattern);

}  // namespace ds
