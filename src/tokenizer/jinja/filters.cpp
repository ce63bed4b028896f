// Jinja's builtin filters and tests (jinja2/filters.py, jinja2/tests.py), with Hugging Face's
// `tojson` (json.dumps with ensure_ascii=False) in place of Jinja's HTML-safe one.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text_util.h"

namespace ds::jinja {
namespace {

using A = std::vector<Value>;
using FilterFn = StatusOr<Value> (*)(Interpreter&, const Value&, CallArgs&);
using TestFn = StatusOr<bool> (*)(Interpreter&, const Value&, CallArgs&);

Status TypeError(std::string msg) { return absl::InvalidArgumentError(std::move(msg)); }

StatusOr<std::vector<Value>> Bind(std::string_view fn, const CallArgs& args, std::vector<Param> params) {
  return BindArgs(fn, args, params);
}

// Jinja's make_attrgetter: "a.b.0" looks up each part with getitem.
StatusOr<Value> AttrPath(const Value& item, const Value& attribute) {
  if (attribute.is_integral()) return GetItem(item, attribute);
  static const std::string kDot = ".";
  Value cur = item;
  for (const std::string& part : PySplit(PyStr(attribute), &kDot, -1)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    DS_ASSIGN_OR_RETURN(cur, GetItem(cur, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part)));
  }
  return cur;
}

Value IgnoreCase(const Value& v, bool case_sensitive) {
  return (!case_sensitive && v.is_string()) ? Value(PyLower(v.str())) : v;
}

// Sort key extraction shared by sort, unique, min and max.
StatusOr<Value> SortKey(const Value& item, const Value& attribute, bool case_sensitive) {
  Value k = item;
  if (!attribute.is_none()) {
    DS_ASSIGN_OR_RETURN(k, AttrPath(item, attribute));
  }
  return IgnoreCase(k, case_sensitive);
}

StatusOr<std::vector<Value>> SortedItems(std::vector<Value> items, const Value& attribute,
                                         bool case_sensitive, bool reverse) {
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& v : items) {
    DS_ASSIGN_OR_RETURN(Value k, SortKey(v, attribute, case_sensitive));
    keyed.emplace_back(std::move(k), std::move(v));
  }
  Status err;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    StatusOr<bool> lt = reverse ? PyLess(y.first, x.first) : PyLess(x.first, y.first);
    if (!lt.ok()) err = lt.status();
    return lt.ok() && *lt;
  });
  DS_RETURN_IF_ERROR(err);
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return out;
}

StatusOr<Value> FLength(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("length", args, {}).status());
  DS_ASSIGN_OR_RETURN(int64_t n, Length(v));
  return Value(n);
}

StatusOr<Value> FFirstLast(const Value& v, CallArgs& args, bool first) {
  DS_RETURN_IF_ERROR(Bind(first ? "first" : "last", args, {}).status());
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  if (items.empty()) return Value::Undefined(ds::StrCat("No ", first ? "first" : "last", " item, sequence was empty."));
  return first ? items.front() : items.back();
}
StatusOr<Value> FFirst(Interpreter&, const Value& v, CallArgs& a) { return FFirstLast(v, a, true); }
StatusOr<Value> FLast(Interpreter&, const Value& v, CallArgs& a) { return FFirstLast(v, a, false); }

StatusOr<Value> FTrim(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("trim", args, {{"chars"}}));
  if (!a[0].is_none() && !a[0].is_string()) return TypeError("trim() chars must be None or str");
  return Value(PyStrip(PyStr(v), a[0].is_none() ? nullptr : &a[0].str(), true, true));
}

template <std::string (*F)(std::string_view)>
StatusOr<Value> FCase(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("filter", args, {}).status());
  return Value(F(PyStr(v)));
}

StatusOr<Value> FReplace(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("replace", args, {{"old", Value(), true}, {"new", Value(), true}, {"count"}}));
  if (!a[2].is_none() && !a[2].is_integral()) return TypeError("replace() count must be an integer");
  auto out = PyReplace(PyStr(v), PyStr(a[0]), PyStr(a[1]), a[2].is_none() ? -1 : a[2].as_int(), kMaxTextSize);
  if (!out) return absl::ResourceExhaustedError(ds::StrCat("replace() result longer than ", kMaxTextSize, " characters"));
  return Value(std::move(*out));
}

StatusOr<Value> FJoin(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("join", args, {{"d", Value("")}, {"attribute"}}));
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (!a[1].is_none()) {
      DS_ASSIGN_OR_RETURN(item, AttrPath(item, a[1]));
    }
    if (i) out += PyStr(a[0]);
    out += PyStr(item);
    if (out.size() > kMaxTextSize) return TypeError(ds::StrCat("join() result longer than ", kMaxTextSize, " characters"));
  }
  return Value(std::move(out));
}

StatusOr<Value> FDefault(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("default", args, {{"default_value", Value("")}, {"boolean", Value(false)}}));
  if (v.is_undefined() || (Truthy(a[1]) && !Truthy(v))) return a[0];
  return v;
}

StatusOr<Value> FToJson(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("tojson", args, {{"ensure_ascii", Value(false)}, {"indent"}, {"separators"}, {"sort_keys", Value(false)}}));
  JsonDumpOptions o;
  o.ensure_ascii = Truthy(a[0]);
  if (a[1].is_integral()) {
    if (a[1].as_int() > 4096) return TypeError("tojson() indent too large");
    o.has_indent = true;
    o.indent.assign(std::max<int64_t>(0, a[1].as_int()), ' ');
  } else if (a[1].is_string()) {
    o.has_indent = true;
    o.indent = a[1].str();
  } else if (!a[1].is_none()) {
    return TypeError("tojson() indent must be an integer, a string or None");
  }
  if (!a[2].is_none()) {
    if (!a[2].is_list() || a[2].list().items.size() != 2 || !a[2].list().items[0].is_string() ||
        !a[2].list().items[1].is_string())
      return TypeError("tojson() separators must be a pair of strings");
    o.has_separators = true;
    o.item_sep = a[2].list().items[0].str();
    o.key_sep = a[2].list().items[1].str();
  }
  o.sort_keys = Truthy(a[3]);
  DS_ASSIGN_OR_RETURN(std::string s, PyJsonDumps(v, o));
  return Value(std::move(s));
}

StatusOr<Value> FString(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("string", args, {}).status());
  return Value(PyStr(v));
}

// Python float(str): surrounding whitespace allowed, underscores between digits, inf/nan.
bool ParsePyFloat(const std::string& text, double& out) {
  std::string s = PyStrip(text, nullptr, true, true);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() && std::isdigit((unsigned char)s[i - 1]) && std::isdigit((unsigned char)s[i + 1])) continue;
    clean.push_back(s[i]);
  }
  if (clean.empty() || clean.find_first_of("xXpP") != std::string::npos) return false;
  char* end = nullptr;
  out = std::strtod(clean.c_str(), &end);
  return end == clean.c_str() + clean.size();
}

StatusOr<Value> FInt(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("int", args, {{"default", Value(0)}, {"base", Value(10)}}));
  if (v.is_integral()) return Value(v.as_int());
  if (v.is_float()) {
    if (!std::isfinite(v.as_double())) return a[0];
    return Value(static_cast<int64_t>(v.as_double()));
  }
  if (v.is_string()) {
    std::string s = PyStrip(v.str(), nullptr, true, true);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    int base = a[1].is_integral() ? static_cast<int>(a[1].as_int()) : 10;
    char* end = nullptr;
    errno = 0;
    long long r = s.empty() ? 0 : std::strtoll(s.c_str(), &end, base);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return Value(static_cast<int64_t>(r));
    double d;
    if (ParsePyFloat(v.str(), d) && std::isfinite(d)) return Value(static_cast<int64_t>(d));
  }
  return a[0];
}

StatusOr<Value> FFloat(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("float", args, {{"default", Value(0.0)}}));
  if (v.is_number()) return Value(v.as_double());
  double d;
  if (v.is_string() && ParsePyFloat(v.str(), d)) return Value(d);
  return a[0];
}

StatusOr<Value> FList(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("list", args, {}).status());
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  return Value::NewList(std::move(items));
}

StatusOr<Value> FItems(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("items", args, {}).status());
  if (v.is_undefined()) return Value::NewList();
  if (!v.is_dict() || v.dict().is_namespace) return TypeError("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict().items) out.push_back(Value::NewList({k, val}, true));
  return Value::NewList(std::move(out));
}

StatusOr<Value> FDictSort(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("dictsort", args, {{"case_sensitive", Value(false)}, {"by", Value("key")}, {"reverse", Value(false)}}));
  if (!v.is_dict()) return TypeError("dictsort() needs a mapping");
  if (PyStr(a[1]) != "key" && PyStr(a[1]) != "value") return TypeError("You can only sort by either \"key\" or \"value\"");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.dict().items) pairs.push_back(Value::NewList({k, val}, true));
  Value pos(static_cast<int64_t>(PyStr(a[1]) == "key" ? 0 : 1));
  DS_ASSIGN_OR_RETURN(pairs, SortedItems(std::move(pairs), pos, Truthy(a[0]), Truthy(a[2])));
  return Value::NewList(std::move(pairs));
}

// select/reject/selectattr/rejectattr.
StatusOr<Value> Select(Interpreter& in, const Value& v, CallArgs& args, bool by_attr, bool keep) {
  const size_t skip = by_attr ? 1 : 0;
  if (args.positional.size() < skip) return TypeError("selectattr() needs an attribute");
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attr) {
      DS_ASSIGN_OR_RETURN(subject, AttrPath(item, args.positional[0]));
    }
    bool r;
    if (args.positional.size() <= skip) {
      r = Truthy(subject);
    } else {
      CallArgs targs;
      targs.positional.assign(args.positional.begin() + skip + 1, args.positional.end());
      targs.keyword = args.keyword;
      DS_ASSIGN_OR_RETURN(r, ApplyTest(in, PyStr(args.positional[skip]), subject, targs));
    }
    if (r == keep) out.push_back(item);
  }
  return Value::NewList(std::move(out));
}
StatusOr<Value> FSelect(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, false, true); }
StatusOr<Value> FReject(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, false, false); }
StatusOr<Value> FSelectAttr(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, true, true); }
StatusOr<Value> FRejectAttr(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, true, false); }

StatusOr<Value> FMap(Interpreter& in, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> out;
  const Value* attribute = nullptr;
  Value fallback;
  for (const auto& [k, val] : args.keyword) {
    if (k == "attribute") attribute = &val;
    else if (k == "default") fallback = val;
  }
  if (attribute != nullptr) {
    for (const Value& item : items) {
      DS_ASSIGN_OR_RETURN(Value r, AttrPath(item, *attribute));
      out.push_back(r.is_undefined() && !fallback.is_undefined() ? fallback : r);
    }
    return Value::NewList(std::move(out));
  }
  if (args.positional.empty()) return TypeError("map() needs a filter name or attribute=");
  std::string name = PyStr(args.positional[0]);
  if (!HasFilter(name)) return TypeError(ds::StrCat("No filter named '", name, "'."));
  CallArgs fargs;
  fargs.positional.assign(args.positional.begin() + 1, args.positional.end());
  fargs.keyword = args.keyword;
  for (const Value& item : items) {
    DS_ASSIGN_OR_RETURN(Value r, ApplyFilter(in, name, item, fargs));
    out.push_back(std::move(r));
  }
  return Value::NewList(std::move(out));
}

StatusOr<Value> FUnique(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("unique", args, {{"case_sensitive", Value(false)}, {"attribute"}}));
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> seen, out;
  for (const Value& item : items) {
    DS_ASSIGN_OR_RETURN(Value k, SortKey(item, a[1], Truthy(a[0])));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return PyEquals(s, k); })) continue;
    seen.push_back(k);
    out.push_back(item);
  }
  return Value::NewList(std::move(out));
}

StatusOr<Value> FReverse(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("reverse", args, {}).status());
  if (v.is_string()) {
    std::vector<size_t> off = CodePointOffsets(v.str());
    std::string out;
    for (size_t k = off.size() - 1; k > 0; --k) out.append(v.str(), off[k - 1], off[k] - off[k - 1]);
    return Value(std::move(out));
  }
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::reverse(items.begin(), items.end());
  return Value::NewList(std::move(items));
}

StatusOr<Value> FSort(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("sort", args, {{"reverse", Value(false)}, {"case_sensitive", Value(false)}, {"attribute"}}));
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  DS_ASSIGN_OR_RETURN(items, SortedItems(std::move(items), a[2], Truthy(a[1]), Truthy(a[0])));
  return Value::NewList(std::move(items));
}

StatusOr<Value> MinMax(const Value& v, CallArgs& args, bool max) {
  DS_ASSIGN_OR_RETURN(A a, Bind(max ? "max" : "min", args, {{"case_sensitive", Value(false)}, {"attribute"}}));
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  DS_ASSIGN_OR_RETURN(items, SortedItems(std::move(items), a[1], Truthy(a[0]), max));
  return items.front();
}
StatusOr<Value> FMin(Interpreter&, const Value& v, CallArgs& a) { return MinMax(v, a, false); }
StatusOr<Value> FMax(Interpreter&, const Value& v, CallArgs& a) { return MinMax(v, a, true); }

StatusOr<Value> FSum(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("sum", args, {{"attribute"}, {"start", Value(0)}}));
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  Value total = a[1];
  for (const Value& item : items) {
    Value x = item;
    if (!a[0].is_none()) {
      DS_ASSIGN_OR_RETURN(x, AttrPath(item, a[0]));
    }
    DS_ASSIGN_OR_RETURN(total, BinaryOp("+", total, x));
  }
  return total;
}

StatusOr<Value> FAbs(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("abs", args, {}).status());
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_integral()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  return TypeError(ds::StrCat("bad operand type for abs(): '", PyTypeName(v), "'"));
}

StatusOr<Value> FRound(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("round", args, {{"precision", Value(0)}, {"method", Value("common")}}));
  std::string method = PyStr(a[1]);
  if (method != "common" && method != "ceil" && method != "floor")
    return TypeError("method must be common, ceil or floor");
  if (!v.is_number() || !a[0].is_integral()) return TypeError("round() needs a number and an integer precision");
  int64_t p = a[0].as_int();
  if (method == "common") {
    if (v.is_integral()) {  // Python round(int, n) stays an int
      if (p >= 0) return Value(v.as_int());
      double scale = std::pow(10.0, static_cast<double>(-p));
      return Value(static_cast<int64_t>(std::nearbyint(v.as_double() / scale) * scale));
    }
    // printf rounds the exact binary value half-to-even, as CPython's round() does.
    char buf[512];
    if (p >= 0 && p < 300) {
      std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(p), v.as_double());
      return Value(std::strtod(buf, nullptr));
    }
    double scale = std::pow(10.0, static_cast<double>(-p));
    return Value(std::nearbyint(v.as_double() / scale) * scale);
  }
  double scale = std::pow(10.0, static_cast<double>(p));
  double x = v.as_double() * scale;
  return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

StatusOr<Value> FCenter(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("center", args, {{"width", Value(80)}}));
  if (!a[0].is_integral()) return TypeError("center() width must be an integer");
  std::string s = PyStr(v);
  if (a[0].as_int() > static_cast<int64_t>(kMaxTextSize)) return TypeError("center() width too large");
  int64_t marg = a[0].as_int() - static_cast<int64_t>(CodePointCount(s));
  if (marg <= 0) return Value(s);
  int64_t left = marg / 2 + (marg & a[0].as_int() & 1);  // CPython's str.center split
  return Value(std::string(left, ' ') + s + std::string(marg - left, ' '));
}

StatusOr<Value> FSafe(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("safe", args, {}).status());
  return v;
}

StatusOr<Value> FEscape(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("escape", args, {}).status());
  std::string out;
  for (char c : PyStr(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return Value(std::move(out));
}

StatusOr<Value> FIndent(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("indent", args, {{"width", Value(4)}, {"first", Value(false)}, {"blank", Value(false)}}));
  const int64_t width = a[0].is_integral() ? a[0].as_int() : 4;
  if (!a[0].is_string() && width > static_cast<int64_t>(kMaxTextSize)) return TypeError("indent() width too large");
  std::string ind = a[0].is_string() ? a[0].str() : std::string(std::max<int64_t>(0, width), ' ');
  std::vector<std::string> lines = PySplitLines(PyStr(v) + "\n");
  if (!ind.empty() && lines.size() + 1 > kMaxTextSize / ind.size()) return TypeError("indent() result too long");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\n";
    if (i && (Truthy(a[2]) || !lines[i].empty())) out += ind;
    out += lines[i];
  }
  if (Truthy(a[1])) out = ind + out;
  return Value(std::move(out));
}

StatusOr<Value> FBatch(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("batch", args, {{"linecount", Value(), true}, {"fill_with"}}));
  if (!a[0].is_integral() || a[0].as_int() <= 0) return TypeError("batch() linecount must be a positive integer");
  DS_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  const size_t n = static_cast<size_t>(a[0].as_int());
  std::vector<Value> out;
  for (size_t i = 0; i < items.size(); i += n) {
    std::vector<Value> row(items.begin() + i, items.begin() + std::min(items.size(), i + n));
    if (!a[1].is_none()) row.resize(n, a[1]);
    out.push_back(Value::NewList(std::move(row)));
  }
  return Value::NewList(std::move(out));
}

StatusOr<Value> FFormat(Interpreter&, const Value& v, CallArgs& args) {
  if (!args.keyword.empty()) return TypeError("format() with keyword arguments is not supported");
  DS_ASSIGN_OR_RETURN(std::string s, PercentFormat(PyStr(v), Value::NewList(args.positional, true)));
  return Value(std::move(s));
}

StatusOr<Value> FAttr(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, Bind("attr", args, {{"name", Value(), true}}));
  Value m = BoundMethod(v, PyStr(a[0]));
  if (!m.is_undefined()) return m;
  if (v.is_dict() && v.dict().is_namespace)
    if (const Value* x = v.dict().Find(std::string_view(PyStr(a[0])))) return *x;
  return Value::Undefined(ds::StrCat("'", ObjectTypeRepr(v), "' has no attribute '", PyStr(a[0]), "'"));
}

StatusOr<Value> FWordCount(Interpreter&, const Value& v, CallArgs& args) {
  DS_RETURN_IF_ERROR(Bind("wordcount", args, {}).status());
  std::string s = PyStr(v);
  int64_t n = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = NextCodePoint(s, i);
    bool w = cp == '_' || (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') || (cp >= 0xC0 && !IsPyWhitespace(cp));
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

struct FilterEntry {
  std::string_view name;
  FilterFn fn;
};

constexpr FilterEntry kFilters[] = {
    {"abs", FAbs}, {"attr", FAttr}, {"batch", FBatch}, {"capitalize", FCase<PyCapitalize>},
    {"center", FCenter},
    {"count", FLength}, {"d", FDefault}, {"default", FDefault}, {"dictsort", FDictSort},
    {"e", FEscape}, {"escape", FEscape}, {"first", FFirst}, {"float", FFloat}, {"format", FFormat},
    {"indent", FIndent}, {"int", FInt}, {"items", FItems}, {"join", FJoin}, {"last", FLast},
    {"length", FLength}, {"list", FList}, {"lower", FCase<PyLower>}, {"map", FMap}, {"max", FMax},
    {"min", FMin}, {"reject", FReject}, {"rejectattr", FRejectAttr}, {"replace", FReplace},
    {"reverse", FReverse}, {"round", FRound}, {"safe", FSafe}, {"select", FSelect},
    {"selectattr", FSelectAttr}, {"sort", FSort}, {"string", FString}, {"sum", FSum},
    {"title", FCase<JinjaTitle>}, {"tojson", FToJson}, {"trim", FTrim}, {"unique", FUnique},
    {"upper", FCase<PyUpper>}, {"wordcount", FWordCount},
};

// ---- tests ----

StatusOr<A> TestArgs(std::string_view name, CallArgs& args, size_t n) {
  std::vector<Param> params;
  static const char* kNames[] = {"other", "b"};
  for (size_t i = 0; i < n; ++i) params.push_back({kNames[i], Value(), true});
  return BindArgs(name, args, params);
}

#define DS_SIMPLE_TEST(fname, expr)                                        \
  StatusOr<bool> fname(Interpreter&, const Value& v, CallArgs& args) {     \
    DS_RETURN_IF_ERROR(TestArgs(#fname, args, 0).status());                \
    return (expr);                                                         \
  }

DS_SIMPLE_TEST(TDefined, !v.is_undefined())
DS_SIMPLE_TEST(TUndefined, v.is_undefined())
DS_SIMPLE_TEST(TNone, v.is_none())
DS_SIMPLE_TEST(TBoolean, v.is_bool())
DS_SIMPLE_TEST(TTrue, v.is_bool() && v.as_bool())
DS_SIMPLE_TEST(TFalse, v.is_bool() && !v.as_bool())
DS_SIMPLE_TEST(TInteger, v.is_int())
DS_SIMPLE_TEST(TFloat, v.is_float())
DS_SIMPLE_TEST(TNumber, v.is_number())
DS_SIMPLE_TEST(TString, v.is_string())
DS_SIMPLE_TEST(TMapping, v.is_dict() && !v.dict().is_namespace && !v.dict().is_loop)
DS_SIMPLE_TEST(TSequence, v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.dict().is_namespace && !v.dict().is_loop))
DS_SIMPLE_TEST(TIterable, v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.dict().is_namespace))
DS_SIMPLE_TEST(TCallable, v.is_callable())
DS_SIMPLE_TEST(TEscaped, false)
DS_SIMPLE_TEST(TLower, v.is_string() && PyLower(v.str()) == v.str() && PyUpper(v.str()) != v.str())
DS_SIMPLE_TEST(TUpper, v.is_string() && PyUpper(v.str()) == v.str() && PyLower(v.str()) != v.str())

StatusOr<bool> Parity(const Value& v, CallArgs& args, bool odd) {
  DS_RETURN_IF_ERROR(TestArgs(odd ? "odd" : "even", args, 0).status());
  if (!v.is_integral()) return TypeError(ds::StrCat("odd/even test needs an integer, got ", PyTypeName(v)));
  return ((v.as_int() % 2) != 0) == odd;
}
StatusOr<bool> TOdd(Interpreter&, const Value& v, CallArgs& a) { return Parity(v, a, true); }
StatusOr<bool> TEven(Interpreter&, const Value& v, CallArgs& a) { return Parity(v, a, false); }

StatusOr<bool> TDivisibleBy(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, TestArgs("divisibleby", args, 1));
  DS_ASSIGN_OR_RETURN(Value m, BinaryOp("%", v, a[0]));
  return !Truthy(m);
}

template <int kOp>
StatusOr<bool> TCompare(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, TestArgs("compare", args, 1));
  switch (kOp) {
    case 0: return PyEquals(v, a[0]);
    case 1: return !PyEquals(v, a[0]);
    case 2: return PyLess(v, a[0]);
    case 3: { DS_ASSIGN_OR_RETURN(bool lt, PyLess(a[0], v)); return !lt; }
    case 4: return PyLess(a[0], v);
    default: { DS_ASSIGN_OR_RETURN(bool lt, PyLess(v, a[0])); return !lt; }
  }
}

StatusOr<bool> TIn(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, TestArgs("in", args, 1));
  return Contains(a[0], v);
}

StatusOr<bool> TSameAs(Interpreter&, const Value& v, CallArgs& args) {
  DS_ASSIGN_OR_RETURN(A a, TestArgs("sameas", args, 1));
  if (v.identity() != nullptr || a[0].identity() != nullptr) return v.identity() == a[0].identity();
  return v.type() == a[0].type() && PyEquals(v, a[0]);  // None, True, False and small values
}

StatusOr<bool> TFilterTest(Interpreter&, const Value& v, CallArgs& args, bool filter) {
  DS_RETURN_IF_ERROR(TestArgs(filter ? "filter" : "test", args, 0).status());
  return v.is_string() && (filter ? HasFilter(v.str()) : HasTest(v.str()));
}
StatusOr<bool> TFilter(Interpreter& in, const Value& v, CallArgs& a) { return TFilterTest(in, v, a, true); }
StatusOr<bool> TTest(Interpreter& in, const Value& v, CallArgs& a) { return TFilterTest(in, v, a, false); }

struct TestEntry {
  std::string_view name;
  TestFn fn;
};

constexpr TestEntry kTests[] = {
    {"!=", TCompare<1>}, {"<", TCompare<2>}, {"<=", TCompare<3>}, {"==", TCompare<0>},
    {">", TCompare<4>}, {">=", TCompare<5>}, {"boolean", TBoolean}, {"callable", TCallable},
    {"defined", TDefined}, {"divisibleby", TDivisibleBy}, {"eq", TCompare<0>},
    {"equalto", TCompare<0>}, {"escaped", TEscaped}, {"even", TEven}, {"false", TFalse},
    {"filter", TFilter}, {"float", TFloat}, {"ge", TCompare<5>}, {"greaterthan", TCompare<4>},
    {"gt", TCompare<4>}, {"in", TIn}, {"integer", TInteger}, {"iterable", TIterable},
    {"le", TCompare<3>}, {"lessthan", TCompare<2>}, {"lower", TLower}, {"lt", TCompare<2>},
    {"mapping", TMapping}, {"ne", TCompare<1>}, {"none", TNone}, {"number", TNumber},
    {"odd", TOdd}, {"sameas", TSameAs}, {"sequence", TSequence}, {"string", TString},
    {"test", TTest}, {"true", TTrue}, {"undefined", TUndefined}, {"upper", TUpper},
};

FilterFn FindFilter(std::string_view name) {
  for (const auto& f : kFilters)
    if (f.name == name) return f.fn;
  return nullptr;
}

TestFn FindTest(std::string_view name) {
  for (const auto& t : kTests)
    if (t.name == name) return t.fn;
  return nullptr;
}

}  // namespace

bool HasFilter(std::string_view name) { return FindFilter(name) != nullptr; }
bool HasTest(std::string_view name) { return FindTest(name) != nullptr; }

StatusOr<Value> ApplyFilter(Interpreter& in, std::string_view name, const Value& input, CallArgs& args) {
  FilterFn f = FindFilter(name);
  if (f == nullptr) return TypeError(ds::StrCat("No filter named '", name, "'."));
  return f(in, input, args);
}

StatusOr<bool> ApplyTest(Interpreter& in, std::string_view name, const Value& input, CallArgs& args) {
  TestFn t = FindTest(name);
  if (t == nullptr) return TypeError(ds::StrCat("No test named '", name, "'."));
  return t(in, input, args);
}

}  // namespace ds::jinja
