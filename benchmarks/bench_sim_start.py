"""What a simulator start costs: a short regression, with and without pytest's plugins loading.

Usage: python benchmarks/bench_sim_start.py [--runs N]

A 2x2 4-bit threshold kernel, 50 random vectors on Icarus, ``N`` times (after one warm-up run)
with tn-hw's simulator environment (``testbench/sim.py: SIMULATOR_ENVIRONMENT``) and ``N``
times with it but for ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``: cocotb builds a pytest configuration
for its assertion rewriting, and without that variable pytest imports every installed plugin.
Such a run is mostly the simulator's start (embedding Python, importing cocotb, numpy and the
testbench), which every regression of the test suite pays.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import tn_hw.testbench.sim as sim
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.testbench.runner import run_regression


def _runs(design, folder: Path, count: int) -> list[float]:
    seconds = []
    for i in range(count):
        started = time.perf_counter()
        result = run_regression(design, folder / str(i), random_vectors=50, simulator="icarus")
        seconds.append(time.perf_counter() - started)
        if not result.passed:
            raise SystemExit(f"the regression failed: {result.reason} ({result.log})")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8, help="runs per setting (default 8)")
    args = parser.parse_args()
    design = generate(KernelSpec(neuron="threshold", kernel=(2, 2), width=4))
    ours = dict(sim.SIMULATOR_ENVIRONMENT)
    with_plugins = {k: v for k, v in ours.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _runs(design, tmp / "warm", 1)
        for name, environment in (("plugins loaded", with_plugins), ("no plugins", ours)):
            sim.SIMULATOR_ENVIRONMENT = environment
            try:
                seconds = _runs(design, tmp / name.replace(" ", "_"), args.runs)
            finally:
                sim.SIMULATOR_ENVIRONMENT = ours
            rows.append((name, statistics.median(seconds), min(seconds), max(seconds)))
    print(f"2x2 4-bit threshold kernel, 50 vectors on Icarus, {args.runs} runs each (seconds)")
    print(f"  {'pytest in the simulator':<26}{'median':>8}{'min':>8}{'max':>8}")
    for name, median, low, high in rows:
        print(f"  {name:<26}{median:>8.3f}{low:>8.3f}{high:>8.3f}")


if __name__ == "__main__":
    main()
