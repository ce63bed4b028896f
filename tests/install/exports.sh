#!/usr/bin/env bash
# libdeepseek.so exports the C ABI (ds_*) and the public C++ API (deepseek::) and nothing else
# (src/deepseek.map): internal ds:: code and the static third-party code stay local.
# Usage: bash exports.sh <libdeepseek.so>
set -euo pipefail
LIB=$1
syms=$(nm -D --defined-only -C "$LIB" | cut -d' ' -f3-)
stray=$(grep -v -E '^(ds_[a-z_]+$|deepseek::|typeinfo (name )?for deepseek::|vtable for deepseek::)' <<< "$syms" || true)
if [ -n "$stray" ]; then
  echo "libdeepseek.so exports symbols outside its API:"; head -20 <<< "$stray"; exit 1
fi
for s in ds_model_load ds_generate ds_tokenize ds_logits 'deepseek::Model::Load' 'deepseek::Generate('; do
  grep -qF "$s" <<< "$syms" || { echo "missing export: $s"; exit 1; }
done
echo "libdeepseek.so: $(wc -l <<< "$syms") exported symbols, all ds_* or deepseek::"
