// The per-(token, head) GQA attention loop (gqa_attention_rows.h) compiled with AVX2 + FMA.
#include "runtime/cpu/gqa_attention_rows.h"

namespace ds::cpu {

void GqaAttentionRowsAvx2(const GqaAttentionOp::Args& a, int64_t len, float* thread_rows, int threads) {
  GqaAttentionPerRow(a, len, thread_rows, threads);
}

}  // namespace ds::cpu
