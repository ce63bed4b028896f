// The per-(token, KV head) GQA attention loop (gqa_attention_rows.h) compiled with AVX2 + FMA.
#include "runtime/cpu/gqa_attention_rows.h"

namespace ds::cpu {

void GqaAttentionRowsAvx2(const GqaRowsCall& c, int64_t len, float* thread_rows, int threads) {
  GqaAttentionPerRow(c, len, thread_rows, threads);
}

}  // namespace ds::cpu
