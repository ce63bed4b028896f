// Fuzzes the GGUF reader and what is built on it: the ModelConfig from metadata, the tensors under
// Hugging Face names (expert slices, split MLA tensors) and the tokenizer from metadata. The first
// byte picks: 0: the input is a whole .gguf file; 1: three bytes give a data-section size in KiB
// (zeros appended), the rest is the file's beginning (header, metadata, tensor infos), so
// mutations reach the header checks without megabytes of tensor data in every input.
// Every tensor that opens is read at its first and last byte, so a view past the mapping shows
// up under ASan.
#include <algorithm>

#include "fuzz_util.h"
#include "loader/gguf.h"
#include "loader/gguf_model.h"
#include "loader/gguf_tokenizer.h"

namespace {

volatile uint8_t g_sink;

void Touch(const ds::Tensor& t) {
  const size_t n = static_cast<size_t>(ds::DTypeBytes(t.dtype(), t.numel()));
  if (n == 0) return;
  const uint8_t* p = static_cast<const uint8_t*>(t.raw());
  g_sink = p[0] ^ p[n - 1];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    if (bytes.size() < 3) return 0;
    const size_t kib = (static_cast<uint8_t>(bytes[0]) | static_cast<uint8_t>(bytes[1]) << 8 |
                        static_cast<uint8_t>(bytes[2]) << 16) % 4096;
    bytes = bytes.substr(3) + std::string(kib * 1024, '\0');
  }
  const std::string path = ds::fuzz::ScratchDir() + "/f.gguf";
  ds::fuzz::WriteFile(path, bytes);
  auto file = ds::GgufFile::Open(path);
  if (!file.ok()) return 0;
  for (const auto& t : (*file)->tensors()) {
    auto v = (*file)->GetTensor(t.name);
    if (v.ok()) Touch(*v);
  }
  (void)ds::TokenizerSpecFromGguf(**file);
  auto config = ds::GgufModelConfig(**file);
  if (!config.ok()) return 0;
  std::shared_ptr<const ds::GgufFile> shared(std::move(file).value());
  ds::GgufTensorSource source(shared, *config);
  const int64_t layers = std::min<int64_t>(config->num_hidden_layers, 4);
  std::vector<std::string> names = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"};
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    for (const char* n : {".self_attn.q_proj.weight", ".self_attn.kv_a_proj_with_mqa.weight",
                          ".self_attn.k_b_proj.weight", ".self_attn.v_b_proj.weight", ".self_attn.kv_b_proj.weight",
                          ".mlp.gate.weight", ".mlp.experts.0.gate_proj.weight", ".mlp.experts.1.down_proj.weight",
                          ".mlp.shared_experts.up_proj.weight", ".mlp.down_proj.weight"}) {
      names.push_back(p + n);
    }
  }
  for (const auto& n : names) {
    if (!source.Has(n)) continue;
    auto t = source.Get(n);
    if (t.ok()) Touch(*t);
  }
  return 0;
}
