#!/usr/bin/env bash
# ctest: the Python binding's pytest suite against this build's libdeepseek.so, and a
# `pip install` of bindings/python into a temporary target (no network: --no-build-isolation).
# Usage: bash run_pytest.sh <libdeepseek.so> <source dir> <tests/data> [preload for sanitizers]
set -euo pipefail
LIB=$1 SRC=$2 DATA=$3 PRELOAD=${4:-}
PY=""
for c in /usr/bin/python3 python3; do  # Debian's python3 has python3-pytest
  if "$c" -c "import pytest" 2>/dev/null; then PY=$c; break; fi
done
# ctest reports exit 77 as "Skipped" (SKIP_RETURN_CODE), visibly, rather than as a failure.
[ -n "$PY" ] || { echo "SKIPPED: no python3 with pytest (apt-get install python3-pytest)"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export DEEPSEEK_LIBRARY=$LIB DS_TEST_DATA_DIR=$DATA PYTHONDONTWRITEBYTECODE=1
if [ -n "$PRELOAD" ]; then
  export LD_PRELOAD=$PRELOAD ASAN_OPTIONS=detect_leaks=0:abort_on_error=1  # CPython itself is not leak-clean
fi
"$PY" -m pytest -q -p no:cacheprovider "$SRC/bindings/python/tests"

# pip install (standard library + setuptools only) and import from outside the source tree.
if "$PY" -c "import setuptools" 2>/dev/null; then
  cp -r "$SRC/bindings/python" "$TMP/pkg"  # setuptools writes build/ and *.egg-info beside the sources
  rm -rf "$TMP/pkg/tests"
  "$PY" -m pip install -q --no-build-isolation --no-deps --no-index --target "$TMP/site" "$TMP/pkg" \
    > "$TMP/pip.log" 2>&1 || { cat "$TMP/pip.log"; exit 1; }
  (cd "$TMP" && PYTHONPATH="$TMP/site" "$PY" -c "
import deepseek, sys
assert deepseek.__file__.startswith('$TMP/site'), deepseek.__file__
m = deepseek.Model('$DATA/fixtures/tiny-v3')
print('installed package: deepseek', deepseek.version(), m.info.model_type)")
else
  echo "python3-setuptools missing: pip install check skipped"; exit 1
fi
