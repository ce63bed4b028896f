// GGUF metadata for converted checkpoints: the keys llama.cpp's convert_hf_to_gguf.py writes for
// deepseek2 / qwen2 / llama, and the tokenizer as tokenizer.ggml.* arrays.
#include <filesystem>

#include "loader/gguf_names.h"
#include "loader/hf_to_gguf.h"
#include "tokenizer/hf_json_loader.h"

namespace ds {
namespace {

void AddDeepseek2(GgufWriter& w, const ModelConfig& c, const std::string& a) {
  w.AddU32(a + ".attention.head_count_kv", 1);  // MLA in the absorbed (split k_b/v_b) form
  if (c.q_lora_rank > 0) w.AddU32(a + ".attention.q_lora_rank", static_cast<uint32_t>(c.q_lora_rank));
  w.AddU32(a + ".attention.kv_lora_rank", static_cast<uint32_t>(c.kv_lora_rank));
  w.AddU32(a + ".attention.key_length", static_cast<uint32_t>(c.kv_lora_rank + c.qk_rope_head_dim));
  w.AddU32(a + ".attention.value_length", static_cast<uint32_t>(c.kv_lora_rank));
  w.AddU32(a + ".attention.key_length_mla", static_cast<uint32_t>(c.qk_nope_head_dim + c.qk_rope_head_dim));
  w.AddU32(a + ".attention.value_length_mla", static_cast<uint32_t>(c.v_head_dim));
  w.AddU32(a + ".rope.dimension_count", static_cast<uint32_t>(c.qk_rope_head_dim));
  w.AddU32(a + ".leading_dense_block_count", static_cast<uint32_t>(c.first_k_dense_replace));
  if (c.n_routed_experts > 0) {
    w.AddU32(a + ".expert_count", static_cast<uint32_t>(c.n_routed_experts));
    w.AddU32(a + ".expert_used_count", static_cast<uint32_t>(c.num_experts_per_tok));
    w.AddU32(a + ".expert_shared_count", static_cast<uint32_t>(c.n_shared_experts));
    w.AddU32(a + ".expert_feed_forward_length", static_cast<uint32_t>(c.moe_intermediate_size));
    w.AddU32(a + ".expert_group_count", static_cast<uint32_t>(c.n_group));
    w.AddU32(a + ".expert_group_used_count", static_cast<uint32_t>(c.topk_group));
    w.AddF32(a + ".expert_weights_scale", static_cast<float>(c.routed_scaling_factor));
    if (c.norm_topk_prob) w.AddBool(a + ".expert_weights_norm", true);
    w.AddU32(a + ".expert_gating_func", c.scoring_func == "sigmoid" ? 2 : 1);
  }
  const RopeScaling& r = c.rope_scaling;
  if (r.type == "yarn" && r.factor > 1.0) {
    w.AddString(a + ".rope.scaling.type", "yarn");
    w.AddF32(a + ".rope.scaling.factor", static_cast<float>(r.factor));
    w.AddU32(a + ".rope.scaling.original_context_length", static_cast<uint32_t>(r.original_max_position_embeddings));
    w.AddF32(a + ".rope.scaling.yarn_beta_fast", static_cast<float>(r.beta_fast));
    w.AddF32(a + ".rope.scaling.yarn_beta_slow", static_cast<float>(r.beta_slow));
    w.AddF32(a + ".rope.scaling.yarn_log_multiplier", static_cast<float>(0.1 * r.mscale_all_dim));
  }
}

void AddArch(GgufWriter& w, const ModelConfig& c, const std::string& a) {
  w.AddString("general.architecture", a);
  w.AddU32(a + ".block_count", static_cast<uint32_t>(c.num_hidden_layers));
  w.AddU32(a + ".context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w.AddU32(a + ".embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.AddU32(a + ".feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.AddU32(a + ".attention.head_count", static_cast<uint32_t>(c.num_attention_heads));
  w.AddF32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
  w.AddF32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.AddU32(a + ".vocab_size", static_cast<uint32_t>(c.vocab_size));
  if (a == "deepseek2") return AddDeepseek2(w, c, a);
  w.AddU32(a + ".attention.head_count_kv",
           static_cast<uint32_t>(c.num_key_value_heads > 0 ? c.num_key_value_heads : c.num_attention_heads));
  const int64_t head_dim = c.head_dim > 0 ? c.head_dim : c.hidden_size / c.num_attention_heads;
  if (head_dim != c.hidden_size / c.num_attention_heads) {
    w.AddU32(a + ".attention.key_length", static_cast<uint32_t>(head_dim));
    w.AddU32(a + ".attention.value_length", static_cast<uint32_t>(head_dim));
  }
  if (a == "llama") w.AddU32(a + ".rope.dimension_count", static_cast<uint32_t>(head_dim));
}

// llama.cpp's pre-tokenizer name for the model family (what its converter assigns the real models).
std::string PreTokenizerName(const ModelConfig& c) {
  if (c.model_type == "deepseek_v3") return "deepseek-v3";
  if (c.model_type == "deepseek_v2") return "deepseek-llm";
  if (c.model_type == "qwen2") return "deepseek-r1-qwen";
  return "llama-bpe";
}

Status AddTokenizer(GgufWriter& w, const ModelConfig& c, const std::string& path) {
  auto loaded = LoadHfTokenizerSpec(path);
  if (!loaded.ok()) {
    return Status(loaded.status().code(), StrCat("GGUF files carry the tokenizer: ", std::string(loaded.status().message()),
                                                 " (give its folder with --tokenizer)"));
  }
  TokenizerSpec spec = std::move(loaded).value();
  const size_t n = std::max<size_t>(spec.vocab.size(), static_cast<size_t>(c.vocab_size));
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n, 1);  // llama.cpp token types: 1 normal, 3 control, 4 user-defined, 5 unused
  for (size_t i = 0; i < spec.vocab.size(); ++i) tokens[i] = spec.vocab[i];
  for (const AddedTokenSpec& t : spec.added_tokens) {
    if (t.id < 0 || static_cast<size_t>(t.id) >= n) continue;
    tokens[t.id] = t.content;
    types[t.id] = t.special ? 3 : 4;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!tokens[i].empty()) continue;
    tokens[i] = StrCat("[PAD", i, "]");  // as llama.cpp pads vocabularies smaller than the model's
    types[i] = 5;
  }
  std::vector<std::string> merges;
  merges.reserve(spec.merges.size());
  for (const auto& [a, b] : spec.merges) merges.push_back(a + " " + b);
  w.AddString("tokenizer.ggml.model", "gpt2");
  w.AddString("tokenizer.ggml.pre", PreTokenizerName(c));
  w.AddStringArray("tokenizer.ggml.tokens", tokens);
  w.AddI32Array("tokenizer.ggml.token_type", types);
  w.AddStringArray("tokenizer.ggml.merges", merges);
  if (!c.bos_token_ids.empty()) w.AddU32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_token_ids[0]));
  if (!c.eos_token_ids.empty()) w.AddU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_token_ids[0]));
  w.AddBool("tokenizer.ggml.add_bos_token", !spec.prefix_ids.empty());
  w.AddBool("tokenizer.ggml.add_eos_token", !spec.suffix_ids.empty());
  if (!spec.chat_template.empty()) w.AddString("tokenizer.chat_template", spec.chat_template);
  return absl::OkStatus();
}

}  // namespace

Status AddGgufMetadata(GgufWriter& w, const ModelConfig& c, GgufMix mix, const std::string& model_dir,
                       const std::string& tokenizer_path) {
  const std::string arch = GgufArchForModelType(c.model_type);
  AddArch(w, c, arch);
  w.AddString("general.type", "model");
  std::filesystem::path dir(model_dir);
  if (dir.filename().empty()) dir = dir.parent_path();  // "folder/"
  w.AddString("general.name", dir.filename().string());
  DS_RETURN_IF_ERROR(AddTokenizer(w, c, tokenizer_path.empty() ? model_dir : tokenizer_path));
  w.AddU32("general.quantization_version", 2);
  w.AddU32("general.file_type", GgufFileType(mix));
  return absl::OkStatus();
}

}  // namespace ds
