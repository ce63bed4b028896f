#include "generation/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ds {
namespace {

// Below this temperature sampling is treated as greedy (as vLLM does): dividing by a tiny
// temperature would overflow floats and turn distinct logits into ties.
constexpr float kGreedyTemperature = 1e-5f;
// Top-p over the full vocabulary buckets tokens by how far their scaled logit lies below the
// maximum: 2048 buckets of 1/32 nat each; everything 64 nats or more below shares the last one.
constexpr size_t kTopPBuckets = 2048;
constexpr float kTopPBucketRange = 64.0f;

bool Finite(float v) { return std::isfinite(v); }

}  // namespace

Status ValidateSamplingParams(const SamplingParams& p) {
  if (!Finite(p.temperature) || p.temperature < 0.0f) {
    return absl::InvalidArgumentError(
        StrCat("sampling: temperature must be a finite number >= 0, got ", p.temperature));
  }
  if (p.top_k < 0) {
    return absl::InvalidArgumentError(
        StrCat("sampling: top_k must be >= 0 (0 = off), got ", p.top_k));
  }
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(
        StrCat("sampling: top_p must be in (0, 1] (1 = off), got ", p.top_p));
  }
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) {
    return absl::InvalidArgumentError(
        StrCat("sampling: min_p must be in [0, 1] (0 = off), got ", p.min_p));
  }
  if (!Finite(p.repetition_penalty) || !(p.repetition_penalty > 0.0f)) {
    return absl::InvalidArgumentError(StrCat(
        "sampling: repetition_penalty must be a finite number > 0 (1 = off), got ",
        p.repetition_penalty));
  }
  if (p.repetition_window < 0) {
    return absl::InvalidArgumentError(StrCat(
        "sampling: repetition_window must be >= 0 (0 = whole history), got ", p.repetition_window));
  }
  if (!Finite(p.presence_penalty)) {
    return absl::InvalidArgumentError(
        StrCat("sampling: presence_penalty must be finite, got ", p.presence_penalty));
  }
  if (!Finite(p.frequency_penalty)) {
    return absl::InvalidArgumentError(
        StrCat("sampling: frequency_penalty must be finite, got ", p.frequency_penalty));
  }
  return absl::OkStatus();
}

int32_t ArgMax(std::span<const float> logits) {
  if (logits.empty()) return -1;
  int32_t best = -1;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) continue;
    if (best < 0 || logits[i] > logits[best]) best = static_cast<int32_t>(i);
  }
  return best < 0 ? 0 : best;
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

void Sampler::Reset(uint64_t seed) {
  params_.seed = seed;
  rng_.seed(seed);
}

double Sampler::Uniform() {
  // The top 53 bits of the engine output scaled by 2^-53: exact, portable, in [0, 1).
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

bool Sampler::IsGreedy() const {
  return !(params_.temperature >= kGreedyTemperature) || params_.top_k == 1;
}

void Sampler::ApplyPenalties(std::span<float> logits, std::span<const int32_t> history,
                             size_t num_prompt_tokens) {
  const size_t n = logits.size();
  auto valid = [n](int32_t t) { return t >= 0 && static_cast<size_t>(t) < n; };
  const float rp = params_.repetition_penalty;
  const bool use_rp = rp > 0.0f && rp != 1.0f;
  const bool use_pf = params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
  if (!use_rp && !use_pf) return;
  if (counts_.size() < n) counts_.resize(n, 0);

  if (use_rp) {
    // Each distinct token in the window is penalized once, however often it occurs.
    const size_t window = static_cast<size_t>(std::max(params_.repetition_window, 0));
    std::span<const int32_t> recent = history;
    if (window > 0 && window < history.size()) recent = history.last(window);
    for (int32_t t : recent) {
      if (!valid(t) || counts_[t] != 0) continue;
      counts_[t] = 1;
      float& v = logits[t];
      v = v > 0.0f ? v / rp : v * rp;
    }
    for (int32_t t : recent) {
      if (valid(t)) counts_[t] = 0;
    }
  }
  if (use_pf) {
    const size_t skip = std::min(num_prompt_tokens, history.size());
    std::span<const int32_t> generated = history.subspan(skip);
    for (int32_t t : generated) {
      if (valid(t)) ++counts_[t];
    }
    for (int32_t t : generated) {
      if (!valid(t) || counts_[t] == 0) continue;
      logits[t] -= params_.presence_penalty +
                   params_.frequency_penalty * static_cast<float>(counts_[t]);
      counts_[t] = 0;
    }
  }
}

void Sampler::SelectTopK(size_t k) {
  const std::span<const float> scaled(scaled_);
  auto better = [&scaled](int32_t a, int32_t b) {
    return scaled[a] > scaled[b] || (scaled[a] == scaled[b] && a < b);
  };
  const size_t n = scaled.size();
  cand_.clear();
  if (k * 8 <= n) {
    // A heap of the k best so far whose front is the worst of them: most tokens are rejected by
    // one comparison, much cheaper than partitioning all ids. Ids rise during the scan, so a tie
    // with the front never displaces it (the lower id wins).
    for (size_t i = 0; i < n; ++i) {
      const int32_t id = static_cast<int32_t>(i);
      if (cand_.size() < k) {
        cand_.push_back(id);
        std::push_heap(cand_.begin(), cand_.end(), better);
      } else if (scaled[i] > scaled[cand_.front()]) {
        std::pop_heap(cand_.begin(), cand_.end(), better);
        cand_.back() = id;
        std::push_heap(cand_.begin(), cand_.end(), better);
      }
    }
  } else {
    cand_.resize(n);
    std::iota(cand_.begin(), cand_.end(), 0);
    std::nth_element(cand_.begin(), cand_.begin() + static_cast<ptrdiff_t>(k), cand_.end(),
                     better);
    cand_.resize(k);
  }
  std::sort(cand_.begin(), cand_.end(), better);
}

void Sampler::TruncateTopP(double total) {
  // Keep token i while the mass strictly before it is below top_p (so the token that crosses
  // top_p is kept): the llama.cpp rule, equal to HF's "drop if ascending cumsum <= 1 - top_p".
  const double target = static_cast<double>(params_.top_p) * total;
  double before = 0.0;
  size_t keep = 0;
  while (keep < cand_.size() && before < target) before += weight_[keep++];
  cand_.resize(std::max<size_t>(keep, 1));
  weight_.resize(cand_.size());
}

void Sampler::TopPByBuckets(double total, float max_scaled) {
  const size_t n = cand_.size();  // cand_ is 0..n-1 in id order here, weight_ dense
  bucket_.resize(n);
  bucket_mass_.assign(kTopPBuckets, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const float below = max_scaled - scaled_[i];  // >= 0; +inf for -inf logits
    const uint16_t b = below < kTopPBucketRange
                           ? static_cast<uint16_t>(below * (kTopPBuckets / kTopPBucketRange))
                           : static_cast<uint16_t>(kTopPBuckets - 1);
    bucket_[i] = std::min<uint16_t>(b, kTopPBuckets - 1);
    bucket_mass_[bucket_[i]] += weight_[i];
  }
  // Every token of a bucket outweighs every token of later buckets, so whole buckets before the
  // one where the mass reaches top_p are kept and only that boundary bucket needs an order.
  const double target = static_cast<double>(params_.top_p) * total;
  double before = 0.0;
  size_t boundary = kTopPBuckets - 1;
  for (size_t b = 0; b < kTopPBuckets; ++b) {
    if (before + bucket_mass_[b] >= target) {
      boundary = b;
      break;
    }
    before += bucket_mass_[b];
  }
  size_t out = 0;
  boundary_.clear();
  for (size_t i = 0; i < n; ++i) {
    if (bucket_[i] < boundary) {
      cand_[out] = cand_[i];
      weight_[out] = weight_[i];
      ++out;
    } else if (bucket_[i] == boundary) {
      boundary_.push_back(cand_[i]);
    }
  }
  const std::span<const float> scaled(scaled_);
  std::sort(boundary_.begin(), boundary_.end(), [&scaled](int32_t a, int32_t b) {
    return scaled[a] > scaled[b] || (scaled[a] == scaled[b] && a < b);
  });
  // Same rule as TruncateTopP: keep a token while the mass before it is below top_p.
  for (int32_t id : boundary_) {
    if (before >= target && out > 0) break;
    const double w = std::exp(scaled_[id] - max_scaled);
    cand_[out] = id;
    weight_[out] = w;
    before += w;
    ++out;
  }
  cand_.resize(out);
  weight_.resize(out);
}

double Sampler::Filter(std::span<const float> logits) {
  const size_t n = logits.size();
  const double inv_t = 1.0 / static_cast<double>(params_.temperature);
  scaled_.resize(n);
  float max_s = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) {
    float s = static_cast<float>(static_cast<double>(logits[i]) * inv_t);
    if (std::isnan(s)) s = -std::numeric_limits<float>::infinity();
    if (s == std::numeric_limits<float>::infinity()) s = std::numeric_limits<float>::max();
    scaled_[i] = s;
    max_s = std::max(max_s, s);
  }
  if (max_s == -std::numeric_limits<float>::infinity()) return 0.0;
  // Weights relative to the top token (which gets exactly 1): no overflow, and min-p needs no
  // normalization.
  auto weight_of = [&](int32_t id) -> double { return std::exp(scaled_[id] - max_s); };

  const bool use_top_p = params_.top_p > 0.0f && params_.top_p < 1.0f;
  const size_t top_k = static_cast<size_t>(std::max(params_.top_k, 0));
  if (top_k > 0 && top_k < n) {
    SelectTopK(top_k);
  } else {
    cand_.resize(n);
    std::iota(cand_.begin(), cand_.end(), 0);
  }
  weight_.resize(cand_.size());
  double total = 0.0;
  for (size_t i = 0; i < cand_.size(); ++i) total += weight_[i] = weight_of(cand_[i]);

  if (use_top_p) {
    if (cand_.size() < n) {
      TruncateTopP(total);  // the top-k survivors are already sorted
    } else {
      TopPByBuckets(total, max_s);
    }
  }
  if (params_.min_p > 0.0f) {
    // The most likely token has weight exactly 1 and always survives top-k / top-p, so
    // "p >= min_p * p_max" is "weight >= min_p" whatever the normalization.
    const double threshold = params_.min_p;
    size_t out = 0;
    for (size_t i = 0; i < cand_.size(); ++i) {
      if (weight_[i] < threshold) continue;
      cand_[out] = cand_[i];
      weight_[out] = weight_[i];
      ++out;
    }
    cand_.resize(out);
    weight_.resize(out);
  }
  total = 0.0;
  for (double w : weight_) total += w;
  return total;
}

int32_t Sampler::Sample(std::span<float> logits, std::span<const int32_t> history,
                        size_t num_prompt_tokens) {
  if (logits.empty()) return -1;
  ApplyPenalties(logits, history, num_prompt_tokens);
  if (IsGreedy()) return ArgMax(logits);
  const double total = Filter(logits);
  if (!(total > 0.0)) return ArgMax(logits);
  const double target = Uniform() * total;
  double cum = 0.0;
  for (size_t i = 0; i < cand_.size(); ++i) {
    cum += weight_[i];
    if (target < cum) return cand_[i];
  }
  // Rounding left the target at the very end: take the last candidate with any weight.
  for (size_t i = cand_.size(); i-- > 0;) {
    if (weight_[i] > 0.0) return cand_[i];
  }
  return ArgMax(logits);
}

void Sampler::Probabilities(std::span<const float> logits, std::span<const int32_t> history,
                            std::vector<float>& probs, size_t num_prompt_tokens) {
  probs.assign(logits.size(), 0.0f);
  if (logits.empty()) return;
  work_.assign(logits.begin(), logits.end());
  ApplyPenalties(work_, history, num_prompt_tokens);
  const double total = IsGreedy() ? 0.0 : Filter(work_);
  if (!(total > 0.0)) {
    probs[ArgMax(work_)] = 1.0f;
    return;
  }
  for (size_t i = 0; i < cand_.size(); ++i) {
    probs[cand_[i]] = static_cast<float>(weight_[i] / total);
  }
}

}  // namespace ds
