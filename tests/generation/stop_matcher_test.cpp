#include "generation/stop_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ds {
namespace {

struct RunResult {
  std::string emitted;
  bool stopped;
  std::string matched;
};

RunResult Run(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopMatcher m(stops);
  RunResult r;
  for (const std::string& p : pieces) r.emitted += m.Push(p);
  r.emitted += m.Flush();
  r.stopped = m.stopped();
  r.matched = m.matched();
  return r;
}

// Every way of cutting `text` into two or three pieces, plus one byte per piece.
std::vector<std::vector<std::string>> Splits(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      out.push_back({text.substr(0, a), text.substr(a, b - a), text.substr(b)});
    }
  }
  std::vector<std::string> bytes;
  for (char c : text) bytes.push_back(std::string(1, c));
  out.push_back(bytes);
  return out;
}

void ExpectAllSplits(const std::vector<std::string>& stops, const std::string& text,
                     const std::string& want, const std::string& want_stop) {
  for (const auto& pieces : Splits(text)) {
    const RunResult r = Run(stops, pieces);
    std::string desc;
    for (const auto& p : pieces) desc += "[" + p + "]";
    EXPECT_EQ(r.emitted, want) << desc;
    EXPECT_EQ(r.stopped, !want_stop.empty()) << desc;
    EXPECT_EQ(r.matched, want_stop) << desc;
  }
}

TEST(StopMatcherTest, NoStopPassesEverything) {
  ExpectAllSplits({"<|end|>"}, "hello world", "hello world", "");
  ExpectAllSplits({}, "anything", "anything", "");
}

TEST(StopMatcherTest, StopSpanningPieces) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("abc E"), "abc ");
  EXPECT_EQ(m.held_bytes(), 1u);
  EXPECT_EQ(m.Push("N"), "");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Push("D more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "END");
  EXPECT_EQ(m.Push("after"), "");
  EXPECT_EQ(m.Flush(), "");
  ExpectAllSplits({"END"}, "abc END more", "abc ", "END");
}

TEST(StopMatcherTest, HeldPrefixReleasedWhenItDiverges) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("xE"), "x");
  EXPECT_EQ(m.Push("Nd"), "ENd");
  EXPECT_EQ(m.Flush(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcherTest, OverlappingPrefix) {
  StopMatcher m({"ab"});
  EXPECT_EQ(m.Push("a"), "");
  EXPECT_EQ(m.Push("a"), "a");
  EXPECT_EQ(m.Push("b"), "");
  EXPECT_TRUE(m.stopped());
  ExpectAllSplits({"ab"}, "aab", "a", "ab");
  ExpectAllSplits({"aab"}, "aaab!", "a", "aab");
}

TEST(StopMatcherTest, MultipleStopsEarliestCompletionWins) {
  // "bc" completes before "abcd" does, however the text is cut.
  ExpectAllSplits({"abcd", "bc"}, "xabcd", "xa", "bc");
  // Both complete at the same byte: the one starting earlier (longer) wins.
  ExpectAllSplits({"d", "cd"}, "abcde", "ab", "cd");
  ExpectAllSplits({"abcx", "bcy"}, "abcy", "a", "bcy");
  ExpectAllSplits({"</s>", "\n\nUser:"}, "Answer.\n\nUser: hi</s>", "Answer.", "\n\nUser:");
}

TEST(StopMatcherTest, FlushReleasesHeldText) {
  StopMatcher m({"<|end|>"});
  EXPECT_EQ(m.Push("foo<|e"), "foo");
  EXPECT_EQ(m.Flush(), "<|e");
  EXPECT_FALSE(m.stopped());
  ExpectAllSplits({"<|end|>"}, "foo<|en", "foo<|en", "");
}

TEST(StopMatcherTest, EmptyStopStringIgnored) {
  ExpectAllSplits({"", "zz"}, "abc", "abc", "");
}

TEST(StopMatcherTest, MultiByteStop) {
  // A CJK stop string ("。" U+3002) arriving byte by byte.
  ExpectAllSplits({"\xE3\x80\x82"}, "\xE4\xBD\xA0\xE5\xA5\xBD\xE3\x80\x82\xE5\x86\x8D",
                  "\xE4\xBD\xA0\xE5\xA5\xBD", "\xE3\x80\x82");
}

}  // namespace
}  // namespace ds
