"""Regression throughput per simulator: a 3x3 8-bit threshold kernel on Icarus and Verilator.

Usage: python benchmarks/bench_simulators.py [--vectors N] [--icarus-vectors N] [--json FILE]

For each simulator: vectors/s of the bit-checked ``seeded_random`` test: vector generation and
golden model (in the calling process since the simulator stopped importing torch: "stimulus s")
plus cocotb's own test time (reading the stimulus, packing, simulation and the comparison:
"test s"), and the wall time of the whole run including the build and the simulator's start.
Verilator is timed twice, from an empty build cache ("cold": the model is compiled; with
ccache installed its C++ runtime comes from the compiler cache after a machine's first build)
and again on that cache ("cached": no compile). Icarus always builds (a few hundred
milliseconds). The build cache used is a fresh temporary folder, so nothing is read from
``~/.cache/tn-hw``; ccache is not cleared (``--no-ccache`` runs make without it, which is what
a machine without ccache pays).
"""

import argparse
import json
import os
import platform
import re
import tempfile
import time
from pathlib import Path

import torch  # noqa: F401  (imported before timing: the calling process of a run has it)

from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.testbench.runner import run_regression


def test_seconds(log: Path) -> float:
    """cocotb's wall time of ``seeded_random`` from the results table of the simulator log."""
    match = re.search(r"seeded_random\s+PASS\s+[\d.]+\s+([\d.]+)", log.read_text())
    if match is None:
        raise SystemExit(f"no seeded_random PASS line in {log}")
    return float(match.group(1))


def one_run(design, simulator, vectors, folder, cache):
    os.environ["TN_HW_SIM_CACHE"] = str(cache)
    started = time.perf_counter()
    result = run_regression(design, folder, random_vectors=vectors, tests=["seeded_random"],
                            simulator=simulator)
    wall = time.perf_counter() - started
    if not result.passed or result.mismatches:
        raise SystemExit(f"{simulator}: regression failed: {result.reason} ({result.log})")
    seconds = test_seconds(result.log)
    checked = seconds + result.stimulus_seconds
    return {"simulator": simulator, "vectors": result.vectors, "mismatches": result.mismatches,
            "stimulus_seconds": round(result.stimulus_seconds, 2),
            "test_seconds": seconds, "vectors_per_second": round(result.vectors / checked),
            "build_seconds": round(result.build_seconds, 2),
            "wall_seconds": round(wall, 2),
            "wall_vectors_per_second": round(result.vectors / wall)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=1_000_000,
                        help="random vectors on Verilator (default 1000000)")
    parser.add_argument("--icarus-vectors", type=int, default=100_000,
                        help="random vectors on Icarus (default 100000)")
    parser.add_argument("--no-ccache", action="store_true",
                        help="compile Verilator's model without ccache")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    if args.no_ccache:
        os.environ["OBJCACHE"] = ""

    design = generate(KernelSpec(neuron="threshold", kernel=(3, 3), width=8))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows.append(dict(one_run(design, "icarus", args.icarus_vectors, tmp / "icarus",
                                 tmp / "cache"), build="always"))
        rows.append(dict(one_run(design, "verilator", args.vectors, tmp / "v-cold",
                                 tmp / "cache"), build="cold"))
        rows.append(dict(one_run(design, "verilator", args.vectors, tmp / "v-cached",
                                 tmp / "cache"), build="cached"))
    print(f"3x3 8-bit threshold kernel, seeded_random, every output compared as an integer "
          f"({platform.node()}, {os.cpu_count()} cores, ccache "
          f"{'off' if args.no_ccache else 'on if installed'})")
    print(f"  {'simulator':<10}{'build':<8}{'vectors':>10}{'stimulus s':>11}{'test s':>9}"
          f"{'vectors/s':>11}{'build s':>9}{'wall s':>8}{'wall vec/s':>12}")
    for r in rows:
        print(f"  {r['simulator']:<10}{r['build']:<8}{r['vectors']:>10}"
              f"{r['stimulus_seconds']:>11.2f}{r['test_seconds']:>9.2f}"
              f"{r['vectors_per_second']:>11,}{r['build_seconds']:>9.2f}{r['wall_seconds']:>8.2f}"
              f"{r['wall_vectors_per_second']:>12,}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
