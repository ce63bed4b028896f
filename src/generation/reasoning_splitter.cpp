#include "generation/reasoning_splitter.h"

#include <algorithm>

namespace ds {
namespace {

constexpr std::string_view kOpenTag = "<think>";
constexpr std::string_view kCloseTag = "</think>";
// The close tag with the newline R1 puts before it: holding back a trailing "\n" lets the
// reasoning drop it if the tag follows.
constexpr std::string_view kNewlineCloseTag = "\n</think>";

// Appends text to the last piece when it has the same channel; skips empty text.
void Emit(std::vector<ChannelText>& out, TextChannel channel, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().channel == channel) {
    out.back().text.append(text.data(), text.size());
  } else {
    out.push_back({channel, std::string(text)});
  }
}

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
size_t PartialTagSuffix(std::string_view text, std::string_view tag) {
  for (size_t len = std::min(text.size(), tag.size() - 1); len > 0; --len) {
    if (text.substr(text.size() - len) == tag.substr(0, len)) return len;
  }
  return 0;
}

}  // namespace

bool PromptOpensThinking(std::string_view prompt) {
  const size_t open = prompt.rfind(kOpenTag);
  if (open == std::string_view::npos) return false;
  return prompt.find(kCloseTag, open + kOpenTag.size()) == std::string_view::npos;
}

ReasoningSplitter::ReasoningSplitter(bool prompt_opened_thinking)
    : state_(State::kStart), fallback_reasoning_(prompt_opened_thinking) {}

bool ReasoningSplitter::in_reasoning() const {
  switch (state_) {
    case State::kStart:
      return fallback_reasoning_;
    case State::kReasoningStart:
    case State::kReasoning:
      return true;
    default:
      return false;
  }
}

std::vector<ChannelText> ReasoningSplitter::Push(std::string_view piece) {
  buffer_.append(piece.data(), piece.size());
  std::vector<ChannelText> out;
  Drain(out);
  return out;
}

std::vector<ChannelText> ReasoningSplitter::Flush() {
  flushing_ = true;
  std::vector<ChannelText> out;
  Drain(out);
  flushing_ = false;
  return out;
}

void ReasoningSplitter::Drain(std::vector<ChannelText>& out) {
  for (;;) {
    bool progressed = false;
    switch (state_) {
      case State::kStart:
        progressed = StepStart();
        break;
      case State::kReasoningStart:
        progressed = StepReasoningStart();
        break;
      case State::kReasoning:
        progressed = StepReasoning(out);
        break;
      case State::kContentStart:
        progressed = StepContentStart();
        break;
      case State::kContent:
        Emit(out, TextChannel::kContent, buffer_);
        buffer_.clear();
        break;
    }
    if (!progressed) return;
  }
}

bool ReasoningSplitter::StepStart() {
  if (buffer_.empty()) return false;
  if (buffer_.starts_with(kOpenTag)) {
    buffer_.erase(0, kOpenTag.size());
    state_ = State::kReasoningStart;
    return true;
  }
  const bool maybe_tag = kOpenTag.starts_with(buffer_);
  if (maybe_tag && !flushing_) return false;  // "<thi": wait for the rest
  state_ = fallback_reasoning_ ? State::kReasoningStart : State::kContent;
  return true;
}

bool ReasoningSplitter::StepReasoningStart() {
  if (buffer_.empty() && !flushing_) return false;
  if (!buffer_.empty() && buffer_[0] == '\n') buffer_.erase(0, 1);
  state_ = State::kReasoning;
  return true;
}

bool ReasoningSplitter::StepReasoning(std::vector<ChannelText>& out) {
  const size_t close = buffer_.find(kCloseTag);
  if (close != std::string::npos) {
    std::string_view reasoning(buffer_.data(), close);
    if (reasoning.ends_with('\n')) reasoning.remove_suffix(1);
    Emit(out, TextChannel::kReasoning, reasoning);
    buffer_.erase(0, close + kCloseTag.size());
    state_ = State::kContentStart;
    return true;
  }
  size_t hold = 0;
  if (!flushing_) {
    hold = std::max(PartialTagSuffix(buffer_, kNewlineCloseTag),
                    PartialTagSuffix(buffer_, kCloseTag));
  }
  Emit(out, TextChannel::kReasoning, std::string_view(buffer_).substr(0, buffer_.size() - hold));
  buffer_.erase(0, buffer_.size() - hold);
  return false;
}

bool ReasoningSplitter::StepContentStart() {
  if (buffer_.empty()) return false;
  if (buffer_[0] == '\n') {
    if (buffer_.size() == 1 && !flushing_) return false;  // could be the first of "\n\n"
    const size_t drop = buffer_.size() >= 2 && buffer_[1] == '\n' ? 2 : 1;
    buffer_.erase(0, drop);
  }
  state_ = State::kContent;
  return true;
}

}  // namespace ds
