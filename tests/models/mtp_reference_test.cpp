// The MTP module against the training code's own MTP logits, written next to the bundled demo
// model (models/deepseek-demo/reference_logits.safetensors, mtp_logits_0: row j = MTP logits from
// the main model's hidden state at j and the embedding of token j+1). Skipped when the bundled
// model is not in the tree; DS_DEMO_MODEL points at another copy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "loader/safetensors.h"
#include "models/architectures.h"

namespace ds {
namespace {

std::string DemoModel() {
  if (const char* env = std::getenv("DS_DEMO_MODEL")) return env;
  return std::string(DS_TEST_DATA_DIR) + "/../../models/deepseek-demo";
}

TEST(MtpReferenceTest, MtpLogitsMatchTheTrainingCode) {
  const std::string dir = DemoModel();
  if (!std::filesystem::exists(dir + "/reference_logits.safetensors")) GTEST_SKIP() << "no bundled model at " << dir;
  auto ref = SafetensorsFile::Open(dir + "/reference_logits.safetensors").value();
  if (!ref->Get("mtp_logits_0").ok()) GTEST_SKIP() << "no MTP reference logits";
  ModelLoadOptions o;
  o.load_mtp = true;
  o.threads = 1;
  o.max_context = 64;
  auto lm = LoadCausalLm(dir, o).value();
  ASSERT_EQ(lm->mtp_modules(), 1);
  Tensor tok = ref->Get("tokens_0").value(), expected = ref->Get("mtp_logits_0").value();
  const std::vector<int32_t> tokens(tok.data<int32_t>(), tok.data<int32_t>() + tok.numel());
  const int64_t rows = static_cast<int64_t>(tokens.size()) - 1, vocab = lm->vocab_size(), d = lm->config().hidden_size;
  ASSERT_EQ(expected.dim(0), rows);
  auto seq = lm->NewSequence().value();
  std::vector<float> logits, hidden, out;
  ASSERT_TRUE(lm->ForwardHidden(*seq, tokens, true, logits, hidden).ok());
  double worst = 0.0, scale = 0.0;
  for (int64_t j = 0; j < rows; ++j) {  // one row at a time: each call returns its last row's logits
    ASSERT_TRUE(lm->MtpForward(*seq, 0, std::span<const float>(hidden).subspan(j * d, d),
                               std::span<const int32_t>(tokens).subspan(j + 1, 1), logits, out).ok());
    const float* e = expected.data<float>() + j * vocab;
    for (int64_t v = 0; v < vocab; ++v) {
      worst = std::max(worst, static_cast<double>(std::fabs(logits[v] - e[v])));
      scale = std::max(scale, static_cast<double>(std::fabs(e[v])));
    }
  }
  EXPECT_EQ(seq->mtp_length(), rows);
  EXPECT_LE(worst, 1e-3 * std::max(1.0, scale)) << "max |logit| " << scale;
  std::printf("MTP logits vs training code: max abs diff %.3g (max |logit| %.3g)\n", worst, scale);
  // Wrong conventions (concatenation order, pre-norm hidden) move logits by ~1 or more.
}

}  // namespace
}  // namespace ds
