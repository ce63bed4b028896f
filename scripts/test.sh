#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the Release build (its suite also with the
# kernels capped at AVX2 and at portable code), then the whole suite again under AddressSanitizer
# + UndefinedBehaviorSanitizer, the threaded tests under ThreadSanitizer, and each fuzz target for
# DS_FUZZ_SECONDS (default 60) under ASan + UBSan.
# Prints how long each stage takes. Exits non-zero on any failure.
#   DS_SKIP_SANITIZERS=1 skips the ASan, TSan and fuzz stages; DS_SKIP_TSAN=1 / DS_SKIP_FUZZ=1 one each.
#   DS_KEEP_BUILDS=1 keeps build-asan, build-tsan and build-fuzz after their stages pass (by default
#   each is deleted once its tests pass, build-fuzz/corpus excepted, so the run needs disk for one
#   sanitizer build at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
# ctest runs as many tests at once as there are cores; OpenMP workers that spin while waiting
# would take the cores from each other's processes (tests ran ~10x slower), so they sleep instead.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
bash scripts/setup.sh

configure_and_test() {  # build-dir, extra cmake args...
  local dir="$1"; shift
  # Tests on explicitly: scripts/run.sh configures build/ without them.
  cmake -S . -B "$dir" -G Ninja -DDS_BUILD_TESTS=ON -DDS_BUILD_BENCH=ON "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS"
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j"$JOBS" --timeout 600)
}

# Sanitizer builds carry line tables only (-g1): reports still name file:line, and the build
# objects are about half the size they are with full debug info (a CI run once ran out of disk).
SAN_FLAGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
           "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DDS_BUILD_BENCH=OFF)

disk_report() {  # what is free where builds and compiler temporaries go, and what the builds take
  echo "== disk: $(df -Ph . | awk 'NR==2 {print $4}') free here, $(df -Ph "${TMPDIR:-/tmp}" | awk 'NR==2 {print $4}') free in ${TMPDIR:-/tmp};" \
    "$(du -sh build build-asan build-tsan build-fuzz 2>/dev/null | awk '{printf "%s %s  ", $2, $1}')"
}
drop_build() {  # build-dir [entry to keep]: delete a build whose tests passed, unless asked to keep it
  [ "${DS_KEEP_BUILDS:-0}" = "1" ] && return 0
  if [ -n "${2:-}" ]; then
    find "$1" -mindepth 1 -maxdepth 1 ! -name "$2" -exec rm -rf {} +
  else
    rm -rf "$1"
  fi
}

declare -a TIMES=()
stage_done() {  # name, start seconds
  local t=$(( $(date +%s) - $2 ))
  TIMES+=("$1: ${t} s")
  echo "== $1: ${t} s"
  disk_report
}

disk_report
start=$(date +%s)
echo "== Release build and tests =="
configure_and_test build -DCMAKE_BUILD_TYPE=Release
stage_done "Release" "$start"

# The same binaries with the kernels capped at AVX2, then at portable code (DS_CPU_ISA): the
# fallbacks users without AVX-512 get, and every test's assumptions about which path runs.
# DS_CPU_ISA caps oneDNN too (AVX2; SSE4.1 for scalar), as such a CPU would: no bf16 matmuls
# there; the AVX2 run also names the cap the way a user would (ONEDNN_MAX_CPU_ISA).
for isa in avx2 scalar; do
  start=$(date +%s)
  echo "== Release tests, DS_CPU_ISA=$isa =="
  onednn_isa=""
  [ "$isa" = avx2 ] && onednn_isa=AVX2
  (cd build && env DS_CPU_ISA=$isa ${onednn_isa:+ONEDNN_MAX_CPU_ISA=$onednn_isa} ctest --output-on-failure --no-tests=error -j"$JOBS" --timeout 600)
  stage_done "Release, DS_CPU_ISA=$isa" "$start"
done

if [ "${DS_SKIP_SANITIZERS:-0}" != "1" ]; then
  start=$(date +%s)
  echo "== ASan + UBSan build and tests =="
  # OpenMP's runtime keeps thread pools alive at exit: not a leak of ours.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  configure_and_test build-asan "${SAN_FLAGS[@]}" -DDS_SANITIZE="address;undefined"
  drop_build build-asan
  stage_done "ASan + UBSan" "$start"

  if [ "${DS_SKIP_TSAN:-0}" != "1" ]; then
    start=$(date +%s)
    echo "== ThreadSanitizer: threaded tests (ctest -L threaded) =="
    # libgomp is not built with TSan, so the barriers between a kernel's OpenMP threads are
    # invisible to it and it reports races inside every parallel loop. Kernels therefore run on one
    # OpenMP thread here; the races TSan looks for are between sessions sharing one model, which
    # this keeps (each session is its own std::thread). docs/robustness.md explains.
    cmake -S . -B build-tsan -G Ninja "${SAN_FLAGS[@]}" -DDS_SANITIZE=thread >/dev/null
    cmake --build build-tsan --target concurrency_test -j"$JOBS"
    (cd build-tsan && OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
       ctest -L threaded --output-on-failure --timeout 900)
    drop_build build-tsan
    stage_done "TSan (threaded tests)" "$start"
  fi

  if [ "${DS_SKIP_FUZZ:-0}" != "1" ]; then
    start=$(date +%s)
    echo "== Fuzzing (ASan + UBSan, clang) =="
    bash scripts/fuzz.sh "${DS_FUZZ_SECONDS:-60}"
    drop_build build-fuzz corpus  # the corpus grows run after run: kept
    stage_done "Fuzzing" "$start"
  fi
fi

echo "== stage times =="
printf '   %s\n' "${TIMES[@]}"
