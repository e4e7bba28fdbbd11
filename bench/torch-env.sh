#!/usr/bin/env bash
# Creates the Python the ml benchmark compares against (and the HF parity
# tests use): a venv at ~/.cache/bpoflow/py with torch, numpy and transformers
# from PyPI. About 5 GB (PyPI's torch wheel pulls its CUDA libraries; the
# benchmark runs it on CPU). Safe to run again: it only installs what is missing.
set -euo pipefail
venv="${BPOFLOW_TORCH_VENV:-$HOME/.cache/bpoflow/py}"
say() { printf '[torch-env] %s\n' "$*" >&2; }
start=$SECONDS
command -v python3 >/dev/null || { say "error: python3 not found"; exit 3; }
[ -x "$venv/bin/python" ] || { say "creating $venv"; python3 -m venv "$venv"; }
if "$venv/bin/python" -c 'import torch, numpy, transformers' 2>/dev/null; then
  say "ready: $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)') in $venv"
  exit 0
fi
say "installing torch, numpy, transformers into $venv (several minutes) ..."
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet torch numpy transformers >&2
say "ready: $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)') in $venv after $((SECONDS - start))s"
