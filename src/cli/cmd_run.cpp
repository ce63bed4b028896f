// `deepseek run`: one generation streamed to stdout; `deepseek chat`: an interactive conversation.
#include <csignal>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/model_options.h"
#include "deepseek/generate.h"

namespace ds::cli {
namespace {

constexpr char kRunUsage[] =
    "usage: deepseek run [--model DIR] --prompt TEXT [--chat] [--system TEXT] [--max-tokens N]\n"
    "                    [--temperature T] [--top-p P] [--top-k K] [--min-p P] [--seed S]\n"
    "                    [--stop TEXT] [--show-reasoning] [--tokenizer PATH] [--threads N] [--ctx N]\n"
    "                    [--mtp auto|on|off] [--draft N] [--memory-limit BYTES] [--mmap|--no-mmap]\n"
    "                    [--precision f32|bf16] [--kv-bf16]\n"
    "       deepseek chat [--model DIR] [same sampling options]\n"
    "Without --model, the bundled demo model is used ($DEEPSEEK_MODEL, else models/deepseek-demo\n"
    "from the install's share/deepseek or the source tree).\n";

std::atomic<bool> g_cancel{false};
void OnSigint(int) { g_cancel.store(true); }

struct Loaded {
  std::unique_ptr<deepseek::Model> model;
  std::unique_ptr<deepseek::Tokenizer> tokenizer;
};

std::set<std::string> KnownOptions() {
  auto k = ModelOptionNames();
  k.insert({"model", "prompt", "chat", "system", "max-tokens", "temperature", "top-p", "top-k", "min-p", "seed",
            "stop", "show-reasoning", "tokenizer", "help", "repetition-penalty", "mtp", "draft"});
  return k;
}

deepseek::GenerateOptions GenerateOptionsFromArgs(CliArgs& a) {
  deepseek::GenerateOptions g;
  g.max_tokens = a.GetInt("max-tokens", g.max_tokens);
  g.sampling.temperature = static_cast<float>(a.GetDouble("temperature", g.sampling.temperature));
  g.sampling.top_p = static_cast<float>(a.GetDouble("top-p", g.sampling.top_p));
  g.sampling.top_k = static_cast<int32_t>(a.GetInt("top-k", g.sampling.top_k));
  g.sampling.min_p = static_cast<float>(a.GetDouble("min-p", g.sampling.min_p));
  g.sampling.repetition_penalty = static_cast<float>(a.GetDouble("repetition-penalty", 1.0));
  g.sampling.seed = static_cast<uint64_t>(a.GetInt("seed", 0));
  if (auto s = a.Get("stop")) g.stop.push_back(*s);
  const std::string mtp = a.GetOr("mtp", "auto");
  g.mtp = mtp == "on" ? deepseek::MtpMode::kOn : (mtp == "off" ? deepseek::MtpMode::kOff : deepseek::MtpMode::kAuto);
  g.draft_tokens = static_cast<int32_t>(a.GetInt("draft", g.draft_tokens));
  g.cancel = &g_cancel;
  return g;
}

// --model, else the bundled demo model; "" (after printing why) when neither is there.
std::string ModelDir(const char* cmd, CliArgs& a) {
  if (auto m = a.Get("model")) return *m;
  std::string dir = FindDefaultModel();
  if (dir.empty()) {
    std::string looked;
    for (const std::string& c : DefaultModelCandidates()) looked += "\n  " + c;
    Fail(cmd, "no --model given and no bundled model found; looked in:" + looked);
  } else if (!a.Flag("quiet")) {
    std::fprintf(stderr, "(no --model given: using the bundled demo model %s)\n", dir.c_str());
  }
  return dir;
}

// Loads model and tokenizer; prints the error and returns false on failure.
bool LoadAll(const char* cmd, CliArgs& a, Loaded& out) {
  const std::string dir = ModelDir(cmd, a);
  if (dir.empty()) return false;
  deepseek::ModelOptions options = ModelOptionsFromArgs(a);
  options.load_mtp = a.GetOr("mtp", "auto") != "off";  // --mtp off: not even loaded
  auto model = deepseek::Model::Load(dir, options);
  if (!model.ok()) return Fail(cmd, model.status().message()), false;
  auto tok = deepseek::Tokenizer::Load(a.GetOr("tokenizer", dir));
  if (!tok.ok()) return Fail(cmd, tok.status().message()), false;
  out.model = std::move(model).value();
  out.tokenizer = std::move(tok).value();
  return true;
}

// Streams pieces: reasoning (when shown) dimmed on a terminal, the answer plain.
deepseek::StreamCallback Printer(bool show_reasoning) {
  return [show_reasoning](std::string_view piece, deepseek::Channel ch) {
    if (ch == deepseek::Channel::kReasoning && !show_reasoning) return true;
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  };
}

void PrintStats(const deepseek::GenerateResult& r) {
  static const char* kFinish[] = {"stop", "length", "cancelled"};
  std::fprintf(stderr, "\n[prompt %lld tokens, %.1f tok/s | output %lld tokens, %.1f tok/s | finish: %s]\n",
               static_cast<long long>(r.prompt_tokens), r.prefill_tokens_per_second,
               static_cast<long long>(r.completion_tokens), r.decode_tokens_per_second,
               kFinish[static_cast<int>(r.finish_reason)]);
  if (r.mtp_used) {
    std::string by_position;
    for (double v : r.acceptance_by_position) {
      char buf[16];
      std::snprintf(buf, sizeof buf, " %.0f%%", v * 100);
      by_position += buf;
    }
    std::fprintf(stderr, "[MTP: %lld/%lld drafts accepted (%.1f%%); acceptance by draft position:%s]\n",
                 static_cast<long long>(r.accepted_tokens), static_cast<long long>(r.drafted_tokens),
                 100.0 * r.acceptance_rate, by_position.c_str());
  }
}

// --mtp must be auto, on or off; --draft in [0, 16].
std::string ValidateMtpArgs(CliArgs& a) {
  const std::string mtp = a.GetOr("mtp", "auto");
  if (mtp != "auto" && mtp != "on" && mtp != "off") return "--mtp must be auto, on or off, got '" + mtp + "'";
  const int64_t draft = a.GetInt("draft", 3);
  if (draft < 0 || draft > 16) return "--draft must be in [0, 16], got " + std::to_string(draft);
  return "";
}

std::string Message(const std::string& role, const std::string& content) {
  return nlohmann::json{{"role", role}, {"content", content}}.dump();
}

}  // namespace

int RunRun(int argc, char** argv) {
  CliArgs a(argc, argv, WithModelFlags({"help", "chat", "show-reasoning"}));
  if (a.Flag("help")) return std::fputs(kRunUsage, stdout), 0;
  std::string err = a.Validate(KnownOptions());
  if (err.empty() && !a.Get("prompt")) err = "--prompt is required";
  if (err.empty()) err = ValidateMtpArgs(a);
  deepseek::GenerateOptions g = GenerateOptionsFromArgs(a);
  if (err.empty()) err = a.Validate(KnownOptions());
  if (!err.empty()) return Fail("run", err + "\n" + kRunUsage, 2);
  Loaded l;
  if (!LoadAll("run", a, l)) return 1;
  std::signal(SIGINT, OnSigint);
  deepseek::Result<deepseek::GenerateResult> r = deepseek::Status();
  if (a.Flag("chat") || a.Get("system")) {
    std::string msgs = "[";
    if (auto sys = a.Get("system")) msgs += Message("system", *sys) + ",";
    msgs += Message("user", *a.Get("prompt")) + "]";
    r = deepseek::GenerateChat(*l.model, *l.tokenizer, msgs, g, Printer(a.Flag("show-reasoning")));
  } else {
    r = deepseek::Generate(*l.model, *l.tokenizer, *a.Get("prompt"), g, Printer(a.Flag("show-reasoning")));
  }
  if (!r.ok()) return Fail("run", r.status().message());
  PrintStats(*r);
  return 0;
}

int RunChat(int argc, char** argv) {
  CliArgs a(argc, argv, WithModelFlags({"help", "show-reasoning", "chat"}));
  if (a.Flag("help")) return std::fputs(kRunUsage, stdout), 0;
  deepseek::GenerateOptions g = GenerateOptionsFromArgs(a);
  std::string err = a.Validate(KnownOptions());
  if (err.empty()) err = ValidateMtpArgs(a);
  if (!err.empty()) return Fail("chat", err + "\n" + kRunUsage, 2);
  Loaded l;
  if (!LoadAll("chat", a, l)) return 1;
  std::signal(SIGINT, OnSigint);  // Ctrl-C cancels the current answer, not the program
  nlohmann::json history = nlohmann::json::array();
  if (auto sys = a.Get("system")) history.push_back({{"role", "system"}, {"content", *sys}});
  std::fprintf(stderr, "deepseek chat: /reset clears the history, /exit quits, Ctrl-C stops an answer.\n");
  std::string line;
  while (true) {
    std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      history = nlohmann::json::array();
      std::fprintf(stderr, "(history cleared)\n");
      continue;
    }
    if (line.empty()) continue;
    history.push_back({{"role", "user"}, {"content", line}});
    g_cancel.store(false);
    auto r = deepseek::GenerateChat(*l.model, *l.tokenizer, history.dump(), g, Printer(a.Flag("show-reasoning")));
    if (!r.ok()) {
      Fail("chat", r.status().message());
      history.erase(history.size() - 1);
      continue;
    }
    PrintStats(*r);
    history.push_back({{"role", "assistant"}, {"content", r->text}});
  }
  return 0;
}

}  // namespace ds::cli
