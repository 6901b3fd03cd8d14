"""One baked MAC neuron as canonical-signed-digit shift-and-add, through the generic flow.

    python benchmarks/csd_neuron.py models/digits-mlp.json --layer 0 --output 0

A MAC neuron with constant weights needs no multiplier: each weight's canonical signed digits
(CSD: no two adjacent non-zero digits) pick shifted copies of its input, added or subtracted.
This script writes that neuron (inputs, weights, bias and accumulator width from the model, no
requantization) as one Verilog sum of ``+-(x_i <<< k)`` terms and synthesizes it with the
generic flow of tn_hw.synth.area.flow, for comparison with the baked neuron ``tn-hw export`` builds
(a constant fed into a Booth multiplier, which Yosys must fold; see
docs/results/network-area.md). Prints the number of CSD terms, gates, transistors and the Yosys
time.
"""

import argparse
import sys

from tn_hw.reference.network import Conv2d, Linear, load_network
from tn_hw.synth.area.flow import SynthError, synthesize


def csd_digits(value: int) -> list[tuple[int, int]]:
    """``[(shift, +1 or -1), ...]`` with ``sum(d << k) == value`` and no two adjacent shifts."""
    digits, shift = [], 0
    while value:
        if value & 1:
            digit = 2 - (value & 3)  # +1 if the next bit is 0, else -1 (borrow upwards)
            value -= digit
            digits.append((shift, digit))
        value >>= 1
        shift += 1
    return digits


def csd_neuron_verilog(weights, bias, *, width, acc_width, top="csd_neuron") -> tuple[str, int]:
    """Verilog of ``bias + sum w_i * x_i`` as CSD shift-and-add; also the number of terms."""
    terms = [f"{'-' if sign < 0 else '+'} ($signed(x{i}) <<< {shift})"
             for i, w in enumerate(weights) for shift, sign in csd_digits(int(w))]
    lines = [f"module {top}({', '.join(f'x{i}' for i in range(len(weights)))}, y);"]
    lines += [f"  input signed [{width - 1}:0] x{i};" for i in range(len(weights))]
    lines += [f"  output signed [{acc_width - 1}:0] y;",
              f"  assign y = $signed({acc_width}'sd0) + $signed({int(bias)}) "
              + " ".join(terms) + ";", "endmodule", ""]
    return "\n".join(lines), len(terms)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a tn-hw-net file with a mac layer")
    parser.add_argument("--layer", type=int, default=0)
    parser.add_argument("--output", type=int, default=0, help="which neuron of the layer")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    net = load_network(args.model)
    layer = net.layers[args.layer]
    if not isinstance(layer, (Linear, Conv2d)) or layer.neuron != "mac":
        parser.error(f"layer {args.layer} of {args.model} is not a mac layer")
    spec = layer.spec
    verilog, terms = csd_neuron_verilog(layer.w[args.output].tolist(),
                                        int(layer.bias[args.output]), width=spec.width,
                                        acc_width=spec.output_width)
    try:
        result = synthesize(verilog, "csd_neuron", "generic", timeout=args.timeout)
    except SynthError as error:
        print(f"{net.name} layer {args.layer} output {args.output}: {spec.n_inputs} inputs, "
              f"{terms} CSD terms: {error}")
        return 1
    metrics = "  ".join(f"{k} {v}" for k, v in result["metrics"].items())
    print(f"{net.name} layer {args.layer} output {args.output}: {spec.n_inputs} inputs, "
          f"{terms} CSD terms, {metrics} (yosys {result['seconds']:.0f} s"
          f"{', cached' if result['cached'] else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
