#include "generation/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace ds {

StopMatcher::StopMatcher(std::vector<std::string> stop_strings) {
  for (std::string& s : stop_strings) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

size_t StopMatcher::PartialSuffixLength() const {
  const std::string_view text(held_);
  size_t best = 0;
  for (const std::string& stop : stops_) {
    // Only suffixes longer than the current best can improve it.
    const size_t longest = std::min(text.size(), stop.size() - 1);
    for (size_t len = longest; len > best; --len) {
      if (text.substr(text.size() - len) == std::string_view(stop).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

std::string StopMatcher::Push(std::string_view piece) {
  if (stopped_) return {};
  held_.append(piece.data(), piece.size());
  // held_ never contained a whole stop string before this piece, so every match found now ends
  // inside the new piece; the one ending first is the one a byte-by-byte stream would see.
  size_t best_pos = std::string::npos;
  size_t best_end = std::string::npos;
  const std::string* best_stop = nullptr;
  for (const std::string& stop : stops_) {
    const size_t pos = held_.find(stop);
    if (pos == std::string::npos) continue;
    const size_t end = pos + stop.size();
    if (end < best_end || (end == best_end && pos < best_pos)) {
      best_pos = pos;
      best_end = end;
      best_stop = &stop;
    }
  }
  if (best_stop != nullptr) {
    stopped_ = true;
    matched_ = *best_stop;
    std::string out = held_.substr(0, best_pos);
    held_.clear();
    return out;
  }
  const size_t keep = PartialSuffixLength();
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::Flush() {
  if (stopped_) return {};
  return std::exchange(held_, std::string());
}

}  // namespace ds
