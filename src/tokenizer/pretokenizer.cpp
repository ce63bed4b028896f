#include "tokenizer/pretokenizer.h"

#include <algorithm>
#include <utility>

#include "tokenizer/utf8.h"

namespace ds {
namespace {

// GPT-2's pattern, used by a ByteLevel step with use_regex = true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Llama-3 / DeepSeek / Qwen2 patterns as they appear in their tokenizer.json files.
constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kDeepSeekV3Patterns[] = {
    R"(\p{N}{1,3})",
    "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};

// DeepSeek-LLM / DeepSeek-V2 ("deepseek-llm" in GGUF): the Split regexes of their tokenizer.json
// pre_tokenizer, each "Isolated", in order: newline, cased-letter run with an optional leading space,
// ASCII/full-width/CJK punctuation run, trailing whitespace, CJK/Hangul run. Source of the strings:
// llama.cpp src/llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM. Non-ASCII members are written as
// \x{..} escapes: llama.cpp's copy carries some NFC-normalised endpoints (U+1F7D -> U+03CE,
// U+1FD3 -> U+0390, U+1FDB -> U+038A, U+1FBE -> U+03B9, U+2126 -> U+03A9, U+212A -> U+004B) that
// would make ranges descend; the values below restore them, and every member is then a Unicode
// cased letter (Lu/Ll/Lt), i.e. the class is the LC ranges it was generated from.
constexpr std::string_view kDeepSeekLlmPatterns[] = {
    "[\r\n]",
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
    "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"
    "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}"
    "\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}"
    "\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}"
    "\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}"
    "\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
    "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}"
    "\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}"
    "\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}"
    "\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}"
    "\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}"
    "\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
    "\\x{1E900}-\\x{1E943}]+",
    // !-/ :-~ (ASCII punctuation, letters excluded by the step above), full-width ！-／ ：-～,
    // quotes U+2018-U+201F, ideographic space/comma/full stop U+3000-U+3002.
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
    "\\s+$",
    // 一-龥 (U+4E00-U+9FA5), U+0800-U+4E00, 가-퟿ (U+AC00-U+D7FF).
    "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
    // llama.cpp writes the last step as \p{N}+; the tokenizer.json has {"type": "Digits",
    // "individual_digits": true} (DeepSeek LLM splits numbers into single digits), i.e. \p{N}.
    "\\p{N}",
};

PreTokenizerStep SplitStep(std::string_view pattern) {
  PreTokenizerStep s;
  s.kind = PreTokenizerStep::Kind::kSplit;
  s.pattern = std::string(pattern);
  return s;
}

PreTokenizerStep ByteLevelStep() {
  PreTokenizerStep s;
  s.kind = PreTokenizerStep::Kind::kByteLevel;
  return s;
}

struct Segment {
  size_t begin, end;
  bool is_match;
};

// Applies an HF SplitDelimiterBehavior to the alternating match / gap segments.
std::vector<std::pair<size_t, size_t>> ApplyBehavior(const std::vector<Segment>& segs,
                                                     SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Segment& s : segs) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Segment& s : segs)
        if (!s.is_match) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Segment& s : segs) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (size_t k = segs.size(); k-- > 0;) {
        const Segment& s = segs[k];
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().first = s.begin;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    case SplitBehavior::kContiguous:
      for (const Segment& s : segs) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
  }
  return out;
}

}  // namespace

StatusOr<std::vector<PreTokenizerStep>> PresetPreTokenizer(const std::string& name) {
  std::vector<PreTokenizerStep> steps;
  if (name == "deepseek-v3") {
    for (std::string_view p : kDeepSeekV3Patterns) steps.push_back(SplitStep(p));
  } else if (name == "deepseek-llm") {
    for (std::string_view p : kDeepSeekLlmPatterns) steps.push_back(SplitStep(p));
  } else if (name == "llama-bpe" || name == "llama3") {
    steps.push_back(SplitStep(kLlama3Pattern));
  } else if (name == "qwen2") {
    steps.push_back(SplitStep(kQwen2Pattern));
  } else {
    return absl::NotFoundError(StrCat("no built-in pre-tokenizer named '", name, "'"));
  }
  steps.push_back(ByteLevelStep());
  return steps;
}

StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::Create(
    const std::vector<PreTokenizerStep>& steps) {
  auto pt = std::unique_ptr<PreTokenizer>(new PreTokenizer());
  for (size_t i = 0; i < steps.size(); ++i) {
    Step step{steps[i], nullptr};
    std::string_view pattern;
    bool literal = false;
    if (step.spec.kind == PreTokenizerStep::Kind::kSplit) {
      pattern = step.spec.pattern;
      literal = step.spec.literal;
    } else if (step.spec.use_regex) {
      pattern = kGpt2Pattern;
    }
    if (!pattern.empty()) {
      auto re = Regex::Compile(pattern, literal);
      if (!re.ok()) {
        return Status(re.status().code(),
                      StrCat("pre_tokenizer step ", i, ": ", std::string(re.status().message())));
      }
      step.regex = std::move(*re);
    }
    pt->steps_.push_back(std::move(step));
  }
  return pt;
}

Status PreTokenizer::ApplySplit(const Step& step, std::string_view piece,
                                std::vector<std::string_view>* out, RegexScratch* scratch) const {
  std::vector<Segment> segs;
  size_t pos = 0, search = 0;
  while (search <= piece.size()) {
    size_t b = 0, e = 0;
    DS_ASSIGN_OR_RETURN(bool found, step.regex->Find(piece, search, &b, &e, scratch));
    if (!found) break;
    if (e == b) {  // an empty match splits nothing; step over one character
      if (b >= piece.size()) break;
      search = b + std::max<size_t>(1, utf8::ValidSequenceLength(piece, b));
      continue;
    }
    if (b > pos) segs.push_back({pos, b, false});
    segs.push_back({b, e, true});
    pos = search = e;
  }
  if (pos < piece.size()) segs.push_back({pos, piece.size(), false});
  const bool invert = step.spec.kind == PreTokenizerStep::Kind::kSplit && step.spec.invert;
  if (invert)
    for (Segment& s : segs) s.is_match = !s.is_match;
  const SplitBehavior behavior = step.spec.kind == PreTokenizerStep::Kind::kSplit
                                     ? step.spec.behavior
                                     : SplitBehavior::kIsolated;
  if (behavior == SplitBehavior::kIsolated) {  // the common case, without the temporary vector
    for (const Segment& s : segs) out->push_back(piece.substr(s.begin, s.end - s.begin));
    return absl::OkStatus();
  }
  for (const auto& [b, e] : ApplyBehavior(segs, behavior)) out->push_back(piece.substr(b, e - b));
  return absl::OkStatus();
}

Status PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* pieces,
                           std::deque<std::string>* arena, RegexScratch* scratch) const {
  std::vector<std::string_view> cur{text}, next;
  if (text.empty()) return absl::OkStatus();
  for (const Step& step : steps_) {
    if (step.spec.kind == PreTokenizerStep::Kind::kByteLevel && step.spec.add_prefix_space) {
      for (std::string_view& p : cur) {
        if (!p.empty() && p.front() == ' ') continue;
        arena->push_back(StrCat(" ", p));
        p = arena->back();
      }
    }
    if (!step.regex) continue;
    next.clear();
    for (std::string_view p : cur) DS_RETURN_IF_ERROR(ApplySplit(step, p, &next, scratch));
    cur.swap(next);
  }
  pieces->insert(pieces->end(), cur.begin(), cur.end());
  return absl::OkStatus();
}

}  // namespace ds
