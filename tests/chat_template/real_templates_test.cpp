// The chat templates shipped in real tokenizer_config.json files.
// DeepSeek-V3: every case of chat_cases.jsonl must render byte-identical to `rendered`, which was
// produced independently (transformers.js, @huggingface/jinja and Python Jinja2 agreed).
// Qwen2.5 / Llama-3: no reference renderings exist, so the checks are structural facts read off
// the templates themselves.
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tokenizer/jinja/chat_template.h"

namespace ds {
namespace {

using OJson = nlohmann::ordered_json;

std::string DataPath(const std::string& rel) { return std::string(DS_TEST_DATA_DIR) + "/" + rel; }

OJson ReadJson(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return OJson::parse(ss.str());
}

// bos/eos in tokenizer_config.json are strings or AddedToken objects with "content".
std::string TokenString(const OJson& cfg, const char* key) {
  if (!cfg.contains(key) || cfg[key].is_null()) return "";
  const OJson& v = cfg[key];
  return v.is_string() ? v.get<std::string>() : v.at("content").get<std::string>();
}

struct Loaded {
  ChatTemplate tmpl;
  std::string bos, eos;
};

Loaded Load(const std::string& name) {
  OJson cfg = ReadJson(DataPath("chat_templates/" + name + "/tokenizer_config.json"));
  StatusOr<ChatTemplate> t = ChatTemplate::Compile(cfg.at("chat_template").get<std::string>());
  EXPECT_TRUE(t.ok()) << name << ": " << t.status();
  return {t.ok() ? *t : ChatTemplate(), TokenString(cfg, "bos_token"), TokenString(cfg, "eos_token")};
}

std::vector<OJson> ChatCases() {
  std::ifstream f(DataPath("tokenizers/deepseek-v3/chat_cases.jsonl"));
  EXPECT_TRUE(f.good());
  std::vector<OJson> cases;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) cases.push_back(OJson::parse(line));
  return cases;
}

ChatTemplateInputs CaseInputs(const OJson& c, const Loaded& l) {
  ChatTemplateInputs in;
  in.messages = c.at("messages");
  in.tools = c.value("tools", OJson());
  in.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
  in.bos_token = l.bos;
  in.eos_token = l.eos;
  return in;
}

TEST(DeepSeekV3Template, EveryChatCaseMatches) {
  Loaded l = Load("deepseek-v3");
  EXPECT_EQ(l.bos, "<｜begin▁of▁sentence｜>");
  std::vector<OJson> cases = ChatCases();
  ASSERT_GE(cases.size(), 10u);
  for (const OJson& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    StatusOr<std::string> out = l.tmpl.Render(CaseInputs(c, l));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*out, c.at("rendered").get<std::string>());
  }
}

TEST(DeepSeekV3Template, ConcurrentRendersAgree) {
  Loaded l = Load("deepseek-v3");
  std::vector<OJson> cases = ChatCases();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep)
        for (const OJson& c : cases) {
          StatusOr<std::string> out = l.tmpl.Render(CaseInputs(c, l));
          if (!out.ok() || *out != c.at("rendered").get<std::string>()) ++failures[t];
        }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

const char* kConversation = R"([
  {"role": "system", "content": "You are terse."},
  {"role": "user", "content": "What is the weather in Paris?"},
  {"role": "assistant", "content": "Let me check."},
  {"role": "user", "content": "  Thanks!  "}])";

TEST(Qwen25Template, SystemUserConversation) {
  Loaded l = Load("qwen2.5");
  EXPECT_EQ(l.eos, "<|im_end|>");
  ChatTemplateInputs in;
  in.messages = OJson::parse(kConversation);
  in.add_generation_prompt = true;
  in.eos_token = l.eos;
  StatusOr<std::string> out = l.tmpl.Render(in);
  ASSERT_TRUE(out.ok()) << out.status();
  // Read off the template: a system turn built from messages[0], then one
  // "<|im_start|>role\ncontent<|im_end|>\n" block per later message, then the generation prompt.
  std::string expected = "<|im_start|>system\nYou are terse.<|im_end|>\n";
  for (int i = 1; i < 4; ++i)
    expected += "<|im_start|>" + in.messages[i]["role"].get<std::string>() + "\n" +
                in.messages[i]["content"].get<std::string>() + "<|im_end|>\n";
  expected += "<|im_start|>assistant\n";
  EXPECT_EQ(*out, expected);
}

TEST(Qwen25Template, ToolsAndToolCalls) {
  Loaded l = Load("qwen2.5");
  ChatTemplateInputs in;
  in.messages = OJson::parse(R"([
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": "", "tool_calls": [
      {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "22C"}])");
  in.tools = OJson::parse(R"([{"type": "function", "function": {"name": "get_weather",
    "description": "Weather now", "parameters": {"type": "object",
    "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
  in.add_generation_prompt = false;
  StatusOr<std::string> out = l.tmpl.Render(in);
  ASSERT_TRUE(out.ok()) << out.status();
  // No system message: the default system prompt opens the tools section.
  EXPECT_EQ(out->rfind("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.", 0), 0u) << *out;
  // Each tool is `tool | tojson` on its own line inside <tools>: json.dumps spacing, input key order.
  EXPECT_NE(out->find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                      "\"description\": \"Weather now\", \"parameters\": {\"type\": \"object\", "
                      "\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n</tools>"),
            std::string::npos)
      << *out;
  EXPECT_NE(out->find("<|im_start|>user\nWeather?<|im_end|>\n"), std::string::npos);
  EXPECT_NE(out->find("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                      "{\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"),
            std::string::npos)
      << *out;
  // The tool result goes into a user turn and the output ends there (no generation prompt).
  const std::string tail = "<|im_start|>user\n<tool_response>\n22C\n</tool_response><|im_end|>\n";
  ASSERT_GE(out->size(), tail.size());
  EXPECT_EQ(out->substr(out->size() - tail.size()), tail);
}

TEST(Llama3Template, SystemUserConversation) {
  Loaded l = Load("llama3");
  EXPECT_EQ(l.bos, "<|begin_of_text|>");
  ChatTemplateInputs in;
  in.messages = OJson::parse(kConversation);
  in.bos_token = l.bos;
  in.eos_token = l.eos;
  StatusOr<std::string> out = l.tmpl.Render(in);
  ASSERT_TRUE(out.ok()) << out.status();
  // Read off the template: BOS once, a header per message with `content | trim`, and an
  // assistant header at the end whatever add_generation_prompt says.
  std::string expected = l.bos;
  for (const auto& m : in.messages) {
    std::string content = m["content"].get<std::string>();
    content.erase(0, content.find_first_not_of(' '));
    content.erase(content.find_last_not_of(' ') + 1);
    expected += "<|start_header_id|>" + m["role"].get<std::string>() + "<|end_header_id|>\n\n" +
                content + "<|eot_id|>";
  }
  expected += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  EXPECT_EQ(*out, expected);
}

}  // namespace
}  // namespace ds
