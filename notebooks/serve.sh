#!/usr/bin/env bash
# Starts the Jupyter notebook server on the notebooks, with the GoNB kernel
# that notebooks/setup.sh installed (open the printed localhost URL).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/jupyter/kernels/gonb/kernel.json ] || { echo "run notebooks/setup.sh first" >&2; exit 1; }
root=""; [ "$(id -u)" = 0 ] && root=--allow-root
export PATH="$PWD/build/bin:$PATH" JUPYTER_DATA_DIR="$PWD/build/jupyter"
exec jupyter notebook --no-browser --ip=127.0.0.1 --notebook-dir=notebooks $root "$@"
