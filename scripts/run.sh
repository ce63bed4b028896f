#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job on the bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDS_BUILD_TESTS=OFF -DDS_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target deepseek_cli
# No --model: `deepseek run` uses the bundled demo model, models/deepseek-demo.
build/bin/deepseek info --model models/deepseek-demo
build/bin/deepseek run --prompt "And God said" --max-tokens 60
build/bin/deepseek run --chat --prompt "请背诵《静夜思》。" --max-tokens 60
