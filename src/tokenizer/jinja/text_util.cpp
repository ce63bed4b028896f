#include "tokenizer/jinja/text_util.h"

namespace ds::jinja {

uint32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 6 ? 2 : (b0 >> 4) == 14 ? 3 : (b0 >> 3) == 30 ? 4 : 0;
  if (len <= 1 || i + len > s.size()) {
    ++i;
    return b0;
  }
  uint32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return b0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  return cp;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::vector<size_t> CodePointOffsets(std::string_view s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    NextCodePoint(s, i);
  }
  offsets.push_back(s.size());
  return offsets;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) NextCodePoint(s, i);
  return n;
}

bool IsPyWhitespace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

namespace {

std::vector<uint32_t> Decode(std::string_view s) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) cps.push_back(NextCodePoint(s, i));
  return cps;
}

bool InSet(uint32_t cp, const std::vector<uint32_t>* set) {
  if (set == nullptr) return IsPyWhitespace(cp);
  for (uint32_t c : *set)
    if (c == cp) return true;
  return false;
}

uint32_t ToUpper(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

uint32_t ToLower(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool IsCased(uint32_t c) { return ToUpper(c) != c || ToLower(c) != c || c == 0xDF; }

template <typename F>
std::string MapChars(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) AppendUtf8(out, f(NextCodePoint(s, i)));
  return out;
}

}  // namespace

std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right) {
  std::vector<uint32_t> set;
  if (chars != nullptr) set = Decode(*chars);
  const std::vector<uint32_t>* setp = chars ? &set : nullptr;
  std::vector<size_t> off = CodePointOffsets(s);
  size_t b = 0, e = off.size() - 1;
  auto cp_at = [&](size_t k) {
    size_t i = off[k];
    return NextCodePoint(s, i);
  };
  if (left)
    while (b < e && InSet(cp_at(b), setp)) ++b;
  if (right)
    while (e > b && InSet(cp_at(e - 1), setp)) --e;
  return std::string(s.substr(off[b], off[e] - off[b]));
}

std::vector<std::string> PySplit(std::string_view s, const std::string* sep, int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep != nullptr) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      size_t k = s.find(*sep, start);
      if (k == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, k - start));
      start = k + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size()) {
      size_t j = i;
      if (!IsPyWhitespace(NextCodePoint(s, j))) break;
      i = j;
    }
  };
  skip_ws();
  while (i < s.size()) {
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      std::string rest = PyStrip(s.substr(i), nullptr, false, true);
      parts.push_back(rest);
      return parts;
    }
    size_t start = i;
    while (i < s.size()) {
      size_t j = i;
      if (IsPyWhitespace(NextCodePoint(s, j))) break;
      i = j;
    }
    parts.emplace_back(s.substr(start, i - start));
    skip_ws();
  }
  return parts;
}

std::vector<std::string> PySplitLines(std::string_view s) {
  std::vector<std::string> lines;
  size_t start = 0, i = 0;
  while (i < s.size()) {
    size_t j = i;
    uint32_t cp = NextCodePoint(s, j);
    bool brk = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) ||
               cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!brk) {
      i = j;
      continue;
    }
    lines.emplace_back(s.substr(start, i - start));
    if (cp == '\r' && j < s.size() && s[j] == '\n') ++j;
    start = i = j;
  }
  if (start < s.size()) lines.emplace_back(s.substr(start));
  return lines;
}

std::optional<std::string> PyReplace(std::string_view s, std::string_view old, std::string_view rep, int64_t count,
                                     size_t max_size) {
  // Python inserts `rep` before every code point and at the end when `old` is empty.
  const std::vector<size_t> off = old.empty() ? CodePointOffsets(s) : std::vector<size_t>{};
  std::vector<size_t> at;  // where each replaced occurrence starts
  if (old.empty()) {
    for (size_t k = 0; k < off.size() && (count < 0 || static_cast<int64_t>(k) < count); ++k) at.push_back(off[k]);
  } else {
    for (size_t k = s.find(old); k != std::string_view::npos && (count < 0 || static_cast<int64_t>(at.size()) < count);
         k = s.find(old, k + old.size())) {
      at.push_back(k);
    }
  }
  // The length first (in double: the count times a long `rep` may not fit size_t arithmetic).
  const double length = static_cast<double>(s.size()) + static_cast<double>(at.size()) *
                                                            (static_cast<double>(rep.size()) - static_cast<double>(old.size()));
  if (length > static_cast<double>(max_size)) return std::nullopt;
  std::string out;
  out.reserve(static_cast<size_t>(length));
  size_t start = 0;
  for (size_t k : at) {
    out.append(s.substr(start, k - start)).append(rep);
    start = k + old.size();
  }
  out.append(s.substr(start));
  return out;
}

std::string PyUpper(std::string_view s) { return MapChars(s, ToUpper); }
std::string PyLower(std::string_view s) { return MapChars(s, ToLower); }

std::string PyTitle(std::string_view s) {
  bool prev_cased = false;
  return MapChars(s, [&](uint32_t c) {
    uint32_t r = prev_cased ? ToLower(c) : ToUpper(c);
    prev_cased = IsCased(c);
    return r;
  });
}

std::string PyCapitalize(std::string_view s) {
  bool first = true;
  return MapChars(s, [&](uint32_t c) {
    uint32_t r = first ? ToUpper(c) : ToLower(c);
    first = false;
    return r;
  });
}

std::string JinjaTitle(std::string_view s) {
  // Jinja splits on runs of [-\s({\[<] and capitalizes each piece.
  bool at_start = true;
  return MapChars(s, [&](uint32_t c) {
    bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || IsPyWhitespace(c);
    uint32_t r = sep ? c : (at_start ? ToUpper(c) : ToLower(c));
    at_start = sep;
    return r;
  });
}

}  // namespace ds::jinja
