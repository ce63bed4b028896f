#include "models/architectures.h"

#include <filesystem>

#include "absl/strings/str_join.h"
#include "loader/safetensors.h"
#include "models/deepseek.h"
#include "models/dense_decoder.h"

namespace ds {
namespace {

using Loader = StatusOr<std::unique_ptr<CausalLm>> (*)(const ModelConfig&, std::unique_ptr<TensorSource>,
                                                      const ModelLoadOptions&);
struct Architecture {
  const char* model_type;
  Loader load;
};

// One line per architecture.
constexpr Architecture kArchitectures[] = {
    {"deepseek_v2", LoadDeepseek},
    {"deepseek_v3", LoadDeepseek},
    {"qwen2", LoadQwen2},
    {"llama", LoadLlama},
};

}  // namespace

std::vector<std::string> SupportedModelTypes() {
  std::vector<std::string> out;
  for (const auto& a : kArchitectures) out.push_back(a.model_type);
  return out;
}

namespace {

StatusOr<Loader> FindLoader(const ModelConfig& config) {
  for (const auto& a : kArchitectures) {
    if (config.model_type == a.model_type) return a.load;
  }
  return absl::UnimplementedError(StrCat(config.source, ": model_type '", config.model_type,
                                         "' is not supported; supported: ", absl::StrJoin(SupportedModelTypes(), ", ")));
}

}  // namespace

StatusOr<std::unique_ptr<CausalLm>> LoadCausalLm(const std::string& path, const ModelLoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(StrCat(path, ": no such file or folder"));
  DS_ASSIGN_OR_RETURN(ModelConfig config, ReadHfConfig(path));
  DS_ASSIGN_OR_RETURN(Loader load, FindLoader(config));
  DS_ASSIGN_OR_RETURN(auto weights, WeightStore::Open(path));
  return load(config, std::move(weights), options);
}

StatusOr<std::unique_ptr<CausalLm>> LoadCausalLm(const ModelConfig& config, std::unique_ptr<TensorSource> weights,
                                                 const ModelLoadOptions& options) {
  if (!weights) return absl::InvalidArgumentError(StrCat(config.source, ": no weight source given"));
  DS_ASSIGN_OR_RETURN(Loader load, FindLoader(config));
  return load(config, std::move(weights), options);
}

}  // namespace ds
