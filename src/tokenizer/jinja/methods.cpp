// Python str/dict/list methods reachable from templates, and Jinja's global functions.
#include <cctype>
#include <ctime>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text_util.h"

namespace ds::jinja {
namespace {

using Fn = std::function<StatusOr<Value>(const Value& self, const std::vector<Value>& a)>;

Status TypeError(std::string msg) { return absl::InvalidArgumentError(std::move(msg)); }

// Wraps a method body with argument binding into a callable bound to `self`.
Value Method(const Value& self, std::string name, std::vector<Param> params, Fn body) {
  auto c = std::make_shared<Callable>();
  c->name = name;
  c->fn = [self, name, params = std::move(params), body = std::move(body)](
              Interpreter&, CallArgs& args) -> StatusOr<Value> {
    DS_ASSIGN_OR_RETURN(std::vector<Value> a, BindArgs(name, args, params));
    return body(self, a);
  };
  return Value(CallablePtr(std::move(c)));
}

StatusOr<const std::string*> OptString(const Value& v, std::string_view what) {
  if (v.is_none()) return static_cast<const std::string*>(nullptr);
  if (!v.is_string()) return TypeError(ds::StrCat(what, " arg must be None or str"));
  return &v.str();
}

Value StrList(std::vector<std::string> parts) {
  std::vector<Value> items;
  for (auto& p : parts) items.emplace_back(std::move(p));
  return Value::NewList(std::move(items));
}

// startswith/endswith with a string or a tuple of strings.
StatusOr<Value> AffixTest(const std::string& s, const Value& affix, bool prefix) {
  std::vector<Value> options;
  if (affix.is_list()) options = affix.list().items;
  else options.push_back(affix);
  for (const Value& o : options) {
    if (!o.is_string())
      return TypeError(ds::StrCat(prefix ? "startswith" : "endswith",
                                  " first arg must be str or a tuple of str, not ", PyTypeName(o)));
    const std::string& a = o.str();
    if (a.size() <= s.size() && (prefix ? s.compare(0, a.size(), a) == 0
                                        : s.compare(s.size() - a.size(), a.size(), a) == 0))
      return Value(true);
  }
  return Value(false);
}

// Python str.format with {} / {0} / {name} fields and !s / !r conversions (no format specs).
StatusOr<Value> StrFormat(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.size() && fmt[i + 1] == c) {
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '}') return TypeError("single '}' encountered in format string");
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    size_t end = fmt.find('}', i);
    if (end == std::string::npos) return TypeError("single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, end - i - 1);
    i = end;
    char conv = 's';
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      conv = bang + 1 < field.size() ? field[bang + 1] : 's';
      field.resize(bang);
    }
    if (field.find(':') != std::string::npos) return TypeError("format specs in str.format are not supported");
    const Value* v = nullptr;
    if (field.empty() || std::isdigit(static_cast<unsigned char>(field[0]))) {
      size_t k = field.empty() ? auto_index++ : std::stoul(field);
      if (k < args.positional.size()) v = &args.positional[k];
      if (v == nullptr) return TypeError(ds::StrCat("Replacement index ", k, " out of range"));
    } else {
      for (const auto& [key, val] : args.keyword)
        if (key == field) v = &val;
      if (v == nullptr) return TypeError(ds::StrCat("KeyError: '", field, "'"));
    }
    out += conv == 'r' ? PyRepr(*v) : PyStr(*v);
  }
  return Value(std::move(out));
}

Value StringMethod(const Value& self, const std::string& name) {
  const std::string& s = self.str();
  auto strip = [&](bool l, bool r) {
    return Method(self, name, {{"chars"}}, [l, r](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      DS_ASSIGN_OR_RETURN(const std::string* chars, OptString(a[0], "strip"));
      return Value(PyStrip(me.str(), chars, l, r));
    });
  };
  if (name == "strip") return strip(true, true);
  if (name == "lstrip") return strip(true, false);
  if (name == "rstrip") return strip(false, true);
  auto simple = [&](std::string (*f)(std::string_view)) {
    return Method(self, name, {}, [f](const Value& me, const std::vector<Value>&) -> StatusOr<Value> {
      return Value(f(me.str()));
    });
  };
  if (name == "upper") return simple(PyUpper);
  if (name == "lower") return simple(PyLower);
  if (name == "title") return simple(PyTitle);
  if (name == "capitalize") return simple(PyCapitalize);
  if (name == "split" || name == "rsplit") {
    bool right = name == "rsplit";
    return Method(self, name, {{"sep"}, {"maxsplit", Value(-1)}},
                  [right](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      DS_ASSIGN_OR_RETURN(const std::string* sep, OptString(a[0], "split"));
      if (sep != nullptr && sep->empty()) return TypeError("empty separator");
      if (!a[1].is_integral()) return TypeError("maxsplit must be an integer");
      if (right && a[1].as_int() >= 0) return TypeError("rsplit with maxsplit is not supported");
      return StrList(PySplit(me.str(), sep, a[1].as_int()));
    });
  }
  if (name == "splitlines")
    return Method(self, name, {}, [](const Value& me, const std::vector<Value>&) -> StatusOr<Value> {
      return StrList(PySplitLines(me.str()));
    });
  if (name == "startswith" || name == "endswith") {
    bool prefix = name == "startswith";
    return Method(self, name, {{"prefix", Value(), true}},
                  [prefix](const Value& me, const std::vector<Value>& a) { return AffixTest(me.str(), a[0], prefix); });
  }
  if (name == "replace")
    return Method(self, name, {{"old", Value(), true}, {"new", Value(), true}, {"count", Value(-1)}},
                  [](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      if (!a[0].is_string() || !a[1].is_string() || !a[2].is_integral())
        return TypeError("replace() arguments must be (str, str[, int])");
      auto out = PyReplace(me.str(), a[0].str(), a[1].str(), a[2].as_int(), kMaxTextSize);
      if (!out) return absl::ResourceExhaustedError(ds::StrCat("replace() result longer than ", kMaxTextSize, " characters"));
      return Value(std::move(*out));
    });
  if (name == "find" || name == "count") {
    bool find = name == "find";
    return Method(self, name, {{"sub", Value(), true}}, [find](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      if (!a[0].is_string()) return TypeError("must be str");
      const std::string& str = me.str();
      const std::string& sub = a[0].str();
      if (find) {
        size_t k = str.find(sub);
        return Value(k == std::string::npos ? int64_t{-1} : static_cast<int64_t>(CodePointCount(str.substr(0, k))));
      }
      if (sub.empty()) return Value(static_cast<int64_t>(CodePointCount(str) + 1));
      int64_t n = 0;
      for (size_t k = str.find(sub); k != std::string::npos; k = str.find(sub, k + sub.size())) ++n;
      return Value(n);
    });
  }
  if (name == "join")
    return Method(self, name, {{"iterable", Value(), true}}, [](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(a[0]));
      std::string out;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string())
          return TypeError(ds::StrCat("sequence item ", i, ": expected str instance, ", PyTypeName(items[i]), " found"));
        if (i) out += me.str();
        out += items[i].str();
      }
      return Value(std::move(out));
    });
  if (name == "format") {
    auto c = std::make_shared<Callable>();
    c->name = "format";
    c->fn = [s](Interpreter&, CallArgs& args) { return StrFormat(s, args); };
    return Value(CallablePtr(std::move(c)));
  }
  if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum" ||
      name == "islower" || name == "isupper") {
    return Method(self, name, {}, [name](const Value& me, const std::vector<Value>&) -> StatusOr<Value> {
      const std::string& str = me.str();
      if (name == "islower" || name == "isupper") {
        bool lower = name == "islower";
        bool cased = PyUpper(str) != PyLower(str);
        return Value(cased && (lower ? PyLower(str) == str : PyUpper(str) == str));
      }
      if (str.empty()) return Value(false);
      for (size_t i = 0; i < str.size();) {
        uint32_t cp = NextCodePoint(str, i);
        bool ok = name == "isspace" ? IsPyWhitespace(cp)
                  : name == "isdigit" ? (cp >= '0' && cp <= '9')
                  : name == "isalpha" ? ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') || cp >= 0xC0
                                      : ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') || (cp >= '0' && cp <= '9') || cp >= 0xC0;
        if (!ok) return Value(false);
      }
      return Value(true);
    });
  }
  return Value();
}

Value DictMethod(const Value& self, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return Method(self, name, {}, [name](const Value& me, const std::vector<Value>&) -> StatusOr<Value> {
      std::vector<Value> out;
      for (const auto& [k, v] : me.dict().items) {
        if (name == "items") out.push_back(Value::NewList({k, v}, true));
        else out.push_back(name == "keys" ? k : v);
      }
      return Value::NewList(std::move(out));
    });
  }
  if (name == "get")
    return Method(self, name, {{"key", Value(), true}, {"default"}},
                  [](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      const Value* v = me.dict().Find(a[0]);
      return v ? *v : a[1];
    });
  return Value();
}

Value ListMethod(const Value& self, const std::string& name) {
  // `append` mutates: Hugging Face's immutable sandbox forbids it, but templates written for
  // other engines use it on namespace lists, so it is allowed here.
  if (name == "append")
    return Method(self, name, {{"object", Value(), true}}, [](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      me.list().items.push_back(a[0]);
      return Value(nullptr);
    });
  if (name == "index" || name == "count") {
    bool index = name == "index";
    return Method(self, name, {{"value", Value(), true}}, [index](const Value& me, const std::vector<Value>& a) -> StatusOr<Value> {
      int64_t n = 0;
      const auto& items = me.list().items;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!PyEquals(items[i], a[0])) continue;
        if (index) return Value(static_cast<int64_t>(i));
        ++n;
      }
      if (index) return TypeError(ds::StrCat(PyRepr(a[0]), " is not in list"));
      return Value(n);
    });
  }
  return Value();
}

}  // namespace

Value BoundMethod(const Value& self, const std::string& name) {
  if (self.is_string()) return StringMethod(self, name);
  if (self.is_dict() && !self.dict().is_namespace && !self.dict().is_loop) return DictMethod(self, name);
  if (self.is_list() && !self.list().is_tuple) return ListMethod(self, name);
  if (self.is_list() && (name == "index" || name == "count")) return ListMethod(self, name);
  return Value();
}

namespace {

using GlobalFn = StatusOr<Value> (*)(Interpreter&, CallArgs&);

StatusOr<Value> GlobalRange(Interpreter& interp, CallArgs& args) {
  if (!args.keyword.empty()) return TypeError("range() takes no keyword arguments");
  int64_t v[3] = {0, 0, 1};
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) return TypeError("range expected 1 to 3 arguments");
  for (const Value& x : p)
    if (!x.is_integral()) return TypeError(ds::StrCat("'", PyTypeName(x), "' object cannot be interpreted as an integer"));
  if (p.size() == 1) v[1] = p[0].as_int();
  else for (size_t i = 0; i < p.size(); ++i) v[i] = p[i].as_int();
  if (v[2] == 0) return TypeError("range() arg 3 must not be zero");
  std::vector<Value> items;
  for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2]) {
    if (items.size() >= 100000)  // Jinja's sandbox MAX_RANGE
      return TypeError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    items.emplace_back(i);
  }
  // Ranges have their own budget: range(100000) inside a 100000-step loop (iterating a 1-tuple
  // holding it) once ran for minutes without counting an inner iteration.
  DS_RETURN_IF_ERROR(interp.ChargeRangeItems(static_cast<int64_t>(items.size())));
  return Value::NewList(std::move(items));
}

StatusOr<Value> GlobalDict(Interpreter&, CallArgs& args, bool is_namespace) {
  Value d = Value::NewDict();
  d.dict().is_namespace = is_namespace;
  if (args.positional.size() > 1) return TypeError("expected at most 1 positional argument");
  if (!args.positional.empty()) {
    const Value& init = args.positional[0];
    if (!init.is_dict()) return TypeError("positional argument must be a dict");
    for (const auto& [k, v] : init.dict().items) d.dict().Set(k, v);
  }
  for (const auto& [k, v] : args.keyword) d.dict().Set(Value(k), v);
  return d;
}

StatusOr<Value> GlobalRaise(Interpreter&, CallArgs& args) {
  std::string msg = args.positional.empty() ? "" : PyStr(args.positional[0]);
  return absl::InvalidArgumentError(ds::StrCat("raise_exception: ", msg));
}

StatusOr<Value> GlobalStrftime(Interpreter&, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(std::vector<Value> a, BindArgs("strftime_now", args, {{"format", Value(), true}}));
  if (!a[0].is_string()) return TypeError("strftime_now() format must be a string");
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[512];
  size_t n = std::strftime(buf, sizeof(buf), a[0].str().c_str(), &tm);
  return Value(std::string(buf, n));
}

}  // namespace

Value LookupGlobal(std::string_view name) {
  GlobalFn fn = nullptr;
  if (name == "range") fn = GlobalRange;
  else if (name == "dict") fn = [](Interpreter& in, CallArgs& a) { return GlobalDict(in, a, false); };
  else if (name == "namespace") fn = [](Interpreter& in, CallArgs& a) { return GlobalDict(in, a, true); };
  else if (name == "raise_exception") fn = GlobalRaise;
  else if (name == "strftime_now") fn = GlobalStrftime;
  if (fn == nullptr) return Value();
  auto c = std::make_shared<Callable>();
  c->name = std::string(name);
  c->fn = fn;
  return Value(CallablePtr(std::move(c)));
}

}  // namespace ds::jinja
