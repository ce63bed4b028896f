// Fuzzes config.json parsing and the DeepSeek consistency checks. A config that passes them must
// be safe to size things from: the RoPE tables (YaRN math on arbitrary floats) and the KV-cache
// cost are computed for it, as loading would.
#include <algorithm>

#include "common/json_util.h"
#include "loader/model_config.h"
#include "models/deepseek.h"
#include "models/kv_cache.h"
#include "models/rope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = ds::ParseJson(text, "config.json");
  if (!json.ok()) return 0;
  auto config = ds::ParseHfConfig(*json, "config.json");
  if (!config.ok()) return 0;
  if (!ds::ValidateDeepseekConfig(*config).ok()) return 0;
  const int64_t positions = std::min<int64_t>(config->max_position_embeddings, 64);
  ds::RopeTables rope = ds::BuildRopeTables(*config, config->qk_rope_head_dim, positions);
  volatile float sink = rope.cos.empty() ? 0.f : rope.cos.back();
  (void)sink;
  volatile int64_t bytes = ds::MlaKvCache::BytesPerToken(config->num_hidden_layers, config->kv_lora_rank,
                                                         config->qk_rope_head_dim, ds::KvCacheDType::kF32);
  (void)bytes;
  return 0;
}
