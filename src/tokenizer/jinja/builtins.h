// Runtime semantics shared by the interpreter: attribute/item access, Python operators, iteration,
// Jinja filters and tests, global functions, and str/dict/list methods.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tokenizer/jinja/value.h"

namespace ds::jinja {

// Whether the engine implements this filter / test (checked when the template is compiled).
bool HasFilter(std::string_view name);
bool HasTest(std::string_view name);
// Applies filter `name` to `input` with call arguments.
StatusOr<Value> ApplyFilter(Interpreter& in, std::string_view name, const Value& input, CallArgs& args);
// Applies test `name` (`input is name(args)`).
StatusOr<bool> ApplyTest(Interpreter& in, std::string_view name, const Value& input, CallArgs& args);

// Global functions: range, namespace, dict, raise_exception, strftime_now, cycler, joiner.
// Returns Undefined when `name` is not one.
Value LookupGlobal(std::string_view name);

// `obj.name`: Jinja's sandboxed getattr (dict methods first, then keys; str/list methods).
// Fails when `obj` is Undefined, as Jinja's default Undefined does.
StatusOr<Value> GetAttr(const Value& obj, const std::string& name);
// `obj[key]`: item first, then attribute; missing items give Undefined.
StatusOr<Value> GetItem(const Value& obj, const Value& key);
// `obj[start:stop:step]` for strings and lists (null bounds given as None).
StatusOr<Value> SliceOf(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Python iteration: list items, dict keys, string characters; Undefined iterates as empty.
StatusOr<std::vector<Value>> Iterate(const Value& v);
// Python binary operators + - * / // % ** on Jinja values.
StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b);
// Python `item in container`.
StatusOr<bool> Contains(const Value& container, const Value& item);
// Python len() for strings (code points), lists and dicts; Undefined has length 0.
StatusOr<int64_t> Length(const Value& v);
// Python printf-style `fmt % args` (%s %r %d %i %f %%), used by the `format` filter and `%`.
StatusOr<std::string> PercentFormat(const std::string& fmt, const Value& args);
// A str/dict/list method bound to `self`, or Undefined if `name` is not a supported method.
Value BoundMethod(const Value& self, const std::string& name);

// A parameter of a builtin: name, default, and whether the caller must supply it.
struct Param {
  const char* name;
  Value fallback = Value(nullptr);
  bool required = false;
};
// Binds positional and keyword arguments to `params` in order, like a Python signature.
StatusOr<std::vector<Value>> BindArgs(std::string_view fn, const CallArgs& args,
                                      const std::vector<Param>& params);

}  // namespace ds::jinja
