#include "generation/utf8_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ds {
namespace {

const std::string kFffd(kReplacementChar);

// Feeds `bytes` split at the given cut points and returns everything emitted (Flush included),
// checking that no push ever emits a broken sequence.
std::string DecodeSplit(const std::string& bytes, const std::vector<size_t>& cuts) {
  Utf8StreamDecoder dec;
  std::string out;
  size_t prev = 0;
  auto emit = [&out](const std::string& piece) {
    EXPECT_EQ(SanitizeUtf8(piece), piece) << "a push emitted invalid UTF-8";
    out += piece;
  };
  for (size_t cut : cuts) {
    emit(dec.Push(std::string_view(bytes).substr(prev, cut - prev)));
    prev = cut;
  }
  emit(dec.Push(std::string_view(bytes).substr(prev)));
  emit(dec.Flush());
  EXPECT_FALSE(dec.HasPending());
  return out;
}

std::string DecodeBytewise(const std::string& bytes) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
  return DecodeSplit(bytes, cuts);
}

TEST(Utf8StreamTest, MultiByteCharactersSplitAtEveryBoundary) {
  // 2-byte (é, ß), 3-byte (中, €, 日本), 4-byte (emoji, U+10348), mixed with ASCII.
  const std::vector<std::string> texts = {
      "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "a\xC3\xA9" "b\xE2\x82\xAC" "c",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x91\x8D\xF0\x90\x8D\x88 \xC3\x9F!"};
  for (const std::string& text : texts) {
    EXPECT_EQ(DecodeSplit(text, {}), text);
    EXPECT_EQ(DecodeBytewise(text), text);
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      EXPECT_EQ(DecodeSplit(text, {cut}), text) << "cut at " << cut;
      for (size_t cut2 = cut; cut2 <= text.size(); ++cut2) {
        EXPECT_EQ(DecodeSplit(text, {cut, cut2}), text) << "cuts " << cut << "," << cut2;
      }
    }
  }
}

TEST(Utf8StreamTest, HoldsIncompleteTailUntilComplete) {
  Utf8StreamDecoder dec;
  EXPECT_EQ(dec.Push("x\xF0\x9F"), "x");
  EXPECT_TRUE(dec.HasPending());
  EXPECT_EQ(dec.Push("\x98"), "");
  EXPECT_EQ(dec.Push("\x80y"), "\xF0\x9F\x98\x80y");
  EXPECT_FALSE(dec.HasPending());
}

TEST(Utf8StreamTest, FlushTurnsDanglingTailIntoOneReplacement) {
  Utf8StreamDecoder dec;
  EXPECT_EQ(dec.Push("ok\xE4\xB8"), "ok");
  EXPECT_EQ(dec.Flush(), kFffd);
  EXPECT_EQ(dec.Flush(), "");
}

// Expected outputs were produced by CPython: bytes.decode('utf-8', 'replace').
TEST(Utf8StreamTest, InvalidBytesMatchPythonReplace) {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::string r = kFffd;
  const std::vector<Case> cases = {
      {"\x80", r},
      {"\xC0\xAF", r + r},
      {"\xE0\x80\xAF", r + r + r},
      {"\xED\xA0\x80", r + r + r},
      {"\xF4\x90\x80\x80", r + r + r + r},
      {"a\xE2\x82", "a" + r},
      {std::string("a\xF0\x9F\x98") + "b", "a" + r + "b"},
      {"\xFF\xFE", r + r},
      {"\xE2\x82\xAC\xE2\x82", "\xE2\x82\xAC" + r},
      {std::string("a\xF1\x80\x80\xE1\x80\xC2") + "b\x80" "c\x80\xBF" "d",
       "a" + r + r + r + "b" + r + "c" + r + r + "d"},
      {"\xF0\x9F\x98\x80\xF0\x9F", "\xF0\x9F\x98\x80" + r},
      {std::string("\xC2") + "A", r + "A"},
      {"\xF5\x80\x80\x80", r + r + r + r},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SanitizeUtf8(c.in), c.want);
    EXPECT_EQ(DecodeSplit(c.in, {}), c.want);
    EXPECT_EQ(DecodeBytewise(c.in), c.want);
    for (size_t cut = 0; cut <= c.in.size(); ++cut) {
      EXPECT_EQ(DecodeSplit(c.in, {cut}), c.want) << "cut at " << cut;
    }
  }
}

TEST(Utf8StreamTest, AsciiPassesThroughImmediately) {
  Utf8StreamDecoder dec;
  EXPECT_EQ(dec.Push("hello"), "hello");
  EXPECT_EQ(dec.Push(""), "");
  EXPECT_FALSE(dec.HasPending());
}

}  // namespace
}  // namespace ds
