#include "generation/reasoning_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ds {
namespace {

constexpr TextChannel kR = TextChannel::kReasoning;
constexpr TextChannel kC = TextChannel::kContent;

// Runs the splitter over `pieces` and merges the output into channel runs.
std::vector<ChannelText> Run(bool prompt_opened, const std::vector<std::string>& pieces) {
  ReasoningSplitter s(prompt_opened);
  std::vector<ChannelText> all;
  auto add = [&all](const std::vector<ChannelText>& got) {
    for (const ChannelText& p : got) {
      EXPECT_FALSE(p.text.empty()) << "empty piece emitted";
      if (!all.empty() && all.back().channel == p.channel) {
        all.back().text += p.text;
      } else {
        all.push_back(p);
      }
    }
  };
  for (const std::string& p : pieces) add(s.Push(p));
  add(s.Flush());
  return all;
}

std::string Describe(const std::vector<std::string>& pieces) {
  std::string d;
  for (const auto& p : pieces) d += "[" + p + "]";
  return d;
}

// Every two- and three-piece cut of `text`, and one byte per piece, must give `want`.
void ExpectAllSplits(bool prompt_opened, const std::string& text,
                     const std::vector<ChannelText>& want) {
  EXPECT_EQ(Run(prompt_opened, {text}), want) << "whole";
  std::vector<std::string> bytes;
  for (char c : text) bytes.push_back(std::string(1, c));
  EXPECT_EQ(Run(prompt_opened, bytes), want) << "bytewise";
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      const std::vector<std::string> pieces = {text.substr(0, a), text.substr(a, b - a),
                                               text.substr(b)};
      EXPECT_EQ(Run(prompt_opened, pieces), want) << Describe(pieces);
    }
  }
}

TEST(ReasoningSplitterTest, R1OutputWithOpeningTag) {
  ExpectAllSplits(false, "<think>\nLet me add.\n2+2=4\n</think>\n\nThe answer is 4.",
                  {{kR, "Let me add.\n2+2=4"}, {kC, "The answer is 4."}});
}

TEST(ReasoningSplitterTest, PromptOpenedThinking) {
  // R1's generation prompt ends with "<think>\n": the output starts inside the reasoning.
  ExpectAllSplits(true, "Let me add.\n</think>\n\n**4**", {{kR, "Let me add."}, {kC, "**4**"}});
  // A repeated "<think>" at the start of the output is swallowed.
  ExpectAllSplits(true, "<think>\nhmm\n</think>\n\nok", {{kR, "hmm"}, {kC, "ok"}});
}

TEST(ReasoningSplitterTest, NoThinkTagsIsAllContent) {
  ExpectAllSplits(false, "Hello, world!\n", {{kC, "Hello, world!\n"}});
  ExpectAllSplits(false, "<thinking>x</thinking>", {{kC, "<thinking>x</thinking>"}});
  ExpectAllSplits(false, "<thi", {{kC, "<thi"}});
  // A tag that does not start the output is ordinary content.
  ExpectAllSplits(false, "a <think>b</think> c", {{kC, "a <think>b</think> c"}});
}

TEST(ReasoningSplitterTest, UnterminatedReasoningStaysReasoning) {
  ExpectAllSplits(true, "still thinking", {{kR, "still thinking"}});
  ExpectAllSplits(true, "cut off at </thi", {{kR, "cut off at </thi"}});
  ExpectAllSplits(false, "<think>\nabc\n", {{kR, "abc\n"}});
}

TEST(ReasoningSplitterTest, OnlyOneReasoningBlock) {
  ExpectAllSplits(false, "<think>a</think>b<think>c</think>",
                  {{kR, "a"}, {kC, "b<think>c</think>"}});
}

TEST(ReasoningSplitterTest, StripsAtMostTheDocumentedNewlines) {
  ExpectAllSplits(false, "<think>\n\nx\n\n</think>\n\n\ny", {{kR, "\nx\n"}, {kC, "\ny"}});
  ExpectAllSplits(false, "<think>x</think>y", {{kR, "x"}, {kC, "y"}});
  ExpectAllSplits(false, "<think>x</think>\ny", {{kR, "x"}, {kC, "y"}});
  ExpectAllSplits(false, "<think></think>\n\n", {});
  ExpectAllSplits(false, "<think>\n\n</think>\n\nanswer", {{kC, "answer"}});
}

TEST(ReasoningSplitterTest, StreamsReasoningBeforeTheEnd) {
  ReasoningSplitter s(true);
  EXPECT_TRUE(s.in_reasoning());
  const std::vector<ChannelText> first = s.Push("step one\nstep two");
  EXPECT_EQ(first, (std::vector<ChannelText>{{kR, "step one\nstep two"}}));
  EXPECT_EQ(s.Push("\n</"), std::vector<ChannelText>{});  // held: maybe the close tag
  EXPECT_EQ(s.Push("think>\n\nDone"), (std::vector<ChannelText>{{kC, "Done"}}));
  EXPECT_FALSE(s.in_reasoning());
}

TEST(ReasoningSplitterTest, PromptOpensThinking) {
  EXPECT_TRUE(PromptOpensThinking("<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n"));
  EXPECT_FALSE(PromptOpensThinking("<think>r</think>answer<\xEF\xBD\x9C" "User\xEF\xBD\x9C>hi"));
  EXPECT_FALSE(PromptOpensThinking("no tags at all"));
  EXPECT_FALSE(PromptOpensThinking(""));
  EXPECT_TRUE(PromptOpensThinking("<think>a</think> b <think>"));
}

}  // namespace
}  // namespace ds
