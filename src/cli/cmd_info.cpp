// `deepseek info --model DIR`: architecture, parameter counts, weight dtypes, KV-cache bytes/token.
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_options.h"

namespace ds::cli {
namespace {

std::string Human(double n, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (n >= 1000 && i < 4) {
    n /= 1000;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, i ? "%.2f %s%s" : "%.0f %s%s", n, prefixes[i], unit);
  return buf;
}

}  // namespace

int RunInfo(int argc, char** argv) {
  CliArgs args(argc, argv, WithModelFlags({"help"}));
  if (args.Flag("help")) return std::puts("usage: deepseek info --model DIR [--ctx N] [--kv-bf16] [--mmap|--no-mmap]"), 0;
  auto known = ModelOptionNames();
  known.insert({"model", "help"});
  std::string err = args.Validate(known);
  if (err.empty() && !args.Get("model")) err = "--model is required";
  if (!err.empty()) return Fail("info", err, 2);
  deepseek::ModelOptions options = ModelOptionsFromArgs(args);
  // Facts need no weight bytes: map the files (instant) unless --no-mmap asks to read them.
  if (!args.Flag("no-mmap")) options.weight_placement = deepseek::WeightPlacement::kMapFile;
  auto model = deepseek::Model::Load(*args.Get("model"), options);
  if (!model.ok()) return Fail("info", model.status().message());
  const deepseek::ModelInfo& i = (*model)->info();
  std::printf("model:            %s\n", i.path.c_str());
  std::printf("model_type:       %s\n", i.model_type.c_str());
  std::printf("architecture:     %s\n", i.architecture.c_str());
  std::printf("layers:           %lld\n", static_cast<long long>(i.num_layers));
  std::printf("hidden size:      %lld\n", static_cast<long long>(i.hidden_size));
  std::printf("vocabulary:       %lld\n", static_cast<long long>(i.vocab_size));
  std::printf("parameters:       %lld (%s)\n", static_cast<long long>(i.total_params), Human(i.total_params, "").c_str());
  std::printf("active per token: %lld (%s)\n", static_cast<long long>(i.active_params), Human(i.active_params, "").c_str());
  std::printf("weight dtypes:   ");
  for (const auto& [dtype, n] : i.params_by_dtype) std::printf(" %s=%lld", dtype.c_str(), static_cast<long long>(n));
  std::printf("\n");
  std::printf("KV cache:         %lld bytes/token (%s at %lld positions)\n",
              static_cast<long long>(i.kv_cache_bytes_per_token),
              Human(static_cast<double>(i.kv_cache_bytes_per_token) * i.max_context, "B").c_str(),
              static_cast<long long>(i.max_context));
  std::printf("memory:           weights %s (%s), %s per sequence (KV cache + scratch)\n",
              Human(static_cast<double>(i.weight_bytes), "B").c_str(), WeightsWhere(i),
              Human(static_cast<double>(i.sequence_bytes), "B").c_str());
  return 0;
}

}  // namespace ds::cli
