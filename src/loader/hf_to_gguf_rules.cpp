// Which GGUF type each tensor gets: llama-quantize's per-tensor rules for the supported mixes.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "loader/hf_to_gguf.h"

namespace ds {
namespace {

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The N of "blk.N.", or -1.
int64_t LayerOf(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  return std::atoll(name.c_str() + 4);
}

// llama.cpp's use_more_bits(): the first and last eighth of the layers and every third between.
bool UseMoreBits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Tensors llama-quantize never quantizes (kept as the converter wrote them: F32).
bool KeptF32(const std::string& name, const std::vector<uint64_t>& ne) {
  return ne.size() < 2 || Contains(name, "_norm.weight") || Contains(name, "ffn_gate_inp.weight") ||
         Contains(name, "exp_probs_b") || name == "rope_freqs.weight" || name.size() < 7 ||
         name.compare(name.size() - 7, 7, ".weight") != 0;
}

// Q4_K_M / Q5_K_M (base Q4_K / Q5_K).
DType KMType(DType base, const std::string& name, int64_t n_layers, int64_t n_experts) {
  if (name == "output.weight") return DType::kQ6_K;
  const int64_t layer = LayerOf(name);
  if (Contains(name, "attn_v.weight") || Contains(name, "ffn_down")) {
    return layer >= 0 && UseMoreBits(layer, n_layers) ? DType::kQ6_K : base;
  }
  if (base == DType::kQ4_K && Contains(name, "attn_output.weight") && n_experts == 8) return DType::kQ5_K;
  return base;
}

}  // namespace

StatusOr<GgufMix> ParseGgufMix(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "bf16") return GgufMix::kBF16;
  if (n == "f16") return GgufMix::kF16;
  if (n == "q8_0") return GgufMix::kQ8_0;
  if (n == "q6_k") return GgufMix::kQ6_K;
  if (n == "q4_k_m") return GgufMix::kQ4_K_M;
  if (n == "q5_k_m") return GgufMix::kQ5_K_M;
  if (n == "q4_0") return GgufMix::kQ4_0;
  return absl::InvalidArgumentError(
      StrCat("unknown GGUF type '", name, "'; supported: bf16, f16, q8_0, q4_k_m, q6_k, q5_k_m, q4_0"));
}

uint32_t GgufFileType(GgufMix mix) {
  switch (mix) {
    case GgufMix::kBF16: return 32;
    case GgufMix::kF16: return 1;
    case GgufMix::kQ8_0: return 7;
    case GgufMix::kQ6_K: return 18;
    case GgufMix::kQ4_K_M: return 15;
    case GgufMix::kQ5_K_M: return 17;
    case GgufMix::kQ4_0: return 2;
  }
  return 0;
}

DType ChooseGgufType(GgufMix mix, const std::string& name, const std::vector<uint64_t>& ne, int64_t n_layers,
                     int64_t n_experts) {
  if (KeptF32(name, ne)) return DType::kF32;
  DType t = DType::kBF16;
  switch (mix) {
    case GgufMix::kBF16: return DType::kBF16;
    case GgufMix::kF16: return DType::kF16;
    case GgufMix::kQ8_0: t = DType::kQ8_0; break;
    case GgufMix::kQ6_K: t = DType::kQ6_K; break;
    case GgufMix::kQ4_K_M: t = KMType(DType::kQ4_K, name, n_layers, n_experts); break;
    case GgufMix::kQ5_K_M: t = KMType(DType::kQ5_K, name, n_layers, n_experts); break;
    case GgufMix::kQ4_0: t = name == "output.weight" ? DType::kQ6_K : DType::kQ4_0; break;
  }
  if (ne[0] % 256 != 0) {
    if (t == DType::kQ4_K) t = DType::kQ5_0;
    if (t == DType::kQ5_K) t = DType::kQ5_1;
    if (t == DType::kQ6_K) t = DType::kQ8_0;
  }
  if (ne[0] % GetDTypeInfo(t).block_elems != 0) t = DType::kF16;
  return t;
}

}  // namespace ds
