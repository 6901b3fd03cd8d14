"""Area of exported networks through the tn-hw synthesis flow, threshold against MAC.

    python benchmarks/network_area.py models/digits-tmlp.json models/digits-mlp.json \\
        --mode baked --json docs/results/network-area-baked.json

Each model is exported as ``tn-hw export`` does (``--mode baked``: thresholds/weights,
polarities and biases are constants that Yosys folds; ``ports``: programmable, the paper's FPGA
design) and synthesized with one flow of tn_hw.synth.area.flow (default the generic one: ``synth
-flatten -booth; abc -g <CMOS gates>; stat -tech cmos``).

``--split neuron`` (the default) synthesizes every distinct neuron with its requantization on
its own and sums the figures times the number of copies (tn_hw.synth.area.split): a neuron's logic
is what the network builds for it, and only sharing between neurons is left out, so the figure
is an upper bound on a flat run's, for both neuron types. ``--split none`` synthesizes the
flattened network in one Yosys run, which the small ball3 network finishes and the digits
networks do not (docs/results/network-area.md); running both on one model measures the gap.
``--layer I`` keeps only layer I (with its requantization) as a one-layer network.

Prints gates and the transistor estimate per model (and per layer), Yosys time, and the
threshold-to-MAC ratio of models given in pairs (``--pairs``). Results are cached like every
tn-hw synthesis run. ``tn-hw synth-net`` is the same as a command (tn_hw.synth.area.split).
"""

import argparse
import json
import sys

from tn_hw.synth.area.flow import DEFAULT_TIMEOUT
from tn_hw.synth.area.split import network_area, render_network_area, render_ratios


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
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds per Yosys run (default: the flow's)")
    parser.add_argument("--pairs", action="store_true",
                        help="models come as threshold, MAC pairs: print MAC/threshold ratios")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.pairs and len(args.models) % 2:
        parser.error("--pairs needs an even number of models")
    rows = []
    for model in args.models:
        rows.append(network_area(model, mode=args.mode, split=args.split, target=args.target,
                                 jobs=args.jobs, layer=args.layer, timeout=args.timeout))
        print(render_network_area(rows[-1:]), end="", flush=True)
    if args.pairs:
        print(render_ratios(rows), end="")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
