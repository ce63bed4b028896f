// Reads a Hugging Face tokenizer.json (+ tokenizer_config.json) into a TokenizerSpec. Uses simdjson:
// a multi-megabyte vocabulary loads in a few milliseconds, where nlohmann takes ~10x longer.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "tokenizer/tokenizer_spec.h"

namespace ds {

// `path` is a tokenizer.json file or a folder holding one; tokenizer_config.json next to it is
// read when present. Unsupported features (a non-BPE model, byte fallback, ...) give Unimplemented.
StatusOr<TokenizerSpec> LoadHfTokenizerSpec(const std::string& path);

// The same from in-memory texts; `config_json` may be empty. `source` prefixes error messages.
StatusOr<TokenizerSpec> ParseHfTokenizerSpec(std::string_view tokenizer_json,
                                             std::string_view config_json,
                                             const std::string& source);

}  // namespace ds
