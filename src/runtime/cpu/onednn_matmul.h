// f32 GEMM through oneDNN with primitives cached by shape (M is a run-time dimension, so one
// primitive serves every token count).
#pragma once

#include <cstdint>

#include "common/status.h"

namespace ds::cpu {

// y[m, n] (row stride ldy) (+)= x[m, k] (row stride ldx) * W, where W is f32 stored [n, k]
// (w_nk = true, nn.Linear layout) or [k, n] (w_nk = false) with row stride ldw.
Status OneDnnGemmF32(const float* x, int64_t m, int64_t k, int64_t ldx, const float* w, bool w_nk,
                     int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate);

// The same with every dimension and stride chosen at run time: one primitive per (w_nk,
// accumulate) serves all shapes (attention, whose key count changes every call).
Status OneDnnGemmF32AnyShape(const float* x, int64_t m, int64_t k, int64_t ldx, const float* w, bool w_nk,
                             int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate);

// The same with bf16 activations and weights (f32 accumulation and output): AVX512-BF16 / AMX.
Status OneDnnGemmBf16(const uint16_t* x, int64_t m, int64_t k, int64_t ldx, const uint16_t* w, bool w_nk,
                      int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate);

// True when oneDNN can build bf16 matmuls on this CPU: fixed and any shape, both weight layouts,
// with and without accumulation (checked once).
// False where its CPU ISA is capped below AVX-512 (ONEDNN_MAX_CPU_ISA): callers then stay on f32.
bool OneDnnBf16MatmulAvailable();

// OneDnnGemmBf16 with every dimension and stride chosen at run time (attention).
Status OneDnnGemmBf16AnyShape(const uint16_t* x, int64_t m, int64_t k, int64_t ldx, const uint16_t* w, bool w_nk,
                              int64_t ldw, int64_t n, float* y, int64_t ldy, bool accumulate);

}  // namespace ds::cpu
