#!/usr/bin/env bash
# --precision bf16 names on stderr what this CPU keeps in exact f32. DS_CPU_ISA caps the ISA, so the
# AVX2 and scalar answers hold on any host; f32 and --quiet print no note.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
note() {
  env "$1" "$BIN" logits --model "$DATA/fixtures/tiny-v3" --tokens 1,2,3 --threads 1 --out "$TMP/x.safetensors" \
    "${@:2}" 2>&1 >/dev/null | { grep "^note: --precision bf16" || true; }
}
avx2="$(note DS_CPU_ISA=avx2 --precision bf16)"
echo "avx2: $avx2"
grep -q "prompt matmuls and attention, decoding on bf16 weights$" <<<"$avx2"
scalar="$(note DS_CPU_ISA=scalar --precision bf16)"
echo "scalar: $scalar"
grep -q "decoding on GGUF block types$" <<<"$scalar"
[ -z "$(note DS_CPU_ISA=scalar --precision f32)" ] || { echo "a note under --precision f32" >&2; exit 1; }
[ -z "$(note DS_CPU_ISA=scalar --precision bf16 --quiet)" ] || { echo "a note under --quiet" >&2; exit 1; }
echo ok
