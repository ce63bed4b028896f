// Streaming detection of stop strings in generated text.
//
// Text arrives in pieces (one per token); a stop string may span several pieces. Push returns
// the text that can be shown now and holds back the longest suffix that could still grow into a
// stop string. When a stop string completes, the text before it is returned, the stop string and
// everything after it are dropped, and the matcher stays stopped.
// The result does not depend on how the text is split into pieces: the stop that fires is the
// one that completes at the earliest byte, and among those the one that starts earliest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds {

class StopMatcher {
 public:
  // Empty stop strings are ignored (they would match before any text).
  explicit StopMatcher(std::vector<std::string> stop_strings);

  // Consumes one piece; returns the text safe to emit now (possibly empty). After a stop string
  // has completed, further pushes return nothing.
  std::string Push(std::string_view piece);

  // Releases the held-back text at the end of generation (nothing once stopped).
  std::string Flush();

  // Whether a stop string has completed.
  bool stopped() const { return stopped_; }
  // The stop string that completed; empty while not stopped.
  const std::string& matched() const { return matched_; }
  // Bytes currently held back as a possible stop-string start.
  size_t held_bytes() const { return held_.size(); }

 private:
  // Length of the longest suffix of held_ that is a proper prefix of some stop string.
  size_t PartialSuffixLength() const;

  std::vector<std::string> stops_;
  std::string held_;
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace ds
