#include "models/gqa_kv_cache.h"

#include "models/kv_cache_rows.h"

namespace ds {

int64_t GqaKvCache::BytesPerToken(int64_t layers, int64_t kv_heads, int64_t head_dim, KvCacheDType dtype) {
  return layers * 2 * kv_heads * head_dim * KvCacheElementBytes(dtype);
}

GqaKvCache::GqaKvCache(int64_t layers, int64_t capacity, int64_t kv_heads, int64_t head_dim, KvCacheDType dtype)
    : capacity_(capacity) {
  for (int64_t l = 0; l < layers; ++l) {
    k_.push_back(Tensor::Empty(KvCacheTensorDType(dtype), {capacity, kv_heads * head_dim}));
    v_.push_back(Tensor::Empty(KvCacheTensorDType(dtype), {capacity, kv_heads * head_dim}));
  }
}

void GqaKvCache::Write(int64_t layer, int64_t pos, int64_t count, const float* k, const float* v, int64_t ld) {
  for (int64_t i = 0; i < count; ++i) {
    StoreKvRow(k_[layer], pos + i, k + i * ld);
    StoreKvRow(v_[layer], pos + i, v + i * ld);
  }
}

}  // namespace ds
