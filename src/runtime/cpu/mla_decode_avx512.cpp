// MLA attention for a few query tokens (decoding) on AVX-512. Every head reads the same latent
// cache, so 16 query rows (heads, or heads of several tokens) share one vector lane each: no dot
// product needs a horizontal sum, and each block of cache rows is read from memory once for all
// groups of 16 rows.
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

constexpr int64_t kLanes = kMlaDecodeLanes;
constexpr int64_t kKeysPerStep = kMlaDecodeKeysPerStep;  // keys sharing each load of qT (independent FMA chains)

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

// out[lane][c0 .. c0 + 16) (+)= sum over keys [s0, s1) of P[s][lane] * kv[s][c0 .. c0 + 16), for
// `lanes` rows from r0: set by the first block (s0 = 0), added to by the next ones, and scaled by
// inv[lane] in the last (s1 = len). The sums run in the order of one pass over all keys.
void WeightedColumns(const float* P, const float* inv, const Tensor& kv, int64_t rank, int64_t s0, int64_t s1,
                     int64_t len, int64_t c0, float* out, int64_t r0, int64_t lanes) {
  __m512 acc[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) {
    acc[l] = s0 == 0 || l >= lanes ? _mm512_setzero_ps() : _mm512_loadu_ps(out + (r0 + l) * rank + c0);
  }
  for (int64_t s = s0; s < s1; ++s) {
    const __m512 v = Load16(kv, s, c0);
    const float* p = P + s * kLanes;
    for (int64_t l = 0; l < kLanes; ++l) acc[l] = _mm512_fmadd_ps(_mm512_set1_ps(p[l]), v, acc[l]);
  }
  for (int64_t l = 0; l < lanes; ++l) {
    const __m512 v = s1 == len ? _mm512_mul_ps(_mm512_set1_ps(inv[l]), acc[l]) : acc[l];
    _mm512_storeu_ps(out + (r0 + l) * rank + c0, v);
  }
}

// Keys per block of the P x V pass: a thread's part of a block's rows (at most 128 x 2 KiB) stays
// in L2 while every group and strip reads it. (Strip by strip over the whole cache read 64 bytes per
// row at a 1-2 KiB stride, page after page, from L3 or DRAM.)
constexpr int64_t kValueBlockKeys = 128;

}  // namespace

// Every group of 16 query rows (heads) reads the whole cache, so the groups go together: each
// block of keys is read from memory once and serves all groups from cache (one group at a time
// over the whole cache read it 8 times per layer for 128 heads: at 8192 keys that made the kernel
// memory-bound, 28.6 ms per layer against 15.1 for oneDNN's GEMMs, which read it once).
void MlaDecodeAvx512(const MlaAttentionOp::Args& a, int64_t len, float* scratch, int threads) {
  const Tensor& kv = *a.kv_cache;
  const Tensor& pe = *a.pe_cache;
  const int64_t rows = a.tokens * a.heads, groups = (rows + kLanes - 1) / kLanes, width = a.rank + a.rope_dim;
  float* qT = scratch;                              // per group: [rank][16] then [rope_dim][16]
  float* S = qT + groups * width * kLanes;          // per group: [len][16]
  float* inv = S + groups * len * kLanes;           // per group: 16 reciprocal sums
  float* widened = inv + groups * kLanes;           // per thread: 8 keys' rows of a bf16 cache as f32
  auto lanes_of = [&](int64_t g) { return std::min(kLanes, rows - g * kLanes); };
  for (int64_t g = 0; g < groups; ++g) {
    TransposeRows(a.q_lat, a.rank, g * kLanes, lanes_of(g), a.scale, qT + g * width * kLanes);
    TransposeRows(a.q_pe, a.rope_dim, g * kLanes, lanes_of(g), a.scale, qT + (g * width + a.rank) * kLanes);
  }
  std::fill(S, S + groups * len * kLanes, 0.0f);
  const int64_t key_blocks = (len + kKeysPerStep - 1) / kKeysPerStep;
#pragma omp parallel num_threads(threads)
  {
    float* buf = widened + omp_get_thread_num() * kKeysPerStep * width;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < key_blocks; ++b) {
      const int64_t s0 = b * kKeysPerStep, s1 = std::min(len, s0 + kKeysPerStep);
      int64_t kv_first = 0, pe_first = 0;
      const float* kv_rows = RowsF32(kv, s0, s1, buf, kv_first) - kv_first * a.rank;
      const float* pe_rows = RowsF32(pe, s0, s1, buf + kKeysPerStep * a.rank, pe_first) - pe_first * a.rope_dim;
      for (int64_t g = 0; g < groups; ++g) {
        const float* q = qT + g * width * kLanes;
        ScoreKeys(kv_rows, a.rank, q, s0, s1, S + g * len * kLanes);
        ScoreKeys(pe_rows, a.rope_dim, q + a.rank * kLanes, s0, s1, S + g * len * kLanes);
      }
    }
#pragma omp for schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
      alignas(64) int32_t limit[kLanes];  // causal: keys 0..pos; padding lanes see one zero score
      for (int64_t l = 0; l < kLanes; ++l) limit[l] = l < lanes_of(g) ? a.positions[(g * kLanes + l) / a.heads] + 1 : 1;
      _mm512_storeu_ps(inv + g * kLanes, SoftmaxDownLanes(S + g * len * kLanes, len, _mm512_load_si512(limit)));
    }
    // P x V: each thread owns a contiguous range of 16-column strips.
    const int64_t strips = a.rank / kLanes, nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t c_lo = strips * id / nt * kLanes, c_hi = strips * (id + 1) / nt * kLanes;
    for (int64_t s0 = 0; s0 < len; s0 += kValueBlockKeys) {
      const int64_t s1 = std::min(len, s0 + kValueBlockKeys);
      for (int64_t g = 0; g < groups; ++g) {
        for (int64_t c0 = c_lo; c0 < c_hi; c0 += kLanes) {
          WeightedColumns(S + g * len * kLanes, inv + g * kLanes, kv, a.rank, s0, s1, len, c0, a.out, g * kLanes,
                          lanes_of(g));
        }
      }
    }
  }
}

}  // namespace ds::cpu
