// `deepseek logits --model DIR --tokens 1,2,3 --out FILE`: teacher-forced f32 logits of every
// position, written as a safetensors file holding one tensor `logits` [T, vocab].
#include <cstdio>
#include <cstring>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "loader/safetensors_writer.h"

namespace ds::cli {
namespace {

constexpr char kUsage[] =
    "usage: deepseek logits --model DIR --tokens ID,ID,... --out FILE.safetensors\n"
    "                       [--threads N] [--ctx N] [--mmap|--no-mmap] [--precision f32|bf16] [--kv-bf16]\n";

// Parses "1,2,3" (spaces allowed); returns an error message or "".
std::string ParseTokens(const std::string& text, std::vector<int32_t>& out) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    while (j < text.size() && text[j] != ',' && text[j] != ' ') ++j;
    const std::string item = text.substr(i, j - i);
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > INT32_MAX) return "bad token id '" + item + "'";
    out.push_back(static_cast<int32_t>(v));
    i = j;
  }
  if (out.empty()) return "--tokens holds no token ids";
  return "";
}

}  // namespace

int RunLogits(int argc, char** argv) {
  CliArgs args(argc, argv, WithModelFlags({"help"}));
  if (args.Flag("help")) return std::fputs(kUsage, stdout), 0;
  auto known = ModelOptionNames();
  known.insert({"model", "tokens", "out", "help"});
  std::string err = args.Validate(known);
  if (err.empty() && (!args.Get("model") || !args.Get("tokens") || !args.Get("out"))) {
    err = "--model, --tokens and --out are required";
  }
  if (!err.empty()) return Fail("logits", err + "\n" + kUsage, 2);
  std::vector<int32_t> tokens;
  err = ParseTokens(*args.Get("tokens"), tokens);
  if (!err.empty()) return Fail("logits", err, 2);
  deepseek::ModelOptions options = ModelOptionsFromArgs(args);
  if (options.max_context == 0) options.max_context = static_cast<int64_t>(tokens.size());
  auto model = deepseek::Model::Load(*args.Get("model"), options);
  if (!model.ok()) return Fail("logits", model.status().message());
  auto logits = (*model)->Logits(tokens);
  if (!logits.ok()) return Fail("logits", logits.status().message());
  SafetensorsTensorData t{"logits", "F32", {static_cast<int64_t>(tokens.size()), (*model)->info().vocab_size}, {}};
  t.bytes.resize(logits->size() * sizeof(float));
  std::memcpy(t.bytes.data(), logits->data(), t.bytes.size());
  absl::Status s = WriteSafetensors(*args.Get("out"), {t});
  if (!s.ok()) return Fail("logits", std::string(s.message()));
  return 0;
}

}  // namespace ds::cli
