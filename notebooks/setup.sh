#!/usr/bin/env bash
# Installs what the notebooks need, on Debian:
#   - Jupyter from Debian's packages (nbconvert and the client; plus the
#     notebook server unless --headless),
#   - GoNB and goimports at the versions go.mod pins as tools, into build/bin,
#   - the GoNB kernel spec, into build/jupyter.
# Then start the server with notebooks/serve.sh, or run them all headlessly
# with: go run ./framework/cmd/privlm notebooks run
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs="jupyter-nbconvert jupyter-client"
[ "${1:-}" = "--headless" ] || pkgs="$pkgs jupyter-notebook"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
jupyter --version | grep -E 'nbconvert|jupyter_client'

mkdir -p build/bin build/jupyter
GOBIN="$PWD/build/bin" go install github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports
PATH="$PWD/build/bin:$PATH" JUPYTER_DATA_DIR="$PWD/build/jupyter" \
  build/bin/gonb --install --logtostderr --raw_error --force_deps 2>&1 | grep -v '^I' || true
test -f build/jupyter/kernels/gonb/kernel.json
echo "GoNB kernel installed in build/jupyter (gonb $(go list -m -f '{{.Version}}' github.com/janpfeifer/gonb))"
