"""Verilator model builds with every signal public (cocotb's default) against the ports only.

Usage: python benchmarks/bench_verilator_public.py [--json FILE]

cocotb's Verilator runner passes ``--public-flat-rw``: every signal of every module is reachable
through VPI, so Verilator can optimize none of them away. tn-hw's runner drops that flag and
makes public only what the testbenches reach (``testbench/sim.py: public_vlt``: the top's
signals read-write, the design's ports read-only). This script builds three designs both ways
from an empty model cache and runs each one's regression (which must pass): a 3x3 8-bit
threshold kernel, a threshold conv layer (3x3, 2 channels, 4 outputs, 4 bit, 6x5 image) and the
ball3 threshold network (models/ball3-tn4.json, ports mode).

It reports the build time (Verilator, make and g++: what a new design costs), the C++ Verilator
wrote and the regression's wall time. ccache gets a fresh folder of its own, filled first with
Verilator's design-independent runtime by a throw-away build of another design (what
tools/setup.sh does on a new machine), so the runtime comes from ccache and every design file
is compiled: a second run of this script measures the same thing as the first.
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import tn_hw.testbench.sim as sim
from tn_hw.conv import ConvSpec
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.generate import generate, generate_conv
from tn_hw.reference.network import load_network
from tn_hw.spec import KernelSpec
from tn_hw.testbench.conv_runner import run_conv_regression
from tn_hw.testbench.runner import run_regression

ROOT = Path(__file__).resolve().parent.parent


def _kernel(folder):
    result = run_regression(generate(KernelSpec(neuron="threshold", kernel=(3, 3), width=8)),
                            folder, random_vectors=2000, simulator="verilator")
    return result.passed, result.build_seconds


def _conv(folder):
    kernel = KernelSpec(neuron="threshold", kernel=(3, 3), channels=2, outputs=4, width=4)
    spec = ConvSpec(kernel=kernel, image=(6, 5), stride=1, padding=0, reuse=2)
    result = run_conv_regression(generate_conv(spec), folder, simulator="verilator")
    return result.passed, result.build_seconds


def _network(folder):
    net = load_network(ROOT / "models" / "ball3-tn4.json")
    write_network_design(export_network(net, mode="ports"), folder / "design")
    report = verify_network(folder / "design", data="random", samples=200, seed=1,
                            build_dir=folder / "run", simulator="verilator")
    return report["passed"], report["build_seconds"]


DESIGNS = {"kernel 3x3 w8": _kernel, "conv 3x3 c2 o4 w4": _conv, "network ball3-tn4": _network}


def _cpp_bytes(cache: Path) -> int:
    return sum(p.stat().st_size for p in cache.rglob("*.cpp") if p.name != "verilator.cpp")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    from cocotb_tools.runner import get_runner

    ports_runner = sim._verilator_runner
    modes = {"all (cocotb)": lambda: get_runner("verilator"), "ports (tn-hw)": ports_runner}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["CCACHE_DIR"] = str(tmp / "ccache")
        os.environ["TN_HW_SIM_CACHE"] = str(tmp / "warm-cache")
        warm = run_regression(generate(KernelSpec(neuron="threshold", kernel=(1, 1), width=2)),
                              tmp / "warm", random_vectors=10, simulator="verilator")
        if not warm.passed:
            raise SystemExit(f"the warm-up build failed: {warm.reason} ({warm.log})")
        for name, run in DESIGNS.items():
            for mode, runner in modes.items():
                folder = tmp / f"{name}-{mode}".replace(" ", "_")
                cache = folder / "cache"
                os.environ["TN_HW_SIM_CACHE"] = str(cache)
                sim._verilator_runner = runner
                try:
                    started = time.perf_counter()
                    passed, build = run(folder)
                    wall = time.perf_counter() - started
                finally:
                    sim._verilator_runner = ports_runner
                if not passed:
                    raise SystemExit(f"{name}, {mode}: the regression failed ({folder})")
                rows.append({"design": name, "public": mode, "build_seconds": round(build, 2),
                             "cpp_bytes": _cpp_bytes(cache), "wall_seconds": round(wall, 2)})
    print(f"Verilator builds from an empty model cache, runtime from ccache "
          f"({platform.node()}, {os.cpu_count()} cores)")
    print(f"  {'design':<20}{'public':<15}{'build s':>9}{'C++ kB':>9}{'wall s':>9}")
    for r in rows:
        print(f"  {r['design']:<20}{r['public']:<15}{r['build_seconds']:>9.2f}"
              f"{r['cpp_bytes'] / 1000:>9.0f}{r['wall_seconds']:>9.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
