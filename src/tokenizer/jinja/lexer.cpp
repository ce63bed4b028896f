#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "tokenizer/jinja/text_util.h"

namespace ds::jinja {

SourceMap::SourceMap(std::string_view src) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < src.size(); ++i)
    if (src[i] == '\n') line_starts_.push_back(i + 1);
}

std::string SourceMap::Where(size_t pos) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
  size_t line = static_cast<size_t>(it - line_starts_.begin());
  return ds::StrCat("line ", line, ", column ", pos - line_starts_[line - 1] + 1);
}

std::string NormalizeSource(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string DescribeToken(const Token& t) {
  switch (t.type) {
    case Tok::kEof: return "end of template";
    case Tok::kVarBegin: return "begin of print statement";
    case Tok::kVarEnd: return "end of print statement";
    case Tok::kBlockBegin: return "begin of statement block";
    case Tok::kBlockEnd: return "end of statement block";
    case Tok::kData: return "template data";
    case Tok::kInt: return ds::StrCat("'", t.int_value, "'");
    case Tok::kString: return "string literal";
    default: return ds::StrCat("'", t.text, "'");
  }
}

namespace {

constexpr std::string_view kOperators[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*",
                                           "%",  "~",  "[",  "]",  "(",  ")",  "{", "}", "==", ">",
                                           "<",  "=",  ".",  ":",  "|",  ",",  ";"};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  Lexer(std::string_view src, const SourceMap& map) : s_(src), map_(map) {}

  StatusOr<std::vector<Token>> Run() {
    while (pos_ < s_.size()) DS_RETURN_IF_ERROR(RootStep());
    Emit(Tok::kEof, "", s_.size());
    return std::move(out_);
  }

 private:
  Status Error(size_t pos, std::string_view msg) const {
    return InvalidFormat(ds::StrCat("chat template ", map_.Where(pos), ": ", msg));
  }

  void Emit(Tok type, std::string text, size_t pos) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.pos = pos;
    out_.push_back(std::move(t));
  }

  bool At(size_t p, std::string_view lit) const { return s_.substr(p, lit.size()) == lit; }

  // Skips Python `\s*` from p.
  size_t SkipWs(size_t p) const {
    while (p < s_.size()) {
      size_t q = p;
      if (!IsPyWhitespace(NextCodePoint(s_, q))) break;
      p = q;
    }
    return p;
  }

  // Data before a tag, with `-` stripping or lstrip_blocks applied as Jinja's OptionalLStrip does.
  void EmitData(size_t begin, size_t end, char sign, bool is_variable) {
    std::string_view text = s_.substr(begin, end - begin);
    if (sign == '-') {
      text = text.substr(0, PyStrip(text, nullptr, false, true).size());
    } else if (sign != '+' && !is_variable) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) &&
          text.find_first_not_of(" \t", l_pos) == std::string_view::npos)
        text = text.substr(0, l_pos);
    }
    if (!text.empty()) Emit(Tok::kData, std::string(text), begin);
  }

  Status RootStep() {
    size_t k = pos_;
    while (true) {
      k = s_.find('{', k);
      if (k == std::string_view::npos || k + 1 >= s_.size()) {
        Emit(Tok::kData, std::string(s_.substr(pos_)), pos_);
        pos_ = s_.size();
        return absl::OkStatus();
      }
      char c = s_[k + 1];
      if (c == '{' || c == '%' || c == '#') break;
      ++k;
    }
    char kind = s_[k + 1];
    size_t after = k + 2;
    char sign = 0;
    if (after < s_.size() && (s_[after] == '-' || s_[after] == '+')) sign = s_[after++];
    if (kind == '%') {
      size_t p = SkipWs(after);
      if (At(p, "raw")) {
        size_t q = SkipWs(p + 3);
        if (At(q, "-%}") || At(q, "%}")) {
          EmitData(pos_, k, sign, false);
          return Raw(At(q, "-%}") ? SkipWs(q + 3) : q + 2);
        }
      }
    }
    EmitData(pos_, k, sign, kind == '{');
    line_starting_ = false;
    if (kind == '#') return Comment(after);
    Emit(kind == '{' ? Tok::kVarBegin : Tok::kBlockBegin, "", k);
    pos_ = after;
    return Tag(kind == '%', k);
  }

  // Consumes a block end (`%}`, `-%}`, `+%}`) at p; returns the position after it, or npos.
  size_t BlockEnd(size_t p, std::string_view close) const {
    if (At(p, "-") && At(p + 1, close)) return SkipWs(p + 1 + close.size());
    if (At(p, "+") && At(p + 1, close)) return p + 1 + close.size();
    if (At(p, close)) {
      p += close.size();
      if (p < s_.size() && s_[p] == '\n') ++p;  // trim_blocks
      return p;
    }
    return std::string_view::npos;
  }

  void SetPos(size_t p) {
    line_starting_ = p > 0 && s_[p - 1] == '\n';
    pos_ = p;
  }

  Status Comment(size_t after) {
    for (size_t p = after; p < s_.size(); ++p) {
      size_t end = BlockEnd(p, "#}");
      if (end != std::string_view::npos) {
        SetPos(end);
        return absl::OkStatus();
      }
    }
    return Error(after, "missing end of comment tag");
  }

  Status Raw(size_t body) {
    for (size_t p = body; p < s_.size(); ++p) {
      if (!At(p, "{%")) continue;
      size_t q = p + 2;
      char sign = 0;
      if (q < s_.size() && (s_[q] == '-' || s_[q] == '+')) sign = s_[q++];
      q = SkipWs(q);
      if (!At(q, "endraw")) continue;
      size_t end = BlockEnd(SkipWs(q + 6), "%}");
      if (end == std::string_view::npos) continue;
      line_starting_ = body > 0 && s_[body - 1] == '\n';
      EmitData(body, p, sign, false);
      SetPos(end);
      return absl::OkStatus();
    }
    return Error(body, "missing end of raw directive");
  }

  Status Tag(bool block, size_t open_pos) {
    std::vector<std::pair<char, size_t>> stack;  // open brackets, for balancing
    while (true) {
      if (pos_ >= s_.size())
        return Error(open_pos, block ? "unclosed statement tag: expected '%}' before end of template"
                                     : "unclosed print tag: expected '}}' before end of template");
      if (stack.empty()) {
        size_t end = BlockEnd(pos_, block ? "%}" : "}}");
        if (end != std::string_view::npos) {
          if (!block && s_[pos_] != '-' && s_[pos_] != '+') end = pos_ + 2;  // no trim after }}
          if (!block && s_[pos_] == '+') return Error(pos_, "unexpected char '+'");
          Emit(block ? Tok::kBlockEnd : Tok::kVarEnd, "", pos_);
          SetPos(end);
          return absl::OkStatus();
        }
      }
      size_t ws = SkipWs(pos_);
      if (ws != pos_) {
        pos_ = ws;
        continue;
      }
      char c = s_[pos_];
      if (IsDigit(c)) {
        DS_RETURN_IF_ERROR(Number());
      } else if (IsNameStart(c)) {
        size_t b = pos_;
        while (pos_ < s_.size() && (IsNameStart(s_[pos_]) || IsDigit(s_[pos_]))) ++pos_;
        Emit(Tok::kName, std::string(s_.substr(b, pos_ - b)), b);
      } else if (c == '\'' || c == '"') {
        DS_RETURN_IF_ERROR(String());
      } else {
        DS_RETURN_IF_ERROR(Operator(stack));
      }
    }
  }

  Status Operator(std::vector<std::pair<char, size_t>>& stack) {
    for (std::string_view op : kOperators) {
      if (!At(pos_, op)) continue;
      char c = op[0];
      if (op.size() == 1 && (c == '(' || c == '[' || c == '{')) {
        stack.emplace_back(c == '(' ? ')' : c == '[' ? ']' : '}', pos_);
      } else if (op.size() == 1 && (c == ')' || c == ']' || c == '}')) {
        if (stack.empty()) return Error(pos_, ds::StrCat("unexpected '", op, "'"));
        if (stack.back().first != c)
          return Error(pos_, ds::StrCat("unexpected '", op, "', expected '", stack.back().first, "'"));
        stack.pop_back();
      }
      Emit(Tok::kOp, std::string(op), pos_);
      pos_ += op.size();
      return absl::OkStatus();
    }
    size_t q = pos_;
    std::string ch;
    AppendUtf8(ch, NextCodePoint(s_, q));
    return Error(pos_, ds::StrCat("unexpected char '", ch, "'"));
  }

  // Digits with optional single underscores between them; returns the digits without underscores.
  std::string Digits() {
    std::string d;
    while (pos_ < s_.size()) {
      if (IsDigit(s_[pos_])) {
        d.push_back(s_[pos_++]);
      } else if (s_[pos_] == '_' && !d.empty() && pos_ + 1 < s_.size() && IsDigit(s_[pos_ + 1])) {
        ++pos_;
      } else {
        break;
      }
    }
    return d;
  }

  Status Number() {
    size_t b = pos_;
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() && std::string_view("bBoOxX").find(s_[pos_ + 1]) != std::string_view::npos) {
      int base = (s_[pos_ + 1] | 0x20) == 'b' ? 2 : (s_[pos_ + 1] | 0x20) == 'o' ? 8 : 16;
      pos_ += 2;
      std::string d;
      while (pos_ < s_.size() && (std::isxdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
        if (s_[pos_++] != '_') d.push_back(s_[pos_ - 1]);
      Token t{Tok::kInt, std::string(s_.substr(b, pos_ - b))};
      t.int_value = std::strtoll(d.c_str(), nullptr, base);
      t.pos = b;
      out_.push_back(std::move(t));
      return absl::OkStatus();
    }
    std::string text = Digits();
    bool is_float = false;
    bool after_dot = b > 0 && s_[b - 1] == '.';  // `x.0.1` is attribute access, not a float
    if (!after_dot && pos_ + 1 < s_.size() && s_[pos_] == '.' && IsDigit(s_[pos_ + 1])) {
      ++pos_;
      text.push_back('.');
      text += Digits();
      is_float = true;
    }
    if (!after_dot && pos_ < s_.size() && (s_[pos_] | 0x20) == 'e') {
      size_t p = pos_ + 1;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
      if (p < s_.size() && IsDigit(s_[p])) {
        std::string e(s_.substr(pos_, p - pos_));
        pos_ = p;
        text += e + Digits();
        is_float = true;
      }
    }
    Token t{is_float ? Tok::kFloat : Tok::kInt, text};
    errno = 0;
    if (is_float) t.float_value = std::strtod(text.c_str(), nullptr);
    else t.int_value = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE && !is_float) return Error(b, "integer literal too large");
    t.pos = b;
    out_.push_back(std::move(t));
    return absl::OkStatus();
  }

  static int HexVal(char c) {
    if (IsDigit(c)) return c - '0';
    c |= 0x20;
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
  }

  // Python "unicode-escape" decoding of a string literal's body.
  Status String() {
    size_t b = pos_;
    char quote = s_[pos_++];
    std::string v;
    while (true) {
      if (pos_ >= s_.size()) return Error(b, "unterminated string literal");
      char c = s_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        v.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return Error(b, "unterminated string literal");
      char e = s_[pos_++];
      switch (e) {
        case '\n': break;
        case '\\': case '\'': case '"': v.push_back(e); break;
        case 'n': v.push_back('\n'); break;
        case 't': v.push_back('\t'); break;
        case 'r': v.push_back('\r'); break;
        case 'a': v.push_back('\a'); break;
        case 'b': v.push_back('\b'); break;
        case 'f': v.push_back('\f'); break;
        case 'v': v.push_back('\v'); break;
        case 'x': case 'u': case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int i = 0; i < n; ++i) {
            int h = pos_ < s_.size() ? HexVal(s_[pos_]) : -1;
            if (h < 0) return Error(pos_ - 2 - i, ds::StrCat("truncated \\", std::string(1, e), " escape"));
            cp = cp * 16 + h;
            ++pos_;
          }
          if (cp > 0x10FFFF) return Error(b, "illegal Unicode character in string literal");
          AppendUtf8(v, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = e - '0';
            for (int i = 0; i < 2 && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; ++i)
              cp = cp * 8 + (s_[pos_++] - '0');
            AppendUtf8(v, cp);
          } else {
            v.push_back('\\');  // unknown escapes stay as written
            v.push_back(e);
          }
      }
    }
    Token t{Tok::kString, std::move(v)};
    t.pos = b;
    out_.push_back(std::move(t));
    return absl::OkStatus();
  }

  std::string_view s_;
  const SourceMap& map_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> out_;
};

}  // namespace

StatusOr<std::vector<Token>> Tokenize(std::string_view src, const SourceMap& map) {
  return Lexer(src, map).Run();
}

}  // namespace ds::jinja
