#!/usr/bin/env bash
# `deepseek logits` on each DeepSeek and R1-Distill fixture must reproduce the reference logits (max abs <= 1e-3),
# and `deepseek info` must describe the model; bad input must fail with a message, not a crash.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
for fx in tiny-v2 tiny-v3 tiny-v3-fp8 tiny-qwen2 tiny-llama; do
  dir="$DATA/fixtures/$fx"
  tokens="$(python3 - "$dir/expected.safetensors" <<'PY'
import json, struct, sys, array
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
s, e = h['tokens']['data_offsets']; a = array.array('i'); a.frombytes(b[8+n+s:8+n+e])
print(','.join(map(str, a)))
PY
)"
  "$BIN" logits --model "$dir" --tokens "$tokens" --out "$TMP/$fx.safetensors"
  python3 - "$TMP/$fx.safetensors" "$dir/expected.safetensors" <<'PY'
import json, struct, sys, array
def read(path, name):
    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
    s, e = h[name]['data_offsets']; a = array.array('f'); a.frombytes(b[8+n+s:8+n+e]); return h[name]['shape'], a
gs, got = read(sys.argv[1], 'logits'); es, exp = read(sys.argv[2], 'logits')
assert gs == es, (gs, es)
d = max(abs(x - y) for x, y in zip(got, exp))
print(f"{sys.argv[2]}: max abs diff {d:.3g}")
assert d <= 1e-3, d
PY
  "$BIN" info --model "$dir" | grep -q "KV cache:"
done
source "$(dirname "$0")/lib/expect_fail.sh"
expect_fail "$BIN" logits --model "$TMP/missing" --tokens 1 --out "$TMP/x"
expect_fail "$BIN" logits --model "$DATA/fixtures/tiny-v3" --tokens 1,x --out "$TMP/x"
expect_fail "$BIN" logits --model "$DATA/fixtures/tiny-v3" --tokens 99999 --out "$TMP/x"
expect_fail "$BIN" logits --model "$DATA/fixtures/tiny-v3" --tokens 1
expect_fail "$BIN" info
echo "cli logits: ok"
