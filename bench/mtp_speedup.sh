#!/usr/bin/env bash
# Decode speed with MTP speculative decoding against plain decoding: same model, prompt and
# settings, runs interleaved so machine load affects every configuration alike. Per configuration:
# the median over REPS runs of the decode tok/s `deepseek run` reports (wall clock) and of
# tokens per CPU-second of decoding (process CPU time minus that of a 1-token run: steadier on a
# shared machine, meaningful with --threads 1), each with its ratio to --mtp off, and the
# acceptance stats of the last run.
# usage: bench/mtp_speedup.sh BIN MODEL PROMPT [TOKENS=256] [REPS=5] [extra run options...]
set -euo pipefail
BIN="$1"; MODEL="$2"; PROMPT="$3"; TOKENS="${4:-256}"; REPS="${5:-5}"; shift $(( $# < 5 ? $# : 5 ))
CONFIGS=("off" "on --draft 1" "on --draft 2" "on --draft 3" "on --draft 4" "auto")
declare -A WALL CPU STATS
TIMEFORMAT='%3U %3S'
cpu_of() {  # CPU seconds (user + sys) of one run; its stderr stats go to $TMPERR
  # shellcheck disable=SC2086
  local t; t="$( { time "$BIN" run --model "$MODEL" --prompt "$PROMPT" --ctx 2048 "$@" >/dev/null 2>"$TMPERR"; } 2>&1 )"
  awk '{print $1 + $2}' <<<"$t"
}
TMPERR="$(mktemp)"; trap 'rm -f "$TMPERR"' EXIT
for ((r = 0; r < REPS; r++)); do
  base_cpu="$(cpu_of --max-tokens 1 --mtp off "$@")"
  for c in "${CONFIGS[@]}"; do
    # shellcheck disable=SC2086
    cpu="$(cpu_of --max-tokens "$TOKENS" --mtp $c "$@")"
    n="$(sed -n 's/.*output \([0-9]*\) tokens.*/\1/p' "$TMPERR")"
    WALL[$c]+="$(sed -n 's/.*output [0-9]* tokens, \([0-9.]*\) tok\/s.*/\1/p' "$TMPERR") "
    CPU[$c]+="$(awk -v n="$n" -v a="$cpu" -v b="$base_cpu" 'BEGIN {print (a > b ? (n - 1) / (a - b) : 0)}') "
    STATS[$c]="$(grep -o 'MTP: .*' "$TMPERR" | tr -d ']' || true)"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
wall0="$(median <<<"${WALL[off]}")"; cpu0="$(median <<<"${CPU[off]}")"
printf '%-14s %12s %7s %14s %7s  %s\n' "--mtp" "wall tok/s" "ratio" "tok/CPU-s" "ratio" "acceptance"
for c in "${CONFIGS[@]}"; do
  w="$(median <<<"${WALL[$c]}")"; u="$(median <<<"${CPU[$c]}")"
  printf '%-14s %12.1f %7.2f %14.1f %7.2f  %s\n' "$c" "$w" "$(awk -v a="$w" -v b="$wall0" 'BEGIN {print a / b}')" \
    "$u" "$(awk -v a="$u" -v b="$cpu0" 'BEGIN {print a / b}')" "${STATS[$c]}"
done
