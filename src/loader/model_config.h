// Model hyper-parameters parsed from a Hugging Face config.json (and, later, GGUF metadata).
// One struct for every supported architecture; fields an architecture does not use keep defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"

namespace ds {

struct RopeScaling {
  std::string type;  // "" (none), "yarn", "llama3", "linear", ...
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0, beta_slow = 1.0;        // yarn
  double mscale = 1.0, mscale_all_dim = 0.0;       // yarn (DeepSeek)
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
};

struct ModelConfig {
  std::string source;      // file the config came from, for error messages
  std::string model_type;  // "deepseek_v2", "deepseek_v3", ...
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, max_position_embeddings = 0;
  int64_t head_dim = 0;  // GQA models; 0 = hidden_size / heads
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  bool tie_word_embeddings = false, attention_bias = false;
  bool mlp_bias = false, use_sliding_window = false;  // Llama / Qwen2 options (not supported when true)
  // RoPE pairs: false = HF rotate_half (i, i + d/2) for Llama/Qwen2; true = adjacent (2i, 2i+1), as
  // llama.cpp's GGUF llama layout (q/k rows permuted). Not a config.json key: set by the weight source.
  bool rope_interleaved = false;
  std::vector<int64_t> bos_token_ids, eos_token_ids;
  std::string hidden_act = "silu", torch_dtype;
  RopeScaling rope_scaling;

  // Multi-head latent attention (DeepSeek-V2/V3).
  int64_t q_lora_rank = 0;  // 0: plain q_proj
  int64_t kv_lora_rank = 0, qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;

  // DeepSeekMoE.
  int64_t n_routed_experts = 0, n_shared_experts = 0, num_experts_per_tok = 0, moe_intermediate_size = 0;
  int64_t first_k_dense_replace = 0, moe_layer_freq = 1, n_group = 1, topk_group = 1;
  std::string topk_method = "greedy", scoring_func = "softmax";
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t num_nextn_predict_layers = 0;

  // FP8 block quantization (quantization_config.quant_method == "fp8").
  bool fp8 = false;
  int64_t fp8_block_rows = 128, fp8_block_cols = 128;

  // True if layer `i` uses the MoE feed-forward.
  bool IsMoeLayer(int64_t i) const {
    return n_routed_experts > 0 && i >= first_k_dense_replace && i % moe_layer_freq == 0;
  }
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
};

// Parses every field the supported architectures use; `source` names the file in errors. A field
// of the wrong type is an error; architecture-specific consistency is checked by the model.
StatusOr<ModelConfig> ParseHfConfig(const Json& json, const std::string& source);
// Reads <dir>/config.json (or `path` itself if it is a file).
StatusOr<ModelConfig> ReadHfConfig(const std::string& path);

}  // namespace ds
