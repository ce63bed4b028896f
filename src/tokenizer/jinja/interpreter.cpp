#include "tokenizer/jinja/interpreter.h"

#include "absl/strings/match.h"
#include "tokenizer/jinja/builtins.h"

namespace ds::jinja {
namespace {

constexpr int kMaxCallDepth = 100;
constexpr std::string_view kLocPrefix = "chat template ";

}  // namespace

const Value* Frame::Find(std::string_view name) const {
  for (const Frame* f = this; f != nullptr; f = f->parent.get())
    for (const auto& [k, v] : f->vars)
      if (k == name) return &v;
  return nullptr;
}

void Frame::Set(const std::string& name, Value v) {
  for (auto& [k, old] : vars) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  vars.emplace_back(name, std::move(v));
}

Status Interpreter::At(size_t pos, const Status& st) const {
  if (st.ok() || absl::StartsWith(st.message(), absl::string_view(kLocPrefix.data(), kLocPrefix.size())))
    return st;
  return Status(st.code(), ds::StrCat(kLocPrefix, program_.map.Where(pos), ": ",
                                      std::string_view(st.message().data(), st.message().size())));
}

StatusOr<std::string> Interpreter::Render(const FramePtr& root) {
  return Capture(program_.body, root);
}

StatusOr<std::string> Interpreter::Capture(const Body& body, const FramePtr& frame) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  StatusOr<Flow> flow = Exec(body, frame);
  out_ = saved;
  if (!flow.ok()) return flow.status();
  return buf;
}

StatusOr<Interpreter::Flow> Interpreter::Emit(size_t pos, std::string_view text) {
  if (out_->size() + text.size() > kMaxTextSize) {
    return At(pos, absl::ResourceExhaustedError(ds::StrCat("output longer than ", kMaxTextSize, " characters")));
  }
  out_->append(text);
  return Flow::kNormal;
}

Status Interpreter::ChargeRangeItems(int64_t n) {
  range_items_ += n;
  if (range_items_ > 10 * kMaxLoopIterations) {
    return absl::ResourceExhaustedError(ds::StrCat("range() built more than ", 10 * kMaxLoopIterations, " items"));
  }
  return absl::OkStatus();
}

Status Interpreter::CountIteration(size_t pos) {
  if (++iterations_ > kMaxLoopIterations) {
    return At(pos, absl::ResourceExhaustedError(ds::StrCat("more than ", kMaxLoopIterations, " loop iterations")));
  }
  return absl::OkStatus();
}

StatusOr<Interpreter::Flow> Interpreter::Exec(const Body& body, const FramePtr& frame) {
  for (const Stmt& s : body) {
    DS_ASSIGN_OR_RETURN(Flow f, ExecStmt(s, frame));
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

StatusOr<Interpreter::Flow> Interpreter::ExecStmt(const Stmt& s, const FramePtr& frame) {
  using SK = Stmt::Kind;
  switch (s.kind) {
    case SK::kText: return Emit(s.pos, s.text);
    case SK::kPrint: {
      DS_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, frame));
      return Emit(s.pos, PyStr(v));
    }
    case SK::kIf: {
      DS_ASSIGN_OR_RETURN(Value c, Eval(*s.expr, frame));
      return Exec(Truthy(c) ? s.body : s.else_body, frame);
    }
    case SK::kFor: DS_RETURN_IF_ERROR(ExecFor(s, frame)); return Flow::kNormal;
    case SK::kSet: {
      DS_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, frame));
      DS_RETURN_IF_ERROR(At(s.pos, Assign(*s.target, v, frame)));
      return Flow::kNormal;
    }
    case SK::kSetBlock:
    case SK::kFilterBlock: {
      DS_ASSIGN_OR_RETURN(std::string text, Capture(s.body, frame));
      Value v(std::move(text));
      if (s.expr) {
        DS_ASSIGN_OR_RETURN(v, EvalFilter(*s.expr, frame, &v));
      }
      if (s.kind == SK::kFilterBlock) return Emit(s.pos, PyStr(v));
      DS_RETURN_IF_ERROR(At(s.pos, Assign(*s.target, v, frame)));
      return Flow::kNormal;
    }
    case SK::kMacro: frame->Set(s.macro->name, MakeMacro(*s.macro, frame)); return Flow::kNormal;
    case SK::kCallBlock: {
      Value caller = MakeMacro(*s.macro, frame);
      DS_ASSIGN_OR_RETURN(Value v, EvalCall(*s.expr, frame, &caller));
      return Emit(s.pos, PyStr(v));
    }
    case SK::kBreak: return Flow::kBreak;
    case SK::kContinue: return Flow::kContinue;
    case SK::kWith: {
      auto child = std::make_shared<Frame>(frame);
      for (const auto& [target, value] : s.assigns) {
        DS_ASSIGN_OR_RETURN(Value v, Eval(*value, frame));
        DS_RETURN_IF_ERROR(At(target->pos, Assign(*target, v, child)));
      }
      return Exec(s.body, child);
    }
    case SK::kScope: return Exec(s.body, frame);
  }
  return Flow::kNormal;
}

namespace {

Value MakeLoop(size_t i, const std::vector<Value>& items) {
  const size_t n = items.size();
  Value loop = Value::NewDict();
  Dict& d = loop.dict();
  d.is_loop = true;
  auto idx = [](size_t v) { return Value(static_cast<int64_t>(v)); };
  d.items = {{Value("index"), idx(i + 1)},      {Value("index0"), idx(i)},
             {Value("revindex"), idx(n - i)},   {Value("revindex0"), idx(n - i - 1)},
             {Value("first"), Value(i == 0)},   {Value("last"), Value(i + 1 == n)},
             {Value("length"), idx(n)},         {Value("depth"), Value(1)},
             {Value("depth0"), Value(0)}};
  d.items.emplace_back(Value("previtem"),
                       i > 0 ? items[i - 1] : Value::Undefined("there is no previous item"));
  d.items.emplace_back(Value("nextitem"),
                       i + 1 < n ? items[i + 1] : Value::Undefined("there is no next item"));
  auto cycle = std::make_shared<Callable>();
  cycle->name = "loop.cycle";
  cycle->fn = [i](Interpreter&, CallArgs& a) -> StatusOr<Value> {
    if (a.positional.empty()) return absl::InvalidArgumentError("no items for cycling given");
    return a.positional[i % a.positional.size()];
  };
  d.items.emplace_back(Value("cycle"), Value(CallablePtr(std::move(cycle))));
  return loop;
}

}  // namespace

Status Interpreter::ExecFor(const Stmt& s, const FramePtr& frame) {
  DS_ASSIGN_OR_RETURN(Value seq, Eval(*s.expr, frame));
  StatusOr<std::vector<Value>> all = Iterate(seq);
  if (!all.ok()) return At(s.expr->pos, all.status());
  std::vector<Value> items;
  if (s.cond) {
    for (Value& item : *all) {
      DS_RETURN_IF_ERROR(CountIteration(s.pos));
      auto scope = std::make_shared<Frame>(frame);
      DS_RETURN_IF_ERROR(At(s.target->pos, Assign(*s.target, item, scope)));
      DS_ASSIGN_OR_RETURN(Value keep, Eval(*s.cond, scope));
      if (Truthy(keep)) items.push_back(std::move(item));
    }
  } else {
    items = std::move(all).value();
  }
  if (items.empty()) return Exec(s.else_body, frame).status();
  for (size_t i = 0; i < items.size(); ++i) {
    DS_RETURN_IF_ERROR(CountIteration(s.pos));
    auto scope = std::make_shared<Frame>(frame);
    DS_RETURN_IF_ERROR(At(s.target->pos, Assign(*s.target, items[i], scope)));
    scope->Set("loop", MakeLoop(i, items));
    DS_ASSIGN_OR_RETURN(Flow f, Exec(s.body, scope));
    if (f == Flow::kBreak) break;
  }
  return absl::OkStatus();
}

Status Interpreter::Assign(const Expr& target, const Value& value, const FramePtr& frame) {
  if (target.kind == Expr::Kind::kName) {
    frame->Set(target.name, value);
    return absl::OkStatus();
  }
  if (target.kind == Expr::Kind::kGetAttr) {  // {% set ns.attr = ... %}
    const std::string& ns_name = target.args[0]->name;
    const Value* ns = frame->Find(ns_name);
    if (ns == nullptr || !ns->is_dict() || !ns->dict().is_namespace)
      return absl::InvalidArgumentError(
          ds::StrCat("cannot assign attribute on non-namespace object '", ns_name, "'"));
    ns->dict().Set(Value(target.name), value);
    return absl::OkStatus();
  }
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(value));
  if (items.size() != target.args.size())
    return absl::InvalidArgumentError(ds::StrCat(
        items.size() > target.args.size() ? "too many" : "not enough", " values to unpack (expected ",
        target.args.size(), ", got ", items.size(), ")"));
  for (size_t i = 0; i < items.size(); ++i) DS_RETURN_IF_ERROR(Assign(*target.args[i], items[i], frame));
  return absl::OkStatus();
}

Value Interpreter::MakeMacro(const MacroDef& m, const FramePtr& frame) {
  auto c = std::make_shared<Callable>();
  c->name = m.name;
  const MacroDef* def = &m;
  macro_frames_.push_back(frame);
  // The program outlives every render, so the definition pointer stays valid.
  std::weak_ptr<Frame> weak = frame;
  c->fn = [def, weak](Interpreter& in, CallArgs& args) -> StatusOr<Value> {
    FramePtr scope = weak.lock();
    if (scope == nullptr)
      return absl::FailedPreconditionError(
          ds::StrCat("macro '", def->name, "' called after its render finished"));
    return in.CallMacro(*def, scope, args);
  };
  return Value(CallablePtr(std::move(c)));
}

StatusOr<Value> Interpreter::CallMacro(const MacroDef& m, const FramePtr& def_frame, CallArgs& args) {
  if (args.positional.size() > m.params.size())
    return absl::InvalidArgumentError(ds::StrCat("macro '", m.name, "' takes not more than ",
                                                 m.params.size(), " argument(s)"));
  auto scope = std::make_shared<Frame>(def_frame);
  for (const auto& [key, v] : args.keyword) {
    bool known = key == "caller";
    for (const auto& p : m.params) known = known || p.first == key;
    if (!known)
      return absl::InvalidArgumentError(
          ds::StrCat("macro '", m.name, "' takes no keyword argument '", key, "'"));
    if (key == "caller") scope->Set("caller", v);
  }
  for (size_t i = 0; i < m.params.size(); ++i) {
    const auto& [name, def] = m.params[i];
    if (i < args.positional.size()) {
      scope->Set(name, args.positional[i]);
      continue;
    }
    const Value* kw = nullptr;
    for (const auto& [key, v] : args.keyword)
      if (key == name) kw = &v;
    if (kw != nullptr) {
      scope->Set(name, *kw);
    } else if (def) {
      DS_ASSIGN_OR_RETURN(Value v, Eval(*def, scope));
      scope->Set(name, v);
    } else {
      scope->Set(name, Value::Undefined(ds::StrCat("parameter '", name, "' was not provided")));
    }
  }
  if (++call_depth_ > kMaxCallDepth) {
    --call_depth_;
    return absl::InvalidArgumentError("maximum macro recursion depth exceeded");
  }
  StatusOr<std::string> text = Capture(m.body, scope);
  --call_depth_;
  if (!text.ok()) return text.status();
  return Value(std::move(text).value());
}

StatusOr<Value> Interpreter::Call(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) return UndefinedError(fn);
  if (!fn.is_callable())
    return absl::InvalidArgumentError(ds::StrCat("'", PyTypeName(fn), "' object is not callable"));
  return fn.callable().fn(*this, args);
}

StatusOr<Value> Interpreter::Eval(const Expr& e, const FramePtr& frame) {
  StatusOr<Value> v = EvalInner(e, frame);
  if (!v.ok()) return At(e.pos, v.status());
  return v;
}

Status Interpreter::EvalArgs(const Expr& e, size_t first, const FramePtr& frame, CallArgs& out) {
  for (size_t i = first; i < e.args.size(); ++i) {
    DS_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i], frame));
    out.positional.push_back(std::move(v));
  }
  for (const auto& [key, expr] : e.kwargs) {
    DS_ASSIGN_OR_RETURN(Value v, Eval(*expr, frame));
    out.keyword.emplace_back(key, std::move(v));
  }
  return absl::OkStatus();
}

StatusOr<Value> Interpreter::EvalCall(const Expr& e, const FramePtr& frame, const Value* caller) {
  DS_ASSIGN_OR_RETURN(Value fn, Eval(*e.args[0], frame));
  CallArgs args;
  DS_RETURN_IF_ERROR(EvalArgs(e, 1, frame, args));
  if (caller != nullptr) args.keyword.emplace_back("caller", *caller);
  StatusOr<Value> r = Call(fn, args);
  if (!r.ok()) return At(e.pos, r.status());
  return r;
}

StatusOr<Value> Interpreter::EvalFilter(const Expr& e, const FramePtr& frame, const Value* block_input) {
  Value input;
  if (e.args[0]) {
    DS_ASSIGN_OR_RETURN(input, Eval(*e.args[0], frame));
  } else {
    input = *block_input;
  }
  CallArgs args;
  DS_RETURN_IF_ERROR(EvalArgs(e, 1, frame, args));
  StatusOr<Value> r = ApplyFilter(*this, e.name, input, args);
  if (!r.ok()) return At(e.pos, r.status());
  return r;
}

StatusOr<Value> Interpreter::EvalCompare(const Expr& e, const FramePtr& frame) {
  DS_ASSIGN_OR_RETURN(Value left, Eval(*e.args[0], frame));
  for (size_t i = 0; i < e.ops.size(); ++i) {
    DS_ASSIGN_OR_RETURN(Value right, Eval(*e.args[i + 1], frame));
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==" || op == "!=") {
      r = PyEquals(left, right) == (op == "==");
    } else if (op == "in" || op == "not in") {
      DS_ASSIGN_OR_RETURN(bool has, Contains(right, left));
      r = has == (op == "in");
    } else {
      const bool swap = op == ">" || op == "<=";
      DS_ASSIGN_OR_RETURN(bool less, swap ? PyLess(right, left) : PyLess(left, right));
      // a <= b is computed as not (b < a), a >= b as not (a < b).
      r = (op == "<" || op == ">") ? less : !less;
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

StatusOr<Value> Interpreter::EvalInner(const Expr& e, const FramePtr& frame) {
  using EK = Expr::Kind;
  switch (e.kind) {
    case EK::kConst: return e.value;
    case EK::kName: {
      if (const Value* v = frame->Find(e.name)) return *v;
      Value g = LookupGlobal(e.name);
      if (!g.is_undefined()) return g;
      return Value::Undefined(ds::StrCat("'", e.name, "' is undefined"));
    }
    case EK::kList:
    case EK::kTuple: {
      std::vector<Value> items;
      for (const auto& a : e.args) {
        DS_ASSIGN_OR_RETURN(Value v, Eval(*a, frame));
        items.push_back(std::move(v));
      }
      return Value::NewList(std::move(items), e.kind == EK::kTuple);
    }
    case EK::kDict: {
      Value d = Value::NewDict();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        DS_ASSIGN_OR_RETURN(Value k, Eval(*e.args[i], frame));
        DS_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i + 1], frame));
        d.dict().Set(k, std::move(v));
      }
      return d;
    }
    case EK::kGetAttr: {
      DS_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0], frame));
      return GetAttr(obj, e.name);
    }
    case EK::kGetItem: {
      DS_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0], frame));
      const Expr& key = *e.args[1];
      if (key.kind != EK::kSlice) {
        DS_ASSIGN_OR_RETURN(Value k, Eval(key, frame));
        return GetItem(obj, k);
      }
      Value bounds[3] = {Value(nullptr), Value(nullptr), Value(nullptr)};
      for (int i = 0; i < 3; ++i)
        if (key.args[i]) {
          DS_ASSIGN_OR_RETURN(bounds[i], Eval(*key.args[i], frame));
        }
      return SliceOf(obj, bounds[0], bounds[1], bounds[2]);
    }
    case EK::kSlice: return absl::InvalidArgumentError("slice outside of a subscript");
    case EK::kCall: return EvalCall(e, frame, nullptr);
    case EK::kFilter: return EvalFilter(e, frame, nullptr);
    case EK::kTest: {
      DS_ASSIGN_OR_RETURN(Value input, Eval(*e.args[0], frame));
      CallArgs args;
      DS_RETURN_IF_ERROR(EvalArgs(e, 1, frame, args));
      DS_ASSIGN_OR_RETURN(bool r, ApplyTest(*this, e.name, input, args));
      return Value(r);
    }
    case EK::kNeg:
    case EK::kPos: {
      DS_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0], frame));
      if (v.is_undefined()) return UndefinedError(v);
      if (!v.is_number())
        return absl::InvalidArgumentError(ds::StrCat("bad operand type for unary ",
                                                     e.kind == EK::kNeg ? "-" : "+", ": '",
                                                     PyTypeName(v), "'"));
      if (e.kind == EK::kPos) return v.is_bool() ? Value(v.as_int()) : v;
      return v.is_float() ? Value(-v.as_double()) : Value(-v.as_int());
    }
    case EK::kNot: {
      DS_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0], frame));
      return Value(!Truthy(v));
    }
    case EK::kBinary: {
      DS_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0], frame));
      DS_ASSIGN_OR_RETURN(Value b, Eval(*e.args[1], frame));
      return BinaryOp(e.name, a, b);
    }
    case EK::kAnd:
    case EK::kOr: {
      DS_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0], frame));
      if (Truthy(a) == (e.kind == EK::kOr)) return a;
      return Eval(*e.args[1], frame);
    }
    case EK::kCompare: return EvalCompare(e, frame);
    case EK::kConcat: {
      std::string s;
      for (const auto& a : e.args) {
        DS_ASSIGN_OR_RETURN(Value v, Eval(*a, frame));
        s += PyStr(v);
        if (s.size() > kMaxTextSize) {
          return absl::ResourceExhaustedError(ds::StrCat("string longer than ", kMaxTextSize, " characters"));
        }
      }
      return Value(std::move(s));
    }
    case EK::kCond: {
      DS_ASSIGN_OR_RETURN(Value c, Eval(*e.args[0], frame));
      if (Truthy(c)) return Eval(*e.args[1], frame);
      if (e.args[2]) return Eval(*e.args[2], frame);
      return Value::Undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return absl::InternalError("unknown expression kind");
}

}  // namespace ds::jinja
