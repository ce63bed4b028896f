// The Jinja engine's runtime value: Python's None/bool/int/float/str/list/tuple/dict plus Jinja's
// Undefined, namespaces and callables. Lists and dicts are shared by reference, as in Python, so
// `ns.items.append(x)` and namespace attribute assignment are seen by every holder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ds::jinja {

// Limits that keep a hostile template from hanging or exhausting memory (a chat template is data
// downloaded with the model). Real templates stay orders of magnitude below them.
inline constexpr size_t kMaxTextSize = size_t{1} << 24;       // characters in one string or output
inline constexpr size_t kMaxSequenceSize = size_t{1} << 22;   // items in one list
inline constexpr int64_t kMaxLoopIterations = 100000;         // loop iterations per render

class Value;
class Interpreter;
struct List;
struct Dict;
struct Callable;
using ListPtr = std::shared_ptr<List>;
using DictPtr = std::shared_ptr<Dict>;
using CallablePtr = std::shared_ptr<const Callable>;

// Jinja's default Undefined: prints empty, is falsy, iterates as empty; most other uses fail with
// `hint` ("'x' is undefined", "'dict object' has no attribute 'y'").
struct UndefinedTag {
  std::string hint;
};

class Value {
 public:
  enum class Type { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() : data_(UndefinedTag{}) {}
  Value(std::nullptr_t) : data_(nullptr) {}  // NOLINT: None
  Value(bool b) : data_(b) {}                // NOLINT
  Value(int i) : data_(static_cast<int64_t>(i)) {}  // NOLINT
  Value(int64_t i) : data_(i) {}            // NOLINT
  Value(double d) : data_(d) {}             // NOLINT
  Value(std::string s) : data_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : data_(std::string(s)) {}  // NOLINT
  Value(const char* s) : data_(std::string(s)) {}  // NOLINT
  Value(ListPtr l) : data_(std::move(l)) {}  // NOLINT
  Value(DictPtr d) : data_(std::move(d)) {}  // NOLINT
  Value(CallablePtr c) : data_(std::move(c)) {}  // NOLINT

  static Value Undefined(std::string hint) { return Value(UndefinedTag{std::move(hint)}); }
  static Value NewList(std::vector<Value> items = {}, bool is_tuple = false);
  static Value NewDict();

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_undefined() const { return type() == Type::kUndefined; }
  bool is_none() const { return type() == Type::kNone; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_float() const { return type() == Type::kFloat; }
  bool is_string() const { return type() == Type::kString; }
  bool is_list() const { return type() == Type::kList; }
  bool is_dict() const { return type() == Type::kDict; }
  bool is_callable() const { return type() == Type::kCallable; }
  // Python numbers: bool, int and float (bool is an int subclass in Python).
  bool is_number() const { return is_bool() || is_int() || is_float(); }
  bool is_integral() const { return is_bool() || is_int(); }

  bool as_bool() const { return std::get<bool>(data_); }
  // Integer value of a bool or int.
  int64_t as_int() const { return is_bool() ? (as_bool() ? 1 : 0) : std::get<int64_t>(data_); }
  // Float value of any number.
  double as_double() const { return is_float() ? std::get<double>(data_) : double(as_int()); }
  const std::string& str() const { return std::get<std::string>(data_); }
  List& list() const { return *std::get<ListPtr>(data_); }
  Dict& dict() const { return *std::get<DictPtr>(data_); }
  const Callable& callable() const { return *std::get<CallablePtr>(data_); }
  const std::string& undefined_hint() const { return std::get<UndefinedTag>(data_).hint; }
  const void* identity() const;  // shared object address, for `is sameas` and callables

 private:
  explicit Value(UndefinedTag u) : data_(std::move(u)) {}
  std::variant<UndefinedTag, std::nullptr_t, bool, int64_t, double, std::string, ListPtr, DictPtr,
               CallablePtr>
      data_;
};

struct List {
  std::vector<Value> items;
  bool is_tuple = false;  // only changes how it prints: (1, 2)
};

// Insertion-ordered, like Python dicts. Linear lookup: chat-template dicts are small.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  bool is_namespace = false;  // created by namespace(): attributes only, assignable with set
  bool is_loop = false;       // the `loop` variable of a for loop

  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;
  void Set(const Value& key, Value value);
};

// Lists and dicts are reference-counted, so a template that makes one hold itself (x.append(x), a
// namespace attribute set to the namespace) builds a cycle that would never be freed. While an arena
// is alive, every list and dict made on its thread is recorded; its destructor empties the ones still
// alive, which can only be such cycles once the render's frames are gone. Declare it before them.
class ContainerArena {
 public:
  ContainerArena();
  ~ContainerArena();
  ContainerArena(const ContainerArena&) = delete;
  ContainerArena& operator=(const ContainerArena&) = delete;

  // Records a new container with the thread's current arena, if any.
  static void Record(const ListPtr& l);
  static void Record(const DictPtr& d);

 private:
  void PruneIfLarge();

  std::vector<std::weak_ptr<List>> lists_;
  std::vector<std::weak_ptr<Dict>> dicts_;
  size_t prune_at_ = 1024;  // records kept before the expired ones are dropped
  ContainerArena* previous_;
};

// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A builtin function, bound method or macro. The interpreter gives access to output capture and
// error locations.
struct Callable {
  std::string name;
  std::function<StatusOr<Value>(Interpreter&, CallArgs&)> fn;
};

// Python truthiness (Undefined is false).
bool Truthy(const Value& v);
// Python ==, with bool/int/float compared numerically and lists/dicts compared deeply.
bool PyEquals(const Value& a, const Value& b);
// Python <, for numbers, strings and lists; an error for other pairs.
StatusOr<bool> PyLess(const Value& a, const Value& b);
// Python str(): what `{{ v }}` prints (Undefined prints empty).
std::string PyStr(const Value& v);
// Python repr(), used inside printed lists and dicts.
std::string PyRepr(const Value& v);
// Python float repr (shortest round-trip, "1e+16", "1.0").
std::string PyFloatRepr(double d);
// Python type name for error messages ("str", "NoneType", "dict").
std::string PyTypeName(const Value& v);
// Jinja's object_type_repr: "dict object", "None".
std::string ObjectTypeRepr(const Value& v);
// The error for using an Undefined value where Jinja fails.
Status UndefinedError(const Value& v);

// Deep conversion from JSON (objects keep their key order).
Value FromJson(const nlohmann::ordered_json& j);

// Python json.dumps(v, ensure_ascii, indent, separators, sort_keys) as HF's tojson calls it.
// Undefined and callables are not serializable (error).
struct JsonDumpOptions {
  bool ensure_ascii = false;
  bool has_indent = false;  // indent=None when false
  std::string indent;       // one level of indentation
  bool has_separators = false;
  std::string item_sep, key_sep;
  bool sort_keys = false;
};
StatusOr<std::string> PyJsonDumps(const Value& v, const JsonDumpOptions& opts);

}  // namespace ds::jinja
