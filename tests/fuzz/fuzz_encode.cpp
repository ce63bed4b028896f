// Encodes arbitrary bytes with the real DeepSeek-V3 tokenizer (tests/data/tokenizers/deepseek-v3).
// Invalid UTF-8 must be an error; valid text must round-trip: the tokens' bytes concatenate to the
// input (byte-level BPE loses nothing and DeepSeek-V3 has no normalizer), and Decode agrees.
#include <cstdio>
#include <cstdlib>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

namespace {
const ds::Tokenizer* g_tok = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto tok = ds::Tokenizer::Load(ds::fuzz::DataDir() + "/tokenizers/deepseek-v3");
  if (!tok.ok()) {
    std::fprintf(stderr, "fuzz_encode: %s\n", std::string(tok.status().message()).c_str());
    std::abort();
  }
  g_tok = tok->release();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ids = g_tok->Encode(text, /*add_special_tokens=*/false);
  if (!ids.ok()) return 0;  // invalid UTF-8
  std::string joined;
  for (int32_t id : *ids) {
    if (id < 0 || id >= g_tok->vocab_size()) std::abort();
    joined += g_tok->TokenBytes(id);
  }
  if (joined != text) {
    std::fprintf(stderr, "fuzz_encode: token bytes do not reproduce the input\n");
    std::abort();
  }
  if (g_tok->Decode(*ids) != text) {
    std::fprintf(stderr, "fuzz_encode: Decode(Encode(x)) != x\n");
    std::abort();
  }
  (void)g_tok->Encode(text, /*add_special_tokens=*/true);
  return 0;
}
