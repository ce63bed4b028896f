#include "models/architectures.h"

#include <filesystem>

#include "absl/strings/str_join.h"
#include "loader/gguf_model.h"
#include "models/deepseek.h"

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
};

}  // namespace

std::vector<std::string> SupportedModelTypes() {
  std::vector<std::string> out;
  for (const auto& a : kArchitectures) out.push_back(a.model_type);
  return out;
}

StatusOr<std::unique_ptr<CausalLm>> LoadCausalLm(const std::string& path, const ModelLoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(StrCat(path, ": no such file or folder"));
  const bool gguf = IsGgufFile(path);
  std::shared_ptr<const GgufFile> gguf_file;
  ModelConfig config;
  if (gguf) {
    DS_ASSIGN_OR_RETURN(gguf_file, GgufFile::Open(path));
    DS_ASSIGN_OR_RETURN(config, GgufModelConfig(*gguf_file));
  } else {
    DS_ASSIGN_OR_RETURN(config, ReadHfConfig(path));
  }
  for (const auto& a : kArchitectures) {
    if (config.model_type != a.model_type) continue;
    std::unique_ptr<TensorSource> weights;
    if (gguf) {
      weights = std::make_unique<GgufTensorSource>(gguf_file, config);
    } else {
      DS_ASSIGN_OR_RETURN(weights, WeightStore::Open(path));
    }
    return a.load(config, std::move(weights), options);
  }
  return absl::UnimplementedError(StrCat(config.source, ": model_type '", config.model_type,
                                         "' is not supported; supported: ", absl::StrJoin(SupportedModelTypes(), ", ")));
}

}  // namespace ds
