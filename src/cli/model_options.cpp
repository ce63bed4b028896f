#include "cli/model_options.h"

#include <unistd.h>

#include <cstdio>

#include "runtime/cpu/cpu_isa.h"
#include "runtime/cpu/matmul_cpu.h"

namespace ds::cli {

namespace {
// The value-less model options; the others take a value.
const std::set<std::string>& ModelFlags() {
  static const std::set<std::string> flags = {"kv-bf16", "quiet", "mmap", "no-mmap"};
  return flags;
}
}  // namespace

std::set<std::string> ModelOptionNames() {
  std::set<std::string> names = {"threads", "ctx", "memory-limit", "precision"};
  names.insert(ModelFlags().begin(), ModelFlags().end());
  return names;
}

std::set<std::string> WithModelFlags(std::set<std::string> flags) {
  flags.insert(ModelFlags().begin(), ModelFlags().end());
  return flags;
}

const char* WeightsWhere(const deepseek::ModelInfo& info) { return info.weights_in_memory ? "in memory" : "memory-mapped"; }

std::string PrecisionError(const CliArgs& args) {
  const std::string p = args.GetOr("precision", "f32");
  return p == "f32" || p == "bf16" ? "" : "--precision must be f32 or bf16, got '" + p + "'";
}

deepseek::ModelOptions ModelOptionsFromArgs(CliArgs& args) {
  deepseek::ModelOptions o;
  o.threads = static_cast<int>(args.GetInt("threads", 0));
  o.max_context = args.GetInt("ctx", 0);
  o.kv_cache_bf16 = args.Flag("kv-bf16");
  o.memory_limit_bytes = args.GetInt("memory-limit", 0);  // KV cache + scratch per sequence, bytes
  if (const std::string err = PrecisionError(args); !err.empty()) std::fprintf(stderr, "warning: %s; using f32\n", err.c_str());
  o.compute_bf16 = args.GetOr("precision", "f32") == "bf16";
  if (o.compute_bf16 && !args.Flag("quiet")) {
    if (const std::string exact = cpu::Bf16PrecisionFallbacks(); !exact.empty()) {
      std::fprintf(stderr, "note: --precision bf16 on this CPU (isa %s) keeps these in exact f32: %s\n",
                   std::string(cpu::CpuIsaName(cpu::ActiveCpuIsa())).c_str(), exact.c_str());
    }
  }
  // llama.cpp's flag names: --mmap keeps the files mapped, --no-mmap reads them into memory.
  if (args.Flag("mmap")) o.weight_placement = deepseek::WeightPlacement::kMapFile;
  if (args.Flag("no-mmap")) o.weight_placement = deepseek::WeightPlacement::kReadIntoMemory;
  if (!args.Flag("quiet") && isatty(STDERR_FILENO)) {
    o.progress = [](double f, const std::string& stage) {
      std::fprintf(stderr, "\rloading %s: %3d%%", stage.c_str(), static_cast<int>(f * 100));
      if (f >= 1.0) std::fprintf(stderr, "\n");
    };
  }
  return o;
}

}  // namespace ds::cli
