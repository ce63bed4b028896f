// DeepSeekMoE routing on CPU: scoring, optional group limiting, top-k, weight normalization.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/cpu/scratch_slots.h"
#include "runtime/cpu/vector_ops_cpu.h"

namespace ds::cpu {
namespace {

// idx[0..k) = indices of the k largest of v[0..n); ties keep the lower index first (as torch.topk
// on CPU). idx must hold n entries.
void TopK(const float* v, int64_t n, int64_t k, int32_t* idx) {
  std::iota(idx, idx + n, 0);
  std::partial_sort(idx, idx + k, idx + n, [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
}

// Sets to -inf the experts of every group not among the best `topk_groups`.
void LimitGroups(const MoeRouteOp::Args& a, float* choice, KernelContext& ctx) {
  const int64_t per_group = a.experts / a.groups;
  float* group_scores = ctx.Scratch(slot::kRouteGroupScores, a.groups);
  float* members = ctx.Scratch(slot::kRouteMembers, per_group);
  for (int64_t g = 0; g < a.groups; ++g) {
    std::copy(choice + g * per_group, choice + (g + 1) * per_group, members);
    if (a.group_score == MoeGroupScore::kMax) {
      group_scores[g] = *std::max_element(members, members + per_group);
    } else {  // noaux_tc: sum of the two best biased scores in the group
      std::partial_sort(members, members + std::min<int64_t>(2, per_group), members + per_group, std::greater<float>());
      group_scores[g] = members[0] + (per_group > 1 ? members[1] : 0.0f);
    }
  }
  int32_t* keep = ctx.ScratchInts(slot::kRouteIndex, a.groups);
  TopK(group_scores, a.groups, a.topk_groups, keep);
  for (int64_t e = 0; e < a.experts; ++e) {
    if (std::find(keep, keep + a.topk_groups, static_cast<int32_t>(e / per_group)) == keep + a.topk_groups) {
      choice[e] = -INFINITY;
    }
  }
}

}  // namespace

Status MoeRoute(const MoeRouteOp::Args& a, KernelContext& ctx) {
  if (a.topk <= 0 || a.topk > a.experts || a.groups <= 0 || a.experts % a.groups != 0 ||
      a.topk_groups <= 0 || a.topk_groups > a.groups) {
    return absl::InvalidArgumentError(StrCat("moe_route: invalid routing shape (experts ", a.experts,
                                             ", groups ", a.groups, ", topk ", a.topk, ")"));
  }
  float* scores = ctx.Scratch(slot::kRouteScores, a.experts);
  float* choice = ctx.Scratch(slot::kRouteChoice, a.experts);
  for (int64_t t = 0; t < a.tokens; ++t) {
    const float* logits = a.logits + t * a.experts;
    if (a.scoring == MoeScoring::kSoftmax) {
      const float mx = *std::max_element(logits, logits + a.experts);
      float sum = 0.0f;
      for (int64_t e = 0; e < a.experts; ++e) sum += (scores[e] = std::exp(logits[e] - mx));
      for (int64_t e = 0; e < a.experts; ++e) scores[e] /= sum;
    } else {
      for (int64_t e = 0; e < a.experts; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
    }
    for (int64_t e = 0; e < a.experts; ++e) choice[e] = scores[e] + (a.bias ? a.bias[e] : 0.0f);
    if (a.group_score != MoeGroupScore::kNone && a.groups > 1) LimitGroups(a, choice, ctx);
    int32_t* chosen = ctx.ScratchInts(slot::kRouteIndex, a.experts);
    TopK(choice, a.experts, a.topk, chosen);
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
