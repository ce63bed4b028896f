// UTF-8 and Python-`str` helpers for the Jinja engine: Python counts, slices and strips strings by
// code point and treats Unicode whitespace as whitespace, so these work on code points, not bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::jinja {

// Decodes the code point at s[i] and advances i. A malformed byte decodes as itself (one byte), so
// no input is rejected.
uint32_t NextCodePoint(std::string_view s, size_t& i);
// Appends `cp` encoded as UTF-8.
void AppendUtf8(std::string& out, uint32_t cp);
// Byte offset of each code point start, then s.size(): size()-1 is the length in code points.
std::vector<size_t> CodePointOffsets(std::string_view s);
// Number of code points (Python len()).
size_t CodePointCount(std::string_view s);
// Python str.isspace() for one code point.
bool IsPyWhitespace(uint32_t cp);

// Python str.strip / lstrip / rstrip. `chars` == nullptr strips whitespace.
std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right);
// Python str.split(sep, maxsplit); sep == nullptr splits on whitespace runs. Empty sep is the
// caller's error to report.
std::vector<std::string> PySplit(std::string_view s, const std::string* sep, int64_t maxsplit);
// Python str.splitlines() (no keepends).
std::vector<std::string> PySplitLines(std::string_view s);
// Python str.replace(old, new, count); count < 0 replaces all. nullopt, without building it, when
// the result would be longer than `max_size` bytes (a replacement can multiply the length).
std::optional<std::string> PyReplace(std::string_view s, std::string_view old, std::string_view rep, int64_t count,
                                     size_t max_size);

// Case mapping covers ASCII, Latin-1, basic Greek and Cyrillic (no full Unicode tables offline).
std::string PyUpper(std::string_view s);
std::string PyLower(std::string_view s);
// Python str.title(): a cased letter after an uncased character is upper-cased, others lowered.
std::string PyTitle(std::string_view s);
// Python str.capitalize(): first character upper, the rest lower.
std::string PyCapitalize(std::string_view s);
// Jinja's `title` filter: upper-cases the first character after `-`, whitespace, `(`, `{`, `[`, `<`.
std::string JinjaTitle(std::string_view s);

}  // namespace ds::jinja
