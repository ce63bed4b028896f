#include "models/gqa_kv_cache.h"

#include <cstring>

#include "common/float_convert.h"

namespace ds {
namespace {

DType CacheDType(KvCacheDType d) { return d == KvCacheDType::kF32 ? DType::kF32 : DType::kBF16; }

void StoreRow(Tensor& t, int64_t row, const float* src) {
  const int64_t d = t.dim(1);
  if (t.dtype() == DType::kF32) {
    std::memcpy(t.data<float>() + row * d, src, d * sizeof(float));
  } else {
    uint16_t* dst = t.data<uint16_t>() + row * d;
    for (int64_t i = 0; i < d; ++i) dst[i] = F32ToBf16(src[i]);
  }
}

}  // namespace

int64_t GqaKvCache::BytesPerToken(int64_t layers, int64_t kv_heads, int64_t head_dim, KvCacheDType dtype) {
  return layers * 2 * kv_heads * head_dim * (dtype == KvCacheDType::kF32 ? 4 : 2);
}

GqaKvCache::GqaKvCache(int64_t layers, int64_t capacity, int64_t kv_heads, int64_t head_dim, KvCacheDType dtype)
    : capacity_(capacity) {
  for (int64_t l = 0; l < layers; ++l) {
    k_.push_back(Tensor::Empty(CacheDType(dtype), {capacity, kv_heads * head_dim}));
    v_.push_back(Tensor::Empty(CacheDType(dtype), {capacity, kv_heads * head_dim}));
  }
}

void GqaKvCache::Write(int64_t layer, int64_t pos, int64_t count, const float* k, const float* v, int64_t ld) {
  for (int64_t i = 0; i < count; ++i) {
    StoreRow(k_[layer], pos + i, k + i * ld);
    StoreRow(v_[layer], pos + i, v + i * ld);
  }
}

}  // namespace ds
