// The byte-level BPE model: vocabulary, merge ranks, and the merge loop on one pre-tokenized piece.
// It works on raw bytes; the GPT-2 byte-to-symbol mapping is applied only when loading and when
// converting ids back to token strings.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/status.h"
#include "tokenizer/tokenizer_spec.h"

namespace ds {

// Reusable buffers for BpeModel::Encode, owned by one Encode call.
struct BpeScratch {
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // neighbours in the linked list, -1 at the ends
    uint32_t len;        // bytes covered; 0 once merged into the left neighbour
  };
  struct Candidate {
    int32_t rank, pos, left_id, right_id;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

class BpeModel {
 public:
  // Builds the model from spec.vocab (moved out) / spec.merges / spec.ignore_merges. Fails with a
  // message naming spec.source on a merge whose parts or result are not in the vocabulary, or
  // when one of the 256 byte symbols is missing.
  static StatusOr<std::unique_ptr<BpeModel>> Create(TokenizerSpec& spec);

  // Appends the ids of one piece (raw bytes, not empty).
  void Encode(std::string_view piece, std::vector<int32_t>* ids, BpeScratch* scratch) const;

  // Id of a vocabulary entry given in byte-level form ("Ġthe").
  std::optional<int32_t> TokenToId(std::string_view symbols) const;
  // Byte-level form of an id, or nullptr for an id outside the vocabulary.
  const std::string* IdToToken(int32_t id) const;
  // Raw bytes of an id (the token string itself if it is not byte-level); empty if unknown.
  std::string_view IdToBytes(int32_t id) const {
    return Contains(id) ? std::string_view(arena_).substr(offsets_[id], offsets_[id + 1] - offsets_[id])
                        : std::string_view();
  }
  bool Contains(int32_t id) const { return id >= 0 && id < size() && !tokens_[id].empty(); }
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }
  const Merge* FindMerge(int32_t a, int32_t b) const;
  Status BuildMerges(const TokenizerSpec& spec);
  // The error for merge `rank`: its left part, right part, or result is not in the vocabulary.
  static Status MergeError(const TokenizerSpec& spec, size_t rank, bool left, bool result = false);
  void MergeAll(BpeScratch* s) const;

  // Id of a byte string, or -1. An open-addressing table of (hash << 32 | id + 1) words: a
  // tokenizer.json load does ~400k lookups, and the 8-byte slots keep them cache-friendly.
  int32_t FindBytes(std::string_view bytes, uint64_t hash) const;
  int32_t FindBytes(std::string_view bytes) const { return FindBytes(bytes, HashBytes(bytes)); }
  static uint64_t HashBytes(std::string_view bytes);
  Status BuildIndex(const std::string& source, const std::vector<bool>& byte_level);

  std::vector<std::string> tokens_;  // byte-level form by id ("" = unused id)
  std::string arena_;                // raw bytes of every id, back to back
  std::vector<uint32_t> offsets_;    // id -> start in arena_ (size() + 1 entries)
  std::vector<uint64_t> index_;      // see FindBytes
  absl::flat_hash_map<std::string, int32_t> odd_tokens_;  // entries not in byte-level form
  absl::flat_hash_map<uint64_t, Merge> merges_;
  int32_t byte_ids_[256];
  bool ignore_merges_ = false;
};

}  // namespace ds
