// KV cache for multi-head latent attention: per layer, per position, only the normalized latent
// c_kv (kv_lora_rank) and the rotated shared RoPE key (qk_rope_head_dim) are kept, so a token
// costs (kv_lora_rank + qk_rope_head_dim) * layers * sizeof(dtype) bytes.
#pragma once

#include <vector>

#include "models/causal_lm.h"
#include "runtime/tensor.h"

namespace ds {

class MlaKvCache {
 public:
  // Bytes one position costs over all layers.
  static int64_t BytesPerToken(int64_t layers, int64_t rank, int64_t rope_dim, KvCacheDType dtype);
  MlaKvCache(int64_t layers, int64_t capacity, int64_t rank, int64_t rope_dim, KvCacheDType dtype);

  int64_t capacity() const { return capacity_; }
  int64_t layers() const { return static_cast<int64_t>(latent_.size()); }
  // The latent followed by the RoPE key stored for `layer` at `pos`, as f32 (tests compare rows).
  std::vector<float> RowF32(int64_t layer, int64_t pos) const;
  Tensor& latent(int64_t layer) { return latent_[layer]; }
  Tensor& rope_key(int64_t layer) { return rope_[layer]; }
  // Stores rows for `count` consecutive positions starting at `pos` (src rows have stride ld).
  void Write(int64_t layer, int64_t pos, int64_t count, const float* latent, const float* rope, int64_t ld);

 private:
  int64_t capacity_;
  std::vector<Tensor> latent_, rope_;
};

}  // namespace ds
