#!/usr/bin/env bash
# ctest: `cmake --install` to a temporary prefix, then configure, build and run examples/cpp (a
# separate project using find_package(deepseek REQUIRED)) against it, shared and static.
# Usage: bash find_package.sh <build dir> <source dir> <tests/data> [sanitizer flags]
set -euo pipefail
BUILD=$1 SRC=$2 DATA=$3 SAN=${4:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
P=$TMP/prefix

cmake --install "$BUILD" --prefix "$P" > "$TMP/install.log"
for f in include/deepseek/c_api.h include/deepseek/model.h include/deepseek/generate.h lib/libdeepseek.so \
         lib/libdeepseek.a bin/deepseek lib/cmake/deepseek/deepseekConfig.cmake \
         lib/cmake/deepseek/deepseekConfigVersion.cmake lib/cmake/deepseek/deepseekTargets.cmake \
         lib/pkgconfig/deepseek.pc; do
  [ -e "$P/$f" ] || { echo "not installed: $f"; exit 1; }
done
# libdeepseek.a bundles every layer: no ds_* archive is needed beside it.
if ls "$P"/lib/libds_*.a >/dev/null 2>&1; then echo "internal archives were installed"; exit 1; fi
# (outputs are captured before grep -q: with pipefail, grep closing the pipe early fails the writer)
cli_version=$("$P/bin/deepseek" version)
grep -q "$(sed -n 's/^Version: //p' "$P/lib/pkgconfig/deepseek.pc")" <<< "$cli_version"

flags=()
if [ -n "$SAN" ]; then
  flags=(-DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN")
fi
cmake -S "$SRC/examples/cpp" -B "$TMP/example" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P" \
  "${flags[@]}" > "$TMP/configure.log" || { cat "$TMP/configure.log"; exit 1; }
cmake --build "$TMP/example" > "$TMP/build.log" || { cat "$TMP/build.log"; exit 1; }
[ -x "$TMP/example/next_token_static" ] || { echo "deepseek::deepseek_static was not defined"; cat "$TMP/configure.log"; exit 1; }
# The shared build must load the installed library, not the build tree's.
deps=$(ldd "$TMP/example/next_token")
grep -q "$P/lib/libdeepseek.so" <<< "$deps" || { echo "$deps"; exit 1; }
deps=$(ldd "$TMP/example/next_token_static")
if grep -q libdeepseek <<< "$deps"; then echo "static example links libdeepseek.so"; exit 1; fi

tokens=$(python3 "$(dirname "$0")/oracle.py" "$DATA" tokens)
want=$(python3 "$(dirname "$0")/oracle.py" "$DATA" greedy0)
for exe in next_token next_token_static; do
  # shellcheck disable=SC2086
  out=$("$TMP/example/$exe" "$DATA/fixtures/tiny-v3" $tokens)
  echo "$exe: $out" | tr '\n' ' '; echo
  grep -q "^next token: $want\$" <<< "$out" || { echo "$exe: expected next token $want (reference greedy)"; exit 1; }
done
echo "find_package: shared and static examples built against $P and agree with the reference"
