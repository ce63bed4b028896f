#!/usr/bin/env bash
# ctest: install to a temporary prefix, build examples/c/main.c (a C program) with
# `pkg-config --cflags --libs deepseek`, run it on tiny-v3 against the reference's next token.
# Usage: bash pkg_config.sh <build dir> <source dir> <tests/data> [sanitizer flags]
set -euo pipefail
BUILD=$1 SRC=$2 DATA=$3 SAN=${4:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
P=$TMP/prefix
cmake --install "$BUILD" --prefix "$P" > /dev/null
export PKG_CONFIG_PATH=$P/lib/pkgconfig
pkg-config --exact-version "$(sed -n 's/^Version: //p' "$P/lib/pkgconfig/deepseek.pc")" deepseek
# shellcheck disable=SC2046,SC2086
cc -std=c99 -Wall -Werror $SAN "$SRC/examples/c/main.c" $(pkg-config --cflags --libs deepseek) -o "$TMP/next_token_c"
tokens=$(python3 "$(dirname "$0")/oracle.py" "$DATA" tokens)
want=$(python3 "$(dirname "$0")/oracle.py" "$DATA" greedy0)
# shellcheck disable=SC2086
out=$(LD_LIBRARY_PATH="$P/lib" "$TMP/next_token_c" "$DATA/fixtures/tiny-v3" $tokens)
echo "$out"
grep -q "^next token: $want\$" <<< "$out" || { echo "expected next token $want (reference greedy)"; exit 1; }
deps=$(ldd "$TMP/next_token_c")
grep -q "libdeepseek.so" <<< "$deps" || { echo "not linked against libdeepseek.so"; exit 1; }

# The same program against libdeepseek.a, with `pkg-config --static` supplying its dependencies.
# shellcheck disable=SC2046,SC2086
cc -std=c99 -Wall -Werror $SAN "$SRC/examples/c/main.c" $(pkg-config --cflags deepseek) -L"$P/lib" \
  -Wl,-Bstatic -ldeepseek -Wl,-Bdynamic $(pkg-config --static --libs-only-l deepseek | sed 's/-ldeepseek//') \
  -o "$TMP/next_token_c_static"
deps=$(ldd "$TMP/next_token_c_static")
if grep -q "libdeepseek.so" <<< "$deps"; then echo "static build links libdeepseek.so"; exit 1; fi
# shellcheck disable=SC2086
out=$("$TMP/next_token_c_static" "$DATA/fixtures/tiny-v3" $tokens)
grep -q "^next token: $want\$" <<< "$out" || { echo "static: expected next token $want, got: $out"; exit 1; }
echo "pkg-config: C program built (shared and static) and run against $P"
