// `deepseek quantize --model DIR --out FILE.gguf --type bf16|f16|q8_0|q4_k_m|q6_k|...`: converts a Hugging
// Face checkpoint folder (bf16, or DeepSeek's FP8 with 128x128 block scales) into a GGUF file in
// llama.cpp's layout, streaming one tensor at a time.
#include <cstdio>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "loader/hf_to_gguf.h"

namespace ds::cli {

int RunQuantize(int argc, char** argv) {
  CliArgs args(argc, argv, {"help", "quiet"});
  if (args.Flag("help")) {
    return std::puts("usage: deepseek quantize --model DIR --out FILE.gguf --type bf16|f16|q8_0|q4_k_m|q6_k|q5_k_m|q4_0\n"
                     "                         [--tokenizer DIR] [--quiet]"), 0;
  }
  std::string err = args.Validate({"model", "out", "type", "tokenizer", "help", "quiet"});
  if (err.empty() && (!args.Get("model") || !args.Get("out") || !args.Get("type"))) {
    err = "--model, --out and --type are required";
  }
  if (!err.empty()) return Fail("quantize", err, 2);
  auto mix = ParseGgufMix(*args.Get("type"));
  if (!mix.ok()) return Fail("quantize", std::string(mix.status().message()), 2);
  HfToGgufOptions opts;
  opts.mix = *mix;
  opts.tokenizer_path = args.GetOr("tokenizer", "");
  const bool quiet = args.Flag("quiet");
  opts.progress = [quiet](size_t done, size_t total, const std::string& name) {
    if (!quiet) std::fprintf(stderr, "\r[%zu/%zu] %-48s", done, total, name.c_str());
  };
  const Status s = ConvertHfToGguf(*args.Get("model"), *args.Get("out"), opts);
  if (!quiet) std::fputc('\n', stderr);
  if (!s.ok()) return Fail("quantize", std::string(s.message()));
  if (!quiet) std::fprintf(stderr, "wrote %s\n", args.Get("out")->c_str());
  return 0;
}

}  // namespace ds::cli
