// DeepSeek-V3 multi-token prediction (MTP) module, `model.layers.{num_hidden_layers + k}.*`:
//   h' = eh_proj([enorm(embed(t_{i+1})); hnorm(h_i)])      (embedding half first, as in the
//                                                           released checkpoints; see below)
//   g  = decoder block(h')                                 (its own MLA KV cache, positions i)
//   logits = shared_head.head(shared_head.norm(g))
// h_i is the hidden state the output head sees at position i (after the final norm) — the main
// model's, or the previous module's normalized output g when drafting several tokens by chaining.
//
// The report writes the concatenation as [RMSNorm(h); RMSNorm(emb)], but the engines that run the
// released DeepSeek-V3/R1 weights (vLLM's deepseek_mtp.py, SGLang's deepseek_nextn.py) concatenate
// the normalized embedding first; we follow the weights. `embed_tokens` and `shared_head.head`
// fall back to the main model's when the checkpoint omits them (they are shared in V3).
#pragma once

#include <span>
#include <vector>

#include "models/decoder_layer.h"

namespace ds {

struct MtpModule {
  Tensor embed;  // [vocab, hidden]
  RmsNormLayer enorm, hnorm, head_norm;
  Linear eh_proj;  // [hidden, 2 * hidden]
  DeepseekDecoderLayer block;
  Linear head;  // [vocab, hidden]
  bool own_embed = false, own_head = false;

  // Loads module `model.layers.<layer>`; `main_embed` / `main_head` are used where it has none.
  static StatusOr<MtpModule> Load(WeightLoader& loader, const ModelConfig& c, int64_t layer, const Tensor& main_embed,
                                  const Linear& main_head, float attention_scale);
  // Rows at `positions` (consecutive, from the module's cache length): hidden[m, d] and the token
  // after each position. Writes every row's normalized output to out_hidden [m, d] and the last
  // row's logits to `logits` ([vocab]). Workspace slots 40..42.
  Status Forward(const float* hidden, std::span<const int32_t> next_tokens, std::span<const int32_t> positions,
                 const RopeTables& rope, MlaKvCache& cache, int64_t cache_layer, float* out_hidden,
                 std::vector<float>& logits, KernelContext& ctx, Workspace& ws) const;
  // Parameters this module adds (shared embedding / head not counted).
  int64_t params() const;
};

}  // namespace ds
