// Plain K/V cache for grouped-query attention (Qwen2, Llama): per layer, per position, the rotated
// keys and the values of every KV head, so a token costs 2 * kv_heads * head_dim * layers * sizeof(dtype).
#pragma once

#include <vector>

#include "models/causal_lm.h"
#include "runtime/tensor.h"

namespace ds {

class GqaKvCache {
 public:
  // Bytes one position costs over all layers.
  static int64_t BytesPerToken(int64_t layers, int64_t kv_heads, int64_t head_dim, KvCacheDType dtype);
  GqaKvCache(int64_t layers, int64_t capacity, int64_t kv_heads, int64_t head_dim, KvCacheDType dtype);

  int64_t capacity() const { return capacity_; }
  const Tensor& keys(int64_t layer) const { return k_[layer]; }
  const Tensor& values(int64_t layer) const { return v_[layer]; }
  // Stores K and V rows ([kv_heads * head_dim] each, row stride ld) for `count` positions from `pos`.
  void Write(int64_t layer, int64_t pos, int64_t count, const float* k, const float* v, int64_t ld);

 private:
  int64_t capacity_;
  std::vector<Tensor> k_, v_;
};

}  // namespace ds
