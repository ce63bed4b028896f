#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need. Idempotent.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev libeigen3-dev libabsl-dev libpcre2-dev libicu-dev libsimdjson-dev nlohmann-json3-dev libxtensor-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  python3 python3-pytest python3-numpy python3-setuptools python3-matplotlib
)
# Optional, only for retraining the bundled demo model (tools/train_demo; CI does not need it):
#   DS_SETUP_TRAINING=1 bash scripts/setup.sh
TRAINING_PKGS=(
  python3-torch python3-numpy python3-regex python3-matplotlib libopenblas0-serial
  bible-kjv bible-kjv-text fortune-mod fortunes fortunes-zh
)
if [ "${DS_SETUP_TRAINING:-0}" = "1" ]; then PKGS+=("${TRAINING_PKGS[@]}"); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
echo "setup: all packages present"
