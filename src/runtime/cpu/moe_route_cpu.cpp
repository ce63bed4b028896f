// DeepSeekMoE routing on CPU: scoring, optional group limiting, top-k, weight normalization.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "runtime/cpu/vector_ops_cpu.h"

namespace ds::cpu {
namespace {

// Indices of the k largest values; ties keep the lower index first (as torch.topk on CPU).
std::vector<int32_t> TopK(const std::vector<float>& v, int64_t k) {
  std::vector<int32_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
    return v[a] > v[b] || (v[a] == v[b] && a < b);
  });
  idx.resize(k);
  return idx;
}

// Zeroes (to -inf) the experts of every group not among the best `topk_groups`.
void LimitGroups(const MoeRouteOp::Args& a, std::vector<float>& choice) {
  const int64_t per_group = a.experts / a.groups;
  std::vector<float> group_scores(a.groups);
  for (int64_t g = 0; g < a.groups; ++g) {
    std::vector<float> members(choice.begin() + g * per_group, choice.begin() + (g + 1) * per_group);
    if (a.group_score == MoeGroupScore::kMax) {
      group_scores[g] = *std::max_element(members.begin(), members.end());
    } else {  // noaux_tc: sum of the two best biased scores in the group
      std::partial_sort(members.begin(), members.begin() + std::min<int64_t>(2, per_group), members.end(),
                        std::greater<float>());
      group_scores[g] = members[0] + (per_group > 1 ? members[1] : 0.0f);
    }
  }
  std::vector<int32_t> keep = TopK(group_scores, a.topk_groups);
  std::vector<bool> kept(a.groups, false);
  for (int32_t g : keep) kept[g] = true;
  for (int64_t e = 0; e < a.experts; ++e) {
    if (!kept[e / per_group]) choice[e] = -INFINITY;
  }
}

}  // namespace

Status MoeRoute(const MoeRouteOp::Args& a, KernelContext& ctx) {
  if (a.topk <= 0 || a.topk > a.experts || a.groups <= 0 || a.experts % a.groups != 0 ||
      a.topk_groups <= 0 || a.topk_groups > a.groups) {
    return absl::InvalidArgumentError(StrCat("moe_route: invalid routing shape (experts ", a.experts,
                                             ", groups ", a.groups, ", topk ", a.topk, ")"));
  }
  std::vector<float> scores(a.experts), choice(a.experts);
  for (int64_t t = 0; t < a.tokens; ++t) {
    const float* logits = a.logits + t * a.experts;
    if (a.scoring == MoeScoring::kSoftmax) {
      const float mx = *std::max_element(logits, logits + a.experts);
      float sum = 0.0f;
      for (int64_t e = 0; e < a.experts; ++e) sum += (scores[e] = std::exp(logits[e] - mx));
      for (auto& s : scores) s /= sum;
    } else {
      for (int64_t e = 0; e < a.experts; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
    }
    for (int64_t e = 0; e < a.experts; ++e) choice[e] = scores[e] + (a.bias ? a.bias[e] : 0.0f);
    if (a.group_score != MoeGroupScore::kNone && a.groups > 1) LimitGroups(a, choice);
    std::vector<int32_t> chosen = TopK(choice, a.topk);
    float sum = 0.0f;
    for (int64_t i = 0; i < a.topk; ++i) sum += scores[chosen[i]];
    const float norm = (a.normalize && a.topk > 1) ? 1.0f / (sum + 1e-20f) : 1.0f;
    for (int64_t i = 0; i < a.topk; ++i) {
      a.out_ids[t * a.topk + i] = chosen[i];
      a.out_weights[t * a.topk + i] = scores[chosen[i]] * norm * a.scale;
    }
  }
  return absl::OkStatus();
}

}  // namespace ds::cpu
