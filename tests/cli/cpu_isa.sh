#!/usr/bin/env bash
# DS_CPU_ISA caps oneDNN's kernels as well as ours: with DS_CPU_ISA=avx2 a prompt's GEMMs must not
# run AVX-512 code (oneDNN's verbose log names the ISA it uses), as on a CPU without AVX-512.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
run() {
  env -u ONEDNN_MAX_CPU_ISA ONEDNN_VERBOSE=1 "$@" "$BIN" logits --model "$DATA/fixtures/tiny-v3" \
    --tokens 1,2,3,4,5,6,7,8,9 --threads 1 --precision bf16 --out "$TMP/x.safetensors" 2>&1 | grep "isa:"
}
capped="$(run DS_CPU_ISA=avx2)"
echo "DS_CPU_ISA=avx2: $capped"
if grep -q "AVX-512" <<<"$capped"; then echo "oneDNN ran AVX-512 code under DS_CPU_ISA=avx2" >&2; exit 1; fi
# ONEDNN_MAX_CPU_ISA, when set, is the user's word for oneDNN.
own="$(run DS_CPU_ISA=avx2 ONEDNN_MAX_CPU_ISA=SSE41)"
echo "DS_CPU_ISA=avx2 ONEDNN_MAX_CPU_ISA=SSE41: $own"
grep -q "SSE4.1" <<<"$own"
