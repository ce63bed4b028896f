#include "common/json_util.h"

#include <cmath>

#include "common/mapped_file.h"

namespace ds {

StatusOr<Json> ParseJson(std::string_view text, std::string_view source) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse with exceptions only to recover the position in the message.
    try {
      Json unused = Json::parse(text.begin(), text.end());
      (void)unused;
    } catch (const Json::exception& e) {
      return InvalidFormat(StrCat(source, ": invalid JSON: ", e.what()));
    }
    return InvalidFormat(StrCat(source, ": invalid JSON"));
  }
  return j;
}

StatusOr<Json> ReadJsonFile(const std::string& path) {
  DS_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseJson(text, path);
}

std::string JsonSnippet(const Json& value) {
  std::string s = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

bool JsonFields::Has(std::string_view key) const {
  if (!obj_.is_object()) return false;
  auto it = obj_.find(std::string(key));
  return it != obj_.end() && !it->is_null();
}

Status JsonFields::Error(std::string_view key, std::string_view problem) const {
  return InvalidFormat(StrCat(source_, ": field '", key, "': ", problem));
}

StatusOr<const Json*> JsonFields::Get(std::string_view key, bool required) const {
  if (!obj_.is_object()) return InvalidFormat(StrCat(source_, ": expected a JSON object"));
  auto it = obj_.find(std::string(key));
  if (it == obj_.end() || it->is_null()) {
    if (required) return Error(key, "required but missing");
    return nullptr;
  }
  return &*it;
}

StatusOr<int64_t> JsonFields::RequiredInt(std::string_view key) const {
  DS_ASSIGN_OR_RETURN(const Json* v, Get(key, true));
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  return Error(key, StrCat("expected an integer, got ", JsonSnippet(*v)));
}

StatusOr<int64_t> JsonFields::OptionalInt(std::string_view key, int64_t fallback) const {
  if (!Has(key)) return fallback;
  return RequiredInt(key);
}

StatusOr<double> JsonFields::RequiredNumber(std::string_view key) const {
  DS_ASSIGN_OR_RETURN(const Json* v, Get(key, true));
  if (!v->is_number()) return Error(key, StrCat("expected a number, got ", JsonSnippet(*v)));
  return v->get<double>();
}

StatusOr<double> JsonFields::OptionalNumber(std::string_view key, double fallback) const {
  if (!Has(key)) return fallback;
  return RequiredNumber(key);
}

StatusOr<bool> JsonFields::OptionalBool(std::string_view key, bool fallback) const {
  if (!Has(key)) return fallback;
  DS_ASSIGN_OR_RETURN(const Json* v, Get(key, true));
  if (!v->is_boolean()) return Error(key, StrCat("expected true or false, got ", JsonSnippet(*v)));
  return v->get<bool>();
}

StatusOr<std::string> JsonFields::RequiredString(std::string_view key) const {
  DS_ASSIGN_OR_RETURN(const Json* v, Get(key, true));
  if (!v->is_string()) return Error(key, StrCat("expected a string, got ", JsonSnippet(*v)));
  return v->get<std::string>();
}

StatusOr<std::string> JsonFields::OptionalString(std::string_view key, std::string fallback) const {
  if (!Has(key)) return fallback;
  return RequiredString(key);
}

}  // namespace ds
