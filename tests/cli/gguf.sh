#!/usr/bin/env bash
# GGUF from the command line: `deepseek logits` on llama.cpp-made GGUF files must reproduce the
# dequantized reference (max abs <= 1e-3); `deepseek quantize` output must load in info/run/tokenize
# and reproduce the source's logits within the quantization error; bad input fails with a message.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
read_tokens() {
  python3 - "$1" <<'PY'
import json, struct, sys, array
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
s, e = h['tokens']['data_offsets']; a = array.array('i'); a.frombytes(b[8+n+s:8+n+e])
print(','.join(map(str, a)))
PY
}
compare() {  # got.safetensors expected.safetensors expected_name bound
  python3 - "$@" <<'PY'
import json, struct, sys, array
def read(path, name):
    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
    s, e = h[name]['data_offsets']; a = array.array('f'); a.frombytes(b[8+n+s:8+n+e]); return h[name]['shape'], a
gs, got = read(sys.argv[1], 'logits'); es, exp = read(sys.argv[2], sys.argv[3])
assert gs == es, (gs, es)
d = max(abs(x - y) for x, y in zip(got, exp))
print(f"{sys.argv[1]} vs {sys.argv[2]}:{sys.argv[3]}: max abs diff {d:.3g}")
assert d <= float(sys.argv[4]), d
PY
}
for fx in tiny-v3-q4_k_m tiny-v2-q4_k_m tiny-qwen2k-q4_k_m tiny-llamak-q5_k_m; do
  dir="$DATA/fixtures/gguf/$fx"
  "$BIN" logits --model "$dir/$fx.gguf" --tokens "$(read_tokens "$dir/expected.safetensors")" --out "$TMP/$fx.safetensors"
  compare "$TMP/$fx.safetensors" "$dir/expected.safetensors" logits_dequant 1e-3
  "$BIN" info --model "$dir/$fx.gguf" | grep -q "KV cache:"
done

# A DeepSeek-V2 GGUF (tokenizer.ggml.pre = "deepseek-llm") generates from a text prompt.
v2="$DATA/fixtures/gguf/tiny-v2-bf16/tiny-v2-bf16.gguf"
"$BIN" run --model "$v2" --prompt "a b c" --max-tokens 4 --temperature 0 > "$TMP/v2run.txt" 2> "$TMP/v2run.err"
grep -q "prompt 4 tokens.*output 4 tokens" "$TMP/v2run.err"  # BOS + a | " b" | " c"; 4 generated
# Pieces "a" | " b" | " c" | " " | "1" | "2" (digits one by one), each a single token of this vocab.
echo '{"text": "a b c 12"}' | "$BIN" tokenize --tokenizer "$v2" > "$TMP/v2tok.jsonl"
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["ids"]) == 6' "$TMP/v2tok.jsonl"

# quantize -> info / logits / run / tokenize on the result.
src="$DATA/fixtures/tiny-qwen2"
"$BIN" quantize --model "$src" --out "$TMP/q.gguf" --type q8_0 --quiet
"$BIN" info --model "$TMP/q.gguf" | grep -q "q8_0="
"$BIN" logits --model "$TMP/q.gguf" --tokens "$(read_tokens "$src/expected.safetensors")" --out "$TMP/q.safetensors"
compare "$TMP/q.safetensors" "$src/expected.safetensors" logits 0.2
"$BIN" run --model "$TMP/q.gguf" --prompt "hello" --max-tokens 4 --temperature 0 > "$TMP/run.txt"
echo '{"text": "Hello world"}' | "$BIN" tokenize --tokenizer "$TMP/q.gguf" > "$TMP/gguf.jsonl"
echo '{"text": "Hello world"}' | "$BIN" tokenize --tokenizer "$src" > "$TMP/hf.jsonl"
cmp "$TMP/gguf.jsonl" "$TMP/hf.jsonl"

source "$(dirname "$0")/lib/expect_fail.sh"
expect_fail "$BIN" quantize
expect_fail "$BIN" quantize --model "$src" --out "$TMP/x.gguf" --type q3_k
expect_fail "$BIN" quantize --model "$TMP/missing" --out "$TMP/x.gguf" --type q8_0
expect_fail "$BIN" quantize --model "$DATA/fixtures/tiny-v3" --out "$TMP/x.gguf" --type q8_0  # no tokenizer
head -c 100000 "$TMP/q.gguf" > "$TMP/truncated.gguf"
expect_fail "$BIN" info --model "$TMP/truncated.gguf"
grep -q "truncated.gguf" "$TMP/err"
echo OK
