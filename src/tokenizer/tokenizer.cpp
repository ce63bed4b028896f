#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <deque>

#include "tokenizer/hf_json_loader.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"

namespace ds {

// Everything one Encode call owns: regex and BPE buffers, and the cache of piece -> ids (pieces
// view the input text or strings in `arena`, both alive for the whole call).
struct Tokenizer::EncodeState {
  RegexScratch regex;
  BpeScratch bpe;
  std::deque<std::string> arena;
  std::vector<std::string_view> pieces;
  absl::flat_hash_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // -> cached_ids
  std::vector<int32_t> cached_ids;
};

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& path) {
  DS_ASSIGN_OR_RETURN(TokenizerSpec spec, LoadHfTokenizerSpec(path));
  return FromSpec(std::move(spec));
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromSpec(TokenizerSpec spec) {
  auto t = std::unique_ptr<Tokenizer>(new Tokenizer());
  t->spec_ = std::move(spec);
  DS_RETURN_IF_ERROR(t->Init());
  return t;
}

Status Tokenizer::Init() {
  DS_ASSIGN_OR_RETURN(model_, BpeModel::Create(spec_));
  spec_.merges = {};  // the model has taken the vocabulary and the merge table
  DS_ASSIGN_OR_RETURN(pre_tokenizer_, PreTokenizer::Create(spec_.pre_tokenizer));
  vocab_size_ = model_->size();
  std::vector<AddedTokenSpec> raw, normalized;
  for (const AddedTokenSpec& t : spec_.added_tokens) vocab_size_ = std::max(vocab_size_, t.id + 1);
  added_index_.assign(vocab_size_, -1);
  for (size_t i = 0; i < spec_.added_tokens.size(); ++i) {
    AddedTokenSpec t = spec_.added_tokens[i];
    added_index_[t.id] = static_cast<int32_t>(i);
    added_by_content_.emplace(t.content, t.id);
    if (!t.normalized) {
      raw.push_back(std::move(t));
      continue;
    }
    // HF matches a normalized token by its normalized text, in the normalized input.
    std::string content;
    DS_ASSIGN_OR_RETURN(bool changed, Normalize(spec_.normalizers, t.content, &content));
    if (changed) t.content = std::move(content);
    normalized.push_back(std::move(t));
  }
  raw_matcher_ = AddedTokenMatcher(raw);
  normalized_matcher_ = AddedTokenMatcher(normalized);
  for (int32_t id : spec_.prefix_ids) {
    if (id < 0 || id >= vocab_size_) {
      return InvalidFormat(StrCat(spec_.source, ": post-processor adds unknown id ", id));
    }
  }
  for (int32_t id : spec_.suffix_ids) {
    if (id < 0 || id >= vocab_size_) {
      return InvalidFormat(StrCat(spec_.source, ": post-processor adds unknown id ", id));
    }
  }
  if (!spec_.bos_token.empty()) bos_id_ = TokenToId(spec_.bos_token);
  if (!spec_.eos_token.empty()) eos_id_ = TokenToId(spec_.eos_token);
  return absl::OkStatus();
}

const AddedTokenSpec* Tokenizer::Added(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(added_index_.size()) || added_index_[id] < 0) {
    return nullptr;
  }
  return &spec_.added_tokens[added_index_[id]];
}

StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text,
                                                 bool add_special_tokens) const {
  if (const size_t bad = utf8::FirstInvalid(text); bad != std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("text is not valid UTF-8 (byte offset ", bad, ")"));
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids = spec_.prefix_ids;
  EncodeState st;
  std::vector<AddedTokenMatcher::Span> spans;
  raw_matcher_.Split(text, &spans);
  for (const AddedTokenMatcher::Span& s : spans) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      DS_RETURN_IF_ERROR(EncodeSegment(text.substr(s.begin, s.end - s.begin), &st, &ids));
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), spec_.suffix_ids.begin(), spec_.suffix_ids.end());
  return ids;
}

Status Tokenizer::EncodeSegment(std::string_view segment, EncodeState* st,
                                std::vector<int32_t>* ids) const {
  std::string normalized;
  DS_ASSIGN_OR_RETURN(bool changed, Normalize(spec_.normalizers, segment, &normalized));
  if (changed) {
    st->arena.push_back(std::move(normalized));
    segment = st->arena.back();
  }
  if (normalized_matcher_.empty()) return EncodePlain(segment, st, ids);
  std::vector<AddedTokenMatcher::Span> spans;
  normalized_matcher_.Split(segment, &spans);
  for (const AddedTokenMatcher::Span& s : spans) {
    if (s.id >= 0) {
      ids->push_back(s.id);
    } else {
      DS_RETURN_IF_ERROR(EncodePlain(segment.substr(s.begin, s.end - s.begin), st, ids));
    }
  }
  return absl::OkStatus();
}

Status Tokenizer::EncodePlain(std::string_view text, EncodeState* st,
                              std::vector<int32_t>* ids) const {
  st->pieces.clear();
  DS_RETURN_IF_ERROR(pre_tokenizer_->Split(text, &st->pieces, &st->arena, &st->regex));
  for (std::string_view piece : st->pieces) {
    if (piece.size() == 1) {
      model_->Encode(piece, ids, &st->bpe);
      continue;
    }
    auto [it, inserted] = st->cache.try_emplace(piece);
    if (inserted) {
      const size_t start = st->cached_ids.size();
      model_->Encode(piece, &st->cached_ids, &st->bpe);
      it->second = {static_cast<uint32_t>(start), static_cast<uint32_t>(st->cached_ids.size())};
    }
    ids->insert(ids->end(), st->cached_ids.begin() + it->second.first,
                st->cached_ids.begin() + it->second.second);
  }
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> Tokenizer::PreTokenize(std::string_view text) const {
  if (const size_t bad = utf8::FirstInvalid(text); bad != std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("text is not valid UTF-8 (byte offset ", bad, ")"));
  }
  std::string normalized;
  DS_ASSIGN_OR_RETURN(bool changed, Normalize(spec_.normalizers, text, &normalized));
  if (changed) text = normalized;
  EncodeState st;
  DS_RETURN_IF_ERROR(pre_tokenizer_->Split(text, &st.pieces, &st.arena, &st.regex));
  return std::vector<std::string>(st.pieces.begin(), st.pieces.end());
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string out, pending;
  for (int32_t id : ids) {
    if (const AddedTokenSpec* t = Added(id)) {
      if (skip_special_tokens && t->special) continue;
      // Like HF's decoders, an added token is emitted verbatim and ends the byte run before it.
      utf8::AppendLossy(pending, &out);
      pending.clear();
      out += t->content;
    } else {
      pending += model_->IdToBytes(id);  // empty for an unknown id
    }
  }
  utf8::AppendLossy(pending, &out);
  return out;
}

std::string Tokenizer::TokenBytes(int32_t id) const {
  if (const AddedTokenSpec* t = Added(id)) return t->content;
  return std::string(model_->IdToBytes(id));
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  auto it = added_by_content_.find(std::string(token));
  if (it != added_by_content_.end()) return it->second;
  return model_->TokenToId(token);
}

std::string Tokenizer::IdToToken(int32_t id) const {
  if (const AddedTokenSpec* t = Added(id)) return t->content;
  const std::string* tok = model_->IdToToken(id);
  return tok ? *tok : std::string();
}

bool Tokenizer::IsSpecial(int32_t id) const {
  const AddedTokenSpec* t = Added(id);
  return t != nullptr && t->special;
}

}  // namespace ds
