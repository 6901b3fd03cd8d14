"""Area of exported networks (baked parameters) through the generic Yosys flow.

    python benchmarks/network_area.py models/digits-tmlp.json models/digits-mlp.json \
        --json docs/results/network-area.json

Each model is exported in baked mode (thresholds/weights, polarities and biases are constants
that Yosys folds) and synthesized with `synth -flatten -booth; abc -g <CMOS gates>; stat -tech
cmos` (tn_hw.synth.flow, target generic). Prints gates, the transistor estimate and the Yosys
run time per model; results are cached like every tn-hw synthesis run. `--layer I` synthesizes
only layer I of each model (with its requantization) as a one-layer network, for networks whose
full flattened netlist keeps ABC busy too long.
"""

import argparse
import json
import sys
import time

from tn_hw.reference.network import load_network, network_to_dict
from tn_hw.synth.flow import synthesize

from tn_hw.export import export_network


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--target", default="generic")
    parser.add_argument("--layer", type=int, default=None, metavar="I")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    rows = []
    for model in args.models:
        net = load_network(model)
        if args.layer is not None:
            raw = network_to_dict(net)
            layer = raw["layers"][args.layer]
            raw["name"] = f"{net.name}-layer{args.layer}"
            raw["input"] = {"shape": list(net.shapes[args.layer]), "width": layer["width"],
                            "frac_bits": 0}
            raw["layers"] = [layer]
            net = load_network(raw)
        design = export_network(net, mode="baked")
        started = time.perf_counter()
        result = synthesize(design.verilog, design.top, args.target)
        seconds = time.perf_counter() - started
        row = {"model": model, "layer": args.layer, "top": design.top,
               "cells": design.manifest["cells"],
               "neurons": sorted({s["neuron"] for s in design.manifest["stages"]
                                  if "neuron" in s}),
               "metrics": result["metrics"], "yosys_seconds": result["seconds"],
               "cached": result["cached"], "wall_seconds": round(seconds, 1),
               "yosys": result["yosys"]}
        rows.append(row)
        metrics = "  ".join(f"{k} {v}" for k, v in result["metrics"].items())
        print(f"{design.top:<34} {row['cells']:>6} cells  {metrics}  "
              f"(yosys {result['seconds']:.0f} s{', cached' if result['cached'] else ''})",
              flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
