// Incremental UTF-8 decoding of token bytes.
//
// Byte-level BPE tokens can split a character across tokens, so the bytes of one token are not
// always printable on their own. Utf8StreamDecoder returns the longest prefix that is complete,
// valid UTF-8 and keeps an incomplete tail for the next push. Bytes that can never become valid
// are replaced by U+FFFD, one per maximal invalid subpart (the Unicode "best practice" used by
// Python's bytes.decode('utf-8', 'replace') and Rust's String::from_utf8_lossy, i.e. HF's
// decoder), so the concatenated output equals decoding all bytes at once.
#pragma once

#include <string>
#include <string_view>

namespace ds {

// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

class Utf8StreamDecoder {
 public:
  // Appends `bytes` and returns all text that is now complete (valid UTF-8, possibly empty).
  std::string Push(std::string_view bytes);

  // Ends the stream: an incomplete tail becomes one U+FFFD. The decoder is empty afterwards.
  std::string Flush();

  // Whether an incomplete sequence is waiting for more bytes.
  bool HasPending() const { return !pending_.empty(); }

  // Drops any pending bytes.
  void Reset() { pending_.clear(); }

 private:
  std::string pending_;  // at most 3 bytes: a valid prefix of one multi-byte sequence
};

// Decodes a whole byte string, replacing invalid subparts by U+FFFD (same rules as the stream).
std::string SanitizeUtf8(std::string_view bytes);

}  // namespace ds
