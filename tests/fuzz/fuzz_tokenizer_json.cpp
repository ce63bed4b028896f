// Fuzzes tokenizer.json + tokenizer_config.json loading (fields split by fuzz_util's separator).
// A tokenizer that loads must encode and decode a fixed text without crashing.
#include "fuzz_util.h"
#include "tokenizer/hf_json_loader.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto fields = ds::fuzz::SplitFields(std::string_view(reinterpret_cast<const char*>(data), size), 2);
  auto spec = ds::ParseHfTokenizerSpec(fields[0], fields[1], "tokenizer.json");
  if (!spec.ok()) return 0;
  auto tok = ds::Tokenizer::FromSpec(std::move(spec).value());
  if (!tok.ok()) return 0;
  for (bool special : {false, true}) {
    auto ids = (*tok)->Encode("Hello world! 123 <|User|> héllo\n\t  x", special);
    if (ids.ok()) (void)(*tok)->Decode(*ids, special);
  }
  for (int32_t id : {-1, 0, 1, 255, (*tok)->vocab_size() - 1, (*tok)->vocab_size(), 1 << 30}) {
    (void)(*tok)->TokenBytes(id);
    (void)(*tok)->IdToToken(id);
  }
  return 0;
}
