#!/usr/bin/env bash
# --precision bf16 names on stderr what this CPU keeps in exact f32. DS_CPU_ISA caps the ISA, so the
# answers under avx2 and scalar hold on any AVX2 host (without AVX2 the avx2 run lists more); f32
# and --quiet print no note.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
# The note line of one logits run (env setting first, then extra flags); fails when the run fails.
note() {
  if ! env "$1" "$BIN" logits --model "$DATA/fixtures/tiny-v3" --tokens 1,2,3 --threads 1 \
      --out "$TMP/x.safetensors" "${@:2}" >/dev/null 2>"$TMP/err"; then
    cat "$TMP/err" >&2; echo "logits $* failed" >&2; return 1
  fi
  grep "^note: --precision bf16" "$TMP/err" || true
}
avx2="$(note DS_CPU_ISA=avx2 --precision bf16)"
echo "avx2: $avx2"
grep -q "keeps these in exact f32: prompt matmuls and MLA attention, decoding on bf16 weights" <<<"$avx2"
scalar="$(note DS_CPU_ISA=scalar --precision bf16)"
echo "scalar: $scalar"
grep -q "decoding on bf16 weights, decoding on GGUF block types$" <<<"$scalar"
f32="$(note DS_CPU_ISA=scalar --precision f32)"
[ -z "$f32" ] || { echo "a note under --precision f32: $f32" >&2; exit 1; }
quiet="$(note DS_CPU_ISA=scalar --precision bf16 --quiet)"
[ -z "$quiet" ] || { echo "a note under --quiet: $quiet" >&2; exit 1; }
echo ok
