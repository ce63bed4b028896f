#include "cli/cli_args.h"

#include <cstdio>
#include <cstdlib>

namespace ds::cli {

CliArgs::CliArgs(int argc, char** argv, std::set<std::string> flags) : flag_names_(std::move(flags)) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      values_[name.substr(0, eq)] = name.substr(eq + 1);
    } else if (flag_names_.count(name)) {
      flags_seen_.insert(name);
    } else if (i + 1 < argc) {
      values_[name] = argv[++i];
    } else {
      errors_.push_back("option --" + name + " needs a value");
    }
  }
}

std::optional<std::string> CliArgs::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CliArgs::GetOr(const std::string& name, const std::string& fallback) const {
  auto v = Get(name);
  return v ? *v : fallback;
}

int64_t CliArgs::GetInt(const std::string& name, int64_t fallback) {
  auto v = Get(name);
  if (!v) return fallback;
  char* end = nullptr;
  long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0') {
    errors_.push_back("option --" + name + ": expected an integer, got '" + *v + "'");
    return fallback;
  }
  return x;
}

double CliArgs::GetDouble(const std::string& name, double fallback) {
  auto v = Get(name);
  if (!v) return fallback;
  char* end = nullptr;
  double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0') {
    errors_.push_back("option --" + name + ": expected a number, got '" + *v + "'");
    return fallback;
  }
  return x;
}

std::string CliArgs::Validate(const std::set<std::string>& known) const {
  if (!errors_.empty()) return errors_.front();
  for (const auto& [k, v] : values_) {
    if (!known.count(k)) return "unknown option --" + k;
    if (flag_names_.count(k)) return "option --" + k + " takes no value";
  }
  for (const auto& k : flags_seen_) {
    if (!known.count(k)) return "unknown option --" + k;
  }
  return "";
}

int Fail(const std::string& command, const std::string& message, int code) {
  std::fprintf(stderr, "deepseek %s: %s\n", command.c_str(), message.c_str());
  return code;
}

}  // namespace ds::cli
