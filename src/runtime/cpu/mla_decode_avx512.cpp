// MLA attention for a few query tokens (decoding) on AVX-512. Every head reads the same latent
// cache, so 16 query rows (heads, or heads of several tokens) share one vector lane each: each cache
// row is read once per 16 rows and no dot product needs a horizontal sum.
//   scores: S[s][lane] = sum_d kv[s][d] * qT[d][lane] (+ the RoPE part), 8 keys per q load;
//   softmax down s for each lane (its own causal limit; queries pre-scaled), with the vector exp;
//   out[lane][c] = sum_s P[s][lane] * kv[s][c] / lane sum, 16 output columns per accumulator set.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "runtime/cpu/attention_rows.h"
#include "runtime/cpu/lanes_avx512.h"

namespace ds::cpu {
namespace {

constexpr int64_t kLanes = 16;
constexpr int64_t kKeysPerStep = 8;  // keys sharing each load of qT (independent FMA chains)

// qT[d][lane] = scale * q row (r0 + lane), d < width (zero lanes past the last row).
void TransposeRows(const float* q, int64_t width, int64_t r0, int64_t lanes, float scale, float* qT) {
  std::fill(qT, qT + width * kLanes, 0.0f);
  for (int64_t l = 0; l < lanes; ++l) {
    const float* row = q + (r0 + l) * width;
    for (int64_t d = 0; d < width; ++d) qT[d * kLanes + l] = scale * row[d];
  }
}

// S[s] += sum_d rows[s][d] * qT[d] for keys [s0, s1), 8 at a time (the tail one by one).
void ScoreKeys(const float* rows, int64_t width, const float* qT, int64_t s0, int64_t s1, float* S) {
  int64_t s = s0;
  for (; s + kKeysPerStep <= s1; s += kKeysPerStep) {
    __m512 acc[kKeysPerStep];
    for (int64_t i = 0; i < kKeysPerStep; ++i) acc[i] = _mm512_loadu_ps(S + (s + i) * kLanes);
    const float* r = rows + s * width;
    for (int64_t d = 0; d < width; ++d) {
      const __m512 q = _mm512_loadu_ps(qT + d * kLanes);
      for (int64_t i = 0; i < kKeysPerStep; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(r[i * width + d]), q, acc[i]);
    }
    for (int64_t i = 0; i < kKeysPerStep; ++i) _mm512_storeu_ps(S + (s + i) * kLanes, acc[i]);
  }
  for (; s < s1; ++s) {
    __m512 acc = _mm512_loadu_ps(S + s * kLanes);
    const float* r = rows + s * width;
    for (int64_t d = 0; d < width; ++d) acc = _mm512_fmadd_ps(_mm512_set1_ps(r[d]), _mm512_loadu_ps(qT + d * kLanes), acc);
    _mm512_storeu_ps(S + s * kLanes, acc);
  }
}

// Cache rows [s0, s1) as f32: the cache itself when it is f32, else widened into `buf` (rows
// renumbered from s0).
const float* RowsF32(const Tensor& cache, int64_t s0, int64_t s1, float* buf, int64_t& first) {
  const int64_t width = cache.dim(1);
  if (cache.dtype() == DType::kF32) {
    first = 0;
    return cache.data<float>();
  }
  const uint16_t* src = cache.data<uint16_t>() + s0 * width;
  for (int64_t i = 0; i < (s1 - s0) * width; i += 16) {
    const __mmask16 m = TailMask((s1 - s0) * width - i);
    _mm512_mask_storeu_ps(buf + i, m, Bf16x16ToF32(_mm256_maskz_loadu_epi16(m, src + i)));
  }
  first = s0;
  return buf;
}

// 16 cache values of row s from column c0 as f32.
inline __m512 Load16(const Tensor& cache, int64_t s, int64_t c0) {
  const int64_t at = s * cache.dim(1) + c0;
  return cache.dtype() == DType::kF32 ? LoadF32x16(cache.data<float>() + at) : LoadF32x16(cache.data<uint16_t>() + at);
}

// out[lane][c0 .. c0 + 16) = inv[lane] * sum_s P[s][lane] * kv[s][c0 .. c0 + 16), for `lanes` rows
// from r0.
void WeightedColumns(const float* P, const float* inv, const Tensor& kv, int64_t rank, int64_t len, int64_t c0,
                     float* out, int64_t r0, int64_t lanes) {
  __m512 acc[kLanes];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (int64_t s = 0; s < len; ++s) {
    const __m512 v = Load16(kv, s, c0);
    const float* p = P + s * kLanes;
    for (int64_t l = 0; l < kLanes; ++l) acc[l] = _mm512_fmadd_ps(_mm512_set1_ps(p[l]), v, acc[l]);
  }
  for (int64_t l = 0; l < lanes; ++l) {
    _mm512_storeu_ps(out + (r0 + l) * rank + c0, _mm512_mul_ps(_mm512_set1_ps(inv[l]), acc[l]));
  }
}

}  // namespace

int64_t MlaDecodeScratchFloats(int64_t rank, int64_t rope_dim, int64_t len, int threads) {
  return (rank + rope_dim + len) * kLanes + threads * kKeysPerStep * (rank + rope_dim);
}

void MlaDecodeAvx512(const MlaAttentionOp::Args& a, int64_t len, float* scratch, int threads) {
  const Tensor& kv = *a.kv_cache;
  const Tensor& pe = *a.pe_cache;
  const int64_t rows = a.tokens * a.heads;
  float* qT = scratch;                               // [rank][16] then [rope_dim][16]
  float* S = scratch + (a.rank + a.rope_dim) * kLanes;  // [len][16]
  float* widened = S + len * kLanes;  // per thread: 8 keys' rows of a bf16 cache as f32
  for (int64_t r0 = 0; r0 < rows; r0 += kLanes) {
    const int64_t lanes = std::min(kLanes, rows - r0);
    alignas(64) int32_t limit[kLanes];  // causal: keys 0..pos; padding lanes see one zero score
    for (int64_t l = 0; l < kLanes; ++l) limit[l] = l < lanes ? a.positions[(r0 + l) / a.heads] + 1 : 1;
    TransposeRows(a.q_lat, a.rank, r0, lanes, a.scale, qT);
    TransposeRows(a.q_pe, a.rope_dim, r0, lanes, a.scale, qT + a.rank * kLanes);
    std::fill(S, S + len * kLanes, 0.0f);
    const int64_t key_blocks = (len + kKeysPerStep - 1) / kKeysPerStep;
#pragma omp parallel num_threads(threads)
    {
      float* buf = widened + omp_get_thread_num() * kKeysPerStep * (a.rank + a.rope_dim);
#pragma omp for schedule(static)
      for (int64_t b = 0; b < key_blocks; ++b) {
        const int64_t s0 = b * kKeysPerStep, s1 = std::min(len, s0 + kKeysPerStep);
        int64_t first = 0;
        const float* kv_rows = RowsF32(kv, s0, s1, buf, first);
        ScoreKeys(kv_rows - first * a.rank, a.rank, qT, s0, s1, S);
        const float* pe_rows = RowsF32(pe, s0, s1, buf + kKeysPerStep * a.rank, first);
        ScoreKeys(pe_rows - first * a.rope_dim, a.rope_dim, qT + a.rank * kLanes, s0, s1, S);
      }
    }
    alignas(64) float inv[kLanes];
    _mm512_store_ps(inv, SoftmaxDownLanes(S, len, _mm512_load_si512(limit)));
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t c0 = 0; c0 < a.rank; c0 += kLanes) WeightedColumns(S, inv, kv, a.rank, len, c0, a.out, r0, lanes);
  }
}

}  // namespace ds::cpu
