#!/usr/bin/env bash
# Runs `deepseek bench` over issue 6's rows (decode and prefill, -t 2 and -t 1) and prints a markdown
# table. Each model's files are read once first so that every weight is in the page cache (a run
# that faults pages in from disk measures the disk, not the kernels).
#
# Usage: bench/issue6_table.sh DEEPSEEK_BIN OUT_DIR MODEL [MODEL ...]
#   MODEL: a checkpoint folder or .gguf file (e.g. made by `deepseek synth` and `deepseek quantize`).
# Env: TG_N (decode tokens, default 32), PP_N (prompt tokens, default 512), REPS (default 3),
#      THREADS (default "2 1"), PRECISION (prefill compute precision, default bf16),
#      TG_PRECISION (decode compute precision, default f32), TABLE_ONLY=1 (print the table from
#      OUT_DIR's earlier runs).
set -euo pipefail
bin=$1 out=$2
shift 2
mkdir -p "$out"
tg_n=${TG_N:-32} pp_n=${PP_N:-512} reps=${REPS:-3} prec=${PRECISION:-bf16}
for model in "$@"; do
  [[ -n "${TABLE_ONLY:-}" ]] && break
  name=$(basename "$model" .gguf)
  find "$model" -type f -exec cat {} + > /dev/null
  for t in ${THREADS:-2 1}; do
    echo "== $name -t $t" >&2
    "$bin" bench --model "$model" -p 0 -n "$tg_n" -r "$reps" -t "$t" --precision "${TG_PRECISION:-f32}" --json \
      > "$out/tg-$name-t$t.json"
    "$bin" bench --model "$model" -p "$pp_n" -n 0 -r 1 -t "$t" --precision "$prec" --json > "$out/pp-$name-t$t.json"
  done
done
python3 - "$out" "$@" <<'PY'
import json, os, sys
out = sys.argv[1]
print("| model | t | pp tok/s | tg tok/s | GB/token | achieved GB/s | sweep GB/s (before/after) | fraction | paired sweep GB/s | paired fraction | peak RSS GB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for model in sys.argv[2:]:
    name = os.path.basename(model.rstrip("/"))
    name = name[:-5] if name.endswith(".gguf") else name
    for t in (2, 1):
        tg_path, pp_path = f"{out}/tg-{name}-t{t}.json", f"{out}/pp-{name}-t{t}.json"
        if not os.path.exists(tg_path):
            continue
        tg, pp = json.load(open(tg_path)), json.load(open(pp_path))
        print(f"| {name} | {t} | {pp['pp_tok_s']:.1f} ± {pp['pp_tok_s_sd']:.1f} | {tg['tg_tok_s']:.2f} ± {tg['tg_tok_s_sd']:.2f} | "
              f"{tg['weight_bytes_per_token'] / 1e9:.3f} | {tg['achieved_gb_s']:.1f} | "
              f"{tg['bandwidth_before_gb_s']:.1f} / {tg['bandwidth_after_gb_s']:.1f} | {tg['bandwidth_fraction']:.2f} | "
              f"{tg['paired_sweep_gb_s']:.1f} | {tg['paired_fraction']:.2f} ± {tg['paired_fraction_sd']:.2f} | "
              f"{max(tg['peak_rss_bytes'], pp['peak_rss_bytes']) / 1e9:.2f} |")
PY
