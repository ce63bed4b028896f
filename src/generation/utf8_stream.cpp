#include "generation/utf8_stream.h"

#include <cstdint>

namespace ds {
namespace {

// Length of the sequence a lead byte starts (0 for bytes that cannot start one) and the allowed
// range of its second byte (Unicode Table 3-7: excludes overlongs, surrogates, > U+10FFFF).
struct LeadInfo {
  int length;
  uint8_t lo;
  uint8_t hi;
};

LeadInfo Lead(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};  // 0x80..0xC1, 0xF5..0xFF
}

// Appends the decoded form of `bytes` to `out`. Returns how many bytes were consumed; the rest
// is a valid but incomplete sequence at the end (only when `final` is false).
size_t Decode(std::string_view bytes, std::string& out, bool final) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const uint8_t b = static_cast<uint8_t>(bytes[i]);
    const LeadInfo lead = Lead(b);
    if (lead.length == 1) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    if (lead.length == 0) {
      out.append(kReplacementChar);
      ++i;
      continue;
    }
    // Count how many continuation bytes are valid; stop at the first bad or missing one.
    int good = 1;
    while (good < lead.length && i + good < n) {
      const uint8_t c = static_cast<uint8_t>(bytes[i + good]);
      const uint8_t lo = good == 1 ? lead.lo : 0x80;
      const uint8_t hi = good == 1 ? lead.hi : 0xBF;
      if (c < lo || c > hi) break;
      ++good;
    }
    if (good == lead.length) {
      out.append(bytes.substr(i, good));
    } else if (i + good == n && !final) {
      return i;  // a valid prefix cut by the end of the input: wait for more bytes
    } else {
      out.append(kReplacementChar);  // one replacement for the maximal invalid subpart
    }
    i += good;
  }
  return n;
}

}  // namespace

std::string Utf8StreamDecoder::Push(std::string_view bytes) {
  std::string out;
  if (pending_.empty()) {
    const size_t used = Decode(bytes, out, /*final=*/false);
    pending_.assign(bytes.substr(used));
    return out;
  }
  std::string input = std::move(pending_);
  input.append(bytes.data(), bytes.size());
  const size_t used = Decode(input, out, /*final=*/false);
  pending_.assign(input, used, std::string::npos);
  return out;
}

std::string Utf8StreamDecoder::Flush() {
  std::string out;
  Decode(pending_, out, /*final=*/true);
  pending_.clear();
  return out;
}

std::string SanitizeUtf8(std::string_view bytes) {
  std::string out;
  Decode(bytes, out, /*final=*/true);
  return out;
}

}  // namespace ds
