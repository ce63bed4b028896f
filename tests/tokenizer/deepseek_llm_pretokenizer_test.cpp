// The "deepseek-llm" pre-tokenizer preset (DeepSeek-LLM / DeepSeek-V2 GGUF files). No independent
// DeepSeek-V2 tokenizer oracle exists in ../shared, so every expected split below is HAND-DERIVED
// from the regex definitions cited in src/tokenizer/pretokenizer.cpp (llama.cpp's
// LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM list; tokenizer.json's Digits(individual_digits) last step),
// applied in order, each step "Isolated" (matches and the gaps between them become pieces):
//   S1 [\r\n]   S2 \s?[cased letters]+   S3 \s?[ASCII/full-width punctuation]+   S4 \s+$
//   S5 [CJK/Hangul]+   S6 \p{N}   then ByteLevel without a regex (no further split).
// The comment on each case gives the derivation.
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"

namespace ds {
namespace {

std::vector<std::string> Pieces(const std::string& text) {
  auto steps = PresetPreTokenizer("deepseek-llm");
  EXPECT_TRUE(steps.ok()) << steps.status();
  auto pt = PreTokenizer::Create(*steps);
  EXPECT_TRUE(pt.ok()) << pt.status();
  std::vector<std::string_view> views;
  std::deque<std::string> arena;
  RegexScratch scratch;
  Status st = (*pt)->Split(text, &views, &arena, &scratch);
  EXPECT_TRUE(st.ok()) << st;
  return std::vector<std::string>(views.begin(), views.end());
}

using V = std::vector<std::string>;

TEST(DeepSeekLlmPreTokenizer, PresetShape) {
  auto steps = PresetPreTokenizer("deepseek-llm");
  ASSERT_TRUE(steps.ok()) << steps.status();
  ASSERT_EQ(steps->size(), 7u);  // six Splits + ByteLevel
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ((*steps)[i].kind, PreTokenizerStep::Kind::kSplit);
    EXPECT_EQ((*steps)[i].behavior, SplitBehavior::kIsolated);
    EXPECT_FALSE((*steps)[i].invert);
  }
  EXPECT_EQ(steps->back().kind, PreTokenizerStep::Kind::kByteLevel);
  EXPECT_FALSE(steps->back().use_regex);
  EXPECT_FALSE(steps->back().add_prefix_space);
}

TEST(DeepSeekLlmPreTokenizer, LettersTakeOneLeadingSpace) {
  // S2: "Hello" | "," | " world" | "!"; S3 re-matches each of them whole; S4-S6 find nothing.
  EXPECT_EQ(Pieces("Hello, world!"), (V{"Hello", ",", " world", "!"}));
  // S2: only the space right before a letter joins it: " " | " multiple" | "  " | " spaces";
  // S4 matches the all-space pieces whole.
  EXPECT_EQ(Pieces("  multiple   spaces"), (V{" ", " multiple", "  ", " spaces"}));
  // S2: "don" | "'" | "t" (no contraction rule, unlike GPT-2); S3 isolates "'".
  EXPECT_EQ(Pieces("don't"), (V{"don", "'", "t"}));
  // \s? is any white space, so a tab joins the next word.
  EXPECT_EQ(Pieces("x\tyz"), (V{"x", "\tyz"}));
}

TEST(DeepSeekLlmPreTokenizer, NewlinesAreSingleCharacters) {
  // S1: "x" | "\r" | "\n" | "y"; S4 matches "\r" / "\n" whole.
  EXPECT_EQ(Pieces("x\r\ny"), (V{"x", "\r", "\n", "y"}));
  // S1: "a\tb" | "\n" | "\n" | "c"; S2 splits "a\tb" into "a" | "\tb".
  EXPECT_EQ(Pieces("a\tb\n\nc"), (V{"a", "\tb", "\n", "\n", "c"}));
}

TEST(DeepSeekLlmPreTokenizer, PunctuationRuns) {
  // S2: "a" | "," | " b" | "!? (" | "c" | ")"; S3 on "!? (": "!?" then " (" (\s? + "(").
  EXPECT_EQ(Pieces("a, b!? (c)"), (V{"a", ",", " b", "!?", " (", "c", ")"}));
  // S2: "x" | "=1.5"; S3: "=" | "1" | "." | "5"; S6 keeps the single digits.
  EXPECT_EQ(Pieces("x=1.5"), (V{"x", "=", "1", ".", "5"}));
}

TEST(DeepSeekLlmPreTokenizer, DigitsAreSplitOneByOne) {
  // S2: "abc" | "123 4567"; S3-S5 find nothing; S6 (\p{N}) isolates every digit and the gap " ".
  EXPECT_EQ(Pieces("abc123 4567"), (V{"abc", "1", "2", "3", " ", "4", "5", "6", "7"}));
  // U+0663 ARABIC-INDIC DIGIT THREE is \p{N} too.
  EXPECT_EQ(Pieces("7\u0663"), (V{"7", "\u0663"}));
}

TEST(DeepSeekLlmPreTokenizer, CjkAndFullWidthPunctuation) {
  // S2: "你好，世界。" | "abc"; S3: "，" (U+FF0C in U+FF01-FF0F) and "。" (U+3002 in U+3000-3002)
  // isolated; S5 matches "你好" and "世界" whole.
  EXPECT_EQ(Pieces("你好，世界。abc"), (V{"你好", "，", "世界", "。", "abc"}));
  // S2: "hi" | " 你好" | " there"; S5 on " 你好": " " | "你好" (the space is not in S5's class).
  EXPECT_EQ(Pieces("hi 你好 there"), (V{"hi", " ", "你好", " there"}));
  // Hangul (U+AC00-D7FF) is S5, not a "letter" of S2: "안녕 1" -> S5 "안녕" | " 1" -> S6 " " | "1".
  EXPECT_EQ(Pieces("안녕 1"), (V{"안녕", " ", "1"}));
}

TEST(DeepSeekLlmPreTokenizer, TrailingWhiteSpace) {
  // S2: "ok" | " 😀  "; S3: no punctuation; S4 (\s+$): " 😀" | "  " - U+1F600 is in no class, so
  // only S4 separates the trailing spaces from it.
  EXPECT_EQ(Pieces("ok 😀  "), (V{"ok", " 😀", "  "}));
  // S2: "trailing" | " space" | "  "; S4 matches "  " whole.
  EXPECT_EQ(Pieces("trailing space  "), (V{"trailing", " space", "  "}));
}

TEST(DeepSeekLlmPreTokenizer, LetterClassIsCasedLettersOnly) {
  // Latin-1: é (U+E9) is in U+D8-F6, so S2 gives "café" | " a" | "×" | "b" (× U+D7 sits between
  // U+C0-D6 and U+D8-F6). S3's :-~ range contains a-z, so S3 then cuts "café" into "caf" | "é".
  EXPECT_EQ(Pieces("café a×b"), (V{"caf", "é", " a", "×", "b"}));
  // ʔ (U+0294, a Lo letter) is the gap between U+1C4-293 and U+295-2AF.
  EXPECT_EQ(Pieces("aʔb"), (V{"a", "ʔ", "b"}));
  // Cyrillic: S2 "Привет" | " мир"; nothing later applies (below U+0800, no ASCII).
  EXPECT_EQ(Pieces("Привет мир"), (V{"Привет", " мир"}));
  // Greek U+1F7D and U+1FDB (endpoints restored from llama.cpp's normalized copy) are S2 letters:
  // S2 "ώΊ" | "一"; S5 then matches each piece whole. Were they not letters, S5 (U+0800-4E00 and
  // U+4E00-9FA5) would keep "ώΊ一" as one piece.
  EXPECT_EQ(Pieces("\u1F7D\u1FDB\u4E00"), (V{"\u1F7D\u1FDB", "\u4E00"}));
  // Likewise KELVIN SIGN U+212A (in U+212A-212D) against U+2118 (Sm, not a letter): S2 "K" | "℘".
  EXPECT_EQ(Pieces("\u212A\u2118"), (V{"\u212A", "\u2118"}));
}

TEST(DeepSeekLlmPreTokenizer, EmptyTextHasNoPieces) { EXPECT_TRUE(Pieces("").empty()); }

}  // namespace
}  // namespace ds
