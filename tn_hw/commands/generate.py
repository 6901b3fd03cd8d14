"""``tn-hw generate``: Verilog and a manifest for one kernel, layer or conv layer."""

from __future__ import annotations

from .args import add_design_options, add_stream_option, arch_epilog, formatter, spec_from_args
from .conv import CONV_EPILOG, add_conv_options, cmd_generate_conv, conv_requested

__all__ = ["cmd_generate", "register"]

EPILOG = """\
examples:
  tn-hw generate --kernel 3x3 --width 8 -o out/k3
  tn-hw generate --neuron mac --kernel 5x5 --width 16 -o out/mac5
  tn-hw generate --kernel 3x3 --channels 3 --width 8 -o out/k3x3x3     # 27 inputs
  tn-hw generate --kernel 1x1 --channels 64 --outputs 10 -o out/fc     # layer 64 -> 10
  tn-hw generate --neuron sam --kernel 3x3 --width 8 -o out/sam3
  tn-hw generate --neuron sam --kernel 1x1 --channels 4 --outputs 2 --mask m.json -o out/s
  tn-hw generate --neuron adder --kernel 5x5 --width 8 -o out/adder5
  tn-hw generate --kernel 3x3 --width 8 --stages 2 -o out/k3s2       # pipelined, latency 2
  tn-hw generate --neuron mac --stages 2 --stream -o out/mac3s       # valid/ready streams

Neurons: threshold y = bias + sum +-max(x - w, 0); mac y = bias + sum x * w;
sam y = max_i(x_i + wp_i) + min_i(x_i + wm_i) (no bias); adder y = bias - sum |x - w|.
--mask FILE (sam only) prunes connections: a JSON list of OUTPUTS rows of N_INPUTS 0/1 entries
(1 keeps the connection), e.g. [[1, 0, 1, 1], [0, 1, 1, 0]] for 2 outputs of 4 inputs, used
for both the max and the min side; or {"max": ROWS, "min": ROWS} for separate sides. Every
output must keep at least one input per side. Without --mask the layer is dense.

--stages S registers the summation tree S times (clk, rst; latency S cycles; 0 to tree depth
+ 1). --stream puts x and y behind valid/ready streams (amaranth.lib.stream): x__payload holds
the input vector, y__payload the output(s); w, p and bias stay plain ports, sampled with each
beat. Semantics: docs/semantics.md, "Clocked designs".

DIR receives <top>.v and manifest.json (top module, every port with its width and meaning,
parameters, derived widths such as the output width, tool versions). Input i of a kernel is
(channel * rows + row) * cols + column. Outputs are exact: the output width holds every value
bias + sum can take. Nothing is written unless generation succeeds.
"""


def register(subparsers) -> None:
    """Add ``generate``."""
    gen = subparsers.add_parser("generate", help="write Verilog and a manifest for one design",
                                description="Generate Verilog for a threshold or MAC kernel or "
                                            "layer, or a streaming conv layer.",
                                epilog=EPILOG + "\n" + arch_epilog() + "\n" + CONV_EPILOG,
                                formatter_class=formatter)
    add_design_options(gen)
    add_stream_option(gen)
    add_conv_options(gen)
    gen.add_argument("-o", "--output", required=True, metavar="DIR",
                     help="folder for <top>.v and manifest.json (created if missing)")
    gen.set_defaults(func=cmd_generate)


def cmd_generate(args) -> int:
    """Handler of ``tn-hw generate``."""
    from ..generate import generate, write_design

    if conv_requested(args):
        return cmd_generate_conv(args)
    spec = spec_from_args(args)
    design = generate(spec, stream=args.stream)
    files = write_design(design, args.output)
    d = spec.describe()
    bias = f"bias {spec.bias_width} bits" if spec.has_bias else "no bias"
    print(f"{design.top}: {d['n_inputs']} inputs x {spec.outputs} output(s), "
          f"width {spec.width}, {bias}, output {spec.output_width} bits"
          + (f", latency {spec.latency} cycles" if spec.latency else "")
          + (", valid/ready streams" if args.stream else ""))
    for path in files:
        print(f"  wrote {path}")
    return 0
