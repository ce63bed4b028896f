// `deepseek`: the command-line front end. Subcommands are listed in kCommands.
#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/commands.h"
#include "cli/omp_env.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"logits", "write teacher-forced logits of a token sequence to a safetensors file", ds::cli::RunLogits},
    {"info", "print a model's architecture, parameter counts, dtypes and KV-cache size", ds::cli::RunInfo},
    {"run", "generate text from a prompt, streamed to stdout", ds::cli::RunRun},
    {"chat", "interactive multi-turn chat in the terminal", ds::cli::RunChat},
    {"version", "print the library version", ds::cli::RunVersion},
    {"tokenize", "encode / decode JSON Lines with a tokenizer.json", ds::cli::RunTokenize},
    {"chat-template", "render a model's chat template for a conversation", ds::cli::RunChatTemplate},
    {"bench", "prefill/decode tok/s, weight bytes per token and memory-bandwidth fraction", ds::cli::RunBench},
    {"synth", "write a random-weight checkpoint at a real model's shape (benchmarks)", ds::cli::RunSynth},
    {"quantize", "convert an HF checkpoint folder to GGUF (bf16, q8_0, q4_k_m, q6_k)", ds::cli::RunQuantize},
};

void PrintUsage() {
  std::fprintf(stderr, "usage: deepseek <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(stderr, "  %-14s %s\n", c.name, c.summary);
  std::fprintf(stderr, "\nRun `deepseek <command> --help` for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  ds::cli::PreferShortOmpSpins(argv);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    PrintUsage();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "deepseek %s: internal error: %s\n", c.name, e.what());
        return 3;
      }
    }
  }
  std::fprintf(stderr, "deepseek: unknown command '%s'\n\n", argv[1]);
  PrintUsage();
  return 2;
}
