#!/usr/bin/env bash
# Checks the objects compiled for AVX2 / AVX-512 (src/runtime/cpu/*_avx2.cpp, *_avx512*.cpp):
# 1. They define no weak (vague-linkage) code symbols. Such a symbol (an inline function from a
#    shared header, a std:: template) is merged with the baseline objects' copy at link time, and
#    the linker may keep the AVX copy for every caller: a baseline caller on a CPU without AVX would
#    then fault (SIGILL). src/CMakeLists.txt compiles these files optimized (at least -O2) in every
#    build type for this reason.
# 2. Each holds only instructions of its level: no AVX-512 (zmm or mask registers) in *_avx2,
#    AVX512-BF16 only in *_avx512bf16 and AVX512-VNNI only in *_avx512vnni, since the plain
#    AVX-512 level runs on CPUs without them (Skylake-X; Ice Lake has no BF16).
# Usage: bash isa_objects.sh <object files of ds_runtime...>
set -euo pipefail
for tool in nm objdump; do
  command -v "$tool" >/dev/null || { echo "$tool not found (binutils): cannot check the objects"; exit 1; }
done
checked=0
bad=""
BF16='vdpbf16ps|vcvtne2ps2bf16|vcvtneps2bf16'
VNNI='vpdpbusds?|vpdpwssds?'
# AVX-512: zmm, mask and upper-16 vector registers, embedded broadcasts, and the EVEX-only opcodes
# the compiler picks most on ymm/xmm under AVX512VL.
AVX512='%zmm|%k[0-7]|%[xy]mm(1[6-9]|2[0-9]|3[01])|\{1to|vpternlog|vperm[it]2|vpro[lr]|vpsraq|vscalef|vrndscale'
AVX512+='|vgetexp|vgetmant|vrcp14|vrsqrt14|vfixupimm|vrange|vreduce|vpconflict|vplzcnt|vcompress|vexpand'
AVX512+='|vpmovm2|2m\s|vpmov(us|s)?[dwq][bwd]\s|vcvt[a-z0-9]*2u|vcvtu|valign|vdbpsadbw|vpmultishift|vpopcnt'
forbidden() {  # object -> regex of instructions its level must not contain
  case "$1" in
    *_avx2.cpp.o) echo "$AVX512|$BF16|$VNNI" ;;
    *_avx512bf16.cpp.o) echo "$VNNI" ;;
    *_avx512vnni.cpp.o) echo "$BF16" ;;
    *) echo "$BF16|$VNNI" ;;
  esac
}
for o in "$@"; do
  case "$o" in *_avx2.cpp.o | *_avx512*.cpp.o) ;; *) continue ;; esac
  checked=$((checked + 1))
  # W/V: weak / vague-linkage definitions; DW.ref.* are data (the personality routine's pointer).
  weak=$(nm -C --defined-only "$o" | awk '$2 == "W" || $2 == "V"' | grep -v ' DW\.ref\.' || true)
  [ -z "$weak" ] || bad+=$'\n'"$(basename "$o") defines weak symbols a baseline caller could be linked to:"$'\n'"$weak"
  insns=$(objdump -d --no-show-raw-insn "$o" | grep -E "$(forbidden "$o")" | head -5 || true)
  [ -z "$insns" ] || bad+=$'\n'"$(basename "$o") holds instructions beyond its ISA level:"$'\n'"$insns"
done
[ "$checked" -gt 0 ] || { echo "no *_avx2 / *_avx512* objects among the arguments"; exit 1; }
if [ -n "$bad" ]; then
  echo "ISA-specific objects:$bad"; exit 1
fi
echo "$checked ISA-specific objects: no weak code symbols, no instruction beyond each one's level"
