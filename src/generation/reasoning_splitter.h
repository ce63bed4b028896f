// Splits streamed DeepSeek-R1-style output into reasoning ("<think> ... </think>") and content.
//
// Rules (R1 emits "<think>\n{reasoning}\n</think>\n\n{answer}"):
//   * Reasoning starts when the prompt already opened "<think>" (R1's generation prompt ends
//     with "<think>\n") or when the output itself begins with "<think>". A "<think>" at the very
//     start of the output is swallowed in both cases (R1 sometimes repeats it).
//   * Reasoning ends at the first "</think>"; everything after it is content, and later tags are
//     ordinary text (as in vLLM's and SGLang's deepseek_r1 parsers, only one reasoning block).
//   * The tags are never emitted. One "\n" right after the opening and one right before
//     "</think>" are dropped from the reasoning; up to two "\n" right after "</think>" are dropped
//     from the content. SGLang's parser strips (all) whitespace there too; vLLM's keeps it.
//   * Output without any think tag (and a prompt that did not open one) is all content.
//   * Unterminated reasoning stays reasoning (generation was cut off while thinking).
// Partial tags split across pieces are held back until they resolve; Flush releases them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds {

enum class TextChannel { kReasoning, kContent };

struct ChannelText {
  TextChannel channel;
  std::string text;
  bool operator==(const ChannelText&) const = default;
};

// Whether the prompt ends inside a thinking block: its last "<think>" has no "</think>" after it.
bool PromptOpensThinking(std::string_view prompt);

class ReasoningSplitter {
 public:
  // `prompt_opened_thinking`: the prompt ended inside "<think>" (see PromptOpensThinking).
  explicit ReasoningSplitter(bool prompt_opened_thinking);

  // Consumes one piece of generated text; returns the channel pieces that can be emitted now,
  // adjacent pieces of the same channel merged, no empty pieces.
  std::vector<ChannelText> Push(std::string_view piece);

  // Ends the stream, releasing any held-back partial tag as text of the current channel.
  std::vector<ChannelText> Flush();

  // Whether text pushed now would go to the reasoning channel.
  bool in_reasoning() const;

 private:
  enum class State {
    kStart,           // nothing decided yet: output may begin with "<think>"
    kReasoningStart,  // reasoning, may drop one leading "\n"
    kReasoning,       // reasoning, looking for "</think>"
    kContentStart,    // after "</think>", may drop up to two leading "\n"
    kContent,         // plain content to the end
  };

  // Runs the state machine over buffer_ until it needs more input; appends to `out`.
  void Drain(std::vector<ChannelText>& out);
  // Returns true when it changed state (so Drain continues) and false when it must wait.
  bool StepStart();
  bool StepReasoningStart();
  bool StepReasoning(std::vector<ChannelText>& out);
  bool StepContentStart();

  State state_;
  bool fallback_reasoning_;  // channel chosen in kStart when the output does not open "<think>"
  std::string buffer_;       // pushed text not yet emitted
  bool flushing_ = false;    // at Flush: no more input will arrive
};

}  // namespace ds
