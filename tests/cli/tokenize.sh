#!/usr/bin/env bash
# ctest: `deepseek tokenize` on fixture rows gives the expected ids, decodes them back, and
# rejects a bad line with its line number. Usage: bash tokenize.sh <deepseek binary> <tests/data>
set -euo pipefail
BIN=$1
DATA=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for name in deepseek-v3 qwen2.5 llama3; do
  dir="$DATA/tokenizers/$name"
  # Every 7th row of cases.jsonl (about 70 rows across all categories).
  python3 - "$dir/cases.jsonl" "$TMP/in.jsonl" "$TMP/want_ids.jsonl" "$TMP/want_text.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()][::7]
with open(sys.argv[2], "w") as a, open(sys.argv[3], "w") as b, open(sys.argv[4], "w") as c:
    for r in rows:
        a.write(json.dumps({"text": r["text"]}) + "\n")
        b.write(json.dumps({"ids": r["ids"]}) + "\n")
        c.write(json.dumps({"text": r["decoded"]}) + "\n")
PY
  "$BIN" tokenize --tokenizer "$dir" < "$TMP/in.jsonl" > "$TMP/got_ids.jsonl"
  "$BIN" tokenize --tokenizer "$dir/tokenizer.json" --decode < "$TMP/want_ids.jsonl" > "$TMP/got_text.jsonl"
  python3 - "$TMP/want_ids.jsonl" "$TMP/got_ids.jsonl" "$TMP/want_text.jsonl" "$TMP/got_text.jsonl" "$name" <<'PY'
import json, sys
def load(p): return [json.loads(l) for l in open(p, encoding="utf-8")]
want_ids, got_ids, want_text, got_text = (load(p) for p in sys.argv[1:5])
assert len(want_ids) == len(got_ids) > 50, (len(want_ids), len(got_ids))
assert want_ids == got_ids, [(w, g) for w, g in zip(want_ids, got_ids) if w != g][:3]
assert want_text == got_text, [(w, g) for w, g in zip(want_text, got_text) if w != g][:3]
print(f"{sys.argv[5]}: {len(got_ids)} rows encode and decode as expected")
PY
done

# --add-special-tokens: DeepSeek-V3's tokenizer_config.json asks for BOS (id 0); Qwen2.5 adds nothing.
out=$(echo '{"text": "Hello"}' | "$BIN" tokenize --tokenizer "$DATA/tokenizers/deepseek-v3" --add-special-tokens)
[ "$out" = '{"ids":[0,19923]}' ] || { echo "add-special-tokens (deepseek-v3): got $out"; exit 1; }
out=$(echo '{"text": "Hello"}' | "$BIN" tokenize --tokenizer "$DATA/tokenizers/qwen2.5" --add-special-tokens)
[ "$out" = '{"ids":[9707]}' ] || { echo "add-special-tokens (qwen2.5): got $out"; exit 1; }

# A bad line: error on stderr naming the line, non-zero exit.
for bad in '{"txt": "x"}' 'not json' '{"text": 5}'; do
  if printf '{"text": "ok"}\n%s\n' "$bad" | "$BIN" tokenize --tokenizer "$DATA/tokenizers/deepseek-v3" \
      > /dev/null 2> "$TMP/err"; then
    echo "bad line '$bad' was accepted"; exit 1
  fi
  grep -q "line 2" "$TMP/err" || { echo "error does not name line 2:"; cat "$TMP/err"; exit 1; }
done
if echo '{"ids": [999999999]}' | "$BIN" tokenize --tokenizer "$DATA/tokenizers/deepseek-v3" --decode \
    > /dev/null 2> "$TMP/err"; then
  echo "out-of-range id was accepted"; exit 1
fi
if "$BIN" tokenize --tokenizer /nonexistent < /dev/null 2> "$TMP/err"; then
  echo "missing tokenizer was accepted"; exit 1
fi
echo "tokenize: all checks passed"
