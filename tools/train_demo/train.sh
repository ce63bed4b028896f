#!/usr/bin/env bash
# Runs train.py with Debian's python3-torch on an optimized BLAS: Debian's torch calls the system
# libblas.so.3, which is the slow reference BLAS unless OpenBLAS is selected; we point this one
# process at OpenBLAS (package libopenblas0-serial) without changing the system-wide alternative.
set -euo pipefail
OB=/usr/lib/x86_64-linux-gnu/openblas-serial
[ -e "$OB/libblas.so.3" ] && export LD_LIBRARY_PATH="$OB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMP_NUM_THREADS=1
cd "$(dirname "$0")"
exec /usr/bin/python3 "${SCRIPT:-train.py}" "$@"
