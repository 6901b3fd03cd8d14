"""Area of streaming conv layers, threshold vs MAC, at several reuse factors (Yosys generic flow).

Usage: python benchmarks/conv_area.py [--image 8x8] [--kernel 3x3] [--channels 1] [--outputs 4]
       [--width 8] [--padding 1] [--reuse 1,2,4] [--json FILE]

Each layer is emitted by ``tn_hw.generate.generate_conv`` and synthesized with
``tn_hw.synth.area.flow.synthesize`` (the same script as ``tn-hw synth``: ``synth -flatten -booth``,
ABC to the CMOS gate set, ``stat -tech cmos``). Flip-flops are counted separately
(``$_DFF_P_`` cells: line buffers, window, output and folding registers), so the part that
folding saves (kernels) and the part it adds (weight multiplexers, held outputs) can be read
apart. Runs are cached like every tn-hw synthesis.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from tn_hw.conv import ConvSpec, parse_image
from tn_hw.generate import generate_conv
from tn_hw.spec import KernelSpec, parse_kernel
from tn_hw.synth.area.flow import synthesize


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", type=parse_image, default=(8, 8))
    parser.add_argument("--kernel", type=parse_kernel, default=(3, 3))
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--outputs", type=int, default=4)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--padding", type=int, default=1)
    parser.add_argument("--reuse", default="1,2,4", help="comma-separated reuse factors")
    parser.add_argument("--neurons", default="threshold,mac")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    rows = []
    print(f"{'neuron':<10}{'reuse':>6}{'kernels':>8}{'cyc/frame':>10}{'gates':>9}"
          f"{'transistors':>13}{'flops':>7}{'yosys s':>9}")
    for neuron in args.neurons.split(","):
        for reuse in (int(r) for r in args.reuse.split(",")):
            k = KernelSpec(neuron=neuron, kernel=args.kernel, channels=args.channels,
                           outputs=args.outputs, width=args.width)
            spec = ConvSpec(kernel=k, image=args.image, stride=args.stride,
                            padding=args.padding, reuse=reuse)
            design = generate_conv(spec)
            started = time.perf_counter()
            result = synthesize(design.verilog, design.top, "generic")
            seconds = time.perf_counter() - started
            flops = result["cells_by_type"].get("$_DFF_P_", 0)
            row = {"top": design.top, "neuron": neuron, "reuse": reuse,
                   "instances": spec.instances, "cycles_per_frame": spec.cycles_per_frame,
                   "pixels_per_cycle": round(spec.pixels_per_cycle, 6), **result["metrics"],
                   "flops": flops, "yosys_seconds": round(result["seconds"], 1),
                   "cached": result["cached"], "wall_seconds": round(seconds, 1),
                   "yosys": result["yosys"], "flow": result["flow"]}
            rows.append(row)
            print(f"{neuron:<10}{reuse:>6}{spec.instances:>8}{spec.cycles_per_frame:>10}"
                  f"{row['gates']:>9}{row['transistors']:>13}{flops:>7}"
                  f"{row['yosys_seconds']:>9}", flush=True)
    for reuse in sorted({r["reuse"] for r in rows}):
        pair = {r["neuron"]: r for r in rows if r["reuse"] == reuse}
        if {"threshold", "mac"} <= set(pair):
            ratio = pair["mac"]["transistors"] / pair["threshold"]["transistors"]
            print(f"reuse {reuse}: MAC / threshold transistors {ratio:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows},
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()
