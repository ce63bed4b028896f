#include "loader/gguf_names.h"

#include <cstdlib>

namespace ds {
namespace {

struct NamePair {
  const char* hf;    // suffix after "model.layers.N." (or the full name for globals)
  const char* gguf;  // suffix after "blk.N."
  GgufLayout layout;
};

// Names outside the layers.
constexpr NamePair kGlobal[] = {
    {"model.embed_tokens.weight", "token_embd.weight", GgufLayout::kSame},
    {"model.norm.weight", "output_norm.weight", GgufLayout::kSame},
    {"lm_head.weight", "output.weight", GgufLayout::kSame},
};

// Per-layer names (llama.cpp's LLM_TENSOR_* names for these architectures).
constexpr NamePair kLayer[] = {
    {"input_layernorm.weight", "attn_norm.weight", GgufLayout::kSame},
    {"post_attention_layernorm.weight", "ffn_norm.weight", GgufLayout::kSame},
    {"self_attn.q_proj.weight", "attn_q.weight", GgufLayout::kSame},
    {"self_attn.q_proj.bias", "attn_q.bias", GgufLayout::kSame},
    {"self_attn.k_proj.weight", "attn_k.weight", GgufLayout::kSame},
    {"self_attn.k_proj.bias", "attn_k.bias", GgufLayout::kSame},
    {"self_attn.v_proj.weight", "attn_v.weight", GgufLayout::kSame},
    {"self_attn.v_proj.bias", "attn_v.bias", GgufLayout::kSame},
    {"self_attn.o_proj.weight", "attn_output.weight", GgufLayout::kSame},
    {"self_attn.q_a_proj.weight", "attn_q_a.weight", GgufLayout::kSame},
    {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight", GgufLayout::kSame},
    {"self_attn.q_b_proj.weight", "attn_q_b.weight", GgufLayout::kSame},
    {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight", GgufLayout::kSame},
    {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight", GgufLayout::kSame},
    {"self_attn.kv_b_proj.weight", "attn_kv_b.weight", GgufLayout::kSame},
    {"self_attn.k_b_proj.weight", "attn_k_b.weight", GgufLayout::kFlatten3d},
    {"self_attn.v_b_proj.weight", "attn_v_b.weight", GgufLayout::kFlatten3d},
    {"mlp.gate_proj.weight", "ffn_gate.weight", GgufLayout::kSame},
    {"mlp.up_proj.weight", "ffn_up.weight", GgufLayout::kSame},
    {"mlp.down_proj.weight", "ffn_down.weight", GgufLayout::kSame},
    {"mlp.gate.weight", "ffn_gate_inp.weight", GgufLayout::kSame},
    {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias", GgufLayout::kSame},
    {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight", GgufLayout::kSame},
    {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight", GgufLayout::kSame},
    {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight", GgufLayout::kSame},
};

// Parses "<prefix><int>.<rest>"; false if `s` does not have that form.
bool SplitIndexed(const std::string& s, const std::string& prefix, int64_t* index, std::string* rest) {
  if (s.compare(0, prefix.size(), prefix) != 0) return false;
  const size_t dot = s.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 9) return false;
  for (size_t i = prefix.size(); i < dot; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  *index = std::atoll(s.substr(prefix.size(), dot - prefix.size()).c_str());
  *rest = s.substr(dot + 1);
  return true;
}

}  // namespace

std::optional<GgufName> GgufNameForHf(const std::string& arch, const std::string& hf_name) {
  for (const NamePair& p : kGlobal) {
    if (hf_name == p.hf) return GgufName{p.gguf, p.layout};
  }
  int64_t layer = 0;
  std::string rest;
  if (!SplitIndexed(hf_name, "model.layers.", &layer, &rest)) return std::nullopt;
  const std::string blk = "blk." + std::to_string(layer) + ".";
  int64_t expert = 0;
  std::string proj;
  if (SplitIndexed(rest, "mlp.experts.", &expert, &proj)) {
    for (const char* kind : {"gate", "up", "down"}) {
      if (proj == std::string(kind) + "_proj.weight") {
        return GgufName{blk + "ffn_" + kind + "_exps.weight", GgufLayout::kExpert, expert};
      }
    }
    return std::nullopt;
  }
  for (const NamePair& p : kLayer) {
    if (rest != p.hf) continue;
    GgufName n{blk + p.gguf, p.layout};
    if (arch == "llama" && (rest == "self_attn.q_proj.weight" || rest == "self_attn.k_proj.weight")) {
      n.layout = GgufLayout::kRopePermuted;
    }
    return n;
  }
  return std::nullopt;
}

std::string GgufArchForModelType(const std::string& model_type) {
  if (model_type == "deepseek_v2" || model_type == "deepseek_v3") return "deepseek2";
  if (model_type == "qwen2") return "qwen2";
  if (model_type == "llama") return "llama";
  return "";
}

}  // namespace ds
