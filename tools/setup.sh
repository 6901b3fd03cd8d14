#!/usr/bin/env bash
# One-time, idempotent set-up on a fresh Debian machine: Icarus Verilog, a venv, tn-hw.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v iverilog >/dev/null 2>&1; then
  apt-get install -y iverilog >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y iverilog >/dev/null; }
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
# torch==2.13.0 is the CPU build on local disk; an unpinned torch would pull a CUDA build.
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -e ".[test]" 2>&1 | grep -v -i warning || true
.venv/bin/tn-hw --version
