// Everything needed to build a byte-level BPE Tokenizer, independent of the file format it came
// from. The Hugging Face tokenizer.json loader (hf_json_loader.h) fills it; a GGUF loader can fill
// the same struct from its metadata arrays (tokens, merges, token types, pre-tokenizer name).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ds {

// A token matched in the raw text before any other stage (HF "added_tokens").
struct AddedTokenSpec {
  int32_t id = -1;
  std::string content;       // literal UTF-8 text
  bool special = false;      // removed by Decode(skip_special_tokens = true)
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool single_word = false;  // matches only when not inside a word
  bool normalized = false;   // matched against the normalized text instead of the raw text
};

// Unicode normalisation applied to text outside added tokens.
enum class NormalizerKind { kNFC, kNFD, kNFKC, kNFKD };

// HF Split "behavior": what becomes of the matched spans.
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

// One pre-tokenizer step; a Sequence is a list of them, each applied to every piece of the last.
struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel };
  Kind kind = Kind::kSplit;
  // kSplit: a PCRE2 regex (or a literal string when `literal`), Oniguruma-compatible syntax.
  std::string pattern;
  bool literal = false;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  // kByteLevel: bytes are always mapped to symbols; these add GPT-2's splitting and a leading space.
  bool add_prefix_space = false;
  bool use_regex = false;
};

struct TokenizerSpec {
  std::string source;  // file or model name, prefixes load errors

  // Model vocabulary by id in byte-level form ("Ġthe"); an empty string marks an unused id.
  std::vector<std::string> vocab;
  // Merge rules in rank order (rank = index), each a pair of vocabulary strings.
  std::vector<std::pair<std::string, std::string>> merges;
  bool ignore_merges = false;  // a piece that is itself in the vocabulary skips merging (Llama-3)

  std::vector<AddedTokenSpec> added_tokens;
  std::vector<NormalizerKind> normalizers;  // applied in order; empty = none
  std::vector<PreTokenizerStep> pre_tokenizer;

  // What Encode(add_special_tokens = true) puts around the ids.
  std::vector<int32_t> prefix_ids;
  std::vector<int32_t> suffix_ids;

  std::string bos_token;  // empty if the model has none
  std::string eos_token;
  std::string chat_template;
};

// Pre-tokenizer steps of a known model family by llama.cpp's GGUF "tokenizer.ggml.pre" name
// ("deepseek-v3", "deepseek-llm", "llama-bpe", "qwen2"); NotFound for other names.
StatusOr<std::vector<PreTokenizerStep>> PresetPreTokenizer(const std::string& name);

}  // namespace ds
