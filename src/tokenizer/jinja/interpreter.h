// Evaluates a parsed template. One Interpreter renders once; it owns all mutable state, so a
// compiled Program can be rendered by many threads, each with its own Interpreter.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace ds::jinja {

// A variable scope. Loops, macros and `with` get a child frame; `set` writes the innermost one.
struct Frame {
  explicit Frame(std::shared_ptr<Frame> p = nullptr) : parent(std::move(p)) {}
  const Value* Find(std::string_view name) const;
  void Set(const std::string& name, Value v);

  std::shared_ptr<Frame> parent;
  std::vector<std::pair<std::string, Value>> vars;
};
using FramePtr = std::shared_ptr<Frame>;

class Interpreter {
 public:
  explicit Interpreter(const Program& program) : program_(program) {}

  // Renders the whole template with `root` as the outermost scope.
  StatusOr<std::string> Render(const FramePtr& root);
  // Calls a callable value (macro, builtin, method).
  StatusOr<Value> Call(const Value& fn, CallArgs& args);

  // Counts n items built by range() against a per-render budget (10x the loop limit).
  Status ChargeRangeItems(int64_t n);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  StatusOr<Flow> Exec(const Body& body, const FramePtr& frame);
  // Appends to the output, failing past kMaxTextSize.
  StatusOr<Flow> Emit(size_t pos, std::string_view text);
  // Counts one loop iteration against kMaxLoopIterations.
  Status CountIteration(size_t pos);
  StatusOr<Flow> ExecStmt(const Stmt& s, const FramePtr& frame);
  Status ExecFor(const Stmt& s, const FramePtr& frame);
  StatusOr<std::string> Capture(const Body& body, const FramePtr& frame);
  Status Assign(const Expr& target, const Value& value, const FramePtr& frame);
  Value MakeMacro(const MacroDef& m, const FramePtr& frame);
  StatusOr<Value> CallMacro(const MacroDef& m, const FramePtr& def_frame, CallArgs& args);

  StatusOr<Value> Eval(const Expr& e, const FramePtr& frame);
  StatusOr<Value> EvalInner(const Expr& e, const FramePtr& frame);
  StatusOr<Value> EvalCall(const Expr& e, const FramePtr& frame, const Value* caller);
  StatusOr<Value> EvalFilter(const Expr& e, const FramePtr& frame, const Value* block_input);
  StatusOr<Value> EvalCompare(const Expr& e, const FramePtr& frame);
  Status EvalArgs(const Expr& e, size_t first, const FramePtr& frame, CallArgs& out);
  // Adds "chat template line L, column C: " to an error that has no location yet.
  Status At(size_t pos, const Status& st) const;

  const Program& program_;
  std::string* out_ = nullptr;
  int call_depth_ = 0;
  int64_t iterations_ = 0;
  int64_t range_items_ = 0;
  // Frames that define macros. Macros hold only weak references to their frame (a frame holding
  // its own macro would otherwise be a reference cycle); this list keeps them alive per render.
  std::vector<FramePtr> macro_frames_;
};

}  // namespace ds::jinja
