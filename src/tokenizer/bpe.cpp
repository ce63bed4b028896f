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

int32_t BpeModel::FindBytes(std::string_view bytes, uint64_t h) const {
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
  // Pass 1 turns every part into bytes (sequential work); pass 2 looks them up while prefetching
  // the index slots of a later merge, since those random reads dominate load time.
  const size_t n = spec.merges.size();
  std::string bytes;  // left and right parts of every merge, back to back
  std::vector<uint32_t> ends(2 * n);
  std::vector<uint64_t> hashes(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const size_t start = bytes.size();
    const bool ok_left = utf8::SymbolsToBytes(spec.merges[i].first, &bytes);
    ends[2 * i] = static_cast<uint32_t>(bytes.size());
    const bool ok_right = utf8::SymbolsToBytes(spec.merges[i].second, &bytes);
    ends[2 * i + 1] = static_cast<uint32_t>(bytes.size());
    if (!ok_left || !ok_right) return MergeError(spec, i, !ok_left);
    hashes[2 * i] = HashBytes(std::string_view(bytes).substr(start, ends[2 * i] - start));
    hashes[2 * i + 1] =
        HashBytes(std::string_view(bytes).substr(ends[2 * i], ends[2 * i + 1] - ends[2 * i]));
  }
  merges_.reserve(n);
  const size_t mask = index_.size() - 1;
  constexpr size_t kAhead = 8;
  std::string joined;
  int32_t guess = -1;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      __builtin_prefetch(&index_[hashes[2 * (i + kAhead)] & mask]);
      __builtin_prefetch(&index_[hashes[2 * (i + kAhead) + 1] & mask]);
    }
    const size_t start = i ? ends[2 * i - 1] : 0;
    const std::string_view left = std::string_view(bytes).substr(start, ends[2 * i] - start);
    const std::string_view right =
        std::string_view(bytes).substr(ends[2 * i], ends[2 * i + 1] - ends[2 * i]);
    const int32_t left_id = FindBytes(left, hashes[2 * i]);
    const int32_t right_id = FindBytes(right, hashes[2 * i + 1]);
    if (left_id < 0 || right_id < 0) return MergeError(spec, i, left_id < 0);
    joined.assign(left);
    joined += right;
    // Most vocabularies number merge results in merge order; try the next id before hashing.
    const int32_t result_id = Contains(guess + 1) && IdToBytes(guess + 1) == joined
                                  ? guess + 1
                                  : FindBytes(joined, HashBytes(joined));
    if (result_id < 0) return MergeError(spec, i, false, /*result=*/true);
    guess = result_id;
    merges_.emplace(PairKey(left_id, right_id), Merge{int32_t(i), result_id});  // first wins
  }
  return absl::OkStatus();
}

Status BpeModel::MergeError(const TokenizerSpec& spec, size_t rank, bool left, bool result) {
  const auto& [l, r] = spec.merges[rank];
  return InvalidFormat(StrCat(spec.source, ": merge ", rank, " ('", l, " ", r,
                              "') refers to a token not in the vocabulary: ",
                              result ? std::string_view("their concatenation")
                                     : std::string_view(left ? l : r)));
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
