// The pre-tokenizer stage: a sequence of Split / ByteLevel steps cutting normalized text into the
// pieces BPE runs on. Pieces stay raw UTF-8 bytes; the byte-level symbol mapping is implicit since
// the BPE model works on bytes.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer_spec.h"

namespace ds {

class PreTokenizer {
 public:
  // Compiles every regex of `steps`; the error names the failing step.
  static StatusOr<std::unique_ptr<PreTokenizer>> Create(const std::vector<PreTokenizerStep>& steps);

  // Appends the pieces of `text` (valid UTF-8) to `pieces`. A piece views `text` or a string kept
  // alive in `arena` (a piece with a prefix space added).
  Status Split(std::string_view text, std::vector<std::string_view>* pieces,
               std::deque<std::string>* arena, RegexScratch* scratch) const;

 private:
  struct Step {
    PreTokenizerStep spec;
    std::unique_ptr<Regex> regex;  // null for a ByteLevel step without use_regex
  };
  Status ApplySplit(const Step& step, std::string_view piece, std::vector<std::string_view>* out,
                    RegexScratch* scratch) const;
  std::vector<Step> steps_;
};

}  // namespace ds
