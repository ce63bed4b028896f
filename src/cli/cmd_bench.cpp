// `deepseek bench`: prompt-processing and generation speed (llama-bench's pp/tg), the weight bytes
// one decoded token reads, the machine's read bandwidth measured in the same run with the same
// threads, and the fraction of it decode achieves. Progress on stderr; --json prints one object.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "api/model_impl.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "runtime/cpu/cpu_isa.h"
#include "runtime/memory_bandwidth.h"

namespace ds::cli {
namespace {

constexpr char kUsage[] =
    "usage: deepseek bench --model DIR [-p 512] [-n 128] [-d 0] [-t THREADS] [-r 3] [--json]\n"
    "                      [--precision f32|bf16] [--kv-bf16] [--mmap|--no-mmap] [--bw-mib 2048]\n"
    "       deepseek bench --bandwidth [-t THREADS] [--bw-mib 2048] [--json]\n"
    "  -p N  prompt tokens per prefill run (0 skips prefill)   -n N  generated tokens per run (0 skips)\n"
    "  -t N  threads (default: all cores)                       -r N  repetitions after one warm-up\n"
    "  -d N  tokens already in the context before each timed run (llama-bench's depth; untimed)\n"
    "  --bw-mib N  size of the read sweep that measures bandwidth (MiB)\n"
    "  --precision bf16  llama.cpp's arithmetic: prompt matmuls on bf16, decoding with 8-bit activations\n"
    "                    for GGUF block types and bf16 ones for bf16 weights (f32, the default, is exact)\n";

// llama-bench's short options mapped onto this CLI's long ones.
std::vector<std::string> ExpandShortOptions(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-p") out.push_back("--n-prompt");
    else if (a == "-n") out.push_back("--n-gen");
    else if (a == "-t") out.push_back("--threads");
    else if (a == "-r") out.push_back("--repetitions");
    else if (a == "-d") out.push_back("--n-depth");
    else if (a == "-m") out.push_back("--model");
    else out.push_back(a);
  }
  return out;
}

struct Stat {
  double mean = 0, sd = 0;
};
Stat MeanSd(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= v.size();
  if (v.size() > 1) {
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(s.sd / (v.size() - 1));
  }
  return s;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Peak resident set (VmHWM) in bytes, from /proc/self/status; 0 if unavailable.
int64_t PeakRssBytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return 0;
}

// Resets VmHWM so the bandwidth sweep's buffer does not count as the model's peak (Linux >= 4.0).
bool ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

struct BenchConfig {
  int64_t n_prompt = 512, n_gen = 128, n_depth = 0, reps = 3;
  int threads = 0;
  size_t bw_bytes = size_t{2048} << 20;
  bool json = false;
};

struct RunTimes {
  std::vector<double> pp, tg;  // tok/s per repetition
  std::vector<double> tg_sweep;  // GB/s of a read sweep run right before each tg repetition
  int64_t peak_rss = 0;          // VmHWM outside the sweeps
};

// Bandwidth on a shared host changes from minute to minute, so each decode repetition is paired
// with a sweep (a quarter of --bw-mib but at least 256 MiB or all of it, best of 3) taken just before it. The
// sweep's buffer is kept out of the peak RSS: the peak is read before it and reset after it.
StatusOr<double> PairedSweep(const BenchConfig& b, int threads, RunTimes& out) {
  out.peak_rss = std::max(out.peak_rss, PeakRssBytes());
  DS_ASSIGN_OR_RETURN(BandwidthResult r,
                      MeasureReadBandwidth(std::max(b.bw_bytes / 4, std::min(b.bw_bytes, size_t{256} << 20)), threads, 3));
  ResetPeakRss();
  return r.best_gb_s;
}

// A fresh sequence holding `depth` tokens already (prefilled, untimed).
StatusOr<std::unique_ptr<SequenceState>> SequenceAtDepth(const CausalLm& lm, const std::vector<int32_t>& context,
                                                         int64_t depth) {
  DS_ASSIGN_OR_RETURN(auto seq, lm.NewSequence());
  std::vector<float> logits;
  if (depth > 0) DS_RETURN_IF_ERROR(lm.Forward(*seq, std::span(context.data(), depth), false, logits));
  return seq;
}

// One prefill of n_prompt tokens after `depth` context tokens (tok/s).
StatusOr<double> TimePrefill(const CausalLm& lm, const std::vector<int32_t>& prompt,
                             const std::vector<int32_t>& context, int64_t depth) {
  DS_ASSIGN_OR_RETURN(auto seq, SequenceAtDepth(lm, context, depth));
  std::vector<float> logits;
  const auto t0 = std::chrono::steady_clock::now();
  DS_RETURN_IF_ERROR(lm.Forward(*seq, prompt, false, logits));
  return prompt.size() / Seconds(t0);
}

// n_gen single-token steps after `depth` context tokens, as llama-bench's tg (tok/s).
StatusOr<double> TimeDecode(const CausalLm& lm, const std::vector<int32_t>& tokens, int64_t n,
                            const std::vector<int32_t>& context, int64_t depth) {
  DS_ASSIGN_OR_RETURN(auto seq, SequenceAtDepth(lm, context, depth));
  std::vector<float> logits;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    DS_RETURN_IF_ERROR(lm.Forward(*seq, std::span<const int32_t>(&tokens[i % tokens.size()], 1), false, logits));
  }
  return n / Seconds(t0);
}

Status RunModelBench(const CausalLm& lm, const BenchConfig& b, int threads, RunTimes& out) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(lm.vocab_size() - 1));
  std::vector<int32_t> prompt(std::max<int64_t>(b.n_prompt, 1)), context(b.n_depth);
  for (auto& t : prompt) t = id(rng);
  for (auto& t : context) t = id(rng);
  std::fprintf(stderr, "bench: warm-up\n");
  if (b.n_prompt > 0) DS_RETURN_IF_ERROR(TimePrefill(lm, prompt, context, b.n_depth).status());
  if (b.n_gen > 0) DS_RETURN_IF_ERROR(TimeDecode(lm, prompt, std::min<int64_t>(b.n_gen, 4), context, b.n_depth).status());
  for (int64_t r = 0; r < b.reps; ++r) {
    if (b.n_prompt > 0) {
      DS_ASSIGN_OR_RETURN(double v, TimePrefill(lm, prompt, context, b.n_depth));
      out.pp.push_back(v);
      std::fprintf(stderr, "bench: rep %lld/%lld pp%lld %.2f tok/s\n", static_cast<long long>(r + 1),
                   static_cast<long long>(b.reps), static_cast<long long>(b.n_prompt), v);
    }
    if (b.n_gen > 0) {
      DS_ASSIGN_OR_RETURN(double sweep, PairedSweep(b, threads, out));
      DS_ASSIGN_OR_RETURN(double v, TimeDecode(lm, prompt, b.n_gen, context, b.n_depth));
      out.tg.push_back(v);
      out.tg_sweep.push_back(sweep);
      std::fprintf(stderr, "bench: rep %lld/%lld tg%lld %.2f tok/s (sweep just before: %.2f GB/s)\n",
                   static_cast<long long>(r + 1), static_cast<long long>(b.reps), static_cast<long long>(b.n_gen), v,
                   sweep);
    }
  }
  return absl::OkStatus();
}

StatusOr<BandwidthResult> Bandwidth(const BenchConfig& b, int threads) {
  std::fprintf(stderr, "bench: read sweep of %zu MiB on %d thread(s)\n", b.bw_bytes >> 20, threads);
  DS_ASSIGN_OR_RETURN(BandwidthResult r, MeasureReadBandwidth(b.bw_bytes, threads));
  std::fprintf(stderr, "bench: read bandwidth %.2f GB/s (best of %d; mean %.2f)\n", r.best_gb_s, r.passes,
               r.mean_gb_s);
  return r;
}

int BandwidthOnly(const BenchConfig& b) {
  const int threads = b.threads > 0 ? b.threads : omp_get_max_threads();
  auto bw = Bandwidth(b, threads);
  if (!bw.ok()) return Fail("bench", std::string(bw.status().message()));
  if (b.json) {
    std::printf("{\"bandwidth_gb_s\": %.4f, \"bandwidth_mean_gb_s\": %.4f, \"threads\": %d, \"bytes\": %zu}\n",
                bw->best_gb_s, bw->mean_gb_s, threads, bw->bytes);
  } else {
    std::printf("read bandwidth: %.2f GB/s (%d thread(s), %zu MiB sweep, best of %d passes; mean %.2f)\n",
                bw->best_gb_s, threads, bw->bytes >> 20, bw->passes, bw->mean_gb_s);
  }
  return 0;
}

void PrintReport(const deepseek::ModelInfo& info, const ModelStats& stats, const BenchConfig& b, int threads,
                 const char* precision, const RunTimes& t, const BandwidthResult& before,
                 const BandwidthResult& after, int64_t peak_rss) {
  const Stat pp = MeanSd(t.pp), tg = MeanSd(t.tg);
  const double bw = (before.best_gb_s + after.best_gb_s) / 2;
  const double wbytes = static_cast<double>(stats.active_weight_bytes);
  const double achieved = tg.mean * wbytes / 1e9;
  const double fraction = bw > 0 ? achieved / bw : 0;
  std::vector<double> paired;  // per repetition: achieved / its own sweep
  for (size_t i = 0; i < t.tg.size() && i < t.tg_sweep.size(); ++i) {
    if (t.tg_sweep[i] > 0) paired.push_back(t.tg[i] * wbytes / 1e9 / t.tg_sweep[i]);
  }
  const Stat pf = MeanSd(paired), sw = MeanSd(t.tg_sweep);
  if (b.json) {
    std::printf(
        "{\"model\": \"%s\", \"model_type\": \"%s\", \"threads\": %d, \"precision\": \"%s\", \"isa\": \"%s\", "
        "\"n_prompt\": %lld, \"n_gen\": %lld, \"n_depth\": %lld, \"repetitions\": %lld, "
        "\"pp_tok_s\": %.4f, \"pp_tok_s_sd\": %.4f, \"tg_tok_s\": %.4f, \"tg_tok_s_sd\": %.4f, "
        "\"weight_bytes_per_token\": %lld, \"achieved_gb_s\": %.4f, \"bandwidth_gb_s\": %.4f, "
        "\"bandwidth_before_gb_s\": %.4f, \"bandwidth_after_gb_s\": %.4f, \"bandwidth_fraction\": %.4f, "
        "\"paired_sweep_gb_s\": %.4f, \"paired_fraction\": %.4f, \"paired_fraction_sd\": %.4f, "
        "\"peak_rss_bytes\": %lld, \"total_params\": %lld, \"active_params\": %lld, \"weights\": \"%s\"}\n",
        info.path.c_str(), info.model_type.c_str(), threads, precision,
        std::string(cpu::CpuIsaName(cpu::ActiveCpuIsa())).c_str(), static_cast<long long>(b.n_prompt),
        static_cast<long long>(b.n_gen), static_cast<long long>(b.n_depth), static_cast<long long>(b.reps), pp.mean, pp.sd, tg.mean, tg.sd,
        static_cast<long long>(stats.active_weight_bytes), achieved, bw, before.best_gb_s, after.best_gb_s,
        fraction, sw.mean, pf.mean, pf.sd, static_cast<long long>(peak_rss), static_cast<long long>(info.total_params),
        static_cast<long long>(info.active_params), WeightsWhere(info));
    return;
  }
  std::printf("model:       %s (%s), %d thread(s), precision %s, isa %s\n", info.path.c_str(),
              info.model_type.c_str(), threads, precision, std::string(cpu::CpuIsaName(cpu::ActiveCpuIsa())).c_str());
  const std::string at = b.n_depth > 0 ? StrCat(" @ d", b.n_depth) : "";
  if (!t.pp.empty()) {
    std::printf("pp%-4lld      %.2f ± %.2f tok/s%s\n", static_cast<long long>(b.n_prompt), pp.mean, pp.sd, at.c_str());
  }
  if (!t.tg.empty()) {
    std::printf("tg%-4lld      %.2f ± %.2f tok/s%s\n", static_cast<long long>(b.n_gen), tg.mean, tg.sd, at.c_str());
  }
  std::printf("weights/tok: %.4f GB (%s)\n", wbytes / 1e9, WeightsWhere(info));
  std::printf("bandwidth:   %.2f GB/s (before %.2f, after %.2f)\n", bw, before.best_gb_s, after.best_gb_s);
  std::printf("decode:      %.2f GB/s achieved, fraction %.3f\n", achieved, fraction);
  if (!paired.empty()) {
    std::printf("paired:      fraction %.3f ± %.3f of a sweep just before each repetition (mean %.2f GB/s)\n",
                pf.mean, pf.sd, sw.mean);
  }
  std::printf("peak RSS:    %.1f MiB\n", peak_rss / 1048576.0);
}

}  // namespace

int RunBench(int argc, char** argv) {
  std::vector<std::string> expanded = ExpandShortOptions(argc, argv);
  std::vector<char*> ptrs;
  for (auto& s : expanded) ptrs.push_back(s.data());
  CliArgs args(static_cast<int>(ptrs.size()), ptrs.data(), WithModelFlags({"help", "json", "bandwidth"}));
  if (args.Flag("help")) return std::fputs(kUsage, stdout), 0;
  auto known = ModelOptionNames();
  known.insert({"model", "help", "json", "bandwidth", "n-prompt", "n-gen", "n-depth", "repetitions", "bw-mib"});
  BenchConfig b;
  b.n_prompt = args.GetInt("n-prompt", 512);
  b.n_gen = args.GetInt("n-gen", 128);
  b.n_depth = args.GetInt("n-depth", 0);
  b.reps = args.GetInt("repetitions", 3);
  b.threads = static_cast<int>(args.GetInt("threads", 0));
  const int64_t bw_mib = args.GetInt("bw-mib", 2048);
  b.json = args.Flag("json");
  std::string err = args.Validate(known);
  if (err.empty()) err = PrecisionError(args);
  if (err.empty() && (b.n_prompt < 0 || b.n_gen < 0 || b.n_depth < 0 || b.reps < 1 || b.threads < 0 || bw_mib < 1)) {
    err = "-p, -n and -d must be >= 0, -r >= 1, -t >= 0 and --bw-mib >= 1";
  }
  if (err.empty() && !args.Flag("bandwidth") && !args.Get("model")) err = "--model (or --bandwidth) is required";
  if (!err.empty()) return Fail("bench", err + "\n" + kUsage, 2);
  b.bw_bytes = static_cast<size_t>(bw_mib) << 20;
  if (args.Flag("bandwidth")) return BandwidthOnly(b);

  deepseek::ModelOptions opts = ModelOptionsFromArgs(args);
  opts.max_context = std::max<int64_t>(opts.max_context, b.n_depth + std::max(b.n_prompt, b.n_gen) + 1);
  const int threads = b.threads > 0 ? b.threads : omp_get_max_threads();
  opts.threads = threads;
  opts.load_mtp = false;  // plain decoding is measured; the MTP module's bytes are not counted either
  auto before = Bandwidth(b, threads);
  if (!before.ok()) return Fail("bench", std::string(before.status().message()));
  const bool rss_reset = ResetPeakRss();
  if (!opts.compute_bf16) {
    std::fprintf(stderr, "bench: exact f32 arithmetic (the default); llama.cpp rounds activations (to 8 bits for "
                         "quantized weights), which --precision bf16 also does\n");
  }
  std::fprintf(stderr, "bench: loading %s\n", args.Get("model")->c_str());
  auto model = deepseek::Model::Load(*args.Get("model"), opts);
  if (!model.ok()) return Fail("bench", model.status().message());
  const CausalLm& lm = *(*model)->impl().lm;
  RunTimes times;
  if (Status s = RunModelBench(lm, b, threads, times); !s.ok()) return Fail("bench", std::string(s.message()));
  const int64_t peak = std::max(times.peak_rss, PeakRssBytes());
  if (!rss_reset) std::fprintf(stderr, "bench: could not reset the peak RSS; it includes the read sweep\n");
  auto after = Bandwidth(b, threads);
  if (!after.ok()) return Fail("bench", std::string(after.status().message()));
  PrintReport((*model)->info(), lm.stats(), b, threads, opts.compute_bf16 ? "bf16" : "f32", times, *before, *after,
              peak);
  return 0;
}

}  // namespace ds::cli
