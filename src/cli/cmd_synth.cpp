// `deepseek synth --config CONFIG.json --out DIR [--layers N] [--dtype bf16|fp8] [--seed S]`:
// a random-weight HF checkpoint folder at a real model's shape, for benchmarks.
#include <cstdio>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "models/synthetic_checkpoint.h"

namespace ds::cli {
namespace {

constexpr char kUsage[] =
    "usage: deepseek synth --config CONFIG.json --out DIR [--layers N] [--dtype bf16|fp8] [--seed S]\n"
    "                      [--shard-mb MB] [--quiet]\n"
    "Writes DIR/config.json (num_hidden_layers = N if given) and random safetensors weights at the\n"
    "config's shape: bf16, or fp8 e4m3 with 128x128 f32 block scales (DeepSeek's FP8 layout).\n"
    "Files are split into model-0000i-of-0000N.safetensors past --shard-mb (default 4096).\n";

}  // namespace

int RunSynth(int argc, char** argv) {
  CliArgs args(argc, argv, {"help", "quiet"});
  if (args.Flag("help")) return std::fputs(kUsage, stdout), 0;
  SynthOptions o;
  o.layers = args.GetInt("layers", 0);
  o.seed = static_cast<uint64_t>(args.GetInt("seed", 0));
  const int64_t shard_mb = args.GetInt("shard-mb", 4096);
  std::string err = args.Validate({"config", "out", "layers", "dtype", "seed", "shard-mb", "help", "quiet"});
  if (err.empty() && (!args.Get("config") || !args.Get("out"))) err = "--config and --out are required";
  const std::string dtype = args.GetOr("dtype", "bf16");
  if (err.empty() && dtype != "bf16" && dtype != "fp8") err = "--dtype must be bf16 or fp8, got '" + dtype + "'";
  if (err.empty() && (args.Get("layers") && o.layers <= 0)) err = "--layers must be positive";
  if (err.empty() && shard_mb <= 0) err = "--shard-mb must be positive";
  if (err.empty() && args.GetInt("seed", 0) < 0) err = "--seed must not be negative";
  if (!err.empty()) return Fail("synth", err + "\n" + kUsage, 2);
  o.config_path = *args.Get("config");
  o.out_dir = *args.Get("out");
  o.fp8 = dtype == "fp8";
  o.shard_bytes = shard_mb << 20;
  const bool quiet = args.Flag("quiet");
  double last = -1;
  o.progress = [&](double f, const std::string&) {
    if (quiet || f - last < 0.01) return;
    last = f;
    std::fprintf(stderr, "\rsynth: %3.0f%%", f * 100);
  };
  auto summary = WriteSyntheticCheckpoint(o);
  if (!quiet) std::fprintf(stderr, "\n");
  if (!summary.ok()) return Fail("synth", std::string(summary.status().message()));
  std::printf("wrote %s: %lld tensors, %lld parameters, %lld bytes in %lld file(s)\n", o.out_dir.c_str(),
              static_cast<long long>(summary->tensors), static_cast<long long>(summary->params),
              static_cast<long long>(summary->bytes), static_cast<long long>(summary->files));
  return 0;
}

}  // namespace ds::cli
