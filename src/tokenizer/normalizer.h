// Unicode normalisation (NFC and friends) of text outside added tokens, through ICU.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tokenizer/tokenizer_spec.h"

namespace ds {

// Applies `kinds` in order to valid UTF-8 `text`. Returns false and leaves *out untouched when the
// text is already normalized (the common case), so callers can keep viewing the input.
StatusOr<bool> Normalize(const std::vector<NormalizerKind>& kinds, std::string_view text,
                         std::string* out);

}  // namespace ds
