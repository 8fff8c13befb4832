#!/usr/bin/env bash
# Installs the Debian packages the test suites use: PyPy 3 (the Python agent's tests run on it too),
# Debian's debugpy (a DAP server we did not write, for the interop test), openssl (Python TLS tests),
# script/tmux (pseudo-terminal tests) and python3-torch (job tests). CPython 3.8-3.13 are expected from pyenv (see README).
set -euo pipefail
packages=()
command -v pypy3 >/dev/null 2>&1 || packages+=(pypy3)
python3 -c 'import debugpy' >/dev/null 2>&1 || packages+=(python3-debugpy)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v script >/dev/null 2>&1 || packages+=(bsdutils)
command -v tmux >/dev/null 2>&1 || packages+=(tmux)
# PyTorch on the system interpreter (the job tests: DataLoader workers, torchrun ranks)
[ ! -x /usr/bin/python3 ] || /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || packages+=(python3-torch)
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
