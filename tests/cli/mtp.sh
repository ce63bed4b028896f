#!/usr/bin/env bash
# `deepseek run --mtp on|off|auto --draft N`: greedy text identical with and without MTP drafting
# on the fixtures with MTP weights, acceptance stats printed, bad values and missing MTP weights
# reported as errors.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
TOK="$DATA/tokenizers/deepseek-v3"
run() { "$BIN" run --tokenizer "$TOK" --prompt "a b c d e" --temperature 0 --max-tokens 150 --ctx 256 --threads 1 "$@"; }
for fx in tiny-v3 tiny-v3-fp8; do
  run --model "$DATA/fixtures/$fx" --mtp off >"$TMP/off.txt" 2>"$TMP/off.err"
  grep -q "output 150 tokens" "$TMP/off.err"
  if grep -q "MTP:" "$TMP/off.err"; then echo "--mtp off drafted"; exit 1; fi
  for k in 1 3; do
    run --model "$DATA/fixtures/$fx" --mtp on --draft "$k" >"$TMP/on.txt" 2>"$TMP/on.err"
    cmp "$TMP/off.txt" "$TMP/on.txt"
    grep -q "drafts accepted" "$TMP/on.err"
  done
  run --model "$DATA/fixtures/$fx" --mtp auto >"$TMP/auto.txt" 2>/dev/null
  cmp "$TMP/off.txt" "$TMP/auto.txt"
done
expect_fail() {
  local want="$1"; shift
  if "$@" >/dev/null 2>"$TMP/err"; then echo "expected failure: $*"; exit 1; fi
  grep -q "$want" "$TMP/err" || { echo "missing '$want' in:"; cat "$TMP/err"; exit 1; }
}
expect_fail "must be auto, on or off" run --model "$DATA/fixtures/tiny-v3" --mtp sometimes
expect_fail "draft must be in" run --model "$DATA/fixtures/tiny-v3" --draft 99
expect_fail "num_nextn_predict_layers" run --model "$DATA/fixtures/tiny-v2" --mtp on
echo "mtp cli: ok"
