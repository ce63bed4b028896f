// llama.cpp's GGUF tensor names for the supported architectures (deepseek2, qwen2, llama) and the
// Hugging Face names they correspond to. Shared by the reader (GGUF -> HF) and the writer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ds {

// How a GGUF tensor relates to its HF tensor.
enum class GgufLayout {
  kSame,        // same values, shape reversed (ne0 innermost = HF's last dim)
  kFlatten3d,   // a 3-D GGUF tensor seen as 2-D: attn_k_b [H, rank, dn] -> [H*rank, dn]
  kExpert,      // one expert's slice of a stacked ffn_*_exps tensor [E, out, in]
  kRopePermuted,  // llama attn_q / attn_k: rows permuted per head (llama.cpp's rotary layout)
};

struct GgufName {
  std::string gguf;  // e.g. "blk.3.ffn_up_exps.weight"
  GgufLayout layout = GgufLayout::kSame;
  int64_t expert = -1;  // kExpert: the expert index
};

// The GGUF tensor holding HF tensor `hf_name` for architecture `arch` ("deepseek2", "qwen2",
// "llama"), or nullopt when the name has no GGUF counterpart.
std::optional<GgufName> GgufNameForHf(const std::string& arch, const std::string& hf_name);

// GGUF architecture name for an HF model_type ("deepseek_v3" -> "deepseek2"), or "" if unknown.
std::string GgufArchForModelType(const std::string& model_type);

}  // namespace ds
