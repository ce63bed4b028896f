// Token sampling from next-token logits: penalties, temperature, top-k, top-p, min-p.
//
// Order of operations (the same as llama.cpp's default chain and vLLM/HF logits processors):
//   1. repetition penalty        (over the last `repetition_window` tokens of prompt + output)
//   2. presence / frequency      (over the generated tokens only, OpenAI semantics)
//   3. temperature               (0 = greedy: argmax of the penalized logits, lowest id on ties)
//   4. top-k                     (keep the k largest; ties broken towards the lower id)
//   5. top-p                     (on the top-k-renormalized distribution: keep the shortest
//                                 highest-first prefix whose mass reaches top_p)
//   6. min-p                     (keep tokens whose probability >= min_p * the largest probability)
//   7. draw one token from the renormalized survivors with a seeded std::mt19937_64.
// Sampling is bit-for-bit reproducible across platforms for a given seed and logits: the uniform
// draw is built from the raw 64-bit engine output, never from a std:: distribution.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "common/status.h"

namespace ds {

// Defaults follow vLLM / OpenAI: every filter is off and temperature 1.0 is the plain softmax.
// (DeepSeek recommends temperature 0.6 for R1; the caller chooses.)
struct SamplingParams {
  float temperature = 1.0f;         // 0 (or < 1e-5, as vLLM) = greedy; finite, >= 0
  int32_t top_k = 0;                // 0 = off; 1 = greedy
  float top_p = 1.0f;               // 1 = off; in (0, 1]
  float min_p = 0.0f;               // 0 = off; in [0, 1]
  float repetition_penalty = 1.0f;  // 1 = off; > 0. Positive logits divided, negative multiplied
  int32_t repetition_window = 0;    // last N history tokens the repetition penalty sees; 0 = all
  float presence_penalty = 0.0f;    // logit -= presence * (count > 0), generated tokens only
  float frequency_penalty = 0.0f;   // logit -= frequency * count, generated tokens only
  uint64_t seed = 0;                // seed of the sampler's std::mt19937_64
};

// InvalidArgument naming the offending field when a parameter is out of range or not finite.
Status ValidateSamplingParams(const SamplingParams& params);

// Draws tokens according to SamplingParams. Not thread-safe: one Sampler per sequence.
// Scratch buffers are allocated on first use and reused, so steady-state sampling allocates nothing.
class Sampler {
 public:
  // `params` should have passed ValidateSamplingParams; out-of-range values never crash but are
  // treated as "off" where that makes sense (e.g. top_k < 0, top_p >= 1).
  explicit Sampler(const SamplingParams& params);

  // Returns the sampled token id, or -1 when `logits` is empty. `logits` is used as scratch and
  // holds the penalized logits afterwards. `history` is the prompt followed by the generated
  // tokens; its first `num_prompt_tokens` entries are prompt (seen by the repetition penalty only).
  // Ids outside [0, logits.size()) in `history` are ignored.
  int32_t Sample(std::span<float> logits, std::span<const int32_t> history,
                 size_t num_prompt_tokens = 0);

  // The distribution Sample draws from, after every penalty and filter: probs[i] for each token
  // (zero for filtered tokens, one-hot for greedy). Does not advance the random engine.
  void Probabilities(std::span<const float> logits, std::span<const int32_t> history,
                     std::vector<float>& probs, size_t num_prompt_tokens = 0);

  // A uniform double in [0, 1) from the same engine (e.g. for speculative-sampling acceptance).
  double Uniform();

  // Restarts the random engine from `seed`.
  void Reset(uint64_t seed);

  const SamplingParams& params() const { return params_; }

 private:
  bool IsGreedy() const;
  // Applies the repetition / presence / frequency penalties to `logits` in place.
  void ApplyPenalties(std::span<float> logits, std::span<const int32_t> history,
                      size_t num_prompt_tokens);
  // Fills cand_ (ids) and weight_ (unnormalized probabilities) with the survivors of
  // temperature, top-k, top-p and min-p; returns the sum of weight_ (0 when nothing is finite).
  double Filter(std::span<const float> logits);
  // Sets cand_ to the ids of the k largest scaled logits, descending, lower id first on ties.
  void SelectTopK(size_t k);
  // Keeps the shortest prefix of the descending cand_/weight_ whose mass reaches top_p.
  void TruncateTopP(double total);
  // Top-p over the whole vocabulary without a full sort: buckets tokens by scaled logit, keeps
  // whole buckets until the boundary one, and sorts only that bucket.
  void TopPByBuckets(double total, float max_scaled);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<float> work_;       // copy of the logits for Probabilities
  std::vector<float> scaled_;     // logits / temperature
  std::vector<int32_t> cand_;     // candidate token ids
  std::vector<double> weight_;    // exp(scaled - max) per candidate
  std::vector<int32_t> counts_;   // per-token counters, all zero between calls
  std::vector<uint16_t> bucket_;  // top-p bucket of each token
  std::vector<double> bucket_mass_;
  std::vector<int32_t> boundary_;  // ids in the top-p boundary bucket
};

// Index of the largest value, lowest index on ties; NaN never wins. -1 for an empty span.
int32_t ArgMax(std::span<const float> logits);

}  // namespace ds
