#!/usr/bin/env bash
# The objects compiled for AVX2 / AVX-512 (src/runtime/cpu/*_avx2.cpp, *_avx512.cpp) define no
# weak (vague-linkage) code symbols. Such a symbol (an inline function from a shared header, a
# std:: template) is merged with the baseline objects' copy at link time, and the linker may keep
# the AVX copy for every caller: a baseline caller on a CPU without AVX would then fault (SIGILL).
# src/CMakeLists.txt compiles these files optimized (at least -O2) in every build type for this reason.
# Usage: bash isa_objects.sh <object files of ds_runtime...>
set -euo pipefail
checked=0
bad=""
for o in "$@"; do
  case "$o" in *_avx2.cpp.o | *_avx512.cpp.o) ;; *) continue ;; esac
  checked=$((checked + 1))
  # W/V: weak / vague-linkage definitions; DW.ref.* are data (the personality routine's pointer).
  weak=$(nm -C --defined-only "$o" | awk '$2 == "W" || $2 == "V"' | grep -v ' DW\.ref\.' || true)
  [ -z "$weak" ] || bad+=$'\n'"$(basename "$o"):"$'\n'"$weak"
done
[ "$checked" -gt 0 ] || { echo "no *_avx2 / *_avx512 objects among the arguments"; exit 1; }
if [ -n "$bad" ]; then
  echo "ISA-specific objects define weak symbols a baseline caller could be linked to:$bad"; exit 1
fi
echo "$checked ISA-specific objects: no weak code symbols"
