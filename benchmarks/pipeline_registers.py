"""Register cost of pipelining: where the cuts go and how many flip-flops each design gets.

Usage: python benchmarks/pipeline_registers.py [--kernels 3x3,5x5] [--widths 8] [--json FILE]

For each neuron (threshold, MAC), kernel and width, and every legal ``stages``, the script emits
the Verilog with ``tn_hw.generate.generate`` and counts the bits of every register it declares
(the datapath stages; with ``--stream`` designs also the valid bits). The cut boundaries come
from ``tn_hw.hdl.pipeline.cut_points`` (boundary ``b`` lies before operation ``b``: 1 is after the
cells, ``tree_depth + 1`` before the final bias addition). Flip-flops only: Fmax and LUTs come
from nextpnr (``tn-hw timing``, branch timing).
"""

import argparse
import json
import re

from tn_hw.generate import generate
from tn_hw.hdl.pipeline import cut_points
from tn_hw.spec import KernelSpec, parse_kernel

_REG = re.compile(r"^\s*reg (?:\[(\d+):0\] )?(\S+)", re.MULTILINE)


def register_bits(verilog: str) -> int:
    """Bits of every ``reg`` with a name the design gave it (Yosys temporaries excluded)."""
    return sum(int(high or 0) + 1 for high, name in _REG.findall(verilog)
               if not name.startswith("\\$"))


def rows(kernels, widths):
    for neuron in ("threshold", "mac"):
        for kernel in kernels:
            for width in widths:
                base = KernelSpec(neuron=neuron, kernel=kernel, width=width)
                for stages in range(base.max_stages + 1):
                    spec = KernelSpec(neuron=neuron, kernel=kernel, width=width, stages=stages)
                    yield {
                        "neuron": neuron, "kernel": spec.kernel_text, "width": width,
                        "stages": stages, "latency": spec.latency, "cuts": list(cut_points(spec)),
                        "register_bits": register_bits(generate(spec).verilog),
                        "stream_register_bits": register_bits(generate(spec,
                                                                      stream=True).verilog),
                    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", default="3x3,5x5")
    parser.add_argument("--widths", default="8")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    kernels = [parse_kernel(k) for k in args.kernels.split(",")]
    widths = [int(w) for w in args.widths.split(",")]
    table = list(rows(kernels, widths))
    print(f"{'neuron':<10}{'kernel':<8}{'W':>3}{'stages':>8}{'cuts':>18}{'reg bits':>10}"
          f"{'stream':>8}")
    for r in table:
        cuts = ",".join(str(c) for c in r["cuts"]) or "-"
        print(f"{r['neuron']:<10}{r['kernel']:<8}{r['width']:>3}{r['stages']:>8}{cuts:>18}"
              f"{r['register_bits']:>10}{r['stream_register_bits']:>8}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(table, handle, indent=1)
            handle.write("\n")


if __name__ == "__main__":
    main()
