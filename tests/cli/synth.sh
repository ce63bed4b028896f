#!/usr/bin/env bash
# `deepseek synth` writes a loadable random checkpoint at a config's shape: for each architecture
# (bf16 and fp8), `deepseek logits` on it gives finite logits of the right shape and `deepseek info`
# reports the overridden layer count; bad arguments fail with a message, not a crash.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
check_logits() {
  python3 - "$1" "$2" <<'PY'
import json, struct, sys, array, math
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
s, e = h['logits']['data_offsets']; a = array.array('f'); a.frombytes(b[8+n+s:8+n+e])
assert h['logits']['shape'] == [4, int(sys.argv[2])], h['logits']['shape']
assert all(math.isfinite(x) for x in a), "non-finite logits"
mean = sum(a) / len(a); std = math.sqrt(sum((x - mean) ** 2 for x in a) / len(a))
print(f"{sys.argv[1]}: logits std {std:.3f}")
assert 0.1 < std < 10, std
PY
}
for fx in tiny-v2 tiny-v3 tiny-qwen2 tiny-llama; do
  for dtype in bf16 fp8; do
    out="$TMP/$fx-$dtype"
    "$BIN" synth --config "$DATA/fixtures/$fx/config.json" --out "$out" --layers 2 --dtype "$dtype" --seed 1 --quiet
    grep -q '"num_hidden_layers": 2' "$out/config.json"
    "$BIN" logits --model "$out" --tokens 5,6,7,8 --out "$TMP/l.safetensors"
    vocab="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$out/config.json")"
    check_logits "$TMP/l.safetensors" "$vocab"
    "$BIN" info --model "$out" | grep -q "layers: *2"
  done
done
# Sharded output (--shard-mb 1 on a ~1.7 MB model) loads like one file.
"$BIN" synth --config "$DATA/fixtures/tiny-qwen2" --out "$TMP/sharded" --shard-mb 1 --quiet
ls "$TMP/sharded"/model-00002-of-0000*.safetensors >/dev/null
test -f "$TMP/sharded/model.safetensors.index.json"
"$BIN" logits --model "$TMP/sharded" --tokens 5,6,7,8 --out "$TMP/l.safetensors"
check_logits "$TMP/l.safetensors" 1000
source "$(dirname "$0")/lib/expect_fail.sh"
expect_fail "$BIN" synth --out "$TMP/x"
expect_fail "$BIN" synth --config "$TMP/missing.json" --out "$TMP/x"
expect_fail "$BIN" synth --config "$DATA/fixtures/tiny-v3/config.json" --out "$TMP/x" --dtype int4
expect_fail "$BIN" synth --config "$DATA/fixtures/tiny-v3/config.json" --out "$TMP/x" --layers 0
expect_fail "$BIN" synth --config "$DATA/fixtures/tiny-v3/config.json" --out "$TMP/x" --layers x
echo "cli synth: ok"
