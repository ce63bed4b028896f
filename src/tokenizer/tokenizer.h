// Byte-level BPE tokenizer giving the same ids as Hugging Face `tokenizers` (and transformers.js)
// for DeepSeek-V3, Qwen2.5 and Llama-3 style tokenizer.json files.
//
// Encode pipeline: added tokens found in the raw text -> normalizer (e.g. NFC) -> added tokens
// flagged `normalized` found in the normalized text -> pre-tokenizer (Split regexes, ByteLevel)
// -> BPE by merge rank on each piece. Encode and Decode are const and thread-safe: the BPE word
// cache lives inside one Encode call, so instances share no mutable state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/status.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace ds {

class Tokenizer {
 public:
  // path = a tokenizer.json file or a folder holding tokenizer.json (+ optional
  // tokenizer_config.json, which supplies BOS/EOS, add_bos_token and the chat template).
  static StatusOr<std::unique_ptr<Tokenizer>> Load(const std::string& path);
  // Builds a tokenizer from an already-filled spec (e.g. from GGUF metadata).
  static StatusOr<std::unique_ptr<Tokenizer>> FromSpec(TokenizerSpec spec);

  // Token ids of `text`, which must be valid UTF-8 (else InvalidArgument naming the byte offset).
  // Added-token strings in the text are always recognised; `add_special_tokens` also adds what
  // the model's post-processor / tokenizer_config.json asks for (BOS for DeepSeek-V3).
  StatusOr<std::vector<int32_t>> Encode(std::string_view text,
                                        bool add_special_tokens = false) const;
  // The pre-tokenizer pieces of `text` after normalisation (regex stage only: added tokens are
  // not split out), as UTF-8 text.
  StatusOr<std::vector<std::string>> PreTokenize(std::string_view text) const;
  // Text of `ids`. Bytes that do not form valid UTF-8 (a character cut between tokens) become
  // U+FFFD, one per maximal invalid subpart, as HF does. Unknown ids are skipped.
  // `skip_special_tokens` drops added tokens flagged special.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // Raw bytes of one token after byte-level decoding (for streaming detokenization); empty if
  // the id is invalid. Added tokens give their text.
  std::string TokenBytes(int32_t id) const;
  // Id of a token given as an added-token text or a vocabulary entry in byte-level form ("Ġthe").
  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The token string of an id (added-token text or byte-level vocabulary form); empty if invalid.
  std::string IdToToken(int32_t id) const;
  // True for added tokens flagged `special` (what skip_special_tokens removes).
  bool IsSpecial(int32_t id) const;
  // One more than the largest id in use.
  int32_t vocab_size() const { return vocab_size_; }

  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  const std::string& bos_token() const { return spec_.bos_token; }
  const std::string& eos_token() const { return spec_.eos_token; }
  // From tokenizer_config.json ("" if none; of a list of named templates, the "default" one).
  const std::string& chat_template() const { return spec_.chat_template; }
  const std::vector<AddedTokenSpec>& added_tokens() const { return spec_.added_tokens; }
  // Ids Encode(add_special_tokens = true) puts before / after the text.
  const std::vector<int32_t>& prefix_ids() const { return spec_.prefix_ids; }
  const std::vector<int32_t>& suffix_ids() const { return spec_.suffix_ids; }

 private:
  struct EncodeState;
  Tokenizer() = default;
  Status Init();
  const AddedTokenSpec* Added(int32_t id) const;
  Status EncodeSegment(std::string_view segment, EncodeState* st, std::vector<int32_t>* ids) const;
  Status EncodePlain(std::string_view text, EncodeState* st, std::vector<int32_t>* ids) const;

  TokenizerSpec spec_;  // vocab and merges are released after Init
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  AddedTokenMatcher raw_matcher_;         // tokens with normalized = false
  AddedTokenMatcher normalized_matcher_;  // tokens with normalized = true, normalized contents
  std::vector<int32_t> added_index_;      // id -> index in spec_.added_tokens, or -1
  absl::flat_hash_map<std::string, int32_t> added_by_content_;
  int32_t vocab_size_ = 0;
  std::optional<int32_t> bos_id_, eos_id_;
};

}  // namespace ds
