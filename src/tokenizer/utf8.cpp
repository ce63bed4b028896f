#include "tokenizer/utf8.h"

#include <array>

namespace ds::utf8 {
namespace {

constexpr bool InRange(uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; }

// Number of bytes of the longest prefix of s[i..] that could still begin a valid sequence
// (the "maximal subpart"), and whether it is a complete character.
struct Prefix {
  size_t len;
  bool complete;
};

Prefix ScanSequence(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  const uint8_t b0 = p[i];
  if (b0 < 0x80) return {1, true};
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (InRange(b0, 0xC2, 0xDF)) {
    need = 1;
  } else if (InRange(b0, 0xE0, 0xEF)) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (InRange(b0, 0xF0, 0xF4)) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {1, false};
  }
  size_t len = 1;
  for (size_t k = 0; k < need; ++k) {
    if (i + len >= n) return {len, false};
    const uint8_t b = p[i + len];
    if (k == 0 ? !InRange(b, lo, hi) : !InRange(b, 0x80, 0xBF)) return {len, false};
    ++len;
  }
  return {len, true};
}

struct ByteTables {
  std::array<char32_t, 256> to_symbol{};
  std::array<int16_t, 324> to_byte{};  // symbols are all below 324
  ByteTables() {
    to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      to_symbol[b] = printable ? char32_t(b) : char32_t(256 + extra++);
      to_byte[to_symbol[b]] = int16_t(b);
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables t;
  return t;
}

}  // namespace

size_t ValidSequenceLength(std::string_view s, size_t i) {
  const Prefix p = ScanSequence(s, i);
  return p.complete ? p.len : 0;
}

size_t FirstInvalid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = ValidSequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

void AppendLossy(std::string_view bytes, std::string* out) {
  size_t i = 0;
  while (i < bytes.size()) {
    const Prefix p = ScanSequence(bytes, i);
    if (p.complete) {
      out->append(bytes.data() + i, p.len);
    } else {
      out->append("\xEF\xBF\xBD");
    }
    i += p.len;
  }
}

char32_t Next(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + *i;
  if (p[0] < 0x80) {
    *i += 1;
    return p[0];
  }
  if (p[0] < 0xE0) {
    *i += 2;
    return char32_t(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
  }
  if (p[0] < 0xF0) {
    *i += 3;
    return char32_t(p[0] & 0x0F) << 12 | char32_t(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
  }
  *i += 4;
  return char32_t(p[0] & 0x07) << 18 | char32_t(p[1] & 0x3F) << 12 | char32_t(p[2] & 0x3F) << 6 |
         (p[3] & 0x3F);
}

char32_t Prev(std::string_view s, size_t end, size_t* start) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  *start = i;
  return Next(s, &i);
}

void Append(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(char(cp));
  } else if (cp < 0x800) {
    out->push_back(char(0xC0 | (cp >> 6)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(char(0xE0 | (cp >> 12)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(char(0xF0 | (cp >> 18)));
    out->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  }
}

char32_t ByteToSymbol(uint8_t b) { return Tables().to_symbol[b]; }

bool SymbolsToBytes(std::string_view symbols, std::string* out) {
  const ByteTables& t = Tables();
  size_t i = 0;
  while (i < symbols.size()) {
    const size_t len = ValidSequenceLength(symbols, i);
    if (len == 0) return false;
    const char32_t cp = Next(symbols, &i);
    if (cp >= t.to_byte.size() || t.to_byte[cp] < 0) return false;
    out->push_back(char(t.to_byte[cp]));
  }
  return true;
}

std::string BytesToSymbols(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) Append(ByteToSymbol(static_cast<uint8_t>(c)), &out);
  return out;
}

}  // namespace ds::utf8
