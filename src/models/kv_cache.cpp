#include "models/kv_cache.h"

#include <cstring>

#include "common/float_convert.h"
#include "models/kv_cache_rows.h"

namespace ds {
namespace {
void AppendRow(const Tensor& t, int64_t row, std::vector<float>& out) {
  const int64_t d = t.dim(1);
  for (int64_t i = 0; i < d; ++i) {
    out.push_back(t.dtype() == DType::kF32 ? t.data<float>()[row * d + i] : Bf16ToF32(t.data<uint16_t>()[row * d + i]));
  }
}

}  // namespace

int64_t MlaKvCache::BytesPerToken(int64_t layers, int64_t rank, int64_t rope_dim, KvCacheDType dtype) {
  return layers * (rank + rope_dim) * KvCacheElementBytes(dtype);
}

MlaKvCache::MlaKvCache(int64_t layers, int64_t capacity, int64_t rank, int64_t rope_dim, KvCacheDType dtype)
    : capacity_(capacity) {
  for (int64_t l = 0; l < layers; ++l) {
    latent_.push_back(Tensor::Empty(KvCacheTensorDType(dtype), {capacity, rank}));
    rope_.push_back(Tensor::Empty(KvCacheTensorDType(dtype), {capacity, rope_dim}));
  }
}

void MlaKvCache::Write(int64_t layer, int64_t pos, int64_t count, const float* latent, const float* rope,
                       int64_t ld) {
  for (int64_t i = 0; i < count; ++i) {
    StoreKvRow(latent_[layer], pos + i, latent + i * ld);
    StoreKvRow(rope_[layer], pos + i, rope + i * ld);
  }
}

std::vector<float> MlaKvCache::RowF32(int64_t layer, int64_t pos) const {
  std::vector<float> out;
  AppendRow(latent_[layer], pos, out);
  AppendRow(rope_[layer], pos, out);
  return out;
}

}  // namespace ds
