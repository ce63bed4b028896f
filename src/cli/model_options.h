// Options shared by the subcommands that load a model (--threads, --ctx, --kv-bf16, --mmap, ...).
#pragma once

#include <set>
#include <string>

#include "cli/cli_args.h"
#include "deepseek/model.h"

namespace ds::cli {

// Option names understood by ModelOptionsFromArgs, to add to a command's known set.
std::set<std::string> ModelOptionNames();
// `flags` plus the value-less model options (--kv-bf16, --quiet, --mmap, --no-mmap), for CliArgs.
std::set<std::string> WithModelFlags(std::set<std::string> flags);
// "in memory" or "memory-mapped": where the loaded model's weights live, for reports.
const char* WeightsWhere(const deepseek::ModelInfo& info);
// "" if --precision is absent, f32 or bf16; otherwise the message to print.
std::string PrecisionError(const CliArgs& args);
// Fills options from --threads N, --ctx N, --kv-bf16, --precision f32|bf16 (reduced-precision
// activations: bf16 in multi-token matmuls and in decode on bf16 weights, 8-bit in decode on GGUF
// block-quantized weights),
// --mmap / --no-mmap (keep the weight files mapped / read them into memory; default: into memory
// when they take at most half the available memory), --quiet (no progress bar on stderr). With
// --precision bf16 it notes on stderr (unless --quiet) which parts this CPU keeps in exact f32.
deepseek::ModelOptions ModelOptionsFromArgs(CliArgs& args);

}  // namespace ds::cli
