// The hidden state behind deepseek::Model (pimpl), shared by the API, generation and C ABI layers.
#pragma once

#include <memory>

#include "deepseek/model.h"
#include "models/causal_lm.h"

namespace deepseek {

struct Model::Impl {
  std::unique_ptr<ds::CausalLm> lm;
  ModelInfo info;
};

}  // namespace deepseek
