#!/usr/bin/env bash
# `deepseek logits` / `deepseek info` on bad input: each case must exit non-zero (not by a signal),
# print a message on stderr naming what is wrong, and leave no output file behind.
# Usage: bash robustness_logits.sh <deepseek binary> <tests/data dir>
set -uo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
FX="$DATA/fixtures/tiny-v3"
ulimit -c 0  # a crash must show as a signal exit code, not litter core files
failures=0

# expect_fail "what the message must contain" command...
expect_fail() {
  local want="$1"; shift
  local rc=0
  rm -f "$TMP/out.safetensors"
  "$@" 2>"$TMP/err" >"$TMP/stdout" || rc=$?
  if [ $rc -eq 0 ]; then
    echo "FAIL (exit 0): $*"; failures=$((failures + 1)); return
  fi
  if [ $rc -ge 128 ]; then
    echo "FAIL (killed by signal $((rc - 128))): $*"; cat "$TMP/err"; failures=$((failures + 1)); return
  fi
  if ! [ -s "$TMP/err" ]; then
    echo "FAIL (nothing on stderr): $*"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$want" "$TMP/err"; then
    echo "FAIL (stderr lacks '$want'): $*"; cat "$TMP/err"; failures=$((failures + 1)); return
  fi
  if [ -e "$TMP/out.safetensors" ]; then
    echo "FAIL (wrote an output file despite the error): $*"; failures=$((failures + 1)); return
  fi
  echo "ok (rc $rc): $(head -c 160 "$TMP/err" | tr '\n' ' ')"
}

OUT="$TMP/out.safetensors"

# Missing folder / file.
expect_fail "$TMP/missing" "$BIN" logits --model "$TMP/missing" --tokens 1,2,3 --out "$OUT"
expect_fail "$TMP/missing" "$BIN" info --model "$TMP/missing"

# Bad token lists.
expect_fail "x" "$BIN" logits --model "$FX" --tokens 1,x,3 --out "$OUT"
expect_fail "-5" "$BIN" logits --model "$FX" --tokens 1,-5 --out "$OUT"
expect_fail "1.5" "$BIN" logits --model "$FX" --tokens 1.5 --out "$OUT"
expect_fail "99999999999" "$BIN" logits --model "$FX" --tokens 99999999999 --out "$OUT"
expect_fail "tokens" "$BIN" logits --model "$FX" --tokens "" --out "$OUT"
expect_fail "tokens" "$BIN" logits --model "$FX" --tokens ",,," --out "$OUT"
expect_fail "tokens" "$BIN" logits --model "$FX" --out "$OUT"

# Token ids outside the vocabulary (tiny-v3 has 1000).
expect_fail "1000" "$BIN" logits --model "$FX" --tokens 1,1000 --out "$OUT"
expect_fail "2147483647" "$BIN" logits --model "$FX" --tokens 2147483647 --out "$OUT"

# Broken copies of the fixture.
broken() {  # broken NAME PYTHON-EDIT: a copy of tiny-v3 whose config.json went through the edit
  local d="$TMP/$1"; mkdir -p "$d"; cp "$FX/config.json" "$FX/model.safetensors" "$d/"
  python3 - "$d/config.json" "$2" <<'PY'
import json, sys
path, edit = sys.argv[1], sys.argv[2]
c = json.load(open(path)); exec(edit); json.dump(c, open(path, "w"))
PY
  echo "$d"
}
d=$(broken zero_heads 'c["num_attention_heads"] = 0')
expect_fail "num_attention_heads" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
expect_fail "num_attention_heads" "$BIN" info --model "$d"
d=$(broken bad_type 'c["model_type"] = "mystery"')
expect_fail "deepseek_v3" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
d=$(broken string_number 'c["hidden_size"] = "128"')
expect_fail "hidden_size" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
d=$(broken topk 'c["num_experts_per_tok"] = 99')
expect_fail "num_experts_per_tok" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
d=$(broken huge_rope 'c["qk_rope_head_dim"] = 1 << 40')
expect_fail "qk_rope_head_dim" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
d=$(broken bad_json 'pass'); printf '{"model_type": ' > "$d/config.json"
expect_fail "config.json" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
d=$(broken no_config 'pass'); rm "$d/config.json"
expect_fail "config.json" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
d=$(broken truncated 'pass'); truncate -s 100000 "$d/model.safetensors"
expect_fail "model.safetensors" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"
d=$(broken no_weights 'pass'); rm "$d/model.safetensors"
expect_fail "$d" "$BIN" logits --model "$d" --tokens 1,2 --out "$OUT"

# Output path that cannot be written.
expect_fail "$TMP/no/such/dir" "$BIN" logits --model "$FX" --tokens 1,2 --out "$TMP/no/such/dir/x.safetensors"

if [ $failures -ne 0 ]; then echo "robustness_logits: $failures failure(s)"; exit 1; fi
echo "robustness_logits: ok"
