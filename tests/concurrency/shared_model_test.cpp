// One loaded model shared by many generation sessions on many threads (tiny-v3 fixture, the real
// DeepSeek-V3 tokenizer), through the public API. The oracle for every concurrent request is the
// same request run alone, one after another, in the same process: outputs must match exactly
// (same seed, same inputs, same output), cancellations must cut the output short without
// changing what came before, and bad requests must fail without disturbing the others.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "deepseek/generate.h"
#include "deepseek/model.h"
#include "deepseek/tokenizer.h"

namespace deepseek {
namespace {

const std::string kData = DS_TEST_DATA_DIR;
using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Text prompts whose tokens all fall inside tiny-v3's 1000-id vocabulary (checked in SetUp).
const std::vector<std::string> kPrompts = {
    "The man and the", "The one of the other", "The part of his", "The man was not for", "The more they can"};

enum class Cancel { kNone, kCallbackAfter3, kFlagFromCallbackAfter5, kFlagFromAnotherThread };

struct ParamSet {
  SamplingOptions sampling;
  int64_t max_tokens = 24;
  bool stop_from_reference = false;  // stop at a string taken from this request's own output
  Cancel cancel = Cancel::kNone;
  bool bad = false;  // invalid parameters: must fail with kInvalidArgument
};

std::vector<ParamSet> MakeParamSets() {
  std::vector<ParamSet> p(10);
  p[0].sampling.temperature = 0;  // greedy
  p[1].sampling = {.temperature = 0.8f, .top_p = 0.9f, .seed = 7};
  p[1].max_tokens = 32;
  p[2].sampling = {.temperature = 1.2f, .top_k = 20, .top_p = 1.0f, .min_p = 0.05f, .repetition_penalty = 1.3f,
                   .seed = 99};
  p[2].max_tokens = 20;
  p[3].sampling = {.temperature = 0.6f, .presence_penalty = 0.5f, .frequency_penalty = 0.5f, .seed = 1234};
  p[3].max_tokens = 40;
  p[4].sampling = {.temperature = 0.7f, .seed = 5};
  p[4].max_tokens = int64_t{1} << 40;  // far past the context: generation stops at the context's end
  p[5].sampling.temperature = 0;
  p[5].stop_from_reference = true;
  p[6].sampling = {.temperature = 0.9f, .seed = 3};
  p[6].cancel = Cancel::kCallbackAfter3;
  p[7].sampling = {.temperature = 0.9f, .seed = 11};
  p[7].cancel = Cancel::kFlagFromCallbackAfter5;
  p[8].sampling = {.temperature = 0.9f, .seed = 13};
  p[8].max_tokens = 40;
  p[8].cancel = Cancel::kFlagFromAnotherThread;
  p[9].sampling.temperature = -1;  // invalid
  p[9].bad = true;
  return p;
}

struct Outcome {
  StatusCode code = StatusCode::kOk;
  std::string text, reasoning, streamed;
  FinishReason finish = FinishReason::kLength;
  int64_t completion_tokens = 0;
};

class SharedModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ModelOptions o;
    o.max_context = 64;
    o.threads = 1;  // many sessions at once: one kernel thread each (see model.h)
    auto m = Model::Load(kData + "/fixtures/tiny-v3", o);
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = std::move(m).value().release();
    auto t = Tokenizer::Load(kData + "/tokenizers/deepseek-v3");
    ASSERT_TRUE(t.ok()) << t.status().message();
    tok_ = std::move(t).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tok_;
  }
  void SetUp() override {
    for (const std::string& p : kPrompts) {
      auto ids = tok_->Encode(p);
      ASSERT_TRUE(ids.ok());
      for (int32_t id : *ids) ASSERT_LT(id, model_->info().vocab_size) << "prompt '" << p << "'";
    }
  }

  // Runs request (prompt index, parameter set).
  static Outcome Run(size_t prompt, const ParamSet& ps, const std::string& stop) {
    GenerateOptions o;
    o.sampling = ps.sampling;
    o.max_tokens = ps.max_tokens;
    if (!stop.empty()) o.stop = {stop};
    std::atomic<bool> flag{false};
    if (ps.cancel == Cancel::kFlagFromCallbackAfter5 || ps.cancel == Cancel::kFlagFromAnotherThread) o.cancel = &flag;
    Outcome out;
    int pieces = 0;
    auto cb = [&](std::string_view piece, Channel) {
      out.streamed += piece;
      ++pieces;
      if (ps.cancel == Cancel::kFlagFromCallbackAfter5 && pieces == 5) flag = true;
      return !(ps.cancel == Cancel::kCallbackAfter3 && pieces == 3);
    };
    std::thread canceller;
    if (ps.cancel == Cancel::kFlagFromAnotherThread) {
      static std::atomic<int> calls{0};
      const int delay_us = 200 * (calls++ % 16);  // lands early, late, or after the end
      canceller = std::thread([&flag, delay_us] {
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        flag = true;
      });
    }
    auto r = Generate(*model_, *tok_, kPrompts[prompt], o, cb);
    if (canceller.joinable()) canceller.join();
    if (!r.ok()) {
      out.code = r.status().code();
      return out;
    }
    out.text = r->text;
    out.reasoning = r->reasoning;
    out.finish = r->finish_reason;
    out.completion_tokens = r->completion_tokens;
    return out;
  }

  static Model* model_;
  static Tokenizer* tok_;
};
Model* SharedModel::model_ = nullptr;
Tokenizer* SharedModel::tok_ = nullptr;

bool StartsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// `got` ran concurrently, `want` is the same request run alone.
void ExpectSameOutcome(const Outcome& got, const Outcome& want, const ParamSet& ps, const std::string& what) {
  ASSERT_EQ(got.code, want.code) << what;
  if (got.code != StatusCode::kOk) return;
  if (ps.cancel == Cancel::kFlagFromAnotherThread) {
    // Where the flag lands depends on timing; what was produced before it must not.
    if (got.finish == FinishReason::kCancelled) {
      // A cut inside a multi-byte character ends the text with U+FFFD, as decoding the tokens
      // generated so far would; the rest is a prefix of the uncancelled output.
      std::string cut = got.reasoning + got.text;
      const std::string replacement = "\xEF\xBF\xBD";
      if (cut.size() >= 3 && cut.compare(cut.size() - 3, 3, replacement) == 0) cut.resize(cut.size() - 3);
      EXPECT_TRUE(StartsWith(want.reasoning + want.text, cut)) << what;
      EXPECT_LE(got.completion_tokens, want.completion_tokens) << what;
      return;
    }
    // Not cancelled in time: then it must be the uncancelled output.
  }
  EXPECT_EQ(got.text, want.text) << what;
  EXPECT_EQ(got.reasoning, want.reasoning) << what;
  EXPECT_EQ(got.streamed, want.streamed) << what;
  EXPECT_EQ(got.finish, want.finish) << what;
  EXPECT_EQ(got.completion_tokens, want.completion_tokens) << what;
}

// 8 threads x 50 generations with mixed prompts, parameter sets, cancellations and bad requests.
TEST_F(SharedModel, StressEightThreadsFiftyGenerationsMatchRunsAlone) {
  const std::vector<ParamSet> params = MakeParamSets();
  const size_t n_prompts = kPrompts.size();
  const size_t n_requests = n_prompts * params.size();
  // Requests run alone first: the oracle. The async-cancel set's oracle runs without its flag.
  auto t0 = Clock::now();
  std::vector<std::string> stops(n_requests);
  std::vector<Outcome> alone(n_requests);
  for (size_t r = 0; r < n_requests; ++r) {
    const size_t prompt = r / params.size();
    ParamSet ps = params[r % params.size()];
    if (ps.cancel == Cancel::kFlagFromAnotherThread) ps.cancel = Cancel::kNone;
    if (ps.stop_from_reference) {
      Outcome full = Run(prompt, ps, "");
      ASSERT_GE(full.text.size(), 6u) << "greedy output too short to pick a stop string";
      stops[r] = full.text.substr(3, 2);
    }
    alone[r] = Run(prompt, ps, stops[r]);
    if (params[r % params.size()].bad) {
      EXPECT_EQ(alone[r].code, StatusCode::kInvalidArgument);
    } else {
      ASSERT_EQ(alone[r].code, StatusCode::kOk) << "request " << r;
    }
  }
  const double alone_s = Since(t0);

  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::vector<std::pair<size_t, Outcome>>> results(kThreads);
  std::atomic<int> cancelled_async{0};
  auto t1 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const size_t r = (static_cast<size_t>(t) * 31 + static_cast<size_t>(i) * 7) % n_requests;
        const ParamSet& ps = params[r % params.size()];
        Outcome o = Run(r / params.size(), ps, stops[r]);
        if (ps.cancel == Cancel::kFlagFromAnotherThread && o.finish == FinishReason::kCancelled) ++cancelled_async;
        results[t].emplace_back(r, std::move(o));
      }
    });
  }
  for (auto& th : threads) th.join();
  const double stress_s = Since(t1);

  int checked = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (const auto& [r, o] : results[t]) {
      ExpectSameOutcome(o, alone[r], params[r % params.size()], "thread " + std::to_string(t) + " request " +
                                                                    std::to_string(r));
      ++checked;
    }
  }
  EXPECT_EQ(checked, kThreads * kPerThread);
  std::printf("[ stress ] %zu requests alone: %.2f s; %d x %d concurrent generations: %.2f s "
              "(%d async cancellations landed)\n",
              n_requests, alone_s, kThreads, kPerThread, stress_s, cancelled_async.load());
#if !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(stress_s, 120.0);  // the budget applies to ordinary builds; sanitizers run 5-15x slower
#endif
}

// Issue 4: N threads x M generations with fixed seeds give the same outputs as the same work run
// one after another.
TEST_F(SharedModel, ThreadsTimesGenerationsEqualSequentialRun) {
  constexpr int kThreads = 4, kPerThread = 12;
  auto request = [](int t, int i) {
    ParamSet ps;
    ps.sampling.temperature = 0.5f + 0.1f * static_cast<float>((t + i) % 6);
    ps.sampling.top_p = i % 2 ? 0.9f : 1.0f;
    ps.sampling.seed = static_cast<uint64_t>(1000 * t + i);
    ps.max_tokens = 16 + (i % 3) * 8;
    return std::pair<size_t, ParamSet>((t + i) % kPrompts.size(), ps);
  };
  std::vector<Outcome> sequential;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto [p, ps] = request(t, i);
      sequential.push_back(Run(p, ps, ""));
      ASSERT_EQ(sequential.back().code, StatusCode::kOk);
    }
  }
  std::vector<Outcome> concurrent(sequential.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto [p, ps] = request(t, i);
        concurrent[t * kPerThread + i] = Run(p, ps, "");
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> distinct;
  for (size_t k = 0; k < sequential.size(); ++k) {
    ExpectSameOutcome(concurrent[k], sequential[k], ParamSet{}, "generation " + std::to_string(k));
    distinct.insert(sequential[k].text);
  }
  EXPECT_GT(distinct.size(), sequential.size() / 2) << "seeds should give different outputs";
}

// Model::Logits from several threads at once equals the same calls made one after another.
TEST_F(SharedModel, ConcurrentLogitsEqualSequential) {
  std::vector<std::vector<int32_t>> inputs;
  for (int i = 0; i < 8; ++i) {
    std::vector<int32_t> ids;
    for (int j = 0; j < 3 + 4 * i; ++j) ids.push_back((37 * i + 11 * j + 5) % 1000);
    inputs.push_back(ids);
  }
  std::vector<std::vector<float>> want;
  for (const auto& ids : inputs) want.push_back(model_->Logits(ids).value());
  std::vector<std::vector<float>> got(inputs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < inputs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 5; ++rep) {
        auto l = model_->Logits(inputs[i]);
        if (!l.ok() || (rep > 0 && *l != got[i])) {
          got[i].clear();
          return;
        }
        got[i] = std::move(l).value();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(got[i], want[i]) << "input " << i;
}

// The tokenizer and the chat template are shared too: encoding and rendering from several threads
// give what they give alone. (The tiny model's 1000-id vocabulary cannot take the template's
// special tokens, so chat generation itself is not run here.)
TEST_F(SharedModel, ConcurrentEncodeAndChatRenderingEqualSequential) {
  std::vector<std::string> chats;
  for (int i = 0; i < 8; ++i) {
    chats.push_back(R"([{"role":"system","content":"s)" + std::to_string(i) + R"("},{"role":"user","content":"q )" +
                    std::string(i * 13, 'x') + R"("},{"role":"assistant","content":"a"},{"role":"user","content":"again"}])");
  }
  std::vector<std::string> want_text;
  std::vector<std::vector<int32_t>> want_ids;
  for (const auto& c : chats) {
    want_text.push_back(tok_->RenderChat(c, true).value());
    want_ids.push_back(tok_->Encode(want_text.back()).value());
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < chats.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 20; ++rep) {
        const size_t k = (i + rep) % chats.size();
        auto text = tok_->RenderChat(chats[k], true);
        if (!text.ok() || *text != want_text[k]) ++mismatches;
        auto ids = tok_->Encode(want_text[k]);
        if (!ids.ok() || *ids != want_ids[k]) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace deepseek
