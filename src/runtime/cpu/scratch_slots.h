// The KernelContext scratch slots of the CPU kernels, all in one table: each kernel that may run in
// the same forward pass has its own, so none can overwrite a buffer another still holds, and each
// slot's size is one kernel's largest request (what the models' memory plans count).
#pragma once

namespace ds::cpu::slot {

// Float slots (KernelContext::Scratch).
// matmul_cpu.cpp: a decoded weight row; weight panels widened to f32 (or one row per thread);
// activations and weight panels rounded to bf16.
inline constexpr int kMatMulRow = 0, kMatMulPanel = 1, kMatMulXBf16 = 2, kMatMulPanelBf16 = 3;
// matmul_group_cpu.cpp: 8-bit activation block scales and sums, rearranged activations, each
// thread's f8_e4m3 work area (x times a scale-row block's scales).
inline constexpr int kQ8Scales = 4, kQ8Sums = 5, kGemvX = 6, kFp8Work = 7;
// gqa_attention_cpu.cpp: per-thread rows (or the decode kernel's scratch), a bf16 cache as f32.
inline constexpr int kAttentionThreadRows = 8, kAttentionKeysF32 = 9, kAttentionValuesF32 = 10;
// mla_attention_cpu.cpp: the latent and RoPE-key caches as f32 and the latent one as bf16, a block
// of scores and its probabilities as bf16, the decode kernel's scratch, the portable loop's rows.
inline constexpr int kMlaKvF32 = 11, kMlaPeF32 = 12, kMlaKvBf16 = 13, kMlaScores = 14, kMlaProbsBf16 = 15;
inline constexpr int kMlaDecode = 16, kMlaThreadRows = 17;
// moe_route_cpu.cpp: per-token scores and biased choice scores, group scores and members.
inline constexpr int kRouteScores = 20, kRouteChoice = 21, kRouteGroupScores = 22, kRouteMembers = 23;

// Int32 slots (KernelContext::ScratchInts).
inline constexpr int kRouteIndex = 0;  // moe_route_cpu.cpp: top-k indices (groups, then experts)
inline constexpr int kQ8Codes = 1;     // matmul_group_cpu.cpp: 8-bit activation codes (or digit rows)
inline constexpr int kQ8Offsets = 2;   // matmul_group_cpu.cpp: the digit rows' 32 * 4-value sums

}  // namespace ds::cpu::slot
