#include "tokenizer/bpe.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace ds {
namespace {

// Heap order: lowest rank first, then leftmost position (what HF's Rust and JS models do).
bool Later(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
}

}  // namespace

StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(const TokenizerSpec& spec) {
  auto m = std::unique_ptr<BpeModel>(new BpeModel());
  m->ignore_merges_ = spec.ignore_merges;
  m->tokens_ = spec.vocab;
  m->bytes_.resize(m->tokens_.size());
  std::vector<bool> byte_level(m->tokens_.size(), false);
  for (size_t id = 0; id < m->tokens_.size(); ++id) {
    const std::string& tok = m->tokens_[id];
    if (tok.empty()) continue;
    std::string& bytes = m->bytes_[id];
    bytes.reserve(tok.size());
    byte_level[id] = utf8::SymbolsToBytes(tok, &bytes);
    if (!byte_level[id]) bytes = tok;  // unreachable by BPE, decoded verbatim
  }
  // Views are taken only now that every string is in place.
  m->bytes_to_id_.reserve(m->tokens_.size());
  for (size_t id = 0; id < m->tokens_.size(); ++id) {
    if (m->tokens_[id].empty()) continue;
    auto& map = byte_level[id] ? m->bytes_to_id_ : m->odd_tokens_;
    const std::string& key = byte_level[id] ? m->bytes_[id] : m->tokens_[id];
    if (!map.emplace(key, int32_t(id)).second) {
      return InvalidFormat(StrCat(spec.source, ": vocabulary entry '", m->tokens_[id],
                                  "' appears twice (ids ", map[key], " and ", id, ")"));
    }
  }
  for (int b = 0; b < 256; ++b) {
    auto it = m->bytes_to_id_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
    if (it == m->bytes_to_id_.end()) {
      return InvalidFormat(StrCat(spec.source, ": vocabulary lacks the byte-level symbol for byte ",
                                  b, " ('", utf8::BytesToSymbols(std::string(1, char(b))), "')"));
    }
    m->byte_ids_[b] = it->second;
  }
  DS_RETURN_IF_ERROR(m->BuildMerges(spec));
  return m;
}

Status BpeModel::BuildMerges(const TokenizerSpec& spec) {
  merges_.reserve(spec.merges.size());
  std::string a, b;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    const auto left_id = TokenToId(left);
    const auto right_id = TokenToId(right);
    const auto result_id = TokenToId(StrCat(left, right));
    if (!left_id || !right_id || !result_id) {
      const std::string_view missing = !left_id ? std::string_view(left)
                                       : !right_id ? std::string_view(right)
                                                   : std::string_view("their concatenation");
      return InvalidFormat(StrCat(spec.source, ": merge ", rank, " ('", left, " ", right,
                                  "') refers to a token not in the vocabulary: ", missing));
    }
    merges_.emplace(PairKey(*left_id, *right_id), Merge{int32_t(rank), *result_id});  // first wins
  }
  return absl::OkStatus();
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view symbols) const {
  thread_local std::string bytes;
  bytes.clear();
  if (utf8::SymbolsToBytes(symbols, &bytes)) {
    auto it = bytes_to_id_.find(std::string_view(bytes));
    if (it != bytes_to_id_.end()) return it->second;
    return std::nullopt;
  }
  auto it = odd_tokens_.find(symbols);
  if (it != odd_tokens_.end()) return it->second;
  return std::nullopt;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= size() || tokens_[id].empty()) return nullptr;
  return &tokens_[id];
}

const std::string* BpeModel::IdToBytes(int32_t id) const {
  if (id < 0 || id >= size() || tokens_[id].empty()) return nullptr;
  return &bytes_[id];
}

const BpeModel::Merge* BpeModel::FindMerge(int32_t a, int32_t b) const {
  auto it = merges_.find(PairKey(a, b));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::Encode(std::string_view piece, std::vector<int32_t>* ids, BpeScratch* s) const {
  if (piece.size() == 1) {
    ids->push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (ignore_merges_) {
    auto it = bytes_to_id_.find(piece);
    if (it != bytes_to_id_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  const int32_t n = static_cast<int32_t>(piece.size());
  s->symbols.resize(n);
  for (int32_t i = 0; i < n; ++i) {
    s->symbols[i] = {byte_ids_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1, 1};
  }
  MergeAll(s);
  for (int32_t i = 0; i != -1; i = s->symbols[i].next) ids->push_back(s->symbols[i].id);
}

// Symbols are indexed by their starting byte, so a candidate's `pos` is also its heap tie-break.
void BpeModel::MergeAll(BpeScratch* s) const {
  auto& sym = s->symbols;
  auto& heap = s->heap;
  heap.clear();
  auto push = [&](int32_t pos) {
    const int32_t next = sym[pos].next;
    if (next < 0) return;
    if (const Merge* m = FindMerge(sym[pos].id, sym[next].id)) {
      heap.push_back({m->rank, pos, sym[pos].id, sym[next].id});
      std::push_heap(heap.begin(), heap.end(), Later);
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), Later);
    const BpeScratch::Candidate c = heap.back();
    heap.pop_back();
    BpeScratch::Symbol& left = sym[c.pos];
    // Stale if the left symbol was merged away or either side changed since it was queued.
    if (left.len == 0 || left.id != c.left_id || left.next < 0) continue;
    BpeScratch::Symbol& right = sym[left.next];
    if (right.id != c.right_id) continue;
    left.id = FindMerge(c.left_id, c.right_id)->result;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) sym[left.next].prev = c.pos;
    if (left.prev >= 0) push(left.prev);
    push(c.pos);
  }
}

}  // namespace ds
