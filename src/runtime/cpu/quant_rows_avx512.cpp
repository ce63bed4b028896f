// AVX-512 dot product of a dequantized block tile with f32 activations (n a multiple of 16).
#include <immintrin.h>

#include "runtime/cpu/weight_rows.h"

namespace ds::cpu {

float DotTileAvx512(const float* tile, const float* x, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 32 <= n; c += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_load_ps(tile + c), _mm512_loadu_ps(x + c), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_load_ps(tile + c + 16), _mm512_loadu_ps(x + c + 16), acc1);
  }
  for (; c + 16 <= n; c += 16) acc0 = _mm512_fmadd_ps(_mm512_load_ps(tile + c), _mm512_loadu_ps(x + c), acc0);
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

}  // namespace ds::cpu
