#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the Release build, then the whole suite
# again under AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
bash scripts/setup.sh

configure_and_test() {  # build-dir, extra cmake args...
  local dir="$1"; shift
  cmake -S . -B "$dir" -G Ninja -DDS_BUILD_BENCH=ON "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS"
  (cd "$dir" && ctest --output-on-failure -j"$JOBS" --timeout 600)
}

start=$(date +%s)
echo "== Release build and tests =="
configure_and_test build -DCMAKE_BUILD_TYPE=Release
echo "== Release: $(( $(date +%s) - start )) s"

if [ "${DS_SKIP_SANITIZERS:-0}" != "1" ]; then
  start=$(date +%s)
  echo "== ASan + UBSan build and tests =="
  # OpenMP's runtime keeps thread pools alive at exit: not a leak of ours.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  configure_and_test build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_SANITIZE="address;undefined" -DDS_BUILD_BENCH=OFF
  echo "== ASan + UBSan: $(( $(date +%s) - start )) s"
fi
