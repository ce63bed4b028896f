// A GGUF file seen as a model: ModelConfig from its metadata and its tensors under Hugging Face
// names, so the architectures load it exactly as they load an HF folder.
#pragma once

#include <memory>
#include <string>

#include "loader/gguf.h"
#include "loader/model_config.h"
#include "loader/tensor_source.h"

namespace ds {

// True if `path` is a regular file starting with the GGUF magic.
bool IsGgufFile(const std::string& path);

// Hyper-parameters from `<arch>.*` metadata (architectures deepseek2, qwen2, llama); errors name
// the file and the key. model_type is the HF name ("deepseek_v2"/"deepseek_v3", "qwen2", "llama").
StatusOr<ModelConfig> GgufModelConfig(const GgufFile& gguf);

// GGUF tensors under HF names. Zero-copy views, including single experts sliced out of the stacked
// ffn_*_exps tensors and llama.cpp's split MLA tensors (exposed as self_attn.k_b_proj.weight
// [heads*kv_lora_rank, qk_nope_head_dim] and self_attn.v_b_proj.weight [heads*v_head_dim,
// kv_lora_rank]). Llama's attn_q/attn_k rows stay in llama.cpp's permuted order: the config says
// rope_interleaved, so RoPE rotates adjacent pairs instead.
class GgufTensorSource : public TensorSource {
 public:
  GgufTensorSource(std::shared_ptr<const GgufFile> gguf, const ModelConfig& config);
  bool Has(const std::string& name) const override;
  StatusOr<Tensor> Get(const std::string& name) const override;
  std::string FileOf(const std::string& name) const override { return gguf_->path(); }
  uint64_t TotalBytes() const override {
    uint64_t total = 0;
    for (const auto& t : gguf_->tensors()) total += t.nbytes;
    return total;
  }
  std::vector<const MappedFile*> BackingFiles() const override { return {&gguf_->mapped()}; }
  const GgufFile& gguf() const { return *gguf_; }

 private:
  std::shared_ptr<const GgufFile> gguf_;
  std::string arch_;
};

}  // namespace ds
