#!/usr/bin/env bash
# Installs the Debian packages the test suites use: PyPy 3 (the Python agent's tests run on it too),
# Debian's debugpy (a DAP server we did not write, for the interop test), openssl (Python TLS tests),
# script/tmux (pseudo-terminal tests), unshare/mount (util-linux, mount: e2e/hidden-checkout hides the client's
# folder from the agent in a mount namespace), venv/pip/setuptools/wheel for python3 and pypy3 (the offline
# `pip install ./python` test), numpy/pandas/torch for the system Python (the data-value tests:
# python/tests_data and test/e2e/python-data*.test.ts). CPython 3.8-3.13 are expected from pyenv (see README).
set -euo pipefail
packages=()
command -v pypy3 >/dev/null 2>&1 || packages+=(pypy3)
python3 -c 'import debugpy' >/dev/null 2>&1 || packages+=(python3-debugpy)
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)
/usr/bin/python3 -c 'import pip' >/dev/null 2>&1 || packages+=(python3-pip)
/usr/bin/python3 -c 'import setuptools' >/dev/null 2>&1 || packages+=(python3-setuptools)
/usr/bin/python3 -c 'import wheel' >/dev/null 2>&1 || packages+=(python3-wheel)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v script >/dev/null 2>&1 || packages+=(bsdutils)
command -v tmux >/dev/null 2>&1 || packages+=(tmux)
command -v unshare >/dev/null 2>&1 || packages+=(util-linux)
command -v mount >/dev/null 2>&1 || packages+=(mount)
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || packages+=(python3-numpy)
/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1 || packages+=(python3-pandas)
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || packages+=(python3-torch)
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
