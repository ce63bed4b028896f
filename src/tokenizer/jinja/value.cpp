#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/text_util.h"

namespace ds::jinja {

namespace {
thread_local ContainerArena* current_arena = nullptr;

// Drops the items of every recorded container still alive. The container is held while its items
// are destroyed, since they may hold the last other reference to it.
template <typename T>
void EmptySurvivors(std::vector<std::weak_ptr<T>>& records) {
  for (std::weak_ptr<T>& w : records) {
    if (std::shared_ptr<T> c = w.lock()) {
      auto items = std::move(c->items);
      c->items.clear();
    }
  }
}
}  // namespace

ContainerArena::ContainerArena() : previous_(current_arena) { current_arena = this; }

ContainerArena::~ContainerArena() {
  current_arena = previous_;
  EmptySurvivors(lists_);
  EmptySurvivors(dicts_);
}

void ContainerArena::PruneIfLarge() {
  if (lists_.size() + dicts_.size() < prune_at_) return;
  std::erase_if(lists_, [](const auto& w) { return w.expired(); });
  std::erase_if(dicts_, [](const auto& w) { return w.expired(); });
  prune_at_ = std::max<size_t>(1024, 2 * (lists_.size() + dicts_.size()));
}

void ContainerArena::Record(const ListPtr& l) {
  if (current_arena == nullptr) return;
  current_arena->lists_.push_back(l);
  current_arena->PruneIfLarge();
}

void ContainerArena::Record(const DictPtr& d) {
  if (current_arena == nullptr) return;
  current_arena->dicts_.push_back(d);
  current_arena->PruneIfLarge();
}

Value Value::NewList(std::vector<Value> items, bool is_tuple) {
  auto l = std::make_shared<List>();
  l->items = std::move(items);
  l->is_tuple = is_tuple;
  ContainerArena::Record(l);
  return Value(std::move(l));
}

Value Value::NewDict() {
  auto d = std::make_shared<Dict>();
  ContainerArena::Record(d);
  return Value(std::move(d));
}

const void* Value::identity() const {
  switch (type()) {
    case Type::kList: return std::get<ListPtr>(data_).get();
    case Type::kDict: return std::get<DictPtr>(data_).get();
    case Type::kCallable: return std::get<CallablePtr>(data_).get();
    default: return nullptr;
  }
}

const Value* Dict::Find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (PyEquals(k, key)) return &v;
  return nullptr;
}

const Value* Dict::Find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.str() == key) return &v;
  return nullptr;
}

void Dict::Set(const Value& key, Value value) {
  for (auto& [k, v] : items) {
    if (PyEquals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

bool Truthy(const Value& v) {
  switch (v.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNone: return false;
    case Value::Type::kBool: return v.as_bool();
    case Value::Type::kInt: return v.as_int() != 0;
    case Value::Type::kFloat: return v.as_double() != 0.0;
    case Value::Type::kString: return !v.str().empty();
    case Value::Type::kList: return !v.list().items.empty();
    case Value::Type::kDict: return v.dict().is_namespace || v.dict().is_loop || !v.dict().items.empty();
    case Value::Type::kCallable: return true;
  }
  return false;
}

namespace {
// Values may nest 10^5 deep (a loop wrapping a list in a list) or hold themselves (x.append(x)):
// the recursive comparisons and reprs stop at this depth instead of overflowing the stack.
constexpr int kMaxValueDepth = 256;
// Element comparisons one comparison may make (lists sharing sub-lists can hold 2^60 paths).
constexpr int64_t kMaxCompareWork = int64_t{1} << 22;

bool EqualsAt(const Value& a, const Value& b, int depth, int64_t& work);
StatusOr<bool> LessAt(const Value& a, const Value& b, int depth, int64_t& work);
}  // namespace

bool PyEquals(const Value& a, const Value& b) {
  int64_t work = kMaxCompareWork;
  return EqualsAt(a, b, 0, work);
}

StatusOr<bool> PyLess(const Value& a, const Value& b) {
  int64_t work = kMaxCompareWork;
  return LessAt(a, b, 0, work);
}


namespace {

// Python compares an object with itself as equal without recursing; deeper than kMaxValueDepth
// (Python: RecursionError) counts as unequal.
bool EqualsAt(const Value& a, const Value& b, int depth, int64_t& work) {
  if (depth > kMaxValueDepth || --work < 0) return false;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNone: return true;
    case Value::Type::kString: return a.str() == b.str();
    case Value::Type::kList: {
      const auto& x = a.list();
      const auto& y = b.list();
      if (&x == &y) return true;
      if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i)
        if (!EqualsAt(x.items[i], y.items[i], depth + 1, work)) return false;
      return true;
    }
    case Value::Type::kDict: {
      const auto& x = a.dict();
      const auto& y = b.dict();
      if (x.is_namespace || y.is_namespace || x.is_loop || y.is_loop) return &x == &y;
      if (&x == &y) return true;
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.Find(k);
        if (other == nullptr || !EqualsAt(v, *other, depth + 1, work)) return false;
      }
      return true;
    }
    default: return a.identity() == b.identity();
  }
}

StatusOr<bool> LessAt(const Value& a, const Value& b, int depth, int64_t& work) {
  if (depth > kMaxValueDepth || --work < 0) return absl::InvalidArgumentError("comparison nested too deeply");
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order == code point order
  if (a.is_list() && b.is_list()) {
    const auto& x = a.list().items;
    const auto& y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (EqualsAt(x[i], y[i], depth + 1, work)) continue;
      return LessAt(x[i], y[i], depth + 1, work);
    }
    return x.size() < y.size();
  }
  return absl::InvalidArgumentError(ds::StrCat("'<' not supported between instances of '",
                                               PyTypeName(a), "' and '", PyTypeName(b), "'"));
}

}  // namespace

std::string PyFloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  std::string digits = sci.substr(0, epos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exp = std::stoi(sci.substr(epos + 1));
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {  // Python's repr switches to exponent form outside this range
    if (exp >= 0) {
      std::string ip = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
      ip.append(exp + 1 - ip.size(), '0');
      std::string fp = digits.size() > size_t(exp + 1) ? digits.substr(exp + 1) : "0";
      out.append(ip).append(".").append(fp);
    } else {
      out.append("0.").append(-exp - 1, '0').append(digits);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out.append(".").append(digits, 1, std::string::npos);
  char ebuf[16];
  std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + ebuf;
}

std::string PyStr(const Value& v) {
  switch (v.type()) {
    case Value::Type::kUndefined: return "";
    case Value::Type::kString: return v.str();
    default: return PyRepr(v);
  }
}

namespace {

std::string StrRepr(const std::string& s) {
  // Python picks single quotes unless the text has ' and no ".
  char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, q);
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = NextCodePoint(s, i);
    if (cp == static_cast<uint32_t>(q) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", cp);
      out += buf;
    } else {
      AppendUtf8(out, cp);
    }
  }
  out.push_back(q);
  return out;
}

}  // namespace

namespace {
// repr of v at nesting `depth`; a container already being printed (or deeper than kMaxValueDepth)
// prints as Python prints a cycle: [...] / {...}.
std::string ReprAt(const Value& v, int depth, std::vector<const void*>& open) {
  if (v.is_list() || (v.is_dict() && !v.dict().is_namespace)) {
    const void* self = v.is_list() ? static_cast<const void*>(&v.list()) : static_cast<const void*>(&v.dict());
    if (depth > kMaxValueDepth || std::find(open.begin(), open.end(), self) != open.end()) {
      return v.is_list() ? (v.list().is_tuple ? "(...)" : "[...]") : "{...}";
    }
  }
  switch (v.type()) {
    case Value::Type::kUndefined: return "Undefined";
    case Value::Type::kNone: return "None";
    case Value::Type::kBool: return v.as_bool() ? "True" : "False";
    case Value::Type::kInt: return std::to_string(v.as_int());
    case Value::Type::kFloat: return PyFloatRepr(v.as_double());
    case Value::Type::kString: return StrRepr(v.str());
    case Value::Type::kList: {
      const List& l = v.list();
      std::string out = l.is_tuple ? "(" : "[";
      open.push_back(&l);
      for (size_t i = 0; i < l.items.size() && out.size() <= kMaxTextSize; ++i) {  // shared sub-lists: bounded
        if (i) out += ", ";
        out += ReprAt(l.items[i], depth + 1, open);
      }
      open.pop_back();
      if (l.is_tuple && l.items.size() == 1) out += ",";
      return out + (l.is_tuple ? ")" : "]");
    }
    case Value::Type::kDict: {
      const Dict& d = v.dict();
      if (d.is_namespace) return "<Namespace>";
      std::string out = "{";
      open.push_back(&d);
      for (size_t i = 0; i < d.items.size() && out.size() <= kMaxTextSize; ++i) {
        if (i) out += ", ";
        out += ReprAt(d.items[i].first, depth + 1, open) + ": " + ReprAt(d.items[i].second, depth + 1, open);
      }
      open.pop_back();
      return out + "}";
    }
    case Value::Type::kCallable: return ds::StrCat("<function ", v.callable().name, ">");
  }
  return "";
}
}  // namespace

std::string PyRepr(const Value& v) {
  std::vector<const void*> open;
  return ReprAt(v, 0, open);
}

std::string PyTypeName(const Value& v) {
  switch (v.type()) {
    case Value::Type::kUndefined: return "Undefined";
    case Value::Type::kNone: return "NoneType";
    case Value::Type::kBool: return "bool";
    case Value::Type::kInt: return "int";
    case Value::Type::kFloat: return "float";
    case Value::Type::kString: return "str";
    case Value::Type::kList: return v.list().is_tuple ? "tuple" : "list";
    case Value::Type::kDict:
      return v.dict().is_namespace ? "Namespace" : v.dict().is_loop ? "LoopContext" : "dict";
    case Value::Type::kCallable: return "function";
  }
  return "object";
}

std::string ObjectTypeRepr(const Value& v) {
  if (v.is_none()) return "None";
  return PyTypeName(v) + " object";
}

Status UndefinedError(const Value& v) {
  const std::string& hint = v.undefined_hint();
  return absl::InvalidArgumentError(hint.empty() ? "value is undefined" : hint);
}

Value FromJson(const nlohmann::ordered_json& j) {
  using J = nlohmann::ordered_json;
  switch (j.type()) {
    case J::value_t::null: return Value(nullptr);
    case J::value_t::boolean: return Value(j.get<bool>());
    case J::value_t::number_integer: return Value(j.get<int64_t>());
    case J::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case J::value_t::number_float: return Value(j.get<double>());
    case J::value_t::string: return Value(j.get<std::string>());
    case J::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(FromJson(e));
      return Value::NewList(std::move(items));
    }
    case J::value_t::object: {
      Value d = Value::NewDict();
      for (auto it = j.begin(); it != j.end(); ++it)
        d.dict().items.emplace_back(Value(it.key()), FromJson(it.value()));
      return d;
    }
    default: return Value(nullptr);  // binary / discarded: not produced by the JSON parser
  }
}

namespace {

void JsonString(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = NextCodePoint(s, i);
    char buf[16];
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp < 0x20 || (ensure_ascii && cp >= 0x7F)) {
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
      }
      out += buf;
    } else {
      AppendUtf8(out, cp);
    }
  }
  out.push_back('"');
}

std::string JsonFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  return PyFloatRepr(d);
}

StatusOr<std::string> JsonKey(const Value& k) {
  switch (k.type()) {
    case Value::Type::kString: return k.str();
    case Value::Type::kNone: return std::string("null");
    case Value::Type::kBool: return std::string(k.as_bool() ? "true" : "false");
    case Value::Type::kInt: return std::to_string(k.as_int());
    case Value::Type::kFloat: return JsonFloat(k.as_double());
    default:
      return absl::InvalidArgumentError(
          ds::StrCat("keys must be str, int, float, bool or None, not ", PyTypeName(k)));
  }
}

Status Dump(std::string& out, const Value& v, const JsonDumpOptions& o, int depth) {
  if (depth > 512) return absl::InvalidArgumentError("tojson: value nested too deeply");
  const std::string item_sep = o.has_separators ? o.item_sep : (o.has_indent ? "," : ", ");
  const std::string key_sep = o.has_separators ? o.key_sep : ": ";
  if (out.size() > kMaxTextSize) return absl::InvalidArgumentError(ds::StrCat("tojson: result longer than ", kMaxTextSize, " characters"));
  auto newline = [&](int level) {
    if (!o.has_indent) return;
    out.push_back('\n');
    for (int i = 0; i < level; ++i) out += o.indent;
  };
  switch (v.type()) {
    case Value::Type::kNone: out += "null"; return absl::OkStatus();
    case Value::Type::kBool: out += v.as_bool() ? "true" : "false"; return absl::OkStatus();
    case Value::Type::kInt: out += std::to_string(v.as_int()); return absl::OkStatus();
    case Value::Type::kFloat: out += JsonFloat(v.as_double()); return absl::OkStatus();
    case Value::Type::kString: JsonString(out, v.str(), o.ensure_ascii); return absl::OkStatus();
    case Value::Type::kList: {
      const auto& items = v.list().items;
      if (items.empty()) {
        out += "[]";
        return absl::OkStatus();
      }
      out.push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        DS_RETURN_IF_ERROR(Dump(out, items[i], o, depth + 1));
      }
      newline(depth);
      out.push_back(']');
      return absl::OkStatus();
    }
    case Value::Type::kDict: {
      if (v.dict().is_namespace || v.dict().is_loop)
        break;
      std::vector<std::pair<std::string, const Value*>> items;
      for (const auto& [k, val] : v.dict().items) {
        DS_ASSIGN_OR_RETURN(std::string key, JsonKey(k));
        items.emplace_back(std::move(key), &val);
      }
      if (o.sort_keys)
        std::stable_sort(items.begin(), items.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      if (items.empty()) {
        out += "{}";
        return absl::OkStatus();
      }
      out.push_back('{');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        JsonString(out, items[i].first, o.ensure_ascii);
        out += key_sep;
        DS_RETURN_IF_ERROR(Dump(out, *items[i].second, o, depth + 1));
      }
      newline(depth);
      out.push_back('}');
      return absl::OkStatus();
    }
    default: break;
  }
  return absl::InvalidArgumentError(
      ds::StrCat("Object of type ", PyTypeName(v), " is not JSON serializable"));
}

}  // namespace

StatusOr<std::string> PyJsonDumps(const Value& v, const JsonDumpOptions& opts) {
  std::string out;
  DS_RETURN_IF_ERROR(Dump(out, v, opts, 0));
  return out;
}

}  // namespace ds::jinja
