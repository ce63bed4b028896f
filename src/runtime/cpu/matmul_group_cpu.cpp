// Decode GEMVs (one activation row) on the CPU, alone (MatMulOp) or several at once
// (MatMulGroupOp). Each distinct activation row is prepared once for the kernels that read it:
// quantized to 8-bit codes (reduced precision, block-quantized weights) or to digit rows (f32
// precision, 4- to 6-bit block types, AVX2 or AVX512-VNNI), rounded to bf16 (reduced
// precision, bf16 weights) or rearranged for whole-line bf16 / fp8 loads (fp8 also on AVX2).
// Then one parallel region: the items' weights are laid end to end and each thread streams a
// contiguous share of their bytes, cut on 8-row boundaries (the long-row kernels keep their
// 8-row groups whole). A decode step is hundreds of such GEMVs, many
// small (MoE experts, MLA projections): one region per group instead of one per matmul saves the
// wake-ups and barriers, and lets small weights use both cores.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "runtime/cpu/cpu_isa.h"
#include "runtime/cpu/matmul_cpu.h"
#include "runtime/cpu/scratch_slots.h"

namespace ds::cpu {
namespace {

constexpr size_t kMaxItems = 32;                   // items per region (larger groups run in parts)

enum class GemvPath { kQ8Activation, kQ8Limbs, kBf16Activation, kAvx512, kFp8Avx2, kDotRow };

struct GemvItem {
  const MatMulOp::Args* a;
  const WeightRows* w;
  GemvPath path;
  int64_t prep = -1;  // offset of the prepared x in its scratch (-1: none)
  int64_t prep_blocks = 0;  // 8-bit forms: offset of its 32-value blocks' scales and sums
  size_t owner = 0;   // the first item reading this x in this layout, which prepares it
  const float* xp = nullptr;
  const uint16_t* xb = nullptr;  // x rounded to bf16 (kBf16Activation)
  Q8Activation act{};
  int64_t first_byte = 0, bytes = 0;  // the item's span in the group's weight bytes
};

// Reduced precision: block-quantized weights take x quantized to 8 bits once (integer dot
// products), bf16 weights x rounded to bf16 once (bf16 dot products). Exact: block-quantized
// weights take x as exact digit rows where the CPU has those kernels.
GemvPath PathFor(const WeightRows& w, const KernelContext& ctx) {
  const bool reduced = ctx.precision() == ComputePrecision::kBF16;
  if (reduced && Q8ActivationSupports(w.dtype) && HasQ8ActivationKernels()) return GemvPath::kQ8Activation;
  if (!reduced && LimbActivationSupports(w.dtype)) return GemvPath::kQ8Limbs;
  if (reduced && Bf16ActivationSupports(w)) return GemvPath::kBf16Activation;
  if (HasAvx512() && !IsBlockQuantized(w.dtype)) return GemvPath::kAvx512;
  if (HasAvx2() && w.dtype == DType::kF8E4M3 && w.scales != nullptr) return GemvPath::kFp8Avx2;
  return GemvPath::kDotRow;
}

// Assigns each item the owner and offset of its prepared x (shared with an earlier item reading
// the same x in the same layout: 8-bit codes depend only on x, the whole-line order on the
// weight's dtype and scale blocks) and returns the floats (codes: bytes) each scratch needs.
struct PrepSizes {
  int64_t gemv_x = 0, q8_codes = 0, q8_blocks = 0;
  bool limbs = false;
};
bool IsQ8(GemvPath p) { return p == GemvPath::kQ8Activation || p == GemvPath::kQ8Limbs; }
PrepSizes PlanPreparation(std::span<GemvItem> items) {
  PrepSizes sizes;
  for (size_t i = 0; i < items.size(); ++i) {
    GemvItem& it = items[i];
    if (it.path == GemvPath::kDotRow) continue;
    const bool q8 = IsQ8(it.path);
    it.owner = i;
    for (size_t j = 0; j < i && it.owner == i; ++j) {
      const GemvItem& o = items[j];
      const bool same_layout = q8 || (o.w->dtype == it.w->dtype && o.w->block == it.w->block &&
                                      (o.w->scales == nullptr) == (it.w->scales == nullptr));
      if (o.path == it.path && o.a->x == it.a->x && o.w->cols == it.w->cols && same_layout) it.owner = j;
    }
    if (it.owner != i) continue;
    if (q8) {
      const bool limbs = it.path == GemvPath::kQ8Limbs;
      it.prep = sizes.q8_codes;
      it.prep_blocks = sizes.q8_blocks;
      sizes.q8_codes += it.w->cols * (limbs ? kExactLimbs : 1);
      sizes.q8_blocks += it.w->cols / 32;
      sizes.limbs |= limbs;
    } else {  // floats, or pairs of bf16 values
      it.prep = sizes.gemv_x;
      sizes.gemv_x += it.path == GemvPath::kBf16Activation ? (it.w->cols + 1) / 2 : it.w->cols;
    }
  }
  return sizes;
}

// Whether the item runs GemvFp8ScaledX (and needs a work area per thread).
bool ScalesFp8X(const GemvItem& it) {
  return it.w->dtype == DType::kF8E4M3 && it.xp != nullptr &&
         (it.path == GemvPath::kAvx512 || it.path == GemvPath::kFp8Avx2);
}

// Each thread's FP8 work area (stride floats apart, 64-byte aligned) for the group's items.
struct Fp8Work {
  float* base = nullptr;
  int64_t stride = 0;
  float* ForThread(int id) const { return base == nullptr ? nullptr : base + id * stride; }
};
Fp8Work AllocateFp8Work(std::span<const GemvItem> items, KernelContext& ctx) {
  Fp8Work work;
  for (const GemvItem& it : items) {
    if (ScalesFp8X(it)) work.stride = std::max(work.stride, Fp8WorkFloats(it.w->cols, it.w->block));
  }
  if (work.stride == 0) return work;
  float* buf = ctx.Scratch(slot::kFp8Work, ctx.threads() * work.stride + 16);
  work.base = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buf) + 63) & ~uintptr_t{63});
  return work;
}

void Prepare(std::span<GemvItem> items, KernelContext& ctx) {
  const PrepSizes sizes = PlanPreparation(items);
  float* gemv_x = sizes.gemv_x > 0 ? ctx.Scratch(slot::kGemvX, sizes.gemv_x) : nullptr;
  int8_t* codes = sizes.q8_codes > 0 ? reinterpret_cast<int8_t*>(ctx.ScratchInts(slot::kQ8Codes, (sizes.q8_codes + 3) / 4))
                                     : nullptr;
  float* scales = sizes.q8_blocks > 0 ? ctx.Scratch(slot::kQ8Scales, sizes.q8_blocks) : nullptr;
  float* sums = sizes.q8_blocks > 0 ? ctx.Scratch(slot::kQ8Sums, sizes.q8_blocks) : nullptr;
  int32_t* offsets = sizes.limbs ? ctx.ScratchInts(slot::kQ8Offsets, sizes.q8_blocks * 8) : nullptr;
  for (size_t i = 0; i < items.size(); ++i) {
    GemvItem& it = items[i];
    if (it.path == GemvPath::kDotRow) continue;
    if (it.owner != i) {
      it.path = items[it.owner].path;  // kDotRow if the owner's x had no digit form
      it.act = items[it.owner].act;
      it.xp = items[it.owner].xp;
      it.xb = items[it.owner].xb;
    } else if (it.path == GemvPath::kQ8Activation) {
      const int64_t b0 = it.prep_blocks;
      it.act = {codes + it.prep, scales + b0, sums + b0};
      QuantizeActivation(it.a->x, it.w->cols, codes + it.prep, scales + b0, sums + b0);
    } else if (it.path == GemvPath::kQ8Limbs) {
      const int64_t b0 = it.prep_blocks;
      it.act = {codes + it.prep, scales + b0, sums + b0, kExactLimbs, it.w->cols, offsets + b0 * 8};
      // x with values that are not finite (or tiny blocks) keeps the f32 widening path: its NaN
      // and inf propagate as the reference's do.
      if (!QuantizeActivationLimbs(it.a->x, it.w->cols, codes + it.prep, scales + b0, sums + b0, offsets + b0 * 8)) {
        it.path = GemvPath::kDotRow;
      }
    } else if (it.path == GemvPath::kBf16Activation) {
      uint16_t* xb = reinterpret_cast<uint16_t*>(gemv_x + it.prep);
      PrepareBf16Activation(*it.w, it.a->x, xb);
      it.xb = xb;
    } else if (it.path == GemvPath::kFp8Avx2) {
      if (PrepareFp8XAvx2(*it.w, it.a->x, gemv_x + it.prep)) {
        it.xp = gemv_x + it.prep;
      } else {
        it.path = GemvPath::kDotRow;
      }
    } else {  // PrepareGemvX declines weights read without rearranging: xp stays null
      if (PrepareGemvX(*it.w, it.a->x, gemv_x + it.prep)) it.xp = gemv_x + it.prep;
    }
  }
}

// y[r] (+)= dot(x, row r) for r in [r0, r1) of one item; fp8_work: the thread's Fp8Work area.
void RunRows(const GemvItem& it, int64_t r0, int64_t r1, float* fp8_work) {
  const MatMulOp::Args& a = *it.a;
  switch (it.path) {
    case GemvPath::kQ8Activation:
    case GemvPath::kQ8Limbs: return GemvRowsQ8Activation(*it.w, r0, r1, it.act, a.y, a.accumulate);
    case GemvPath::kBf16Activation: return GemvRowsBf16Activation(*it.w, r0, r1, it.xb, a.y, a.accumulate);
    case GemvPath::kAvx512: return GemvRangeAvx512(*it.w, r0, r1, a.x, it.xp, a.y, a.accumulate, fp8_work);
    case GemvPath::kFp8Avx2: return GemvFp8RangeAvx2(*it.w, r0, r1, a.x, it.xp, a.y, a.accumulate, fp8_work);
    case GemvPath::kDotRow:
      // Several rows per x load: long rows (x outgrows L1), and on AVX2 any rows, whose 8 row
      // streams keep more memory reads in flight than one (short bf16 / f16 rows on Zen 3, one
      // core: 13-14 -> 15-18 GB/s; Qwen-1.5B BF16 decode 1.1x, docs/performance.md round 15).
      if (HasAvx2() && (IsLongRow(*it.w) || !HasAvx512())) {
        const auto rows_fn = HasAvx512() ? DotRowsQuantAvx512 : DotRowsAvx2;
        float v[kGemvRowGroup];
        for (int done; (done = rows_fn(*it.w, r0, r1 - r0, a.x, v)) > 0; r0 += done) {
          for (int i = 0; i < done; ++i) a.y[r0 + i] = a.accumulate ? a.y[r0 + i] + v[i] : v[i];
        }
      }
      for (int64_t r = r0; r < r1; ++r) {
        float v;
        DotRow(*it.w, r, a.x, 1, a.k, &v);
        a.y[r] = a.accumulate ? a.y[r] + v : v;
      }
      return;
  }
}

// The item's first row at byte `offset` of the group: rows before it in whole 8-row groups.
int64_t RowAt(const GemvItem& it, int64_t offset) {
  if (offset <= it.first_byte) return 0;
  if (offset >= it.first_byte + it.bytes) return it.w->rows;
  return std::min(it.w->rows, (offset - it.first_byte) / (8 * it.w->row_bytes) * 8);
}

void RunGroup(std::span<GemvItem> items, KernelContext& ctx) {
  Prepare(items, ctx);
  const Fp8Work fp8_work = AllocateFp8Work(items, ctx);
  int64_t total = 0;
  for (GemvItem& it : items) {
    it.first_byte = total;
    it.bytes = it.w->rows * it.w->row_bytes;
    total += it.bytes;
  }
#pragma omp parallel num_threads(ctx.threads()) if (total >= kMinParallelGemvBytes)
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t lo = total * id / nt, hi = total * (id + 1) / nt;
    for (const GemvItem& it : items) {
      const int64_t r0 = RowAt(it, lo), r1 = RowAt(it, hi);
      if (r0 < r1) RunRows(it, r0, r1, fp8_work.ForThread(id));
    }
  }
}

}  // namespace

void GemvGroup(std::span<const MatMulOp::Args> items, std::span<const WeightRows> weights, KernelContext& ctx) {
  std::array<GemvItem, kMaxItems> group;  // on the stack: decoding allocates nothing
  for (size_t i0 = 0; i0 < items.size(); i0 += kMaxItems) {
    const size_t n = std::min(kMaxItems, items.size() - i0);
    for (size_t i = 0; i < n; ++i) group[i] = {&items[i0 + i], &weights[i0 + i], PathFor(weights[i0 + i], ctx)};
    RunGroup({group.data(), n}, ctx);
  }
}

Status MatMulGroup(const MatMulGroupOp::Args& args, KernelContext& ctx) {
  std::array<MatMulOp::Args, kMaxItems> gemv;
  std::array<WeightRows, kMaxItems> weights;
  for (size_t i0 = 0; i0 < args.items.size(); i0 += kMaxItems) {
    size_t n = 0;
    for (size_t i = i0; i < std::min(args.items.size(), i0 + kMaxItems); ++i) {
      const MatMulOp::Args& a = args.items[i];
      if (a.m != 1 || a.transpose_w) {
        DS_RETURN_IF_ERROR(MatMulDense(a, ctx));
        continue;
      }
      DS_ASSIGN_OR_RETURN(weights[n], CheckMatMul(a));
      gemv[n++] = a;
    }
    GemvGroup({gemv.data(), n}, {weights.data(), n}, ctx);
  }
  return absl::OkStatus();
}

}  // namespace ds::cpu
