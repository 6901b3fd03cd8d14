"""Print Verilog generation time per configuration and regression throughput (vectors/s).

Usage: python benchmarks/bench_regression.py [--vectors N]
"""

import argparse
import re
import tempfile
import time
from pathlib import Path

import torch  # noqa: F401  (imported before timing: the calling process of a run has it)

from tn_hw.spec import KernelSpec
from tn_hw.testbench.matrix import regression_matrix
from tn_hw.testbench.runner import run_regression


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=100_000)
    args = parser.parse_args()

    print("generation time per configuration (Amaranth elaboration + Yosys write_verilog)")
    for config in regression_matrix():
        if config.kind == "cell":
            continue
        started = time.perf_counter()
        design = config.generate()
        print(f"  {config.id:<24} {time.perf_counter() - started:7.3f} s  "
              f"{len(design.verilog):>8} chars")

    from tn_hw.generate import generate

    design = generate(KernelSpec(neuron="threshold", kernel=(3, 3), width=8))
    with tempfile.TemporaryDirectory() as tmp:
        result = run_regression(design, Path(tmp), random_vectors=args.vectors,
                                tests=["seeded_random"])
        log = result.log.read_text()
    # cocotb's own per-test wall time: vector generation, golden model, packing and simulation.
    match = re.search(r"seeded_random\s+PASS\s+[\d.]+\s+([\d.]+)", log)
    # The golden model runs in this process before the simulation (stimulus seconds): counted,
    # so that the figure compares with runs whose simulator computed it inside the test.
    seconds = float(match.group(1)) + result.stimulus_seconds
    print(f"regression throughput, 3x3 8-bit threshold kernel, cocotb + Icarus: "
          f"{result.vectors} vectors in {seconds:.2f} s = "
          f"{result.vectors / seconds:,.0f} vectors/s "
          f"(golden model and vector generation {result.stimulus_seconds:.2f} s of it; "
          f"build {result.build_seconds:.1f} s, whole run incl. simulator start "
          f"{result.run_seconds:.1f} s)")


if __name__ == "__main__":
    main()
