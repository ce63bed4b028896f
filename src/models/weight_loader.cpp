#include "models/weight_loader.h"

#include <algorithm>

namespace ds {
namespace {
std::string ShapeString(const Tensor::Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += StrCat(i ? ", " : "", s[i]);
  return out + "]";
}
}  // namespace

StatusOr<Tensor> WeightLoader::Fetch(const std::string& name, const Tensor::Shape& shape) {
  if (!store_.Has(name)) {
    return absl::NotFoundError(StrCat("checkpoint is missing tensor '", name, "' (expected shape ",
                                      ShapeString(shape), " from ", config_.source, ")"));
  }
  DS_ASSIGN_OR_RETURN(Tensor t, store_.Get(name));
  if (t.shape() != shape) {
    return InvalidFormat(StrCat(store_.FileOf(name), ": tensor '", name, "' has shape ", ShapeString(t.shape()),
                                " but ", config_.source, " implies ", ShapeString(shape)));
  }
  params_by_dtype_[std::string(DTypeName(t.dtype()))] += t.numel();
  fetched_.emplace_back(name, t.nbytes());
  addresses_.emplace_back(static_cast<const uint8_t*>(t.raw()), static_cast<size_t>(t.nbytes()));
  return t;
}

AddressRanges WeightLoader::StreamedRanges(bool embedding_is_head) const {
  AddressRanges out;
  for (size_t i = 0; i < fetched_.size(); ++i) {
    if (embedding_is_head || fetched_[i].first != "model.embed_tokens.weight") out.push_back(addresses_[i]);
  }
  return out;
}

StatusOr<Tensor> WeightLoader::Matrix(const std::string& name, int64_t rows, int64_t cols) {
  DS_ASSIGN_OR_RETURN(Tensor t, Fetch(name, {rows, cols}));
  if (t.dtype() == DType::kF8E4M3) {
    const std::string scale_name = name + "_scale_inv";
    const int64_t br = config_.fp8_block_rows, bc = config_.fp8_block_cols;
    if (br != bc) return absl::UnimplementedError(StrCat(name, ": FP8 blocks must be square, got ", br, "x", bc));
    DS_ASSIGN_OR_RETURN(Tensor s, Fetch(scale_name, {(rows + br - 1) / br, (cols + bc - 1) / bc}));
    if (s.dtype() != DType::kF32) {
      DS_ASSIGN_OR_RETURN(s, s.ToF32());
    }
    t.SetBlockScales(std::move(s), br);
    fp8_weights_.emplace_back(name, t);
  } else if (t.dtype() != DType::kBF16 && t.dtype() != DType::kF16 && t.dtype() != DType::kF32 &&
             !IsBlockQuantized(t.dtype())) {
    return absl::UnimplementedError(StrCat(store_.FileOf(name), ": tensor '", name, "' has dtype ",
                                           DTypeName(t.dtype()), ", not a supported weight dtype"));
  }
  return t;
}

namespace {

// Index of the first e4m3 NaN code (0x7F / 0xFF) among p[0, n), or -1. Chunks are tested in parallel
// without branches ((b & 0x7F) + 1 carries into bit 7 only for a NaN code), then the first hit's
// chunk is searched.
int64_t FirstF8E4M3Nan(const uint8_t* p, int64_t n) {
  constexpr int64_t kChunk = int64_t{1} << 20;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  int64_t first = chunks;
#pragma omp parallel for schedule(static) reduction(min : first)
  for (int64_t c = 0; c < chunks; ++c) {
    const uint8_t* q = p + c * kChunk;
    const int64_t len = std::min(kChunk, n - c * kChunk);
    uint8_t any = 0;
#pragma omp simd reduction(| : any)
    for (int64_t i = 0; i < len; ++i) any |= static_cast<uint8_t>(((q[i] & 0x7F) + 1) & 0x80);
    if (any != 0) first = std::min(first, c);
  }
  for (int64_t i = first * kChunk; i < n; ++i) {
    if ((p[i] & 0x7F) == 0x7F) return i;
  }
  return -1;
}

}  // namespace

Status WeightLoader::CheckFp8Codes(const std::function<void(double, const std::string&)>& progress) const {
  int64_t total = 0, done = 0;
  for (const auto& w : fp8_weights_) total += w.second.nbytes();
  for (const auto& [name, t] : fp8_weights_) {
    const int64_t at = FirstF8E4M3Nan(static_cast<const uint8_t*>(t.raw()), t.nbytes());
    if (at >= 0) {
      return InvalidFormat(StrCat(store_.FileOf(name), ": FP8 tensor '", name, "' holds a NaN code at row ",
                                  at / t.dim(1), ", column ", at % t.dim(1),
                                  " (e4m3 0x7F / 0xFF); DeepSeek's FP8 weights never do, so the file is damaged"));
    }
    done += t.nbytes();
    if (progress) progress(static_cast<double>(done) / static_cast<double>(total), "checking FP8 weights");
  }
  return absl::OkStatus();
}

StatusOr<Tensor> WeightLoader::VectorF32(const std::string& name, int64_t n) {
  DS_ASSIGN_OR_RETURN(Tensor t, Fetch(name, {n}));
  if (t.dtype() != DType::kF32 && t.dtype() != DType::kBF16 && t.dtype() != DType::kF16) {
    return absl::UnimplementedError(StrCat(store_.FileOf(name), ": tensor '", name, "' has dtype ",
                                           DTypeName(t.dtype()), ", expected f32, bf16 or f16"));
  }
  return t.ToF32();
}

namespace {

// True for tensors of the multi-token-prediction layers (model.layers.{N >= num_hidden_layers}.*),
// which plain decoding never reads.
bool IsMtpTensor(const std::string& name, const ModelConfig& c) {
  constexpr std::string_view kPrefix = "model.layers.";
  if (name.rfind(kPrefix, 0) != 0) return false;
  int64_t layer = 0;
  size_t i = kPrefix.size();
  if (i >= name.size() || name[i] < '0' || name[i] > '9') return false;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) layer = layer * 10 + (name[i] - '0');
  return layer >= c.num_hidden_layers;
}

}  // namespace

int64_t ActiveWeightBytes(const std::vector<std::pair<std::string, int64_t>>& fetched, const ModelConfig& c) {
  double bytes = 0;
  bool embedding_seen = false;
  for (const auto& [name, n] : fetched) {
    if (IsMtpTensor(name, c)) continue;
    if (name == "model.embed_tokens.weight" && !embedding_seen) {
      embedding_seen = true;
      bytes += static_cast<double>(n) / std::max<int64_t>(c.vocab_size, 1);
    } else if (name.find(".mlp.experts.") != std::string::npos && c.n_routed_experts > 0) {
      bytes += static_cast<double>(n) * c.num_experts_per_tok / c.n_routed_experts;
    } else {
      bytes += static_cast<double>(n);
    }
  }
  return static_cast<int64_t>(bytes + 0.5);
}

}  // namespace ds
