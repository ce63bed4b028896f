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
