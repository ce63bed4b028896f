// The hidden state behind deepseek::Tokenizer (pimpl).
#pragma once

#include <memory>

#include "deepseek/tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace deepseek {

struct Tokenizer::Impl {
  std::unique_ptr<ds::Tokenizer> tokenizer;
};

}  // namespace deepseek
