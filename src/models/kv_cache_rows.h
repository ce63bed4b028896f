// Row storage shared by the KV caches: f32 rows, or bf16 rows (half the memory) rounded on store.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/float_convert.h"
#include "models/causal_lm.h"
#include "runtime/tensor.h"

namespace ds {

inline DType KvCacheTensorDType(KvCacheDType d) { return d == KvCacheDType::kF32 ? DType::kF32 : DType::kBF16; }
inline int64_t KvCacheElementBytes(KvCacheDType d) { return d == KvCacheDType::kF32 ? 4 : 2; }

// Writes `src` (t.dim(1) floats) into row `row` of a [capacity, d] cache tensor.
inline void StoreKvRow(Tensor& t, int64_t row, const float* src) {
  const int64_t d = t.dim(1);
  if (t.dtype() == DType::kF32) {
    std::memcpy(t.data<float>() + row * d, src, d * sizeof(float));
  } else {
    uint16_t* dst = t.data<uint16_t>() + row * d;
    for (int64_t i = 0; i < d; ++i) dst[i] = F32ToBf16(src[i]);
  }
}

}  // namespace ds
