"""Time gate-level simulation per 10k vectors: the bit-parallel evaluator and Icarus.

    python benchmarks/bench_gatesim.py                         # 3x3 W8 and 7x7 W16, both neurons
    python benchmarks/bench_gatesim.py --designs 3x3:8 --icarus-vectors 1000

For each design the netlist comes from the generic flow (cached; synthesis is not timed). The
evaluator (tn_hw.synth.energy.gatesim) runs 10,000 random vectors with zero and unit delay, best of
--repeat runs. Icarus (Yosys simcells.v, one sample of every gate per vector, as the
cross-check uses it) runs --icarus-vectors vectors once on netlists up to --icarus-max-gates
gates and is scaled to 10k; 0 skips it.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time

from tn_hw.generate import generate
from tn_hw.spec import KernelSpec, parse_kernel
from tn_hw.synth.energy.gatesim import icarus_probe
from tn_hw.synth.energy.netlist import synthesize_netlist
from tn_hw.synth.energy.proxy import make_streams

VECTORS = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--designs", default="3x3:8,7x7:16",
                        help="comma-separated KERNEL:WIDTH (default 3x3:8,7x7:16)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--icarus-vectors", type=int, default=500)
    parser.add_argument("--icarus-max-gates", type=int, default=4000,
                        help="run Icarus only on netlists up to this many gates (its cost grows "
                             "with gates x vectors: every gate is printed per vector)")
    parser.add_argument("--json", help="also write the timings here")
    args = parser.parse_args()

    rows = []
    for item in args.designs.split(","):
        kernel_text, width = item.split(":")
        kernel, width = parse_kernel(kernel_text), int(width)
        for neuron in ("threshold", "mac"):
            spec = KernelSpec(neuron=neuron, kernel=kernel, width=width)
            design = generate(spec)
            signed = {p["name"]: p["signed"] for p in design.manifest["ports"]}
            netlist, _ = synthesize_netlist(design.verilog, design.top, signed=signed)
            ports = make_streams(spec, neuron, "random", vectors=VECTORS, seed=1)[0].ports()
            row = {"design": design.top, "gates": len(netlist.types), "depth": netlist.depth}
            for delay in ("zero", "unit"):
                best = float("inf")
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    netlist.simulate(ports, delay=delay)
                    best = min(best, time.perf_counter() - started)
                row[f"{delay}_s_per_10k"] = round(best, 4)
            if (args.icarus_vectors and shutil.which("iverilog")
                    and len(netlist.types) <= args.icarus_max_gates):
                n = args.icarus_vectors
                part = {k: v[:n] for k, v in ports.items()}
                started = time.perf_counter()
                icarus_probe(netlist, part, delay="zero")
                row["icarus_zero_s_per_10k"] = round((time.perf_counter() - started)
                                                     * VECTORS / n, 1)
            rows.append(row)
            print(f"{row['design']:<22} {row['gates']:>6} gates, depth {row['depth']:>3}: "
                  f"zero {row['zero_s_per_10k']:.3f} s, unit {row['unit_s_per_10k']:.3f} s"
                  + (f", Icarus {row['icarus_zero_s_per_10k']} s" if "icarus_zero_s_per_10k"
                     in row else "") + " per 10k vectors", flush=True)
    info = {"machine": platform.processor() or platform.machine(), "python":
            platform.python_version(), "vectors": VECTORS, "rows": rows}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(info, handle, indent=1)


if __name__ == "__main__":
    main()
