#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job on the bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDS_BUILD_TESTS=OFF -DDS_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target deepseek_cli
MODEL=tests/data/fixtures/tiny-v3
build/bin/deepseek info --model "$MODEL"
build/bin/deepseek logits --model "$MODEL" --tokens 1,2,3,4 --out /tmp/deepseek-logits.safetensors
echo "wrote /tmp/deepseek-logits.safetensors"
