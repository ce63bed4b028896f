// JSON parsing with errors that name the file and the field (nlohmann::json underneath).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ds {

using Json = nlohmann::json;

// Parses `text`; `source` (a file name) prefixes any error. Never throws.
StatusOr<Json> ParseJson(std::string_view text, std::string_view source);

// Reads and parses a JSON file.
StatusOr<Json> ReadJsonFile(const std::string& path);

// Typed field access on an object. `Required*` fail if the key is missing or null; `Optional*`
// return `fallback` then. Both fail with "<source>: field '<key>': expected <type>, got <...>" on a
// wrong type, so a string where a number belongs is an error, not a silent zero.
class JsonFields {
 public:
  JsonFields(const Json& obj, std::string source) : obj_(obj), source_(std::move(source)) {}

  bool Has(std::string_view key) const;
  StatusOr<int64_t> RequiredInt(std::string_view key) const;
  StatusOr<int64_t> OptionalInt(std::string_view key, int64_t fallback) const;
  StatusOr<double> RequiredNumber(std::string_view key) const;
  StatusOr<double> OptionalNumber(std::string_view key, double fallback) const;
  StatusOr<bool> OptionalBool(std::string_view key, bool fallback) const;
  StatusOr<std::string> RequiredString(std::string_view key) const;
  StatusOr<std::string> OptionalString(std::string_view key, std::string fallback) const;

  const Json& json() const { return obj_; }
  const std::string& source() const { return source_; }
  Status Error(std::string_view key, std::string_view problem) const;

 private:
  StatusOr<const Json*> Get(std::string_view key, bool required) const;
  const Json& obj_;
  std::string source_;
};

// A short printable rendering of a JSON value for error messages (truncated).
std::string JsonSnippet(const Json& value);

}  // namespace ds
