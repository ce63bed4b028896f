// Row access to weight matrices of any supported storage dtype: widening rows to f32 and dot
// products with f32 activations, dequantizing in registers (the weight is never materialized).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <xmmintrin.h>

#include "common/status.h"
#include "runtime/tensor.h"

namespace ds::cpu {

// A 2-D weight [rows, cols] prepared for row-wise kernels.
struct WeightRows {
  DType dtype;
  const uint8_t* base;  // row 0 of this view
  int64_t rows, cols, row_bytes;
  const float* scales = nullptr;  // FP8 block scales (row-major grid) or null
  int64_t scale_cols = 0, block = 0, scale_row0 = 0;
};

// Row r's FP8 block scales (one per `block` columns), or null for weights without them.
inline const float* ScaleRow(const WeightRows& w, int64_t r) {
  return w.scales ? w.scales + ((w.scale_row0 + r) / w.block) * w.scale_cols : nullptr;
}

// Rows whose f32 activation row outgrows this share each x load across kGemvRowGroup rows in the
// decode GEMV (one row at a time would re-read x from L2 for every row); the AVX-512 bf16 and
// f8_e4m3 kernels take 2 * kGemvRowGroup first. Threads' shares are cut on kGemvRowGroup rows.
inline constexpr int64_t kLongRowBytesOfX = 16 << 10;
inline constexpr int kGemvRowGroup = 8;
inline bool IsLongRow(const WeightRows& w) { return w.cols * 4 > kLongRowBytesOfX; }

// Validates `w` (2-D, contiguous, supported dtype, scales consistent) and describes it.
StatusOr<WeightRows> DescribeWeight(const Tensor& w);

// out[0..cols) = f32(row r).
void DecodeRow(const WeightRows& w, int64_t r, float* out);

// out[i] = dot(x + i*ldx, row r) for i < m (m <= 4), f32 accumulation.
void DotRow(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out);

// True when the AVX-512 (resp. AVX2) kernels are selected now: supported by this CPU and not
// capped by DS_CPU_ISA / SetCpuIsa (runtime/cpu/cpu_isa.h).
bool HasAvx512();
bool HasAvx2();

// AVX-512 versions (weight_rows_avx512.cpp); same contracts, for bf16 / f16 / f8_e4m3.
void DotRowAvx512(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out);
void DecodeRowAvx512(const WeightRows& w, int64_t r, float* out);
// y[r] (+)= dot(x, row r) for r in [r0, r1): one activation row (decode), rows grouped when long.
// `xp`: x as PrepareGemvX wrote it (then bf16 and f8_e4m3 rows are read with whole 64-byte
// loads), or nullptr (the widening path).
// fp8_work: the calling thread's Fp8WorkFloats(w.cols, w.block) floats, 64-byte aligned (fp8 only).
void GemvRangeAvx512(const WeightRows& w, int64_t r0, int64_t r1, const float* x, const float* xp, float* y,
                     bool accumulate, float* fp8_work);
// f8_e4m3 decode GEMVs with block scales multiply x by a scale-row block's column-block scales
// once per block of rows (then each row is one dot product, no per-block partial sums):
// xs = x * s * 2^e, rounded once, where this returns e with the largest |xs| in [2^125, 2^126)
// (products with codes scaled by 2^-120 stay finite, and normal for x * s down to ~2^-120 of the
// largest); 0 when x is all zero or the largest is inf (a NaN is skipped: the sums are NaN anyway).
// block_max[b]: the largest |x| in column block b.
int Fp8XExponent(const float* srow, const float* block_max, int64_t blocks);
// Floats of one thread's work area for GemvFp8ScaledX over rows of `cols` columns (xs and the
// column blocks' maxima), a multiple of 16 so that consecutive areas stay 64-byte aligned.
inline int64_t Fp8WorkFloats(int64_t cols, int64_t block) {
  return (cols + 16 * ((cols + block - 1) / block) + 15) / 16 * 16;
}
// The f8_e4m3 GEMV both ISAs share, over the first k columns (a multiple of the kernels' quad
// width) of rows [r0, r1): block_max_of(c0, c1) = the largest |xq| in [c0, c1) per column block,
// then per scale-row block [rb0, rb1) scale_span(xs, c0, c1, s) writes xs = xq * s there for each
// column block (s = its scale times 2^e, in double) and rows(rb0, rb1, xs, 2^(120 - e)) runs the
// rows. xs lives in `work` (Fp8WorkFloats, 64-byte aligned: straddling loads ran 1.3x slower).
template <typename BlockMax, typename ScaleSpan, typename Rows>
inline void GemvFp8ScaledX(const WeightRows& w, int64_t r0, int64_t r1, int64_t k, float* work, BlockMax&& block_max_of,
                           ScaleSpan&& scale_span, Rows&& rows) {
  // Denormals-are-zero, which a program may set on any of its threads (the pool's included),
  // would read the f32 subnormals that small codes become as 0: cleared here, restored below.
  constexpr unsigned kDaz = 0x0040;
  const unsigned csr = _mm_getcsr();
  if (csr & kDaz) _mm_setcsr(csr & ~kDaz);
  const int64_t blocks = (k + w.block - 1) / w.block;
  float* xs = work;
  float* block_max = xs + k;
  for (int64_t b = 0; b < blocks; ++b) block_max[b] = block_max_of(b * w.block, std::min(k, (b + 1) * w.block));
  for (int64_t rb0 = r0; rb0 < r1;) {
    const int64_t rb1 = std::min(r1, ((w.scale_row0 + rb0) / w.block + 1) * w.block - w.scale_row0);
    const float* srow = ScaleRow(w, rb0);
    const int e = Fp8XExponent(srow, block_max, blocks);
    for (int64_t b = 0; b < blocks; ++b) {
      scale_span(xs, b * w.block, std::min(k, (b + 1) * w.block), std::ldexp(double(srow[b]), e));
    }
    rows(rb0, rb1, static_cast<const float*>(xs), std::ldexp(1.0, 120 - e));
    rb0 = rb1;
  }
  if (csr & kDaz) _mm_setcsr(_mm_getcsr() | kDaz);  // the flags the kernel raised stay set
}
// Writes x (w.cols floats) rearranged for GemvRangeAvx512's whole-line loads into xp and returns
// true: bf16 (per 32 columns, the 16 even then the 16 odd ones) and f8_e4m3 with block scales on
// 64-column multiples (per 64 columns, byte position k of each 4-byte lane);
// false for other weights (xp untouched).
bool PrepareGemvX(const WeightRows& w, const float* x, float* xp);
// out[i] = bf16(x[i]), round to nearest even (AVX512-BF16 when the CPU has it).
void F32ToBf16Row(const float* x, int64_t n, uint16_t* out);
void F32ToBf16Avx512Bf16(const float* x, int64_t n, uint16_t* out);

// AVX2 versions (weight_rows_avx2.cpp), same contracts.
// f8_e4m3 with block scales on multiples of 32 columns (and at least 32 columns): x rearranged per
// 32 columns (byte position k of each 4-byte lane) into xp, true; false for other weights. Then
// GemvFp8RangeAvx2 is GemvRangeAvx512's f8_e4m3 path.
bool PrepareFp8XAvx2(const WeightRows& w, const float* x, float* xp);
void GemvFp8RangeAvx2(const WeightRows& w, int64_t r0, int64_t r1, const float* x, const float* xp, float* y,
                      bool accumulate, float* fp8_work);
void DotRowAvx2(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out);
void DecodeRowAvx2(const WeightRows& w, int64_t r, float* out);

// GGUF block-quantized weights (quant_rows.cpp): same contracts, one block dequantized at a time.
void DecodeRowQuant(const WeightRows& w, int64_t r, float* out);
void DotRowQuant(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out);
// AVX-512 DotRowQuant (quant_dot_avx512.cpp): every block type above dequantized in registers,
// one horizontal reduction per activation row. False for a dtype it does not handle.
bool DotRowQuantAvx512(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out);
// q8_0: out[i] = dot(x, row r + i) for kGemvRowGroup rows at once when `rows` has that many (one
// activation row; each x load serves them all, for long rows), the same floats as
// DotRowQuantAvx512. Returns the rows done: kGemvRowGroup, or 0 (other dtypes, too few rows).
int DotRowsQuantAvx512(const WeightRows& w, int64_t r, int64_t rows, const float* x, float* out);
// AVX2, bf16 / f16 / f8_e4m3: the same for kGemvRowGroup rows at once (long rows), or 0.
int DotRowsAvx2(const WeightRows& w, int64_t r, int64_t rows, const float* x, float* out);
// AVX2 versions (quant_rows_avx2.cpp): DequantizeBlock (the same floats as the scalar code) and
// DotRowQuant over blocks dequantized into an L1 tile; false for dtypes they do not handle.
bool DequantizeBlockAvx2(DType t, const uint8_t* block, float* out);
bool DotRowQuantAvx2(const WeightRows& w, int64_t r, const float* x, int64_t m, int64_t ldx, float* out);
// One activation row, codes widened in registers (quant_dot_avx2.cpp): q8_0, q4_0, q4_1, q5_0,
// q5_1, q4_k, q5_k, q6_k; false for other dtypes. DotRowQuantAvx2 takes it for m = 1.
bool DotRowQuantOneAvx2(const WeightRows& w, int64_t r, const float* x, float* out);
// AVX-512 DequantizeBlock for q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k into a 64-byte aligned tile (same
// floats as the scalar code); false for other types.
bool DequantizeBlockAvx512(DType t, const uint8_t* block, float* out);

// Decode with the activation row quantized to 8 bits per 32 values (ComputePrecision::kBF16, for
// GGUF block-quantized weights): x[32b + i] ~ d[b] * q[32b + i], d[b] rounded to f16 as llama.cpp
// stores it; sum[b] = d[b] * (sum of block b's q).
//
// Exact decode (ComputePrecision::kF32) of the types of LimbActivationSupports takes the same
// kernels with x as kExactLimbs digit rows instead (limbs = 3): x[32b + i] ~ d[b] * A with the
// 21-bit integer A = round(x * 127 * 2^14 / max|block|) = 2^14 q0 + 2^7 q1 + q2 (q0 in [-127, 127],
// q1, q2 in [-64, 63]), d[b] = max|block| / (127 * 2^14) in f32. Each weight code's products
// with the three rows are combined in int32 by shifts (AVX2: by vpmaddwd with 2^14 / 2^7 / 1),
// exactly. So x is block floating point with 22 bits: each value is within 2^-22 max|block| of
// itself (f32 keeps 24 bits of each value), and a dot product moves by at most 2^-22 * sum over
// blocks of max|block| * sum|w| in the block.
// Widening every code to f32 instead is bound by instruction throughput: this ran 1.1-1.6x faster
// per core with VNNI, 1.15-2.3x with AVX2 (round 12).
struct Q8Activation {
  const int8_t* q;  // limbs rows of codes, row l at q + l * n
  const float* d;
  const float* sum;
  int limbs = 1;
  int64_t n = 0;
  const int32_t* offset32 = nullptr;  // limbs = 3: 32 * (A[4i] + ... + A[4i + 3]) (q6_k's -32)
};
inline constexpr int kExactLimbs = 3;
// Whether the dtype has 8-bit-activation kernels, and whether this CPU runs them (AVX512-VNNI, or
// AVX2 through vpmaddubsw).
bool Q8ActivationSupports(DType t);
bool HasQ8ActivationKernels();
// Whether this CPU runs the bf16-activation decode kernels (AVX-512 with AVX512-BF16).
bool HasBf16ActivationKernels();
// x[0..n) (n a multiple of 32) to codes (round to nearest even of x * 127 / max|block|), scales,
// block sums; the AVX-512 or the AVX2 variant.
void QuantizeActivation(const float* x, int64_t n, int8_t* q, float* d, float* sum);
void QuantizeActivationAvx512(const float* x, int64_t n, int8_t* q, float* d, float* sum);
void QuantizeActivationAvx2(const float* x, int64_t n, int8_t* q, float* d, float* sum);
// Whether exact decode of this dtype takes the digit-row kernels here: q4_0 / q4_1 / q5_0 / q5_1 /
// q4_k / q5_k / q6_k with AVX2 or AVX512-VNNI (q8_0 widens to f32 as fast).
bool LimbActivationSupports(DType t);
// x[0..n) (n a multiple of 32) as kExactLimbs rows of n codes at q, d, sum and offset32 (n / 4) of
// Q8Activation's limb form. False (then the f32 path must be taken) when x has a value that is
// not finite or a nonzero block whose largest magnitude is below 2^-60 (its scale products could
// turn subnormal). 256-bit code (quant_dot_q8act_avx2.cpp): callers check LimbActivationSupports.
bool QuantizeActivationLimbs(const float* x, int64_t n, int8_t* q, float* d, float* sum, int32_t* offset32);
// y[r] (+)= dot(x, row r) for r in [r0, r1), x given as a Q8Activation, types of
// Q8ActivationSupports: AVX512-VNNI (quant_dot_q8act_avx512vnni.cpp) or AVX2 (quant_dot_q8act_avx2.cpp).
void GemvRowsQ8Activation(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                          bool accumulate);
void GemvRowsQ8ActivationAvx512(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                                bool accumulate);
void GemvRowsQ8ActivationAvx2(const WeightRows& w, int64_t r0, int64_t r1, const Q8Activation& a, float* y,
                              bool accumulate);

// Decode with the activation row rounded to bf16 (ComputePrecision::kBF16) for bf16 weights of at
// most 8192 columns (gemv_bf16act_avx512bf16.cpp): vdpbf16ps products, f32 sums. Supports: whether
// this CPU (AVX512-BF16, AVX-512 active) and weight take it.
bool Bf16ActivationSupports(const WeightRows& w);
// x (w.cols floats) rounded to bf16 (nearest even) into xb.
void PrepareBf16Activation(const WeightRows& w, const float* x, uint16_t* xb);
// y[r] (+)= dot(xb, row r) for r in [r0, r1).
void GemvRowsBf16Activation(const WeightRows& w, int64_t r0, int64_t r1, const uint16_t* xb, float* y,
                            bool accumulate);

}  // namespace ds::cpu
