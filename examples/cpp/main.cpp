// Loads a model with the C++ API and prints the most likely next token after the given ids,
// then (with --prompt TEXT, when the model folder has a tokenizer) a short greedy continuation.
//   usage: next_token MODEL_DIR ID... [--prompt TEXT]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <deepseek/generate.h>
#include <deepseek/model.h>
#include <deepseek/version.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: next_token MODEL_DIR ID... [--prompt TEXT]\n";
    return 2;
  }
  std::vector<int32_t> ids;
  std::string prompt;
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--prompt" && i + 1 < argc) {
      prompt = argv[++i];
    } else {
      ids.push_back(static_cast<int32_t>(std::atoi(argv[i])));
    }
  }
  auto model = deepseek::Model::Load(argv[1]);
  if (!model.ok()) {
    std::cerr << "error: " << model.status().message() << "\n";
    return 1;
  }
  const deepseek::ModelInfo& info = (*model)->info();
  auto logits = (*model)->Logits(ids);
  if (!logits.ok()) {
    std::cerr << "error: " << logits.status().message() << "\n";
    return 1;
  }
  const float* last = logits->data() + (ids.size() - 1) * info.vocab_size;
  const auto best = std::max_element(last, last + info.vocab_size) - last;
  std::printf("deepseek %s, %s, vocab %lld\nnext token: %lld\n", deepseek::Version(), info.model_type.c_str(),
              static_cast<long long>(info.vocab_size), static_cast<long long>(best));
  if (!prompt.empty()) {
    auto tok = deepseek::Tokenizer::Load(argv[1]);
    if (!tok.ok()) return std::cerr << "error: " << tok.status().message() << "\n", 1;
    deepseek::GenerateOptions o;
    o.sampling.temperature = 0;
    o.max_tokens = 8;
    auto r = deepseek::Generate(**model, **tok, prompt, o);
    if (!r.ok()) return std::cerr << "error: " << r.status().message() << "\n", 1;
    std::printf("continuation: %s\n", r->text.c_str());
  }
  return 0;
}
