#include "tokenizer/added_tokens.h"

#include <unicode/uchar.h>

#include "tokenizer/utf8.h"

namespace ds {
namespace {

bool IsWhiteSpace(char32_t c) { return u_hasBinaryProperty(UChar32(c), UCHAR_WHITE_SPACE); }

// Rust regex's Unicode \w, which HF uses for single_word boundaries.
bool IsWordChar(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (u_hasBinaryProperty(UChar32(c), UCHAR_ALPHABETIC) || c == 0x200C || c == 0x200D) return true;
  switch (u_charType(UChar32(c))) {
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_CONNECTOR_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedTokenSpec>& tokens) {
  terminal_.push_back(-1);
  for (const AddedTokenSpec& t : tokens) {
    if (t.content.empty()) continue;
    const int32_t index = static_cast<int32_t>(tokens_.size());
    tokens_.push_back(t);
    int32_t node = 0;
    for (char ch : t.content) {
      const uint64_t key = (uint64_t(node) << 8) | static_cast<uint8_t>(ch);
      auto [it, inserted] = children_.emplace(key, static_cast<int32_t>(terminal_.size()));
      if (inserted) terminal_.push_back(-1);
      node = it->second;
    }
    if (terminal_[node] < 0) terminal_[node] = index;  // a duplicate content keeps the first id
    first_byte_[static_cast<uint8_t>(t.content[0])] = true;
  }
}

size_t AddedTokenMatcher::LongestAt(std::string_view text, size_t pos, int32_t* index) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = children_.find((uint64_t(node) << 8) | static_cast<uint8_t>(text[i]));
    if (it == children_.end()) break;
    node = it->second;
    if (terminal_[node] >= 0) {
      best = i + 1 - pos;
      *index = terminal_[node];
    }
  }
  return best;
}

bool AddedTokenMatcher::Accept(const AddedTokenSpec& t, std::string_view text, size_t begin,
                               size_t end) const {
  if (!t.single_word) return true;
  size_t unused = 0;
  if (begin > 0 && IsWordChar(utf8::Prev(text, begin, &unused))) return false;
  if (end < text.size() && IsWordChar(utf8::Next(text, &end))) return false;
  return true;
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<Span>* out) const {
  size_t plain_start = 0, pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    int32_t index = -1;
    const size_t len = LongestAt(text, pos, &index);
    if (len == 0) {
      ++pos;
      continue;
    }
    const AddedTokenSpec& t = tokens_[index];
    size_t begin = pos, end = pos + len;
    pos = end;  // like HF, a rejected match is skipped whole, not retried inside
    if (!Accept(t, text, begin, end)) continue;
    if (t.lstrip) {
      size_t start = 0;
      while (begin > plain_start && IsWhiteSpace(utf8::Prev(text, begin, &start))) begin = start;
    }
    if (t.rstrip) {
      while (end < text.size()) {
        size_t next = end;
        if (!IsWhiteSpace(utf8::Next(text, &next))) break;
        end = next;
      }
      pos = end;
    }
    if (begin > plain_start) out->push_back({plain_start, begin, -1});
    out->push_back({begin, end, t.id});
    plain_start = end;
  }
  if (plain_start < text.size()) out->push_back({plain_start, text.size(), -1});
}

}  // namespace ds
