// String building that accepts std::string_view. Debian's abseil is built with its own
// absl::string_view (not an alias of std::string_view), so absl::StrCat rejects std::string_view;
// use ds::StrCat everywhere in this project instead.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace ds {
namespace strings_internal {

inline void Append(std::string& out, std::string_view s) { out.append(s.data(), s.size()); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s ? s : "(null)"); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
void Append(std::string& out, T v) {
  absl::StrAppend(&out, v);  // shortest round-trip formatting for floats
}

}  // namespace strings_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}

}  // namespace ds
