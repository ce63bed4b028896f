#!/usr/bin/env bash
# `deepseek chat-template` renders chat_cases.jsonl conversations byte-identical to the reference
# renderings, and fails cleanly on missing files and bad JSON.
# usage: bash chat_template.sh <deepseek binary> <tests/data dir>
set -u
BIN="$1"
DATA="$2"
CFG_DIR="$DATA/chat_templates/deepseek-v3"
CASES="$DATA/tokenizers/deepseek-v3/chat_cases.jsonl"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail=0

check_case() {  # name, tokenizer path
  local name="$1" tok="$2"
  python3 - "$CASES" "$name" "$TMP" <<'PY' || { echo "FAIL: cannot extract case $name"; return 1; }
import json, sys
cases, name, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
for line in open(cases, encoding="utf-8"):
    c = json.loads(line)
    if c["name"] == name:
        inp = {"messages": c["messages"]}
        if "tools" in c:
            inp["tools"] = c["tools"]
        json.dump(inp, open(f"{tmp}/in.json", "w", encoding="utf-8"), ensure_ascii=False)
        open(f"{tmp}/expected.txt", "wb").write(c["rendered"].encode("utf-8"))
        open(f"{tmp}/flag", "w").write("--add-generation-prompt" if c["add_generation_prompt"] else "")
        sys.exit(0)
sys.exit(1)
PY
  local flag
  flag="$(cat "$TMP/flag")"
  # shellcheck disable=SC2086
  if ! "$BIN" chat-template --tokenizer "$tok" --messages "$TMP/in.json" $flag > "$TMP/out.txt"; then
    echo "FAIL: $name: command failed"
    return 1
  fi
  if ! cmp -s "$TMP/out.txt" "$TMP/expected.txt"; then
    echo "FAIL: $name: output differs"
    echo "  expected: $(od -c "$TMP/expected.txt" | head -3)"
    echo "  got:      $(od -c "$TMP/out.txt" | head -3)"
    return 1
  fi
  echo "ok: $name"
}

check_case multi_turn_gen "$CFG_DIR" || fail=1
check_case tool_call_two_calls_ends_with_tool "$CFG_DIR/tokenizer_config.json" || fail=1
check_case multi_turn_ends_with_assistant "$CFG_DIR" || fail=1

expect_error() {  # description, expected stderr fragment, command...
  local what="$1" frag="$2"
  shift 2
  if "$@" > "$TMP/out.txt" 2> "$TMP/err.txt"; then
    echo "FAIL: $what: exit status 0"
    return 1
  fi
  if ! grep -qF -- "$frag" "$TMP/err.txt"; then
    echo "FAIL: $what: stderr lacks '$frag': $(cat "$TMP/err.txt")"
    return 1
  fi
  echo "ok: $what"
}

echo '{"messages": [{"role": "user", "content": "hi"}]}' > "$TMP/good.json"
echo '{"messages": [' > "$TMP/bad.json"
echo '{"chat_template": "{% for m in messages %}{{ m.content }}"}' > "$TMP/tokenizer_config.json"
expect_error "missing messages file" "$TMP/none.json" \
  "$BIN" chat-template --tokenizer "$CFG_DIR" --messages "$TMP/none.json" || fail=1
expect_error "missing tokenizer folder" "not found" \
  "$BIN" chat-template --tokenizer "$TMP/nowhere" --messages "$TMP/good.json" || fail=1
expect_error "bad messages JSON" "invalid JSON" \
  "$BIN" chat-template --tokenizer "$CFG_DIR" --messages "$TMP/bad.json" || fail=1
expect_error "broken template" "line 1" \
  "$BIN" chat-template --tokenizer "$TMP" --messages "$TMP/good.json" || fail=1
expect_error "missing option" "--tokenizer and --messages are required" \
  "$BIN" chat-template --messages "$TMP/good.json" || fail=1

exit $fail
