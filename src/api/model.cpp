#include <new>

#include "api/model_impl.h"
#include "api/status_convert.h"
#include "models/architectures.h"

namespace deepseek {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const { return impl_->info; }

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const ModelOptions& options) {
  for (auto [name, v] : {std::pair<const char*, int64_t>{"threads", options.threads}, {"max_context", options.max_context},
                         {"memory_limit_bytes", options.memory_limit_bytes}}) {
    if (v < 0) {
      return Status(StatusCode::kInvalidArgument,
                    std::string("ModelOptions.") + name + " must not be negative, got " + std::to_string(v));
    }
  }
  ds::ModelLoadOptions o;
  o.threads = options.threads;
  o.max_context = options.max_context;
  o.kv_cache_dtype = options.kv_cache_bf16 ? ds::KvCacheDType::kBF16 : ds::KvCacheDType::kF32;
  o.memory_limit_bytes = options.memory_limit_bytes;
  o.load_mtp = options.load_mtp;
  o.precision = options.compute_bf16 ? ds::ComputePrecision::kBF16 : ds::ComputePrecision::kF32;
  o.progress = options.progress;
  o.weight_residence = options.weight_placement == WeightPlacement::kMapFile         ? ds::WeightResidence::kMapped
                       : options.weight_placement == WeightPlacement::kReadIntoMemory ? ds::WeightResidence::kInMemory
                                                                                      : ds::WeightResidence::kAuto;
  try {
    auto lm = ds::LoadCausalLm(path, o);
    if (!lm.ok()) return ds::ToPublic(lm.status());
    auto impl = std::make_unique<Impl>();
    impl->lm = std::move(lm).value();
    const ds::ModelConfig& c = impl->lm->config();
    const ds::ModelStats& s = impl->lm->stats();
    impl->info = ModelInfo{path, c.model_type, s.architecture, c.vocab_size, c.hidden_size, c.num_hidden_layers,
                           s.max_context, s.total_params, s.active_params, s.params_by_dtype, s.kv_bytes_per_token};
    impl->info.mtp_modules = s.mtp_layers_loaded;
    impl->info.weight_bytes = s.weight_bytes;
    impl->info.weights_in_memory = s.weights_in_memory;
    impl->info.sequence_bytes = s.sequence_bytes;
    return std::unique_ptr<Model>(new Model(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, path + ": out of memory while loading");
  }
}

Result<std::vector<float>> Model::Logits(std::span<const int32_t> tokens) const {
  if (tokens.empty()) return Status(StatusCode::kInvalidArgument, "logits: no tokens given");
  for (int32_t t : tokens) {
    if (t < 0 || t >= impl_->info.vocab_size) {
      return Status(StatusCode::kInvalidArgument, "logits: token id " + std::to_string(t) + " is outside [0, " +
                                                      std::to_string(impl_->info.vocab_size) + ")");
    }
  }
  auto seq = impl_->lm->NewSequence();
  if (!seq.ok()) return ds::ToPublic(seq.status());
  std::vector<float> logits;
  absl::Status s = impl_->lm->Forward(**seq, tokens, true, logits);
  if (!s.ok()) return ds::ToPublic(s);
  return logits;
}

}  // namespace deepseek
