// Python operator semantics and Jinja's sandboxed attribute/item lookup.
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/text_util.h"

namespace ds::jinja {
namespace {

Status TypeError(std::string msg) { return absl::InvalidArgumentError(std::move(msg)); }

Value NoAttribute(const Value& obj, const std::string& name) {
  return Value::Undefined(ds::StrCat("'", ObjectTypeRepr(obj), "' has no attribute '", name, "'"));
}

Value NoElement(const Value& obj, const Value& key) {
  return Value::Undefined(ds::StrCat(ObjectTypeRepr(obj), " has no element ", PyRepr(key)));
}

// Python's index normalization for obj[i].
bool NormalizeIndex(int64_t& i, size_t n) {
  if (i < 0) i += static_cast<int64_t>(n);
  return i >= 0 && i < static_cast<int64_t>(n);
}

StatusOr<int64_t> SliceBound(const Value& v, std::string_view what) {
  if (v.is_integral()) return v.as_int();
  if (v.is_undefined()) return UndefinedError(v);
  return TypeError(ds::StrCat("slice ", what, " must be an integer or None, not ", PyTypeName(v)));
}

}  // namespace

StatusOr<Value> GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (obj.is_dict()) {
    const Dict& d = obj.dict();
    if (!d.is_namespace && !d.is_loop) {
      Value m = BoundMethod(obj, name);
      if (!m.is_undefined()) return m;
    }
    if (const Value* v = d.Find(std::string_view(name))) return *v;
    return NoAttribute(obj, name);
  }
  Value m = BoundMethod(obj, name);
  if (!m.is_undefined()) return m;
  return NoAttribute(obj, name);
}

StatusOr<Value> GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (key.is_undefined()) return UndefinedError(key);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().Find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && key.is_integral()) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      if (NormalizeIndex(i, obj.list().items.size())) return obj.list().items[i];
    } else {
      std::vector<size_t> off = CodePointOffsets(obj.str());
      if (NormalizeIndex(i, off.size() - 1)) return Value(obj.str().substr(off[i], off[i + 1] - off[i]));
    }
    return NoElement(obj, key);
  }
  if (key.is_string()) {
    if (obj.is_dict() && (obj.dict().is_namespace || obj.dict().is_loop)) return NoAttribute(obj, key.str());
    Value m = BoundMethod(obj, key.str());
    if (!m.is_undefined()) return m;
    return NoAttribute(obj, key.str());
  }
  return NoElement(obj, key);
}

StatusOr<Value> SliceOf(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (!obj.is_list() && !obj.is_string())
    return TypeError(ds::StrCat("'", PyTypeName(obj), "' object is not subscriptable"));
  int64_t step = 1;
  if (!step_v.is_none()) {
    DS_ASSIGN_OR_RETURN(step, SliceBound(step_v, "step"));
  }
  if (step == 0) return TypeError("slice step cannot be zero");
  std::vector<size_t> off;
  int64_t n;
  if (obj.is_string()) {
    off = CodePointOffsets(obj.str());
    n = static_cast<int64_t>(off.size()) - 1;
  } else {
    n = static_cast<int64_t>(obj.list().items.size());
  }
  // CPython's PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, int64_t fallback) -> StatusOr<int64_t> {
    if (v.is_none()) return fallback;
    DS_ASSIGN_OR_RETURN(int64_t i, SliceBound(v, "index"));
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  DS_ASSIGN_OR_RETURN(int64_t start, adjust(start_v, step < 0 ? n - 1 : 0));
  DS_ASSIGN_OR_RETURN(int64_t stop, adjust(stop_v, step < 0 ? -1 : n));
  std::vector<int64_t> idx;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) idx.push_back(i);
  if (obj.is_string()) {
    std::string out;
    for (int64_t i : idx) out.append(obj.str(), off[i], off[i + 1] - off[i]);
    return Value(std::move(out));
  }
  std::vector<Value> items;
  for (int64_t i : idx) items.push_back(obj.list().items[i]);
  return Value::NewList(std::move(items), obj.list().is_tuple);
}

StatusOr<std::vector<Value>> Iterate(const Value& v) {
  std::vector<Value> out;
  switch (v.type()) {
    case Value::Type::kUndefined: return out;
    case Value::Type::kList: return v.list().items;
    case Value::Type::kString: {
      const std::string& s = v.str();
      for (size_t i = 0; i < s.size();) {
        size_t b = i;
        NextCodePoint(s, i);
        out.emplace_back(s.substr(b, i - b));
      }
      return out;
    }
    case Value::Type::kDict:
      if (!v.dict().is_namespace && !v.dict().is_loop) {
        for (const auto& kv : v.dict().items) out.push_back(kv.first);
        return out;
      }
      break;
    default: break;
  }
  return TypeError(ds::StrCat("'", PyTypeName(v), "' object is not iterable"));
}

StatusOr<int64_t> Length(const Value& v) {
  switch (v.type()) {
    case Value::Type::kUndefined: return 0;
    case Value::Type::kString: return static_cast<int64_t>(CodePointCount(v.str()));
    case Value::Type::kList: return static_cast<int64_t>(v.list().items.size());
    case Value::Type::kDict:
      if (!v.dict().is_namespace) return static_cast<int64_t>(v.dict().items.size());
      break;
    default: break;
  }
  return TypeError(ds::StrCat("object of type '", PyTypeName(v), "' has no len()"));
}

StatusOr<bool> Contains(const Value& container, const Value& item) {
  switch (container.type()) {
    case Value::Type::kUndefined: return false;
    case Value::Type::kString:
      if (!item.is_string())
        return TypeError(ds::StrCat("'in <string>' requires string as left operand, not ", PyTypeName(item)));
      return container.str().find(item.str()) != std::string::npos;
    case Value::Type::kList:
      for (const Value& v : container.list().items)
        if (PyEquals(v, item)) return true;
      return false;
    case Value::Type::kDict:
      if (!container.dict().is_namespace) return container.dict().Find(item) != nullptr;
      break;
    default: break;
  }
  return TypeError(ds::StrCat("argument of type '", PyTypeName(container), "' is not iterable"));
}

namespace {

Status Unsupported(std::string_view op, const Value& a, const Value& b) {
  return TypeError(ds::StrCat("unsupported operand type(s) for ", op, ": '", PyTypeName(a), "' and '",
                              PyTypeName(b), "'"));
}

StatusOr<Value> IntOp(std::string_view op, int64_t x, int64_t y) {
  int64_t r = 0;
  bool overflow = false;
  if (op == "+") overflow = __builtin_add_overflow(x, y, &r);
  else if (op == "-") overflow = __builtin_sub_overflow(x, y, &r);
  else if (op == "*") overflow = __builtin_mul_overflow(x, y, &r);
  else if (op == "//" || op == "%") {
    if (y == 0) return TypeError("integer division or modulo by zero");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
      --q;
      m += y;
    }
    r = op == "//" ? q : m;
  } else if (op == "**") {
    if (y < 0) return Value(std::pow(double(x), double(y)));
    r = 1;
    for (int64_t i = 0; i < y && !overflow; ++i) overflow = __builtin_mul_overflow(r, x, &r);
  }
  if (overflow) return TypeError("integer result out of range");
  return Value(r);
}

StatusOr<Value> FloatOp(std::string_view op, double x, double y) {
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "/") {
    if (y == 0) return TypeError("division by zero");
    return Value(x / y);
  }
  if (op == "//" || op == "%") {  // CPython's float_divmod
    if (y == 0) return TypeError("float division by zero");
    double mod = std::fmod(x, y);
    double div = (x - mod) / y;
    if (mod != 0) {
      if ((y < 0) != (mod < 0)) {
        mod += y;
        div -= 1.0;
      }
    } else {
      mod = std::copysign(0.0, y);
    }
    if (op == "%") return Value(mod);
    if (div == 0) return Value(std::copysign(0.0, x / y));
    double fl = std::floor(div);
    return Value(div - fl > 0.5 ? fl + 1.0 : fl);
  }
  return Value(std::pow(x, y));
}

// seq * n, the result's size already checked. An empty sequence (or n <= 0) gives an empty one at
// once: n itself is unbounded ('' * 10000000000 once looped ten billion times).
// '%.Nf' precision bound: Python allows more, but no template needs it and the digits of a large
// precision take long to print.
constexpr int kMaxFormatPrecision = 1000;

Value Repeat(const Value& seq, int64_t n) {
  const bool empty = seq.is_string() ? seq.str().empty() : seq.list().items.empty();
  if (seq.is_string()) {
    std::string out;
    if (n <= 0 || empty) return Value(std::move(out));
    out.reserve(seq.str().size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value(std::move(out));
  }
  std::vector<Value> items;
  if (n > 0 && !empty) {
    items.reserve(seq.list().items.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      for (const Value& v : seq.list().items) items.push_back(v);
  }
  return Value::NewList(std::move(items), seq.list().is_tuple);
}

}  // namespace

StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b) {
  if (op == "%" && a.is_string() && b.is_undefined()) {  // Python sees Undefined as a mapping here
    DS_ASSIGN_OR_RETURN(std::string s, PercentFormat(a.str(), b));
    return Value(std::move(s));
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float() || op == "/") return FloatOp(op, a.as_double(), b.as_double());
    return IntOp(op, a.as_int(), b.as_int());
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > kMaxTextSize) return TypeError("string concatenation result too long");
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.list().is_tuple == b.list().is_tuple) {
      std::vector<Value> items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::NewList(std::move(items), a.list().is_tuple);
    }
    if (a.is_string() || a.is_list())
      return TypeError(ds::StrCat("can only concatenate ", PyTypeName(a), " (not \"", PyTypeName(b),
                                  "\") to ", PyTypeName(a)));
  }
  if (op == "*") {
    const bool seq_first = (a.is_string() || a.is_list()) && b.is_integral();
    if (seq_first || ((b.is_string() || b.is_list()) && a.is_integral())) {
      const Value& seq = seq_first ? a : b;
      const int64_t n = (seq_first ? b : a).as_int();
      const size_t len = seq.is_string() ? seq.str().size() : seq.list().items.size();
      const size_t max = seq.is_string() ? kMaxTextSize : kMaxSequenceSize;
      if (n > 0 && len > 0 && static_cast<uint64_t>(n) > max / len) return TypeError("repetition result too large");
      return Repeat(seq, n);
    }
  }
  if (op == "%" && a.is_string()) {
    DS_ASSIGN_OR_RETURN(std::string s, PercentFormat(a.str(), b));
    return Value(std::move(s));
  }
  return Unsupported(op, a, b);
}

StatusOr<std::string> PercentFormat(const std::string& fmt, const Value& args) {
  std::vector<Value> items;
  if (args.is_list() && args.list().is_tuple) items = args.list().items;
  else items.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    size_t j = i + 1;
    int precision = -1;
    if (j < fmt.size() && fmt[j] == '.') {
      precision = 0;
      for (++j; j < fmt.size() && fmt[j] >= '0' && fmt[j] <= '9'; ++j) {
        precision = precision * 10 + (fmt[j] - '0');
        if (precision > kMaxFormatPrecision) return TypeError("format precision too large");
      }
    }
    if (j >= fmt.size()) return TypeError("incomplete format");
    char c = fmt[j];
    i = j;
    if (c == '%') {
      out.push_back('%');
      continue;
    }
    if (next >= items.size()) return TypeError("not enough arguments for format string");
    const Value& v = items[next++];
    if (c == 's') {
      out += PyStr(v);
    } else if (c == 'r') {
      out += PyRepr(v);
    } else if ((c == 'd' || c == 'i' || c == 'f') && v.is_number()) {
      if (c == 'f') {  // sized first: 1e308 with 1000 decimals is 1310 characters
        const int p = precision < 0 ? 6 : precision;
        const int n = std::snprintf(nullptr, 0, "%.*f", p, v.as_double());
        std::string digits(static_cast<size_t>(std::max(n, 0)) + 1, '\0');
        std::snprintf(digits.data(), digits.size(), "%.*f", p, v.as_double());
        digits.resize(static_cast<size_t>(std::max(n, 0)));
        out += digits;
      } else {
        out += std::to_string(v.is_float() ? static_cast<int64_t>(v.as_double()) : v.as_int());
      }
    } else {
      return TypeError(ds::StrCat("unsupported format conversion '%", std::string(1, c), "' for ", PyTypeName(v)));
    }
  }
  if (next < items.size() && !args.is_dict() && !args.is_undefined())  // unused mappings are fine
    return TypeError("not all arguments converted during string formatting");
  return out;
}

StatusOr<std::vector<Value>> BindArgs(std::string_view fn, const CallArgs& args,
                                      const std::vector<Param>& params) {
  if (args.positional.size() > params.size())
    return TypeError(ds::StrCat(fn, "() takes at most ", params.size(), " argument(s) (",
                                args.positional.size(), " given)"));
  std::vector<Value> out(params.size());
  std::vector<bool> set(params.size(), false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    out[i] = args.positional[i];
    set[i] = true;
  }
  for (const auto& [key, v] : args.keyword) {
    size_t k = 0;
    while (k < params.size() && key != params[k].name) ++k;
    if (k == params.size()) return TypeError(ds::StrCat(fn, "() got an unexpected keyword argument '", key, "'"));
    if (set[k]) return TypeError(ds::StrCat(fn, "() got multiple values for argument '", key, "'"));
    out[k] = v;
    set[k] = true;
  }
  for (size_t k = 0; k < params.size(); ++k) {
    if (set[k]) continue;
    if (params[k].required)
      return TypeError(ds::StrCat(fn, "() missing required argument '", params[k].name, "'"));
    out[k] = params[k].fallback;
  }
  return out;
}

}  // namespace ds::jinja
