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

StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(TokenizerSpec& spec) {
  auto m = std::unique_ptr<BpeModel>(new BpeModel());
  m->ignore_merges_ = spec.ignore_merges;
  m->tokens_ = std::move(spec.vocab);
  spec.vocab.clear();
  const size_t n = m->tokens_.size();
  std::vector<bool> byte_level(n, false);
  m->offsets_.resize(n + 1);
  size_t total = 0;
  for (const std::string& t : m->tokens_) total += t.size();
  m->arena_.reserve(total);
  for (size_t id = 0; id < n; ++id) {
    const std::string& tok = m->tokens_[id];
    m->offsets_[id] = static_cast<uint32_t>(m->arena_.size());
    if (tok.empty()) continue;
    byte_level[id] = utf8::SymbolsToBytes(tok, &m->arena_);
    if (!byte_level[id]) {  // unreachable by BPE, decoded verbatim
      m->arena_.resize(m->offsets_[id]);
      m->arena_ += tok;
    }
  }
  m->offsets_[n] = static_cast<uint32_t>(m->arena_.size());
  DS_RETURN_IF_ERROR(m->BuildIndex(spec.source, byte_level));
  for (int b = 0; b < 256; ++b) {
    const int32_t id = m->FindBytes(std::string_view(reinterpret_cast<const char*>(&b), 1));
    if (id < 0) {
      return InvalidFormat(StrCat(spec.source, ": vocabulary lacks the byte-level symbol for byte ",
                                  b, " ('", utf8::BytesToSymbols(std::string(1, char(b))), "')"));
    }
    m->byte_ids_[b] = id;
  }
  DS_RETURN_IF_ERROR(m->BuildMerges(spec));
  return m;
}

uint64_t BpeModel::HashBytes(std::string_view bytes) {
  return std::hash<std::string_view>()(bytes) | 1;  // never 0, so a slot of 0 means empty
}

Status BpeModel::BuildIndex(const std::string& source, const std::vector<bool>& byte_level) {
  size_t slots = 16;
  while (slots < tokens_.size() * 2) slots *= 2;
  index_.assign(slots, 0);
  const size_t mask = slots - 1;
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (tokens_[id].empty()) continue;
    if (!byte_level[id]) {
      if (!odd_tokens_.emplace(tokens_[id], int32_t(id)).second) {
        return InvalidFormat(StrCat(source, ": vocabulary entry '", tokens_[id], "' appears twice"));
      }
      continue;
    }
    const std::string_view bytes = IdToBytes(static_cast<int32_t>(id));
    if (const int32_t other = FindBytes(bytes); other >= 0) {
      return InvalidFormat(StrCat(source, ": vocabulary entries '", tokens_[other], "' (id ", other,
                                  ") and '", tokens_[id], "' (id ", id, ") are the same bytes"));
    }
    const uint64_t h = HashBytes(bytes);
    size_t slot = h & mask;
    while (index_[slot] != 0) slot = (slot + 1) & mask;
    index_[slot] = (h << 32) | uint64_t(id + 1);
  }
  return absl::OkStatus();
}

int32_t BpeModel::FindBytes(std::string_view bytes) const {
  const uint64_t h = HashBytes(bytes);
  const size_t mask = index_.size() - 1;
  for (size_t slot = h & mask;; slot = (slot + 1) & mask) {
    const uint64_t e = index_[slot];
    if (e == 0) return -1;
    if ((e >> 32) != (h & 0xFFFFFFFFu)) continue;
    const int32_t id = static_cast<int32_t>(uint32_t(e) - 1);
    if (IdToBytes(id) == bytes) return id;
  }
}

Status BpeModel::BuildMerges(const TokenizerSpec& spec) {
  merges_.reserve(spec.merges.size());
  std::string left, right;
  int32_t guess = -1;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left_symbols, right_symbols] = spec.merges[rank];
    left.clear();
    right.clear();
    // Parts are looked up as bytes; the result's bytes are simply the two parts' bytes joined.
    int32_t left_id = -1, right_id = -1, result_id = -1;
    if (utf8::SymbolsToBytes(left_symbols, &left) && utf8::SymbolsToBytes(right_symbols, &right)) {
      left_id = FindBytes(left);
      right_id = FindBytes(right);
      left += right;
      // Most vocabularies number merge results in merge order; try the next id before hashing.
      result_id = Contains(guess + 1) && IdToBytes(guess + 1) == left ? guess + 1 : FindBytes(left);
    }
    if (left_id < 0 || right_id < 0 || result_id < 0) {
      const std::string_view missing = left_id < 0    ? std::string_view(left_symbols)
                                       : right_id < 0 ? std::string_view(right_symbols)
                                                      : std::string_view("their concatenation");
      return InvalidFormat(StrCat(spec.source, ": merge ", rank, " ('", left_symbols, " ",
                                  right_symbols, "') refers to a token not in the vocabulary: ",
                                  missing));
    }
    guess = result_id;
    merges_.emplace(PairKey(left_id, right_id), Merge{int32_t(rank), result_id});  // first wins
  }
  return absl::OkStatus();
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view symbols) const {
  std::string bytes;
  if (utf8::SymbolsToBytes(symbols, &bytes)) {
    const int32_t id = FindBytes(bytes);
    if (id >= 0) return id;
    return std::nullopt;
  }
  auto it = odd_tokens_.find(std::string(symbols));
  if (it != odd_tokens_.end()) return it->second;
  return std::nullopt;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  return Contains(id) ? &tokens_[id] : nullptr;
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
    if (const int32_t id = FindBytes(piece); id >= 0) {
      ids->push_back(id);
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
