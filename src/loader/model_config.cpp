#include "loader/model_config.h"

#include <filesystem>

namespace ds {
namespace {

// bos/eos ids may be one integer or a list of them.
StatusOr<std::vector<int64_t>> TokenIds(const JsonFields& f, const std::string& key) {
  std::vector<int64_t> ids;
  if (!f.Has(key)) return ids;
  const Json& v = f.json()[key];
  if (v.is_array()) {
    for (const Json& x : v) {
      if (!x.is_number_integer()) return f.Error(key, StrCat("expected integers, got ", JsonSnippet(v)));
      ids.push_back(x.get<int64_t>());
    }
    return ids;
  }
  DS_ASSIGN_OR_RETURN(int64_t id, f.RequiredInt(key));
  ids.push_back(id);
  return ids;
}

Status ParseRopeScaling(const JsonFields& f, RopeScaling& r) {
  if (!f.Has("rope_scaling")) return absl::OkStatus();
  const Json& j = f.json()["rope_scaling"];
  if (!j.is_object()) return f.Error("rope_scaling", "expected an object or null");
  JsonFields rs(j, f.source() + " (rope_scaling)");
  DS_ASSIGN_OR_RETURN(r.type, rs.OptionalString("type", ""));
  if (r.type.empty()) { DS_ASSIGN_OR_RETURN(r.type, rs.OptionalString("rope_type", "")); }
  DS_ASSIGN_OR_RETURN(r.factor, rs.OptionalNumber("factor", 1.0));
  DS_ASSIGN_OR_RETURN(r.original_max_position_embeddings, rs.OptionalInt("original_max_position_embeddings", 0));
  DS_ASSIGN_OR_RETURN(r.beta_fast, rs.OptionalNumber("beta_fast", 32.0));
  DS_ASSIGN_OR_RETURN(r.beta_slow, rs.OptionalNumber("beta_slow", 1.0));
  DS_ASSIGN_OR_RETURN(r.mscale, rs.OptionalNumber("mscale", 1.0));
  DS_ASSIGN_OR_RETURN(r.mscale_all_dim, rs.OptionalNumber("mscale_all_dim", 0.0));
  DS_ASSIGN_OR_RETURN(r.low_freq_factor, rs.OptionalNumber("low_freq_factor", 1.0));
  DS_ASSIGN_OR_RETURN(r.high_freq_factor, rs.OptionalNumber("high_freq_factor", 4.0));
  return absl::OkStatus();
}

Status ParseQuantization(const JsonFields& f, ModelConfig& c) {
  if (!f.Has("quantization_config")) return absl::OkStatus();
  JsonFields q(f.json()["quantization_config"], f.source() + " (quantization_config)");
  DS_ASSIGN_OR_RETURN(std::string method, q.OptionalString("quant_method", ""));
  if (method != "fp8") {
    return absl::UnimplementedError(StrCat(f.source(), ": quantization_config.quant_method '", method,
                                           "' is not supported (supported: fp8)"));
  }
  c.fp8 = true;
  if (q.Has("weight_block_size")) {
    const Json& b = q.json()["weight_block_size"];
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !b[1].is_number_integer() ||
        b[0].get<int64_t>() <= 0 || b[1].get<int64_t>() <= 0) {
      return q.Error("weight_block_size", "expected two positive integers");
    }
    c.fp8_block_rows = b[0].get<int64_t>();
    c.fp8_block_cols = b[1].get<int64_t>();
  }
  return absl::OkStatus();
}

Status ParseMla(const JsonFields& f, ModelConfig& c) {
  DS_ASSIGN_OR_RETURN(c.q_lora_rank, f.OptionalInt("q_lora_rank", 0));
  DS_ASSIGN_OR_RETURN(c.kv_lora_rank, f.OptionalInt("kv_lora_rank", 0));
  DS_ASSIGN_OR_RETURN(c.qk_nope_head_dim, f.OptionalInt("qk_nope_head_dim", 0));
  DS_ASSIGN_OR_RETURN(c.qk_rope_head_dim, f.OptionalInt("qk_rope_head_dim", 0));
  DS_ASSIGN_OR_RETURN(c.v_head_dim, f.OptionalInt("v_head_dim", 0));
  return absl::OkStatus();
}

Status ParseMoe(const JsonFields& f, ModelConfig& c) {
  DS_ASSIGN_OR_RETURN(c.n_routed_experts, f.OptionalInt("n_routed_experts", 0));
  DS_ASSIGN_OR_RETURN(c.n_shared_experts, f.OptionalInt("n_shared_experts", 0));
  DS_ASSIGN_OR_RETURN(c.num_experts_per_tok, f.OptionalInt("num_experts_per_tok", 0));
  DS_ASSIGN_OR_RETURN(c.moe_intermediate_size, f.OptionalInt("moe_intermediate_size", 0));
  DS_ASSIGN_OR_RETURN(c.first_k_dense_replace, f.OptionalInt("first_k_dense_replace", 0));
  DS_ASSIGN_OR_RETURN(c.moe_layer_freq, f.OptionalInt("moe_layer_freq", 1));
  DS_ASSIGN_OR_RETURN(c.n_group, f.OptionalInt("n_group", 1));
  DS_ASSIGN_OR_RETURN(c.topk_group, f.OptionalInt("topk_group", 1));
  DS_ASSIGN_OR_RETURN(c.topk_method, f.OptionalString("topk_method", "greedy"));
  DS_ASSIGN_OR_RETURN(c.scoring_func, f.OptionalString("scoring_func", "softmax"));
  DS_ASSIGN_OR_RETURN(c.norm_topk_prob, f.OptionalBool("norm_topk_prob", false));
  DS_ASSIGN_OR_RETURN(c.routed_scaling_factor, f.OptionalNumber("routed_scaling_factor", 1.0));
  DS_ASSIGN_OR_RETURN(c.num_nextn_predict_layers, f.OptionalInt("num_nextn_predict_layers", 0));
  return absl::OkStatus();
}

}  // namespace

StatusOr<ModelConfig> ParseHfConfig(const Json& json, const std::string& source) {
  if (!json.is_object()) return InvalidFormat(StrCat(source, ": expected a JSON object"));
  JsonFields f(json, source);
  ModelConfig c;
  c.source = source;
  DS_ASSIGN_OR_RETURN(c.model_type, f.RequiredString("model_type"));
  DS_ASSIGN_OR_RETURN(c.vocab_size, f.RequiredInt("vocab_size"));
  DS_ASSIGN_OR_RETURN(c.hidden_size, f.RequiredInt("hidden_size"));
  DS_ASSIGN_OR_RETURN(c.intermediate_size, f.OptionalInt("intermediate_size", 0));
  DS_ASSIGN_OR_RETURN(c.num_hidden_layers, f.RequiredInt("num_hidden_layers"));
  DS_ASSIGN_OR_RETURN(c.num_attention_heads, f.RequiredInt("num_attention_heads"));
  DS_ASSIGN_OR_RETURN(c.num_key_value_heads, f.OptionalInt("num_key_value_heads", c.num_attention_heads));
  DS_ASSIGN_OR_RETURN(c.max_position_embeddings, f.OptionalInt("max_position_embeddings", 4096));
  DS_ASSIGN_OR_RETURN(c.head_dim, f.OptionalInt("head_dim", 0));
  DS_ASSIGN_OR_RETURN(c.rms_norm_eps, f.OptionalNumber("rms_norm_eps", 1e-6));
  DS_ASSIGN_OR_RETURN(c.rope_theta, f.OptionalNumber("rope_theta", 10000.0));
  DS_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.OptionalBool("tie_word_embeddings", false));
  DS_ASSIGN_OR_RETURN(c.attention_bias, f.OptionalBool("attention_bias", false));
  DS_ASSIGN_OR_RETURN(c.mlp_bias, f.OptionalBool("mlp_bias", false));
  DS_ASSIGN_OR_RETURN(c.use_sliding_window, f.OptionalBool("use_sliding_window", false));
  DS_ASSIGN_OR_RETURN(c.hidden_act, f.OptionalString("hidden_act", "silu"));
  DS_ASSIGN_OR_RETURN(c.torch_dtype, f.OptionalString("torch_dtype", ""));
  DS_ASSIGN_OR_RETURN(c.bos_token_ids, TokenIds(f, "bos_token_id"));
  DS_ASSIGN_OR_RETURN(c.eos_token_ids, TokenIds(f, "eos_token_id"));
  DS_RETURN_IF_ERROR(ParseRopeScaling(f, c.rope_scaling));
  DS_RETURN_IF_ERROR(ParseMla(f, c));
  DS_RETURN_IF_ERROR(ParseMoe(f, c));
  DS_RETURN_IF_ERROR(ParseQuantization(f, c));
  return c;
}

StatusOr<ModelConfig> ReadHfConfig(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string file = path;
  if (fs::is_directory(path, ec)) {
    file = (fs::path(path) / "config.json").string();
    if (!fs::exists(file, ec)) return absl::NotFoundError(StrCat(path, ": no config.json in the model folder"));
  }
  DS_ASSIGN_OR_RETURN(Json j, ReadJsonFile(file));
  return ParseHfConfig(j, file);
}

}  // namespace ds
