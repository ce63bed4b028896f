// Bad inputs through the public C++ API (the catalogue in docs/robustness.md): each is an error
// with the right code and a message naming the field, file or limit; the process survives and the
// model keeps serving good requests afterwards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "deepseek/generate.h"
#include "deepseek/model.h"
#include "deepseek/tokenizer.h"

namespace deepseek {
namespace {

namespace fs = std::filesystem;
const std::string kData = DS_TEST_DATA_DIR;
const std::string kFixture = kData + "/fixtures/tiny-v3";
const std::string kPrompt = "The man and the";  // tokens inside tiny-v3's 1000-id vocabulary

template <typename T>
void ExpectError(const Result<T>& r, StatusCode code, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  for (const auto& f : fragments) {
    EXPECT_NE(r.status().message().find(f), std::string::npos) << "'" << f << "' not in: " << r.status().message();
  }
}

class PublicApiBadInputs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ModelOptions o;
    o.max_context = 48;
    o.threads = 1;
    model_ = Model::Load(kFixture, o).value().release();
    tok_ = Tokenizer::Load(kData + "/tokenizers/deepseek-v3").value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tok_;
  }
  static GenerateOptions Greedy(int64_t n = 4) {
    GenerateOptions o;
    o.sampling.temperature = 0;
    o.max_tokens = n;
    return o;
  }
  // The model still serves a good request after a bad one.
  void ExpectStillServes() {
    auto r = Generate(*model_, *tok_, kPrompt, Greedy());
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_GT(r->completion_tokens, 0);
  }
  static Model* model_;
  static Tokenizer* tok_;
};
Model* PublicApiBadInputs::model_ = nullptr;
Tokenizer* PublicApiBadInputs::tok_ = nullptr;

TEST_F(PublicApiBadInputs, NegativeModelOptions) {
  for (int field = 0; field < 3; ++field) {
    ModelOptions o;
    if (field == 0) o.threads = -1;
    if (field == 1) o.max_context = -5;
    if (field == 2) o.memory_limit_bytes = -1;
    const char* name = field == 0 ? "threads" : field == 1 ? "max_context" : "memory_limit_bytes";
    ExpectError(Model::Load(kFixture, o), StatusCode::kInvalidArgument, {name, "negative"});
  }
}

TEST_F(PublicApiBadInputs, MemoryLimitBelowOneSequence) {
  ModelOptions o;
  o.max_context = 48;
  o.memory_limit_bytes = model_->info().sequence_bytes - 1;
  ExpectError(Model::Load(kFixture, o), StatusCode::kOutOfMemory,
              {"config.json", "KV cache for 48 positions", "over the memory limit", "max_context"});
  o.memory_limit_bytes = model_->info().sequence_bytes;
  EXPECT_TRUE(Model::Load(kFixture, o).ok());
}

TEST_F(PublicApiBadInputs, MaxContextAboveTheModel) {
  ModelOptions o;
  o.max_context = 163841;  // tiny-v3's config.json says 163840
  ExpectError(Model::Load(kFixture, o), StatusCode::kInvalidArgument,
              {"max_context 163841", "163840", "max_position_embeddings", "config.json"});
}

TEST_F(PublicApiBadInputs, MissingModelFolderAndFiles) {
  ExpectError(Model::Load(kData + "/no/such/model"), StatusCode::kNotFound, {"no/such/model"});
  ExpectError(Model::Load(kData + "/configs"), StatusCode::kNotFound, {"config.json"});
  ExpectError(Tokenizer::Load(kData + "/no/such/tokenizer"), StatusCode::kNotFound, {"no/such/tokenizer"});
}

TEST_F(PublicApiBadInputs, PromptLongerThanTheContext) {
  std::string prompt;
  for (int i = 0; i < 60; ++i) prompt += " the";
  ExpectError(Generate(*model_, *tok_, prompt, Greedy()), StatusCode::kInvalidArgument, {"context", "48"});
  ExpectStillServes();
}

TEST_F(PublicApiBadInputs, InvalidUtf8Prompt) {
  ExpectError(Generate(*model_, *tok_, "The \xff\xfe man", Greedy()), StatusCode::kInvalidArgument, {"UTF-8"});
  ExpectError(Generate(*model_, *tok_, std::string("The \xed\xa0\x80", 7), Greedy()), StatusCode::kInvalidArgument,
              {"UTF-8"});
  ExpectStillServes();
}

TEST_F(PublicApiBadInputs, AbsurdSamplingParameters) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    const char* field;
    void (*set)(SamplingOptions&, float);
    float value;
  };
  const Case cases[] = {
      {"temperature", [](SamplingOptions& s, float v) { s.temperature = v; }, -0.5f},
      {"temperature", [](SamplingOptions& s, float v) { s.temperature = v; }, nan},
      {"top_p", [](SamplingOptions& s, float v) { s.top_p = v; }, 0.0f},
      {"top_p", [](SamplingOptions& s, float v) { s.top_p = v; }, 1.5f},
      {"min_p", [](SamplingOptions& s, float v) { s.min_p = v; }, 2.0f},
      {"top_k", [](SamplingOptions& s, float v) { s.top_k = static_cast<int32_t>(v); }, -3.0f},
      {"repetition_penalty", [](SamplingOptions& s, float v) { s.repetition_penalty = v; }, 0.0f},
      {"presence_penalty", [](SamplingOptions& s, float v) { s.presence_penalty = v; }, INFINITY},
  };
  for (const Case& c : cases) {
    GenerateOptions o = Greedy();
    c.set(o.sampling, c.value);
    ExpectError(Generate(*model_, *tok_, kPrompt, o), StatusCode::kInvalidArgument, {c.field});
  }
  ExpectStillServes();
}

TEST_F(PublicApiBadInputs, MaxTokensZeroNegativeAndHuge) {
  ExpectError(Generate(*model_, *tok_, kPrompt, Greedy(0)), StatusCode::kInvalidArgument, {"max_tokens"});
  ExpectError(Generate(*model_, *tok_, kPrompt, Greedy(-7)), StatusCode::kInvalidArgument, {"max_tokens"});
  // Huge is not an error: generation ends at the context's end (or EOS), never past it.
  GenerateOptions o = Greedy(std::numeric_limits<int64_t>::max());
  auto r = Generate(*model_, *tok_, kPrompt, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_LE(r->prompt_tokens + r->completion_tokens, 48);
  if (r->finish_reason == FinishReason::kLength) {
    EXPECT_EQ(r->prompt_tokens + r->completion_tokens, 48);
  }
}

TEST_F(PublicApiBadInputs, EmptyStopStringAndBadChatMessages) {
  GenerateOptions o = Greedy();
  o.stop = {""};
  ExpectError(Generate(*model_, *tok_, kPrompt, o), StatusCode::kInvalidArgument, {"stop"});
  EXPECT_FALSE(GenerateChat(*model_, *tok_, "not json", Greedy()).ok());
  EXPECT_FALSE(GenerateChat(*model_, *tok_, R"({"role":"user"})", Greedy()).ok());
  EXPECT_FALSE(tok_->RenderChat("[{\"role\": ", true).ok());
  ExpectStillServes();
}

TEST_F(PublicApiBadInputs, LogitsOfBadTokens) {
  ExpectError(model_->Logits({}), StatusCode::kInvalidArgument, {"no tokens"});
  std::vector<int32_t> ids = {1, 1000};
  ExpectError(model_->Logits(ids), StatusCode::kInvalidArgument, {"1000"});
  ids = {-1};
  ExpectError(model_->Logits(ids), StatusCode::kInvalidArgument, {"-1"});
  ids.assign(49, 5);  // one past the 48-position context
  ExpectError(model_->Logits(ids), StatusCode::kInvalidArgument, {"context"});
}

// A weights file truncated or rewritten after loading is detected before the next request touches
// it (reading a truncated mapping would kill the process with SIGBUS).
void ExpectWeightChangesDetected(const std::string& fixture) {
  SCOPED_TRACE(fixture);
  const fs::path dir = fs::temp_directory_path() / ("ds_changed_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(fs::path(fixture) / f, dir / f);
  const std::string weights = (dir / "model.safetensors").string();
  for (bool truncate : {true, false}) {
    ModelOptions o;
    o.max_context = 16;
    o.threads = 1;
    o.weight_placement = WeightPlacement::kMapFile;  // read into memory, the file no longer matters
    auto model = Model::Load(dir.string(), o);
    ASSERT_TRUE(model.ok()) << model.status().message();
    std::vector<int32_t> ids = {5, 6, 7};
    ASSERT_TRUE((*model)->Logits(ids).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a visible modification time step
    if (truncate) {
      fs::resize_file(weights, 4096);
    } else {
      std::fstream f(weights, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(-4, std::ios::end);
      f.write("\0\0\0\0", 4);
    }
    ExpectError((*model)->Logits(ids), StatusCode::kInvalidArgument, {weights, "truncated or modified", "reload"});
    fs::copy_file(fs::path(fixture) / "model.safetensors", weights, fs::copy_options::overwrite_existing);
  }
  fs::remove_all(dir);
}

TEST(WeightsChangedOnDisk, TruncatedOrRewrittenAfterLoadIsAnError) {
  ExpectWeightChangesDetected(kFixture);                                        // DeepSeek (MLA)
  ExpectWeightChangesDetected(std::string(DS_TEST_DATA_DIR) + "/fixtures/tiny-qwen2");  // dense GQA
}

}  // namespace
}  // namespace deepseek
