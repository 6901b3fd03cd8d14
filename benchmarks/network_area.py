"""Area of exported networks through the tn-hw synthesis flow, threshold against MAC.

    python benchmarks/network_area.py models/digits-tmlp.json models/digits-mlp.json \\
        --mode baked --json docs/results/network-area-baked.json

Each model is exported as ``tn-hw export`` does (``--mode baked``: thresholds/weights,
polarities and biases are constants that Yosys folds; ``ports``: programmable, the paper's FPGA
design) and synthesized with one flow of tn_hw.synth.flow (default the generic one: ``synth
-flatten -booth; abc -g <CMOS gates>; stat -tech cmos``).

``--split neuron`` (the default) synthesizes every distinct neuron with its requantization on
its own and sums the figures times the number of copies (tn_hw.synth.split): a neuron's logic
is what the network builds for it, and only sharing between neurons is left out, so the figure
is an upper bound on a flat run's, for both neuron types. ``--split none`` synthesizes the
flattened network in one Yosys run, which the small ball3 network finishes and the digits
networks do not (docs/results/network-area.md); running both on one model measures the gap.
``--layer I`` keeps only layer I (with its requantization) as a one-layer network.

Prints gates and the transistor estimate per model (and per layer), Yosys time, and the
threshold-to-MAC ratio of models given in pairs (``--pairs``). Results are cached like every
tn-hw synthesis run.
"""

import argparse
import json
import sys
import time

from tn_hw.reference.network import load_network, network_to_dict
from tn_hw.synth.flow import synthesize
from tn_hw.synth.split import network_parts, synthesize_parts

from tn_hw.export import export_network


def _one_layer(net, index):
    raw = network_to_dict(net)
    layer = raw["layers"][index]
    raw["name"] = f"{net.name}-layer{index}"
    raw["input"] = {"shape": list(net.shapes[index]), "width": layer["width"], "frac_bits": 0}
    raw["layers"] = [layer]
    return load_network(raw)


def measure(model, *, mode, split, target, jobs, layer=None, timeout=None):
    """One model's area: a row of plain data (see the module docstring)."""
    net = load_network(model)
    if layer is not None:
        net = _one_layer(net, layer)
    design = export_network(net, mode=mode)
    row = {"model": str(model), "name": net.name, "mode": mode, "split": split,
           "layer": layer, "target": target, "top": design.top,
           "cells": design.manifest["cells"],
           "neurons": sorted({s["neuron"] for s in design.manifest["stages"] if "neuron" in s})}
    options = {} if timeout is None else {"timeout": timeout}
    started = time.perf_counter()
    if split == "none":
        result = synthesize(design.verilog, design.top, target, **options)
        row.update(metrics=result["metrics"], yosys_seconds=result["seconds"],
                   cached=result["cached"], yosys=result["yosys"])
    else:
        result = synthesize_parts(network_parts(net, mode), target, jobs=jobs, **options)
        layers = {}
        for part in result["parts"]:
            key = part["name"].split()[0]
            entry = layers.setdefault(key, {"instances": 0, "distinct": 0, "metrics": {}})
            entry["instances"] += part["count"]
            entry["distinct"] += 1
            for name, value in part["metrics"].items():
                entry["metrics"][name] = entry["metrics"].get(name, 0) + part["count"] * value
        row.update(metrics=result["metrics"], yosys_seconds=result["yosys_seconds"],
                   cached=all(p["cached"] for p in result["parts"]), yosys=result["yosys"],
                   instances=result["instances"], distinct=len(result["parts"]),
                   layers=layers, parts=result["parts"])
    row["wall_seconds"] = round(time.perf_counter() - started, 1)
    return row


def _metrics(metrics):
    return "  ".join(f"{k} {v}" for k, v in metrics.items())


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Example: python benchmarks/network_area.py models/digits-tmlp.json "
               "models/digits-mlp.json --pairs --mode ports")
    parser.add_argument("models", nargs="+", help="tn-hw-net model files")
    parser.add_argument("--mode", choices=("baked", "ports"), default="baked")
    parser.add_argument("--split", choices=("neuron", "none"), default="neuron",
                        help="synthesize neuron by neuron and sum (default), or whole")
    parser.add_argument("--target", default="generic")
    parser.add_argument("--layer", type=int, default=None, metavar="I",
                        help="only layer I, as a one-layer network")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="Yosys runs at once")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per Yosys run (default: the flow's)")
    parser.add_argument("--pairs", action="store_true",
                        help="models come as threshold, MAC pairs: print MAC/threshold ratios")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.pairs and len(args.models) % 2:
        parser.error("--pairs needs an even number of models")
    rows = []
    for model in args.models:
        row = measure(model, mode=args.mode, split=args.split, target=args.target,
                      jobs=args.jobs, layer=args.layer, timeout=args.timeout)
        rows.append(row)
        extra = (f", {row['distinct']} distinct of {row['instances']} neurons"
                 if args.split == "neuron" else "")
        print(f"{row['top']:<34} {row['cells']:>6} cells  {_metrics(row['metrics'])}  "
              f"(yosys {row['yosys_seconds']:.0f} s{extra}"
              f"{', cached' if row['cached'] else ''})", flush=True)
        for name, layer in row.get("layers", {}).items():
            print(f"    {name:<10} {layer['instances']:>4} neurons  {_metrics(layer['metrics'])}")
    if args.pairs:
        for tn, mac in zip(rows[::2], rows[1::2], strict=True):
            ratios = "  ".join(f"{k} {mac['metrics'][k] / v:.2f}x"
                               for k, v in tn["metrics"].items() if v)
            print(f"MAC/threshold {mac['name']} / {tn['name']}: {ratios}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
