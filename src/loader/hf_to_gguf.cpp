#include "loader/hf_to_gguf.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/float_convert.h"
#include "loader/gguf_names.h"
#include "loader/gguf_writer.h"
#include "loader/model_config.h"
#include "loader/safetensors.h"
#include "runtime/quant_blocks.h"
#include "tokenizer/hf_json_loader.h"

namespace ds {
namespace {

// One GGUF tensor to produce: `rows(r0, n, out)` fills n rows of `row_len` f32 values.
struct OutTensor {
  std::string name;
  std::vector<uint64_t> ne;  // GGUF order
  DType type = DType::kF32;
  int64_t n_rows = 0, row_len = 0;
  std::function<Status(int64_t, int64_t, float*)> rows;
};

class Converter {
 public:
  Converter(const ModelConfig& c, const WeightStore& store, const HfToGgufOptions& o)
      : c_(c), store_(store), opts_(o), arch_(GgufArchForModelType(c.model_type)) {}

  Status Plan();
  Status Run(GgufWriter& w) const;
  const std::vector<OutTensor>& tensors() const { return out_; }

 private:
  StatusOr<Tensor> Source(const std::string& hf) const;
  Status AddSame(const std::string& hf, const std::string& gguf);
  Status AddLayer(int64_t i);
  Status AddExperts(int64_t i, const std::string& blk);
  Status AddSplitKvB(int64_t i, const std::string& blk);
  Status AddRopePermuted(const std::string& hf, const std::string& gguf, int64_t heads);
  void AddRopeFreqs();
  void Push(OutTensor t);

  const ModelConfig& c_;
  const WeightStore& store_;
  HfToGgufOptions opts_;
  std::string arch_;
  std::vector<OutTensor> out_;
};

// The HF tensor with FP8 block scales attached (so ToF32 dequantizes per 128x128 block).
StatusOr<Tensor> Converter::Source(const std::string& hf) const {
  DS_ASSIGN_OR_RETURN(Tensor t, store_.Get(hf));
  if (t.dtype() == DType::kF8E4M3) {
    const std::string s = hf + "_scale_inv";
    if (!store_.Has(s)) return InvalidFormat(StrCat(store_.FileOf(hf), ": FP8 tensor '", hf, "' has no '", s, "'"));
    DS_ASSIGN_OR_RETURN(Tensor scales, store_.Get(s));
    DS_ASSIGN_OR_RETURN(scales, scales.ToF32());
    t.SetBlockScales(std::move(scales), c_.fp8_block_rows);
  }
  return t;
}

// Reads rows [r0, r0 + n) of a 1-D or 2-D tensor as f32.
Status ReadRows(const Tensor& t, int64_t r0, int64_t n, float* out) {
  const Tensor part = t.rank() == 1 ? t : t.Rows(r0, r0 + n);
  DS_ASSIGN_OR_RETURN(Tensor f, part.ToF32());
  std::copy(f.data<float>(), f.data<float>() + f.numel(), out);
  return absl::OkStatus();
}

void Converter::Push(OutTensor t) {
  // With tied embeddings llama.cpp gives token_embd the output projection's type.
  const bool tied = t.name == "token_embd.weight" && !store_.Has("lm_head.weight");
  t.type = ChooseGgufType(opts_.mix, tied ? "output.weight" : t.name, t.ne, c_.num_hidden_layers, c_.n_routed_experts);
  out_.push_back(std::move(t));
}

Status Converter::AddSame(const std::string& hf, const std::string& gguf) {
  DS_ASSIGN_OR_RETURN(Tensor t, Source(hf));
  if (t.rank() != 1 && t.rank() != 2) {
    return InvalidFormat(StrCat(store_.FileOf(hf), ": tensor '", hf, "' has shape ", t.DebugString(), "; expected 1-D or 2-D"));
  }
  OutTensor o;
  o.name = gguf;
  o.row_len = t.dim(-1);
  o.n_rows = t.rank() == 2 ? t.dim(0) : 1;
  o.ne = t.rank() == 2 ? std::vector<uint64_t>{uint64_t(t.dim(1)), uint64_t(t.dim(0))} : std::vector<uint64_t>{uint64_t(t.dim(0))};
  o.rows = [t](int64_t r0, int64_t n, float* out) { return ReadRows(t, r0, n, out); };
  Push(std::move(o));
  return absl::OkStatus();
}

// llama.cpp's converter reorders llama's q/k rows per head into adjacent RoPE pairs:
// GGUF row h*hd + 2i + j = HF row h*hd + j*hd/2 + i.
Status Converter::AddRopePermuted(const std::string& hf, const std::string& gguf, int64_t heads) {
  DS_RETURN_IF_ERROR(AddSame(hf, gguf));
  OutTensor& o = out_.back();
  if (heads <= 0 || o.n_rows % heads != 0 || (o.n_rows / heads) % 2 != 0) {
    return InvalidFormat(StrCat(store_.FileOf(hf), ": tensor '", hf, "' does not split into ", heads, " even heads"));
  }
  const int64_t hd = o.n_rows / heads, half = hd / 2, len = o.row_len;
  auto plain = o.rows;
  o.rows = [plain, hd, half, len](int64_t r0, int64_t n, float* out) {
    for (int64_t r = r0; r < r0 + n; ++r) {
      const int64_t h = r / hd, i = (r % hd) / 2, j = r % 2;
      DS_RETURN_IF_ERROR(plain(h * hd + j * half + i, 1, out + (r - r0) * len));
    }
    return absl::OkStatus();
  };
  return absl::OkStatus();
}

// Experts stacked into ffn_{gate,up,down}_exps: ne [in, out, E], rows expert-major.
Status Converter::AddExperts(int64_t i, const std::string& blk) {
  const int64_t e_count = c_.n_routed_experts;
  for (const char* kind : {"gate", "up", "down"}) {
    std::vector<Tensor> experts;
    for (int64_t e = 0; e < e_count; ++e) {
      DS_ASSIGN_OR_RETURN(Tensor t, Source(StrCat("model.layers.", i, ".mlp.experts.", e, ".", kind, "_proj.weight")));
      if (t.rank() != 2 || (!experts.empty() && t.shape() != experts[0].shape())) {
        return InvalidFormat(StrCat(store_.FileOf(StrCat("model.layers.", i, ".mlp.experts.0.", kind, "_proj.weight")),
                                    ": experts of layer ", i, " have inconsistent ", kind, "_proj shapes"));
      }
      experts.push_back(std::move(t));
    }
    OutTensor o;
    o.name = StrCat(blk, "ffn_", kind, "_exps.weight");
    const int64_t rows = experts[0].dim(0);
    o.row_len = experts[0].dim(1);
    o.n_rows = rows * e_count;
    o.ne = {uint64_t(o.row_len), uint64_t(rows), uint64_t(e_count)};
    o.rows = [experts, rows, len = o.row_len](int64_t r0, int64_t n, float* out) {
      for (int64_t r = r0; r < r0 + n;) {  // chunks never cross an expert boundary
        const int64_t e = r / rows, er = r % rows, k = std::min(r0 + n - r, rows - er);
        DS_RETURN_IF_ERROR(ReadRows(experts[e], er, k, out + (r - r0) * len));
        r += k;
      }
      return absl::OkStatus();
    };
    Push(std::move(o));
  }
  return absl::OkStatus();
}

// kv_b_proj [H*(dn+dv), rank] -> attn_k_b ne [dn, rank, H] (per head W_UK transposed) and
// attn_v_b ne [rank, dv, H] (per head W_UV), as current llama.cpp writes DeepSeek MLA.
Status Converter::AddSplitKvB(int64_t i, const std::string& blk) {
  DS_ASSIGN_OR_RETURN(Tensor kv, Source(StrCat("model.layers.", i, ".self_attn.kv_b_proj.weight")));
  const int64_t h = c_.num_attention_heads, dn = c_.qk_nope_head_dim, dv = c_.v_head_dim, rank = c_.kv_lora_rank;
  if (kv.rank() != 2 || kv.dim(0) != h * (dn + dv) || kv.dim(1) != rank) {
    return InvalidFormat(StrCat(store_.FileOf(StrCat("model.layers.", i, ".self_attn.kv_b_proj.weight")),
                                ": kv_b_proj of layer ", i, " has shape ", kv.DebugString()));
  }
  OutTensor k;
  k.name = blk + "attn_k_b.weight";
  k.ne = {uint64_t(dn), uint64_t(rank), uint64_t(h)};
  k.n_rows = h * rank;
  k.row_len = dn;
  k.rows = [kv, dn, dv, rank](int64_t r0, int64_t n, float* out) {
    std::vector<float> head(dn * rank);
    int64_t cached = -1;
    for (int64_t r = r0; r < r0 + n; ++r) {
      const int64_t hh = r / rank, c = r % rank;
      if (hh != cached) {
        DS_RETURN_IF_ERROR(ReadRows(kv, hh * (dn + dv), dn, head.data()));
        cached = hh;
      }
      for (int64_t d = 0; d < dn; ++d) out[(r - r0) * dn + d] = head[d * rank + c];
    }
    return absl::OkStatus();
  };
  Push(std::move(k));
  OutTensor v;
  v.name = blk + "attn_v_b.weight";
  v.ne = {uint64_t(rank), uint64_t(dv), uint64_t(h)};
  v.n_rows = h * dv;
  v.row_len = rank;
  v.rows = [kv, dn, dv, rank](int64_t r0, int64_t n, float* out) {
    for (int64_t r = r0; r < r0 + n; ++r) {
      const int64_t hh = r / dv, d = r % dv;
      DS_RETURN_IF_ERROR(ReadRows(kv, hh * (dn + dv) + dn + d, 1, out + (r - r0) * rank));
    }
    return absl::OkStatus();
  };
  Push(std::move(v));
  return absl::OkStatus();
}

Status Converter::AddLayer(int64_t i) {
  const std::string hf = StrCat("model.layers.", i, ".");
  const std::string blk = StrCat("blk.", i, ".");
  // Every HF tensor of the layer with a direct GGUF counterpart, in the name table's order.
  static const char* kDirect[] = {
      "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight",
      "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.q_a_proj.weight",
      "self_attn.q_a_layernorm.weight", "self_attn.q_b_proj.weight", "self_attn.kv_a_proj_with_mqa.weight",
      "self_attn.kv_a_layernorm.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
      "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight", "mlp.gate.weight",
      "mlp.gate.e_score_correction_bias", "mlp.shared_experts.gate_proj.weight", "mlp.shared_experts.up_proj.weight",
      "mlp.shared_experts.down_proj.weight"};
  for (const char* suffix : kDirect) {
    const std::string name = hf + suffix;
    if (!store_.Has(name)) continue;
    auto g = GgufNameForHf(arch_, name);
    if (!g) return absl::InternalError(StrCat("no GGUF name for '", name, "'"));
    if (g->layout == GgufLayout::kRopePermuted) {
      const bool q = std::string(suffix).find("q_proj") != std::string::npos;
      const int64_t kv_heads = c_.num_key_value_heads > 0 ? c_.num_key_value_heads : c_.num_attention_heads;
      DS_RETURN_IF_ERROR(AddRopePermuted(name, g->gguf, q ? c_.num_attention_heads : kv_heads));
    } else {
      DS_RETURN_IF_ERROR(AddSame(name, g->gguf));
    }
  }
  if (store_.Has(hf + "self_attn.kv_b_proj.weight")) DS_RETURN_IF_ERROR(AddSplitKvB(i, blk));
  if (c_.IsMoeLayer(i) && arch_ == "deepseek2") DS_RETURN_IF_ERROR(AddExperts(i, blk));
  return absl::OkStatus();
}

// Llama-3 RoPE scaling as llama.cpp stores it: per-frequency divisors in rope_freqs.weight.
void Converter::AddRopeFreqs() {
  const RopeScaling& rs = c_.rope_scaling;
  if (arch_ != "llama" || rs.type != "llama3") return;
  const int64_t dim = c_.head_dim > 0 ? c_.head_dim : c_.hidden_size / c_.num_attention_heads;
  // In float32 throughout, as llama.cpp's converter computes them (torch float32 tensors).
  std::vector<float> factors;
  const float orig = static_cast<float>(rs.original_max_position_embeddings);
  const float low = static_cast<float>(rs.low_freq_factor), high = static_cast<float>(rs.high_freq_factor);
  const float factor = static_cast<float>(rs.factor);
  const float low_wavelen = orig / low, high_wavelen = orig / high;
  for (int64_t i = 0; i < dim; i += 2) {
    const float freq = 1.0f / std::pow(static_cast<float>(c_.rope_theta), static_cast<float>(i) / static_cast<float>(dim));
    const float wavelen = static_cast<float>(2 * M_PI) / freq;
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(factor);
    } else {
      const float smooth = (orig / wavelen - low) / (high - low);
      factors.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  OutTensor o;
  o.name = "rope_freqs.weight";
  o.ne = {uint64_t(factors.size())};
  o.n_rows = 1;
  o.row_len = static_cast<int64_t>(factors.size());
  o.rows = [factors](int64_t, int64_t, float* out) {
    std::copy(factors.begin(), factors.end(), out);
    return absl::OkStatus();
  };
  Push(std::move(o));
}

Status Converter::Plan() {
  if (arch_.empty()) {
    return absl::UnimplementedError(StrCat(c_.source, ": model_type '", c_.model_type,
                                           "' cannot be converted; supported: deepseek_v2, deepseek_v3, qwen2, llama"));
  }
  AddRopeFreqs();
  DS_RETURN_IF_ERROR(AddSame("model.embed_tokens.weight", "token_embd.weight"));
  for (int64_t i = 0; i < c_.num_hidden_layers; ++i) DS_RETURN_IF_ERROR(AddLayer(i));
  DS_RETURN_IF_ERROR(AddSame("model.norm.weight", "output_norm.weight"));
  if (store_.Has("lm_head.weight")) DS_RETURN_IF_ERROR(AddSame("lm_head.weight", "output.weight"));
  return absl::OkStatus();
}

// Converts f32 rows into `type` bytes (rows in parallel: quantization dominates conversion time).
Status EncodeRows(DType type, const float* rows, int64_t n, int64_t len, std::vector<uint8_t>& out) {
  const int64_t row_bytes = DTypeBytes(type, len);
  out.resize(n * row_bytes);
  bool ok = true;
#pragma omp parallel for schedule(static) reduction(&& : ok)
  for (int64_t r = 0; r < n; ++r) {
    const float* x = rows + r * len;
    uint8_t* dst = out.data() + r * row_bytes;
    if (type == DType::kF32) {
      std::memcpy(dst, x, len * 4);
    } else if (type == DType::kBF16 || type == DType::kF16) {
      auto* h = reinterpret_cast<uint16_t*>(dst);
      for (int64_t c = 0; c < len; ++c) h[c] = type == DType::kBF16 ? F32ToBf16(x[c]) : F32ToF16(x[c]);
    } else {
      ok = ok && QuantizeRow(type, x, dst, len).ok();
    }
  }
  if (!ok) return absl::InternalError(StrCat("cannot quantize rows of ", len, " values to ", DTypeName(type)));
  return absl::OkStatus();
}

Status Converter::Run(GgufWriter& w) const {
  constexpr int64_t kChunkRows = 256;
  std::vector<float> rows;
  std::vector<uint8_t> bytes;
  for (size_t t = 0; t < out_.size(); ++t) {
    const OutTensor& o = out_[t];
    for (int64_t r0 = 0; r0 < o.n_rows; r0 += kChunkRows) {
      const int64_t n = std::min(kChunkRows, o.n_rows - r0);
      rows.resize(n * o.row_len);
      DS_RETURN_IF_ERROR(o.rows(r0, n, rows.data()));
      DS_RETURN_IF_ERROR(EncodeRows(o.type, rows.data(), n, o.row_len, bytes));
      DS_RETURN_IF_ERROR(w.Write(bytes.data(), bytes.size()));
    }
    if (opts_.progress) opts_.progress(t + 1, out_.size(), o.name);
  }
  return absl::OkStatus();
}

}  // namespace

Status ConvertHfToGguf(const std::string& model_dir, const std::string& out_path, const HfToGgufOptions& options) {
  DS_ASSIGN_OR_RETURN(ModelConfig config, ReadHfConfig(model_dir));
  DS_ASSIGN_OR_RETURN(auto store, WeightStore::Open(model_dir));
  Converter conv(config, *store, options);
  DS_RETURN_IF_ERROR(conv.Plan());
  GgufWriter w;
  DS_RETURN_IF_ERROR(AddGgufMetadata(w, config, options.mix, model_dir, options.tokenizer_path));
  for (const OutTensor& o : conv.tensors()) w.AddTensor(o.name, o.type, o.ne);
  // Written under a temporary name and renamed when complete: a failed run leaves no partial file.
  const std::string tmp = out_path + ".partial";
  Status s = w.Begin(tmp);
  if (s.ok()) s = conv.Run(w);
  if (s.ok()) s = w.Finish();
  std::error_code ec;
  if (s.ok()) {
    std::filesystem::rename(tmp, out_path, ec);
    if (ec) s = absl::InternalError(StrCat(out_path, ": cannot rename from ", tmp, ": ", ec.message()));
  }
  if (!s.ok()) std::filesystem::remove(tmp, ec);
  return s;
}

}  // namespace ds
