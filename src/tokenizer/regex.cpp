#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace ds {
namespace {

// Unicode White_Space, the set Oniguruma and Rust's regex use for \s.
constexpr std::string_view kWhiteSpaceRanges =
    "\\x{9}-\\x{d}\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}"
    "\\x{205f}\\x{3000}";

std::string PcreErrorText(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof(buf)) < 0) return StrCat("PCRE2 error ", code);
  return std::string(reinterpret_cast<const char*>(buf));
}

}  // namespace

std::string RewriteWhitespaceClasses(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? StrCat(kWhiteSpaceRanges) : StrCat("[", kWhiteSpaceRanges, "]");
      } else if (e == 'S' && !in_class) {
        out += StrCat("[^", kWhiteSpaceRanges, "]");
      } else {
        out.push_back('\\');
        out.push_back(e);
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < p.size() && p[i + 1] == '^') out.push_back(p[++i]);
      if (i + 1 < p.size() && p[i + 1] == ']') out.push_back(p[++i]);
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
  }
  return out;
}

RegexScratch::RegexScratch() { match_data_ = pcre2_match_data_create(1, nullptr); }

RegexScratch::~RegexScratch() {
  if (match_data_) pcre2_match_data_free(match_data_);
  if (context_) pcre2_match_context_free(context_);
  if (jit_stack_) pcre2_jit_stack_free(jit_stack_);
}

void RegexScratch::EnsureBigStack() {
  if (jit_stack_) return;
  jit_stack_ = pcre2_jit_stack_create(64 * 1024, 256 * 1024 * 1024, nullptr);
  context_ = pcre2_match_context_create(nullptr);
  if (jit_stack_ && context_) pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
}

StatusOr<std::unique_ptr<Regex>> Regex::Compile(std::string_view pattern, bool literal) {
  const std::string source = literal ? std::string(pattern) : RewriteWhitespaceClasses(pattern);
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (literal) options = PCRE2_UTF | PCRE2_LITERAL;
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                   options, &err, &err_offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(StrCat("cannot compile regex '", pattern, "' at offset ",
                                             err_offset, ": ", PcreErrorText(err)));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is absent
  return std::unique_ptr<Regex>(new Regex(code));
}

Regex::~Regex() { pcre2_code_free(code_); }

StatusOr<bool> Regex::Find(std::string_view subject, size_t start, size_t* begin, size_t* end,
                           RegexScratch* scratch) const {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                               start, PCRE2_NO_UTF_CHECK, scratch->match_data_, scratch->context_);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && attempt == 0) {
      scratch->EnsureBigStack();
      continue;
    }
    if (rc < 0) return absl::InternalError(StrCat("regex match failed: ", PcreErrorText(rc)));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch->match_data_);
    *begin = ov[0];
    *end = ov[1];
    return true;
  }
  return absl::ResourceExhaustedError("regex match ran out of JIT stack");
}

}  // namespace ds
