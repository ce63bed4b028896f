// Command-line parsing shared by every `deepseek` subcommand: `--name value`, `--name=value`, `--flag`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ds::cli {

class CliArgs {
 public:
  // argv[0] is the subcommand name. `flags` lists the options that take no value.
  CliArgs(int argc, char** argv, std::set<std::string> flags);

  // Value of `--name`, if given.
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // True if the value-less option `--name` was given.
  bool Flag(const std::string& name) const { return flags_seen_.count(name) > 0; }
  // Parsed numbers; on a malformed value, records an error and returns the fallback.
  int64_t GetInt(const std::string& name, int64_t fallback);
  double GetDouble(const std::string& name, double fallback);

  // First problem found (unknown option, missing value, bad number), or empty if none. `known`
  // lists every option the command accepts (with or without value).
  std::string Validate(const std::set<std::string>& known) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string> flag_names_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_seen_;
  std::vector<std::string> positional_;
  std::vector<std::string> errors_;
};

// Prints "deepseek <command>: <message>" to stderr and returns the exit code 1 (or 2 for usage).
int Fail(const std::string& command, const std::string& message, int code = 1);

}  // namespace ds::cli
