// Recursive-descent parser following Jinja2's grammar and operator precedence
// (jinja2/parser.py): condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary.
#include <algorithm>
#include <initializer_list>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/builtins.h"

namespace ds::jinja {
namespace {

using K = Expr::Kind;
constexpr int kMaxDepth = 200;

ExprPtr MakeExpr(K kind, size_t pos) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

Stmt MakeStmt(Stmt::Kind kind, size_t pos) {
  Stmt s;
  s.kind = kind;
  s.pos = pos;
  return s;
}

class Parser {
 public:
  Parser(std::vector<Token> toks, const SourceMap& map) : t_(std::move(toks)), map_(map) {}

  StatusOr<Body> ParseTemplate() {
    Body body;
    DS_RETURN_IF_ERROR(ParseBody(body, {}, ""));
    return body;
  }

 private:
  const Token& cur() const { return t_[i_]; }
  const Token& peek() const { return t_[std::min(i_ + 1, t_.size() - 1)]; }
  void next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  bool IsOp(std::string_view op) const { return cur().type == Tok::kOp && cur().text == op; }
  bool IsName(std::string_view n) const { return cur().type == Tok::kName && cur().text == n; }

  Status Fail(size_t pos, std::string_view msg) const {
    return InvalidFormat(ds::StrCat("chat template ", map_.Where(pos), ": ", msg));
  }
  Status Unexpected(std::string_view expected) const {
    return Fail(cur().pos, ds::StrCat("expected ", expected, ", got ", DescribeToken(cur())));
  }
  Status ExpectOp(std::string_view op) {
    if (!IsOp(op)) return Unexpected(ds::StrCat("'", op, "'"));
    next();
    return absl::OkStatus();
  }
  Status ExpectName(std::string_view n) {
    if (!IsName(n)) return Unexpected(ds::StrCat("'", n, "'"));
    next();
    return absl::OkStatus();
  }
  StatusOr<std::string> TakeName() {
    if (cur().type != Tok::kName) return Unexpected("a name");
    std::string n = cur().text;
    next();
    return n;
  }
  Status ExpectBlockEnd() {
    if (cur().type != Tok::kBlockEnd) return Unexpected("end of statement block");
    next();
    return absl::OkStatus();
  }

  std::string LookingFor() const {
    if (end_stack_.empty() || end_stack_.back().first.empty()) return "";
    std::string names;
    const auto& [ends, block] = end_stack_.back();
    for (size_t k = 0; k < ends.size(); ++k) names += ds::StrCat(k ? " or " : "", "'", ends[k], "'");
    return ds::StrCat(" Jinja was looking for the following tags: ", names,
                      ". The innermost block that needs to be closed is '", block, "'.");
  }

  // Parses template content until one of `ends` opens a block tag; on return the current token is
  // that end tag's name.
  Status ParseBody(Body& out, std::vector<std::string> ends, std::string block) {
    end_stack_.emplace_back(ends, block);
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::kEof) {
        if (ends.empty()) break;
        return Fail(t.pos, ds::StrCat("unexpected end of template.", LookingFor()));
      }
      if (t.type == Tok::kData) {
        Stmt s = MakeStmt(Stmt::Kind::kText, t.pos);
        s.text = t.text;
        out.push_back(std::move(s));
        next();
      } else if (t.type == Tok::kVarBegin) {
        next();
        Stmt s = MakeStmt(Stmt::Kind::kPrint, t.pos);
        DS_ASSIGN_OR_RETURN(s.expr, ParseTuple(false, true, {}, false));
        if (cur().type != Tok::kVarEnd) return Unexpected("end of print statement");
        next();
        out.push_back(std::move(s));
      } else if (t.type == Tok::kBlockBegin) {
        next();
        if (cur().type == Tok::kName &&
            std::find(ends.begin(), ends.end(), cur().text) != ends.end())
          break;
        DS_RETURN_IF_ERROR(ParseStatement(out));
      } else {
        return Fail(t.pos, ds::StrCat("unexpected ", DescribeToken(t)));
      }
    }
    end_stack_.pop_back();
    return absl::OkStatus();
  }

  Status ParseStatement(Body& out) {
    if (cur().type != Tok::kName) return Fail(cur().pos, "tag name expected");
    const std::string tag = cur().text;
    Stmt s = MakeStmt(Stmt::Kind::kText, cur().pos);
    next();
    if (tag == "for") {
      DS_RETURN_IF_ERROR(ParseFor(s));
    } else if (tag == "if") {
      DS_RETURN_IF_ERROR(ParseIf(s));
    } else if (tag == "set") {
      DS_RETURN_IF_ERROR(ParseSet(s));
    } else if (tag == "macro") {
      s.kind = Stmt::Kind::kMacro;
      s.macro = std::make_shared<MacroDef>();
      DS_ASSIGN_OR_RETURN(s.macro->name, TakeName());
      DS_RETURN_IF_ERROR(ParseSignature(*s.macro));
      DS_RETURN_IF_ERROR(ParseBlockBody(s.macro->body, "endmacro", "macro", true));
    } else if (tag == "call") {
      DS_RETURN_IF_ERROR(ParseCallBlock(s));
    } else if (tag == "filter") {
      s.kind = Stmt::Kind::kFilterBlock;
      DS_ASSIGN_OR_RETURN(s.expr, ParseFilter(nullptr, true));
      DS_RETURN_IF_ERROR(ParseBlockBody(s.body, "endfilter", "filter", false));
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) return Fail(s.pos, ds::StrCat("'", tag, "' outside of a loop"));
      s.kind = tag == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
    } else if (tag == "with") {
      DS_RETURN_IF_ERROR(ParseWith(s));
    } else if (tag == "generation") {
      s.kind = Stmt::Kind::kScope;
      DS_RETURN_IF_ERROR(ParseBlockBody(s.body, "endgeneration", "generation", false));
    } else if (tag == "print") {
      s.kind = Stmt::Kind::kPrint;
      DS_ASSIGN_OR_RETURN(s.expr, ParseTuple(false, true, {}, false));
    } else if (tag == "block" || tag == "extends" || tag == "include" || tag == "import" ||
               tag == "from" || tag == "autoescape") {
      return absl::UnimplementedError(ds::StrCat("chat template ", map_.Where(s.pos), ": tag '", tag,
                                                 "' is not supported by this Jinja engine"));
    } else {
      return Fail(s.pos, ds::StrCat("encountered unknown tag '", tag, "'.", LookingFor()));
    }
    out.push_back(std::move(s));
    return ExpectBlockEnd();
  }

  // `%}` body `{% end %}`; leaves the end tag's `%}` for ParseStatement.
  Status ParseBlockBody(Body& body, std::string end, std::string block, bool reset_loops) {
    DS_RETURN_IF_ERROR(ExpectBlockEnd());
    int saved = loop_depth_;
    if (reset_loops) loop_depth_ = 0;
    DS_RETURN_IF_ERROR(ParseBody(body, {end}, block));
    loop_depth_ = saved;
    next();  // the end tag name
    return absl::OkStatus();
  }

  Status ParseFor(Stmt& s) {
    s.kind = Stmt::Kind::kFor;
    DS_ASSIGN_OR_RETURN(s.target, ParseAssignTarget({"in"}, false));
    DS_RETURN_IF_ERROR(ExpectName("in"));
    DS_ASSIGN_OR_RETURN(s.expr, ParseTuple(false, false, {"recursive"}, false));
    if (IsName("if")) {
      next();
      DS_ASSIGN_OR_RETURN(s.cond, ParseExpression(true));
    }
    if (IsName("recursive"))
      return absl::UnimplementedError(ds::StrCat("chat template ", map_.Where(cur().pos),
                                                 ": recursive for loops are not supported"));
    DS_RETURN_IF_ERROR(ExpectBlockEnd());
    ++loop_depth_;
    Status st = ParseBody(s.body, {"endfor", "else"}, "for");
    --loop_depth_;
    DS_RETURN_IF_ERROR(st);
    if (IsName("else")) {
      next();
      DS_RETURN_IF_ERROR(ExpectBlockEnd());
      DS_RETURN_IF_ERROR(ParseBody(s.else_body, {"endfor"}, "for"));
    }
    next();
    return absl::OkStatus();
  }

  Status ParseIf(Stmt& s) {
    s.kind = Stmt::Kind::kIf;
    Stmt* node = &s;
    DS_ASSIGN_OR_RETURN(node->expr, ParseTuple(false, false, {}, false));
    DS_RETURN_IF_ERROR(ExpectBlockEnd());
    DS_RETURN_IF_ERROR(ParseBody(node->body, {"elif", "else", "endif"}, "if"));
    while (true) {
      if (IsName("elif")) {
        Stmt elif = MakeStmt(Stmt::Kind::kIf, cur().pos);
        next();
        DS_ASSIGN_OR_RETURN(elif.expr, ParseTuple(false, false, {}, false));
        DS_RETURN_IF_ERROR(ExpectBlockEnd());
        DS_RETURN_IF_ERROR(ParseBody(elif.body, {"elif", "else", "endif"}, "if"));
        node->else_body.push_back(std::move(elif));
        node = &node->else_body.back();
      } else if (IsName("else")) {
        next();
        DS_RETURN_IF_ERROR(ExpectBlockEnd());
        DS_RETURN_IF_ERROR(ParseBody(node->else_body, {"endif"}, "if"));
      } else {
        next();  // endif
        return absl::OkStatus();
      }
    }
  }

  Status ParseSet(Stmt& s) {
    DS_ASSIGN_OR_RETURN(s.target, ParseAssignTarget({}, true));
    if (IsOp("=")) {
      next();
      s.kind = Stmt::Kind::kSet;
      DS_ASSIGN_OR_RETURN(s.expr, ParseTuple(false, true, {}, false));
      return absl::OkStatus();
    }
    s.kind = Stmt::Kind::kSetBlock;
    if (s.target->kind == K::kTuple) return Fail(s.pos, "block set needs a single target");
    if (IsOp("|")) {
      DS_ASSIGN_OR_RETURN(s.expr, ParseFilter(nullptr, false));
    }
    return ParseBlockBody(s.body, "endset", "set", false);
  }

  Status ParseWith(Stmt& s) {
    s.kind = Stmt::Kind::kWith;
    while (cur().type != Tok::kBlockEnd) {
      if (!s.assigns.empty()) DS_RETURN_IF_ERROR(ExpectOp(","));
      DS_ASSIGN_OR_RETURN(ExprPtr target, ParseAssignTarget({}, false));
      DS_RETURN_IF_ERROR(ExpectOp("="));
      DS_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      s.assigns.emplace_back(std::move(target), std::move(value));
    }
    return ParseBlockBody(s.body, "endwith", "with", false);
  }

  Status ParseCallBlock(Stmt& s) {
    s.kind = Stmt::Kind::kCallBlock;
    s.macro = std::make_shared<MacroDef>();
    s.macro->name = "caller";
    if (IsOp("(")) DS_RETURN_IF_ERROR(ParseSignature(*s.macro));
    DS_ASSIGN_OR_RETURN(s.expr, ParseExpression(true));
    if (s.expr->kind != K::kCall) return Fail(s.expr->pos, "expected a call after 'call'");
    return ParseBlockBody(s.macro->body, "endcall", "call", true);
  }

  Status ParseSignature(MacroDef& m) {
    DS_RETURN_IF_ERROR(ExpectOp("("));
    while (!IsOp(")")) {
      if (!m.params.empty()) DS_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(")")) break;
      size_t pos = cur().pos;
      DS_ASSIGN_OR_RETURN(std::string name, TakeName());
      ExprPtr def;
      if (IsOp("=")) {
        next();
        DS_ASSIGN_OR_RETURN(def, ParseExpression(true));
      } else if (!m.params.empty() && m.params.back().second) {
        return Fail(pos, "non-default argument follows default argument");
      }
      m.params.emplace_back(std::move(name), std::move(def));
    }
    next();
    return absl::OkStatus();
  }

  StatusOr<ExprPtr> ParseAssignTarget(std::vector<std::string> extra_end, bool with_namespace) {
    if (with_namespace && cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == ".") {
      auto ns = MakeExpr(K::kName, cur().pos);
      ns->name = cur().text;
      next();
      next();
      auto attr = MakeExpr(K::kGetAttr, ns->pos);
      DS_ASSIGN_OR_RETURN(attr->name, TakeName());
      attr->args.push_back(std::move(ns));
      return attr;
    }
    size_t pos = cur().pos;
    DS_ASSIGN_OR_RETURN(ExprPtr target, ParseTuple(true, false, extra_end, false));
    if (!CanAssign(*target)) return Fail(pos, "can't assign to this expression");
    return target;
  }

  static bool CanAssign(const Expr& e) {
    if (e.kind == K::kName) return e.name != "true" && e.name != "false" && e.name != "none";
    if (e.kind != K::kTuple) return false;
    for (const auto& a : e.args)
      if (!CanAssign(*a)) return false;
    return true;
  }

  bool IsTupleEnd(const std::vector<std::string>& extra_end) const {
    if (cur().type == Tok::kVarEnd || cur().type == Tok::kBlockEnd || IsOp(")")) return true;
    for (const auto& n : extra_end)
      if (IsName(n)) return true;
    return false;
  }

  StatusOr<ExprPtr> ParseTuple(bool simplified, bool with_condexpr,
                               const std::vector<std::string>& extra_end, bool explicit_parens) {
    size_t pos = cur().pos;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) DS_RETURN_IF_ERROR(ExpectOp(","));
      if (IsTupleEnd(extra_end)) break;
      StatusOr<ExprPtr> item = simplified ? ParsePrimary() : ParseExpression(with_condexpr);
      if (!item.ok()) return item.status();
      items.push_back(std::move(item).value());
      if (IsOp(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) return Unexpected("an expression");
    }
    auto t = MakeExpr(K::kTuple, pos);
    t->args = std::move(items);
    return t;
  }

  StatusOr<ExprPtr> ParseExpression(bool with_condexpr) {
    if (++depth_ > kMaxDepth) return Fail(cur().pos, "expression nested too deeply");
    StatusOr<ExprPtr> r = with_condexpr ? ParseCondExpr() : ParseOr();
    --depth_;
    return r;
  }

  StatusOr<ExprPtr> ParseCondExpr() {
    DS_ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
    while (IsName("if")) {
      auto c = MakeExpr(K::kCond, cur().pos);
      next();
      DS_ASSIGN_OR_RETURN(ExprPtr test, ParseOr());
      ExprPtr other;
      if (IsName("else")) {
        next();
        DS_ASSIGN_OR_RETURN(other, ParseCondExpr());
      }
      c->args.push_back(std::move(test));
      c->args.push_back(std::move(expr));
      c->args.push_back(std::move(other));
      expr = std::move(c);
    }
    return expr;
  }

  StatusOr<ExprPtr> Binary(K kind, std::string op, ExprPtr left, ExprPtr right, size_t pos) {
    auto e = MakeExpr(kind, pos);
    e->name = std::move(op);
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  // `operand (keyword operand)*`, folded to the left: `or` and `and`.
  StatusOr<ExprPtr> ParseKeywordChain(K kind, const char* keyword, StatusOr<ExprPtr> (Parser::*operand)()) {
    DS_ASSIGN_OR_RETURN(ExprPtr left, (this->*operand)());
    while (IsName(keyword)) {
      size_t pos = cur().pos;
      next();
      DS_ASSIGN_OR_RETURN(ExprPtr right, (this->*operand)());
      DS_ASSIGN_OR_RETURN(left, Binary(kind, keyword, std::move(left), std::move(right), pos));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseOr() { return ParseKeywordChain(K::kOr, "or", &Parser::ParseAnd); }
  StatusOr<ExprPtr> ParseAnd() { return ParseKeywordChain(K::kAnd, "and", &Parser::ParseNot); }

  StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      auto e = MakeExpr(K::kNot, cur().pos);
      next();
      if (++depth_ > kMaxDepth) return Fail(cur().pos, "expression nested too deeply");
      DS_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      --depth_;
      e->args.push_back(std::move(operand));
      return e;
    }
    return ParseCompare();
  }

  StatusOr<ExprPtr> ParseCompare() {
    size_t pos = cur().pos;
    DS_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
    auto cmp = MakeExpr(K::kCompare, pos);
    cmp->args.push_back(std::move(first));
    while (true) {
      std::string op;
      if (cur().type == Tok::kOp && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                     cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (IsName("in")) {
        op = "in";
        next();
      } else if (IsName("not") && peek().type == Tok::kName && peek().text == "in") {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      DS_ASSIGN_OR_RETURN(ExprPtr operand, ParseMath1());
      cmp->ops.push_back(op);
      cmp->args.push_back(std::move(operand));
    }
    if (cmp->ops.empty()) return std::move(cmp->args[0]);
    return cmp;
  }

  // `operand (op operand)*` for any op in `ops`, folded to the left: arithmetic levels.
  StatusOr<ExprPtr> ParseOpChain(std::initializer_list<const char*> ops, StatusOr<ExprPtr> (Parser::*operand)()) {
    auto at_op = [&] { return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return IsOp(o); }); };
    DS_ASSIGN_OR_RETURN(ExprPtr left, (this->*operand)());
    while (at_op()) {
      std::string op = cur().text;
      size_t pos = cur().pos;
      next();
      DS_ASSIGN_OR_RETURN(ExprPtr right, (this->*operand)());
      DS_ASSIGN_OR_RETURN(left, Binary(K::kBinary, op, std::move(left), std::move(right), pos));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseMath1() { return ParseOpChain({"+", "-"}, &Parser::ParseConcat); }

  StatusOr<ExprPtr> ParseConcat() {
    size_t pos = cur().pos;
    DS_ASSIGN_OR_RETURN(ExprPtr first, ParseMath2());
    if (!IsOp("~")) return first;
    auto c = MakeExpr(K::kConcat, pos);
    c->args.push_back(std::move(first));
    while (IsOp("~")) {
      next();
      DS_ASSIGN_OR_RETURN(ExprPtr operand, ParseMath2());
      c->args.push_back(std::move(operand));
    }
    return c;
  }

  StatusOr<ExprPtr> ParseMath2() { return ParseOpChain({"*", "/", "//", "%"}, &Parser::ParsePow); }

  StatusOr<ExprPtr> ParsePow() {
    DS_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
    while (IsOp("**")) {
      size_t pos = cur().pos;
      next();
      DS_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
      DS_ASSIGN_OR_RETURN(left, Binary(K::kBinary, "**", std::move(left), std::move(right), pos));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseUnary(bool with_filter) {
    if (++depth_ > kMaxDepth) return Fail(cur().pos, "expression nested too deeply");
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      node = MakeExpr(IsOp("-") ? K::kNeg : K::kPos, cur().pos);
      next();
      DS_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
      node->args.push_back(std::move(operand));
    } else {
      DS_ASSIGN_OR_RETURN(node, ParsePrimary());
    }
    DS_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
    if (with_filter) {
      DS_ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node)));
    }
    --depth_;
    return node;
  }

  StatusOr<ExprPtr> ParsePrimary();
  StatusOr<ExprPtr> ParsePostfix(ExprPtr node);
  StatusOr<ExprPtr> ParseSubscribed();
  StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node);
  StatusOr<ExprPtr> ParseFilter(ExprPtr node, bool start_inline);
  StatusOr<ExprPtr> ParseTest(ExprPtr node);
  Status ParseCallArgs(Expr& call);

  std::vector<Token> t_;
  const SourceMap& map_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<std::pair<std::vector<std::string>, std::string>> end_stack_;
};

StatusOr<ExprPtr> Parser::ParsePrimary() {
  const Token& t = cur();
  if (t.type == Tok::kName) {
    ExprPtr e;
    if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
      e = MakeExpr(K::kConst, t.pos);
      e->value = Value(t.text[0] == 't' || t.text[0] == 'T');
    } else if (t.text == "none" || t.text == "None") {
      e = MakeExpr(K::kConst, t.pos);
      e->value = Value(nullptr);
    } else {
      e = MakeExpr(K::kName, t.pos);
      e->name = t.text;
    }
    next();
    return e;
  }
  if (t.type == Tok::kString) {
    auto e = MakeExpr(K::kConst, t.pos);
    std::string s;
    while (cur().type == Tok::kString) {  // adjacent literals concatenate
      s += cur().text;
      next();
    }
    e->value = Value(std::move(s));
    return e;
  }
  if (t.type == Tok::kInt || t.type == Tok::kFloat) {
    auto e = MakeExpr(K::kConst, t.pos);
    e->value = t.type == Tok::kInt ? Value(t.int_value) : Value(t.float_value);
    next();
    return e;
  }
  if (IsOp("(")) {
    next();
    DS_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(false, true, {}, true));
    DS_RETURN_IF_ERROR(ExpectOp(")"));
    return e;
  }
  if (IsOp("[") || IsOp("{")) {
    bool is_list = IsOp("[");
    auto e = MakeExpr(is_list ? K::kList : K::kDict, t.pos);
    next();
    const char* close = is_list ? "]" : "}";
    while (!IsOp(close)) {
      if (!e->args.empty()) DS_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(close)) break;
      DS_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
      e->args.push_back(std::move(item));
      if (!is_list) {
        DS_RETURN_IF_ERROR(ExpectOp(":"));
        DS_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
        e->args.push_back(std::move(value));
      }
    }
    next();
    return e;
  }
  return Fail(t.pos, ds::StrCat("unexpected ", DescribeToken(t)));
}

StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".")) {
      size_t pos = cur().pos;
      next();
      if (cur().type == Tok::kName) {
        auto e = MakeExpr(K::kGetAttr, pos);
        e->name = cur().text;
        e->args.push_back(std::move(node));
        node = std::move(e);
      } else if (cur().type == Tok::kInt) {
        auto e = MakeExpr(K::kGetItem, pos);
        auto key = MakeExpr(K::kConst, cur().pos);
        key->value = Value(cur().int_value);
        e->args.push_back(std::move(node));
        e->args.push_back(std::move(key));
        node = std::move(e);
      } else {
        return Unexpected("a name or number after '.'");
      }
      next();
    } else if (IsOp("[")) {
      auto e = MakeExpr(K::kGetItem, cur().pos);
      next();
      std::vector<ExprPtr> keys;
      while (!IsOp("]")) {
        if (!keys.empty()) DS_RETURN_IF_ERROR(ExpectOp(","));
        DS_ASSIGN_OR_RETURN(ExprPtr k, ParseSubscribed());
        keys.push_back(std::move(k));
      }
      next();
      if (keys.empty()) return Fail(e->pos, "empty subscript");
      e->args.push_back(std::move(node));
      if (keys.size() == 1) {
        e->args.push_back(std::move(keys[0]));
      } else {
        auto tup = MakeExpr(K::kTuple, e->pos);
        tup->args = std::move(keys);
        e->args.push_back(std::move(tup));
      }
      node = std::move(e);
    } else if (IsOp("(")) {
      auto call = MakeExpr(K::kCall, node->pos);  // errors point at the callee
      call->args.push_back(std::move(node));
      DS_RETURN_IF_ERROR(ParseCallArgs(*call));
      node = std::move(call);
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> Parser::ParseSubscribed() {
  size_t pos = cur().pos;
  ExprPtr start;
  if (!IsOp(":")) {
    DS_ASSIGN_OR_RETURN(start, ParseExpression(true));
    if (!IsOp(":")) return start;
  }
  next();
  auto slice = MakeExpr(K::kSlice, pos);
  slice->args.push_back(std::move(start));
  ExprPtr stop, step;
  if (!IsOp("]") && !IsOp(",") && !IsOp(":")) {
    DS_ASSIGN_OR_RETURN(stop, ParseExpression(true));
  }
  if (IsOp(":")) {
    next();
    if (!IsOp("]") && !IsOp(",")) {
      DS_ASSIGN_OR_RETURN(step, ParseExpression(true));
    }
  }
  slice->args.push_back(std::move(stop));
  slice->args.push_back(std::move(step));
  return slice;
}

Status Parser::ParseCallArgs(Expr& call) {
  DS_RETURN_IF_ERROR(ExpectOp("("));
  bool need_comma = false;
  while (!IsOp(")")) {
    if (need_comma) {
      DS_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(")")) break;
    }
    if (IsOp("*") || IsOp("**"))
      return Fail(cur().pos, "*args and **kwargs in calls are not supported");
    if (cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == "=") {
      std::string key = cur().text;
      next();
      next();
      DS_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
      call.kwargs.emplace_back(std::move(key), std::move(v));
    } else {
      if (!call.kwargs.empty()) return Fail(cur().pos, "positional argument follows keyword argument");
      DS_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
      call.args.push_back(std::move(v));
    }
    need_comma = true;
  }
  next();
  return absl::OkStatus();
}

StatusOr<ExprPtr> Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      DS_ASSIGN_OR_RETURN(node, ParseFilter(std::move(node), false));
    } else if (IsName("is")) {
      DS_ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
    } else if (IsOp("(")) {
      auto call = MakeExpr(K::kCall, node->pos);  // errors point at the callee
      call->args.push_back(std::move(node));
      DS_RETURN_IF_ERROR(ParseCallArgs(*call));
      node = std::move(call);
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> Parser::ParseFilter(ExprPtr node, bool start_inline) {
  while (IsOp("|") || start_inline) {
    if (!start_inline) next();
    start_inline = false;
    size_t pos = cur().pos;
    DS_ASSIGN_OR_RETURN(std::string name, TakeName());
    while (IsOp(".")) {
      next();
      DS_ASSIGN_OR_RETURN(std::string part, TakeName());
      name += "." + part;
    }
    if (!HasFilter(name)) return Fail(pos, ds::StrCat("no filter named '", name, "'"));
    auto f = MakeExpr(K::kFilter, pos);
    f->name = name;
    f->args.push_back(std::move(node));
    if (IsOp("(")) DS_RETURN_IF_ERROR(ParseCallArgs(*f));
    node = std::move(f);
  }
  return node;
}

StatusOr<ExprPtr> Parser::ParseTest(ExprPtr node) {
  size_t pos = cur().pos;
  next();  // is
  bool negated = false;
  if (IsName("not")) {
    negated = true;
    next();
  }
  size_t name_pos = cur().pos;
  DS_ASSIGN_OR_RETURN(std::string name, TakeName());
  if (!HasTest(name)) return Fail(name_pos, ds::StrCat("no test named '", name, "'"));
  auto t = MakeExpr(K::kTest, pos);
  t->name = name;
  t->args.push_back(std::move(node));
  if (IsOp("(")) {
    DS_RETURN_IF_ERROR(ParseCallArgs(*t));
  } else if ((cur().type == Tok::kName || cur().type == Tok::kString || cur().type == Tok::kInt ||
              cur().type == Tok::kFloat || IsOp("[") || IsOp("{")) &&
             !IsName("else") && !IsName("or") && !IsName("and")) {
    if (IsName("is")) return Fail(cur().pos, "you cannot chain multiple tests with is");
    DS_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
    DS_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    t->args.push_back(std::move(arg));
  }
  if (!negated) return t;
  auto n = MakeExpr(K::kNot, pos);
  n->args.push_back(std::move(t));
  return n;
}

}  // namespace

StatusOr<std::shared_ptr<const Program>> Parse(std::string source) {
  auto prog = std::make_shared<Program>();
  prog->source = std::move(source);
  prog->map = SourceMap(prog->source);
  DS_ASSIGN_OR_RETURN(std::vector<Token> toks, Tokenize(prog->source, prog->map));
  Parser parser(std::move(toks), prog->map);
  DS_ASSIGN_OR_RETURN(prog->body, parser.ParseTemplate());
  return std::shared_ptr<const Program>(std::move(prog));
}

}  // namespace ds::jinja
