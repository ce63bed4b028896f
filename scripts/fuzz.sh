#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) in build-fuzz and runs each one for the
# given number of seconds, starting from seed corpora made from the real files in tests/data plus
# the saved regression inputs. Exits non-zero if any target crashes, leaks, hangs or runs out of
# memory; the input that did it is left in build-fuzz/artifacts/<target>/ (copy it into
# tests/fuzz/regressions/<target>/ once fixed: ctest replays that folder in every build).
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target...]
#   FUZZ_JOBS: targets run at once (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
JOBS="${FUZZ_JOBS:-$(nproc)}"
DIR=build-fuzz

start=$(date +%s)
# Line tables only (-g1): crash reports still name file:line; full debug info doubled the size of
# the objects.
CC=clang-14 CXX=clang++-14 cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_FUZZ=ON \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
  -DDS_SANITIZE="address;undefined" -DDS_BUILD_BENCH=OFF >/dev/null
cmake --build "$DIR" --target fuzz_all -j"$JOBS"
echo "== fuzz build: $(( $(date +%s) - start )) s"

TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
  TARGETS=(fuzz_safetensors fuzz_config fuzz_tokenizer_json fuzz_encode fuzz_chat_template fuzz_c_api fuzz_gguf)
fi
rm -rf "$DIR/seeds"
python3 tests/fuzz/make_seeds.py tests/data "$DIR/seeds"

export DS_TEST_DATA_DIR="$PWD/tests/data"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1

run_target() {  # target
  local t="$1"
  mkdir -p "$DIR/corpus/$t" "$DIR/artifacts/$t" tests/fuzz/regressions/$t
  local seeds=("$DIR/seeds/$t" tests/fuzz/regressions/$t)
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: memory above 2 GB is a bug.
  "$DIR/bin/$t" "$DIR/corpus/$t" "${seeds[@]}" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$DIR/artifacts/$t/" >"$DIR/artifacts/$t.log" 2>&1
}

start=$(date +%s)
failed=()
pids=()
names=()
for t in "${TARGETS[@]}"; do
  while (( $(jobs -rp | wc -l) >= JOBS )); do sleep 1; done
  run_target "$t" &
  pids+=($!)
  names+=("$t")
done
for i in "${!pids[@]}"; do
  t="${names[$i]}"
  if wait "${pids[$i]}"; then
    echo "== $t: ok ($(grep -E 'stat::number_of_executed_units' "$DIR/artifacts/$t.log" | awk '{print $2}') runs," \
         "corpus $(ls "$DIR/corpus/$t" | wc -l) inputs)"
  else
    failed+=("$t")
    echo "== $t: FAILED (log: $DIR/artifacts/$t.log)"
    grep -E "ERROR|SUMMARY|Test unit written|runtime error" "$DIR/artifacts/$t.log" | head -20 || true
  fi
done
echo "== fuzzing ${#TARGETS[@]} targets x ${SECONDS_PER_TARGET} s: $(( $(date +%s) - start )) s"
if ((${#failed[@]})); then
  echo "fuzz: failures in ${failed[*]}"
  exit 1
fi
