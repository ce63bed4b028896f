// `deepseek chat-template`: renders a model's Hugging Face chat template for a conversation and
// prints the prompt exactly (no newline added), as transformers' apply_chat_template would.
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "common/mapped_file.h"
#include "common/status.h"
#include "tokenizer/jinja/chat_template.h"

namespace ds::cli {
namespace {

constexpr char kCmd[] = "chat-template";
constexpr char kUsage[] =
    "usage: deepseek chat-template --tokenizer PATH --messages FILE.json [--add-generation-prompt]\n"
    "  PATH: a model folder, a folder holding tokenizer_config.json, or that file itself.\n"
    "  FILE.json: {\"messages\": [...], \"tools\": [...]} (tools optional).\n"
    "  Prints the rendered prompt exactly, without an added newline.\n";

using OJson = nlohmann::ordered_json;

// Reads and parses a JSON file keeping object key order (tool schemas are printed in order).
StatusOr<OJson> ReadOrderedJson(const std::string& path) {
  DS_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  try {
    return OJson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidFormat(StrCat(path, ": invalid JSON: ", e.what()));
  }
}

// bos_token / eos_token are strings, AddedToken objects with "content", or null.
StatusOr<std::string> SpecialToken(const OJson& cfg, const char* key, const std::string& source) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return InvalidFormat(StrCat(source, ": field '", key, "': expected a string or {\"content\": ...}"));
}

StatusOr<std::string> Render(const std::string& tokenizer_path, const std::string& messages_path,
                             bool add_generation_prompt) {
  std::string cfg_path = tokenizer_path;
  std::error_code ec;
  if (!std::filesystem::exists(tokenizer_path, ec))
    return absl::NotFoundError(StrCat(tokenizer_path, ": not found (expected a model folder, a folder "
                                      "holding tokenizer_config.json, or that file)"));
  if (std::filesystem::is_directory(tokenizer_path, ec))
    cfg_path = (std::filesystem::path(tokenizer_path) / "tokenizer_config.json").string();
  DS_ASSIGN_OR_RETURN(OJson cfg, ReadOrderedJson(cfg_path));
  if (!cfg.is_object()) return InvalidFormat(StrCat(cfg_path, ": expected a JSON object"));
  auto tmpl_it = cfg.find("chat_template");
  if (tmpl_it == cfg.end() || tmpl_it->is_null())
    return absl::NotFoundError(StrCat(cfg_path, ": has no chat_template"));
  if (!tmpl_it->is_string())  // a list of named templates: use the one called "default"
    return absl::UnimplementedError(StrCat(cfg_path, ": field 'chat_template': only a single template string is supported"));
  StatusOr<ChatTemplate> tmpl = ChatTemplate::Compile(tmpl_it->get<std::string>());
  if (!tmpl.ok())
    return Status(tmpl.status().code(), StrCat(cfg_path, ": ", std::string(tmpl.status().message())));

  DS_ASSIGN_OR_RETURN(OJson input, ReadOrderedJson(messages_path));
  if (!input.is_object() || !input.contains("messages") || !input["messages"].is_array())
    return InvalidFormat(StrCat(messages_path, ": expected {\"messages\": [...], \"tools\": [...]}"));
  ChatTemplateInputs in;
  in.messages = input["messages"];
  if (input.contains("tools") && !input["tools"].is_null()) {
    if (!input["tools"].is_array()) return InvalidFormat(StrCat(messages_path, ": field 'tools': expected a list"));
    in.tools = input["tools"];
  }
  in.add_generation_prompt = add_generation_prompt;
  DS_ASSIGN_OR_RETURN(in.bos_token, SpecialToken(cfg, "bos_token", cfg_path));
  DS_ASSIGN_OR_RETURN(in.eos_token, SpecialToken(cfg, "eos_token", cfg_path));
  return tmpl->Render(in);
}

}  // namespace

int RunChatTemplate(int argc, char** argv) {
  CliArgs args(argc, argv, {"add-generation-prompt", "help"});
  if (args.Flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string problem = args.Validate({"tokenizer", "messages", "add-generation-prompt", "help"});
  if (!problem.empty()) return Fail(kCmd, StrCat(problem, "\n", kUsage), 2);
  const auto tokenizer = args.Get("tokenizer");
  const auto messages = args.Get("messages");
  if (!tokenizer || !messages) return Fail(kCmd, StrCat("--tokenizer and --messages are required\n", kUsage), 2);
  StatusOr<std::string> prompt = Render(*tokenizer, *messages, args.Flag("add-generation-prompt"));
  if (!prompt.ok()) return Fail(kCmd, std::string(prompt.status().message()));
  if (std::fwrite(prompt->data(), 1, prompt->size(), stdout) != prompt->size() || std::fflush(stdout) != 0)
    return Fail(kCmd, "cannot write to stdout");
  return 0;
}

}  // namespace ds::cli
