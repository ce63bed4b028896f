// Finds added-token strings in text: leftmost match first, longest at that position (like HF's
// Aho-Corasick LeftmostLongest), honouring each token's lstrip / rstrip / single_word flags.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "tokenizer/tokenizer_spec.h"

namespace ds {

class AddedTokenMatcher {
 public:
  // A piece of text: plain (id < 0) or one added token (with any whitespace it strips).
  struct Span {
    size_t begin, end;
    int32_t id;
  };

  AddedTokenMatcher() = default;
  // `tokens` are matched by their `content`; empty contents are ignored.
  explicit AddedTokenMatcher(const std::vector<AddedTokenSpec>& tokens);

  bool empty() const { return tokens_.empty(); }
  // Cuts `text` into plain and token spans, in order, covering it entirely. Plain spans are
  // never empty.
  void Split(std::string_view text, std::vector<Span>* out) const;

 private:
  // Length of the longest token starting at text[pos] (0 if none) and its index in tokens_.
  size_t LongestAt(std::string_view text, size_t pos, int32_t* index) const;
  bool Accept(const AddedTokenSpec& t, std::string_view text, size_t begin, size_t end) const;

  std::vector<AddedTokenSpec> tokens_;
  // Byte trie: node 0 is the root; children keyed by (node << 8 | byte).
  absl::flat_hash_map<uint64_t, int32_t> children_;
  std::vector<int32_t> terminal_;  // token index ending at each node, or -1
  bool first_byte_[256] = {};
};

}  // namespace ds
