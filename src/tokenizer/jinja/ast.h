// The syntax tree of a parsed template. Immutable after parsing, so one compiled template can be
// rendered from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/value.h"

namespace ds::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kConst,    // value
    kName,     // name
    kList,     // args = items
    kTuple,    // args = items
    kDict,     // args = key0, value0, key1, value1, ...
    kGetAttr,  // args[0].name
    kGetItem,  // args[0][args[1]]; args[1] may be a kSlice
    kSlice,    // args = start, stop, step (each may be null)
    kCall,     // args[0](args[1:], kwargs)
    kFilter,   // args[0] | name(args[1:], kwargs); args[0] null inside {% filter %} / {% set %} blocks
    kTest,     // args[0] is name(args[1:], kwargs)
    kNeg,      // -args[0]
    kPos,      // +args[0]
    kNot,      // not args[0]
    kBinary,   // args[0] name args[1], name one of + - * / // % **
    kAnd,      // args[0] and args[1]
    kOr,       // args[0] or args[1]
    kCompare,  // args[0] ops[0] args[1] ops[1] args[2] ... (chained like Python)
    kConcat,   // args joined with ~
    kCond,     // args[1] if args[0] else args[2] (args[2] may be null)
  };
  Kind kind;
  size_t pos = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Stmt;
using Body = std::vector<Stmt>;

struct MacroDef {
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // default may be null
  Body body;
};

struct Stmt {
  enum class Kind {
    kText,         // text
    kPrint,        // expr
    kIf,           // expr ? body : else_body
    kFor,          // for target in expr [if cond]: body, else_body
    kSet,          // target = expr
    kSetBlock,     // target = rendered body, then filter chain `expr` (may be null)
    kMacro,        // macro
    kCallBlock,    // expr (a call) with `caller` = macro
    kFilterBlock,  // rendered body through filter chain expr
    kBreak,
    kContinue,
    kWith,         // assigns, then body in a new scope
    kScope,        // body as is ({% generation %})
  };
  Kind kind;
  size_t pos = 0;
  std::string text;
  ExprPtr expr, target, cond;
  Body body, else_body;
  std::shared_ptr<MacroDef> macro;
  std::vector<std::pair<ExprPtr, ExprPtr>> assigns;
};

struct Program {
  std::string source;  // normalized
  SourceMap map{""};
  Body body;
};

// Parses normalized `source`; errors say "chat template line L, column C: ...".
StatusOr<std::shared_ptr<const Program>> Parse(std::string source);

}  // namespace ds::jinja
