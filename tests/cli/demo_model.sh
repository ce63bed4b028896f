#!/usr/bin/env bash
# `deepseek run` without --model must find and use the bundled demo model (models/deepseek-demo):
# from $DEEPSEEK_MODEL, and from the source tree the binary was built in; a wrong $DEEPSEEK_MODEL
# must fail with a message naming it. Greedy output must be the same both ways and not empty.
set -euo pipefail
BIN="$1"; DATA="$2"
MODEL="$DATA/../../models/deepseek-demo"
test -f "$MODEL/config.json"
a="$(DEEPSEEK_MODEL="$MODEL" "$BIN" run --prompt "In the beginning" --max-tokens 24 --temperature 0 --quiet 2>/dev/null)"
b="$(env -u DEEPSEEK_MODEL "$BIN" run --prompt "In the beginning" --max-tokens 24 --temperature 0 --quiet 2>/dev/null)"
[ -n "$a" ] || { echo "empty output"; exit 1; }
[ "$a" = "$b" ] || { echo "output differs: [$a] vs [$b]"; exit 1; }
echo "bundled model: In the beginning$a"
rc=0
err="$(DEEPSEEK_MODEL=/nonexistent/model "$BIN" run --prompt hi --max-tokens 2 2>&1 >/dev/null)" || rc=$?
[ "$rc" -ne 0 ] || { echo "expected failure for a wrong DEEPSEEK_MODEL"; exit 1; }
grep -q "/nonexistent/model" <<<"$err" || { echo "error does not name the path: $err"; exit 1; }
echo "ok"
