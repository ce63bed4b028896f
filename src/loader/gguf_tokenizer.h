// The tokenizer embedded in a GGUF file (tokenizer.ggml.*) as a TokenizerSpec for the byte-level
// BPE tokenizer: tokens, merges, token types (control / user-defined tokens become added tokens),
// llama.cpp's pre-tokenizer name mapped onto the built-in presets, bos/eos, add_bos/add_eos and
// tokenizer.chat_template.
#pragma once

#include "loader/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace ds {

// Unimplemented for tokenizer models other than "gpt2" (byte-level BPE) and for pre-tokenizer
// names without a preset; DataLoss naming the key for malformed metadata.
StatusOr<TokenizerSpec> TokenizerSpecFromGguf(const GgufFile& gguf);

// A tokenizer from a GGUF model file (its embedded tokenizer) or, for any other path, from a
// tokenizer.json file or folder (Tokenizer::Load).
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromAnyFile(const std::string& path);

}  // namespace ds
