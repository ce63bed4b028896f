# Sourced by the CLI test scripts (needs $TMP). expect_fail CMD...: CMD must exit non-zero without
# being killed by a signal, and say why on stderr.
expect_fail() {
  local rc=0
  "$@" 2>"$TMP/err" >/dev/null || rc=$?
  [ $rc -ne 0 ] || { echo "expected failure: $*"; exit 1; }
  [ $rc -lt 128 ] || { echo "crashed ($rc): $*"; exit 1; }
  [ -s "$TMP/err" ] || { echo "no message: $*"; exit 1; }
}
