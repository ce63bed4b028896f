// `deepseek tokenize`: JSON Lines in, JSON Lines out, with a Hugging Face tokenizer.json.
//   encode (default): {"text": "..."} per line -> {"ids": [...]}
//   --decode:         {"ids": [...]}  per line -> {"text": "..."}
// Blank lines are skipped; any other bad line stops with an error naming its line number.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "common/json_util.h"
#include "loader/gguf_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace ds::cli {
namespace {

constexpr char kCmd[] = "tokenize";
constexpr char kUsage[] =
    "usage: deepseek tokenize --tokenizer PATH [--decode] [--add-special-tokens]\n"
    "                         [--skip-special-tokens] [--timing]\n"
    "  PATH: tokenizer.json, a folder holding it (and tokenizer_config.json), or a GGUF model file.\n"
    "  Reads JSON Lines on stdin: {\"text\": ...} (or {\"ids\": [...]} with --decode) and writes\n"
    "  {\"ids\": [...]} (or {\"text\": ...}) lines in the same order. By default nothing is added\n"
    "  around the text; special-token strings inside it are still recognised.\n"
    "  --timing prints load and processing times to stderr.\n";

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Converts one input line; returns an error message (without the line number) or "".
std::string ProcessLine(const Tokenizer& tok, const std::string& line, bool decode,
                        bool add_special, bool skip_special, std::string* out) {
  auto parsed = ParseJson(line, "input");
  if (!parsed.ok()) return std::string(parsed.status().message());
  const Json& j = *parsed;
  if (!j.is_object()) return "expected a JSON object";
  if (decode) {
    auto it = j.find("ids");
    if (it == j.end() || !it->is_array()) return "expected {\"ids\": [...]}";
    std::vector<int32_t> ids;
    for (const Json& v : *it) {
      if (!v.is_number_integer()) return "ids must be integers";
      const int64_t id = v.get<int64_t>();
      if (id < 0 || id >= tok.vocab_size()) return StrCat("id ", id, " is out of range");
      ids.push_back(static_cast<int32_t>(id));
    }
    *out = Json{{"text", tok.Decode(ids, skip_special)}}.dump(-1, ' ', false,
                                                             Json::error_handler_t::replace);
    return "";
  }
  auto it = j.find("text");
  if (it == j.end() || !it->is_string()) return "expected {\"text\": \"...\"}";
  auto ids = tok.Encode(it->get_ref<const std::string&>(), add_special);
  if (!ids.ok()) return std::string(ids.status().message());
  out->assign("{\"ids\":[");
  for (size_t i = 0; i < ids->size(); ++i) {
    if (i) out->push_back(',');
    out->append(std::to_string((*ids)[i]));
  }
  out->append("]}");
  return "";
}

}  // namespace

int RunTokenize(int argc, char** argv) {
  CliArgs args(argc, argv, {"decode", "add-special-tokens", "skip-special-tokens", "timing", "help"});
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string problem = args.Validate(
      {"tokenizer", "decode", "add-special-tokens", "skip-special-tokens", "timing", "help"});
  if (!problem.empty()) return Fail(kCmd, StrCat(problem, "\n", kUsage), 2);
  const auto path = args.Get("tokenizer");
  if (!path) return Fail(kCmd, StrCat("--tokenizer is required\n", kUsage), 2);
  const bool decode = args.Flag("decode");
  const bool timing = args.Flag("timing");

  const auto load_start = Clock::now();
  auto tok = LoadTokenizerFromAnyFile(*path);  // tokenizer.json, its folder, or a GGUF file
  if (!tok.ok()) return Fail(kCmd, tok.status().ToString());
  const double load_ms = MsSince(load_start);

  std::ios::sync_with_stdio(false);
  const auto run_start = Clock::now();
  std::string line, out;
  size_t line_no = 0, bytes = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    bytes += line.size();
    const std::string err = ProcessLine(**tok, line, decode, args.Flag("add-special-tokens"),
                                        args.Flag("skip-special-tokens"), &out);
    if (!err.empty()) return Fail(kCmd, StrCat("stdin line ", line_no, ": ", err));
    out.push_back('\n');
    std::cout << out;
  }
  std::cout.flush();
  if (!std::cout) return Fail(kCmd, "cannot write to stdout");
  if (timing) {
    const double run_ms = MsSince(run_start);
    std::fprintf(stderr, "tokenize: load %.1f ms, %s %zu lines (%zu bytes of JSON) in %.1f ms\n",
                 load_ms, decode ? "decoded" : "encoded", line_no, bytes, run_ms);
  }
  return 0;
}

}  // namespace ds::cli
