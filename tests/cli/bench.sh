#!/usr/bin/env bash
# `deepseek bench` on the tiny fixtures: the JSON report has every key, with sane values (speeds
# positive, weight bytes per token equal to the active weights' stored bytes computed here from
# the safetensors headers, fraction = tg * bytes / bandwidth). Speed itself is not checked.
set -euo pipefail
BIN="$1"; DATA="$2"; TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
for fx in tiny-v2 tiny-v3-fp8; do
  dir="$DATA/fixtures/$fx"
  for prec in f32 bf16; do
    "$BIN" bench --model "$dir" -p 12 -n 5 -r 2 -t 2 --bw-mib 32 --precision "$prec" --json \
      >"$TMP/out.json" 2>"$TMP/err"
    grep -q "rep 2/2 tg5" "$TMP/err" || { echo "no progress on stderr"; cat "$TMP/err"; exit 1; }
    # The default (exact) run points at llama.cpp's arithmetic; the reduced-precision run does not.
    if [ "$prec" = f32 ] && ! grep -q "which --precision bf16 also does" "$TMP/err"; then
      echo "no note on the arithmetic in the default run"; cat "$TMP/err"; exit 1
    fi
    if [ "$prec" = bf16 ] && grep -q "precision bf16 also does" "$TMP/err"; then echo "note in a bf16 run"; exit 1; fi
    python3 - "$TMP/out.json" "$dir" "$prec" <<'PY'
import json, struct, sys, glob, os
out = json.load(open(sys.argv[1])); d = sys.argv[2]
for k in ["pp_tok_s", "tg_tok_s", "weight_bytes_per_token", "bandwidth_gb_s", "bandwidth_fraction",
          "threads", "peak_rss_bytes", "pp_tok_s_sd", "tg_tok_s_sd", "paired_fraction", "paired_sweep_gb_s"]:
    assert k in out, k
assert out["threads"] == 2 and out["precision"] == sys.argv[3], out
assert out["pp_tok_s"] > 0 and out["tg_tok_s"] > 0 and out["bandwidth_gb_s"] > 0, out
assert 1 << 20 < out["peak_rss_bytes"] < 1 << 31, out
frac = out["tg_tok_s"] * out["weight_bytes_per_token"] / (out["bandwidth_gb_s"] * 1e9)
assert abs(frac - out["bandwidth_fraction"]) <= 1e-3 * max(frac, 1e-6) + 1e-4, (frac, out)
assert out["paired_sweep_gb_s"] > 0 and out["paired_fraction"] > 0, out
# Independent count of the bytes one token reads, from the checkpoint headers and config.json.
cfg = json.load(open(os.path.join(d, "config.json")))
size = {"F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1}
total = 0.0
layers = cfg["num_hidden_layers"]
for f in glob.glob(os.path.join(d, "model*.safetensors")):
    b = open(f, "rb").read(8); n = struct.unpack("<Q", b)[0]
    h = json.loads(open(f, "rb").read(8 + n)[8:])
    for name, t in h.items():
        if name == "__metadata__": continue
        if name.startswith("model.layers.") and int(name.split(".")[2]) >= layers: continue  # MTP
        nb = size[t["dtype"]]
        for s in t["shape"]: nb *= s
        if name == "model.embed_tokens.weight":
            nb /= cfg["vocab_size"]
            if cfg.get("tie_word_embeddings") and not any("lm_head" in k for k in h): nb += nb * cfg["vocab_size"]
        elif ".mlp.experts." in name:
            nb = nb * cfg["num_experts_per_tok"] / cfg["n_routed_experts"]
        total += nb
want = round(total)
# Norm weights and biases are read as f32 copies; allow for that difference (tiny vectors).
assert abs(out["weight_bytes_per_token"] - want) <= 0.02 * want, (out["weight_bytes_per_token"], want)
print(sys.argv[2], sys.argv[3], "ok", out["weight_bytes_per_token"], want)
PY
  done
done
# Depth (llama-bench's -d): runs after 20 context tokens, reported in the JSON and the text; a depth
# that does not fit the model's positions is refused before anything runs.
"$BIN" bench --model "$DATA/fixtures/tiny-v2" -p 8 -n 3 -d 20 -r 1 -t 2 --bw-mib 8 --json 2>/dev/null |
  python3 -c 'import json, sys; o = json.load(sys.stdin); assert o["n_depth"] == 20 and o["tg_tok_s"] > 0 and o["pp_tok_s"] > 0, o'
"$BIN" bench --model "$DATA/fixtures/tiny-v2" -p 8 -n 3 -d 20 -r 1 -t 2 --bw-mib 8 >"$TMP/depth.txt" 2>/dev/null
grep -q "tok/s @ d20" "$TMP/depth.txt"
if "$BIN" bench --model "$DATA/fixtures/tiny-v2" -p 8 -n 3 -d 163835 -r 1 --bw-mib 8 >"$TMP/deep.txt" 2>&1; then
  echo "a depth beyond the model's positions was accepted"; exit 1
fi
grep -q "max_context 163844 exceeds" "$TMP/deep.txt"
"$BIN" bench --bandwidth -t 1 --bw-mib 32 --json | python3 -c '
import json, sys; o = json.load(sys.stdin); assert o["bandwidth_gb_s"] > 0 and o["threads"] == 1, o'
"$BIN" bench --bandwidth -t 1 --bw-mib 32 | grep -q "GB/s"
# Weight placement: the default (auto) reads a small checkpoint into memory; --mmap keeps it mapped;
# `info` maps unless --no-mmap asks otherwise.
for pl in "" --mmap --no-mmap; do
  "$BIN" bench --model "$DATA/fixtures/tiny-qwen2" -p 4 -n 2 -r 1 -t 1 --bw-mib 8 --json $pl >"$TMP/pl.json" 2>/dev/null
  want=$([ "$pl" = --mmap ] && echo "memory-mapped" || echo "in memory")
  python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); assert o["weights"] == sys.argv[2], o' "$TMP/pl.json" "$want"
done
"$BIN" info --model "$DATA/fixtures/tiny-qwen2" --quiet | grep -q "(memory-mapped)"
"$BIN" info --model "$DATA/fixtures/tiny-qwen2" --quiet --no-mmap | grep -q "(in memory)"
source "$(dirname "$0")/lib/expect_fail.sh"
expect_fail "$BIN" bench
expect_fail "$BIN" bench --model "$TMP/missing" -p 4 -n 2 --bw-mib 8
expect_fail "$BIN" bench --model "$DATA/fixtures/tiny-v2" -p -1
expect_fail "$BIN" bench --model "$DATA/fixtures/tiny-v2" -r 0
expect_fail "$BIN" bench --model "$DATA/fixtures/tiny-v2" -d -1
expect_fail "$BIN" bench --model "$DATA/fixtures/tiny-v2" --precision fp4
echo "bench: ok"
