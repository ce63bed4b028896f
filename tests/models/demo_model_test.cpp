// The bundled demo model (models/deepseek-demo) against the logits its training code computes
// (reference_logits.safetensors, written by tools/train_demo/export.py with PyTorch in f32 from
// the same bf16 weights), and our tokenizer against the token ids of the Python BPE tokenizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "loader/safetensors.h"
#include "models/architectures.h"
#include "tokenizer/tokenizer.h"

namespace ds {
namespace {

std::string DemoDir() { return std::string(DS_TEST_DATA_DIR) + "/../../models/deepseek-demo"; }

struct Case {
  std::string prompt;
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // [T, vocab]
};

std::vector<Case> ReadCases() {
  std::vector<Case> cases;
  auto file = SafetensorsFile::Open(DemoDir() + "/reference_logits.safetensors");
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return cases;
  auto it = (*file)->metadata().find("prompts");
  EXPECT_NE(it, (*file)->metadata().end()) << "reference_logits.safetensors has no 'prompts' metadata";
  if (it == (*file)->metadata().end()) return cases;
  const auto prompts = nlohmann::json::parse(it->second);
  for (size_t i = 0; i < prompts.size(); ++i) {
    Case c;
    c.prompt = prompts[i].get<std::string>();
    auto tokens = (*file)->Get("tokens_" + std::to_string(i));
    auto logits = (*file)->Get("logits_" + std::to_string(i));
    EXPECT_TRUE(tokens.ok() && logits.ok()) << "case " << i;
    if (!tokens.ok() || !logits.ok()) return {};
    c.tokens.assign(tokens->data<int32_t>(), tokens->data<int32_t>() + tokens->numel());
    c.logits.assign(logits->data<float>(), logits->data<float>() + logits->numel());
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(DemoModel, LogitsMatchTrainingCode) {
  const std::vector<Case> cases = ReadCases();
  ASSERT_GE(cases.size(), 3u);
  ModelLoadOptions opts;
  opts.max_context = 128;
  opts.precision = ComputePrecision::kF32;
  auto model = LoadCausalLm(DemoDir(), opts);
  ASSERT_TRUE(model.ok()) << model.status();
  for (const Case& c : cases) {
    auto seq = (*model)->NewSequence().value();
    std::vector<float> logits;
    ASSERT_TRUE((*model)->Forward(*seq, c.tokens, true, logits).ok());
    ASSERT_EQ(logits.size(), c.logits.size()) << c.prompt;
    float diff = 0, scale = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      diff = std::max(diff, std::fabs(logits[i] - c.logits[i]));
      scale = std::max(scale, std::fabs(c.logits[i]));
    }
    std::printf("demo model, %zu tokens: max |logits - torch| = %.3g (max |logit| %.3g)\n", c.tokens.size(), diff, scale);
    // Both sides compute in f32 from the same bf16 weights; only summation order differs.
    EXPECT_LE(diff, 2e-3f) << c.prompt;
    const int64_t vocab = (*model)->vocab_size();
    const int64_t last = static_cast<int64_t>(c.tokens.size()) - 1;
    const float* ours = logits.data() + last * vocab;
    const float* ref = c.logits.data() + last * vocab;
    EXPECT_EQ(std::max_element(ours, ours + vocab) - ours, std::max_element(ref, ref + vocab) - ref) << c.prompt;
  }
}

TEST(DemoModel, TokenizerMatchesTrainingTokenizer) {
  const std::vector<Case> cases = ReadCases();
  ASSERT_GE(cases.size(), 3u);
  auto tok = Tokenizer::Load(DemoDir());
  ASSERT_TRUE(tok.ok()) << tok.status();
  for (const Case& c : cases) {
    auto ids = (*tok)->Encode(c.prompt, /*add_special_tokens=*/true);  // adds <bos> as the reference did
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, c.tokens) << c.prompt;
    std::vector<int32_t> body(c.tokens.begin() + 1, c.tokens.end());
    EXPECT_EQ((*tok)->Decode(body), c.prompt);
  }
}

}  // namespace
}  // namespace ds
