// UTF-8 helpers for the tokenizer: validation, lossy decoding the way HF decoders do it, and the
// GPT-2 byte <-> symbol table that byte-level BPE vocabularies are written in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ds::utf8 {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid there.
size_t ValidSequenceLength(std::string_view s, size_t i);

// Offset of the first byte that does not start a valid UTF-8 sequence, or npos if all valid.
size_t FirstInvalid(std::string_view s);

// Appends `bytes` to `out`, replacing each maximal invalid subpart by U+FFFD (WHATWG / Rust
// from_utf8_lossy rule), so a token list cut inside a character yields one U+FFFD.
void AppendLossy(std::string_view bytes, std::string* out);

// Decodes the code point at s[*i] (assumed valid) and advances *i past it.
char32_t Next(std::string_view s, size_t* i);

// Decodes the last code point before s[end] (assumed valid); *start receives its offset.
char32_t Prev(std::string_view s, size_t end, size_t* start);

// Appends the UTF-8 encoding of `cp`.
void Append(char32_t cp, std::string* out);

// GPT-2 byte-level alphabet: each byte is written as one printable code point.
char32_t ByteToSymbol(uint8_t b);

// Maps a byte-level symbol string back to bytes. Returns false (and leaves `out` partly written)
// if some code point is not one of the 256 symbols.
bool SymbolsToBytes(std::string_view symbols, std::string* out);

// Maps raw bytes to their byte-level symbol string ("Ġthe" for " the").
std::string BytesToSymbols(std::string_view bytes);

}  // namespace ds::utf8
