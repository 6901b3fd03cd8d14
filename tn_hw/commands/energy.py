"""``tn-hw energy``: the switching-activity energy proxy from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import TnHwError
from ..spec import parse_kernel
from .energy import (
    PAPER_POWER_BAND,
    STIMULI,
    WEIGHTINGS,
    EnergyError,
    kernel_netlist,
    render_csv,
    render_markdown,
    render_plot,
    render_text,
    run_energy,
    run_sweep,
    to_json,
)
from .gatesim import DELAY_MODELS

__all__ = ["cmd_energy", "register"]

_EPILOG = """\
What it measures: both kernels go through the generic flow of the area tables (Yosys
synth -flatten -booth, abc -g with the CMOS gate set); their gate netlists are simulated on
one input stream with thresholds/weights, polarities and bias held constant, every output is
checked bit for bit against the golden model, and every gate-output toggle is counted. The
energy proxy per inference is sum(toggles x weight) / transitions, under four weightings:
""" + "\n".join(f"  {name:<12}{text}" for name, text in WEIGHTINGS.items()) + f"""

Delay models: zero (settled values only, no glitches) and unit (one time unit per gate,
glitches counted). It is a proxy: no wires, no clock tree, no leakage, generic gates, not a
28 nm library. The paper reports {PAPER_POWER_BAND[0]}-{PAPER_POWER_BAND[1]}x (Synopsys, 28 nm).

Stimuli:
  random   x uniform over the signed W-bit range; thresholds/weights, polarities, bias drawn
           once from --seed and held (the same numbers for both kernels)
  digits   quantized 8x8 digits test images (W = 8 only). 3x3: the first conv layer's patches
           with the trained thresholds of models/digits-tcnn.json and the weights of its MAC
           twin models/digits-cnn.json, one stream per output channel; other k x k (k <= 8):
           the centred window of each image with that window of every first-layer neuron of
           models/digits-tmlp.json / digits-mlp.json

examples:
  tn-hw energy --kernel 3x3 --width 8 --stimulus random
  tn-hw energy --kernel 3x3 --width 8 --stimulus digits --json e3.json
  tn-hw energy --kernel 3x3 --stimulus digits --isolation      # operand-isolation experiment
  tn-hw energy --kernel 3x3 --width 8 --netlists out/nets       # keep both gate netlists
  tn-hw energy --sweep --kernels 3x3,5x5,7x7 --widths 4,8,16 --stimuli random,digits -o out/e

--sweep writes energy.json, energy.csv, energy.md (tables) and energy.png (MAC/threshold
ratio per design beside the paper's band) into DIR, all or nothing. Progress goes to stderr.
"""


def _kernel(text):
    try:
        return parse_kernel(text)
    except TnHwError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _kernel_list(text):
    return [_kernel(part.strip()) for part in text.split(",") if part.strip()]


def _int_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, not {text!r}") \
            from None


def _choices(allowed, what):
    def parse(text):
        names = [part.strip() for part in text.split(",") if part.strip()]
        bad = [n for n in names if n not in allowed]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"{what} must be from {', '.join(allowed)}, "
                                             f"not {text!r}")
        return names
    return parse


def register(subparsers) -> None:
    """Add the ``energy`` subcommand."""
    parser = subparsers.add_parser(
        "energy", help="switching-activity energy proxy: threshold vs MAC kernels",
        description="Gate-level switching-activity energy proxy of a threshold kernel and its "
                    "Booth MAC baseline on random or real (digits) activations.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", type=_kernel, default=(3, 3), metavar="RxC",
                        help="kernel shape (default 3x3)")
    parser.add_argument("--width", type=int, default=8, metavar="W",
                        help="input and threshold/weight width, 2 to 32 (default 8)")
    parser.add_argument("--stimulus", choices=STIMULI, default="random",
                        help="input stream (default random)")
    parser.add_argument("--vectors", type=int, default=None, metavar="N",
                        help="vectors per stream (random default 10000; digits default all: "
                             "450 test images, 16 patches each at 3x3)")
    parser.add_argument("--seed", type=int, default=1, help="random stimulus seed (default 1)")
    parser.add_argument("--delay", type=_choices(DELAY_MODELS, "delay"),
                        default=list(DELAY_MODELS), metavar="MODELS",
                        help="delay models, comma-separated: zero, unit (default both)")
    parser.add_argument("--isolation", action="store_true",
                        help="also measure the operand-isolated threshold kernel")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("--netlists", metavar="DIR",
                        help="also write both kernels' gate netlists (<top>.v from "
                             "write_verilog -noattr -noexpr, <top>.json) into DIR")
    parser.add_argument("--sweep", action="store_true",
                        help="sweep --kernels x --widths x --stimuli instead of one design")
    parser.add_argument("--kernels", type=_kernel_list, default=[(3, 3), (5, 5), (7, 7)],
                        metavar="LIST", help="sweep kernels (default 3x3,5x5,7x7)")
    parser.add_argument("--widths", type=_int_list, default=[4, 8, 16], metavar="LIST",
                        help="sweep widths (default 4,8,16; digits only at 8)")
    parser.add_argument("--stimuli", type=_choices(STIMULI, "stimuli"),
                        default=list(STIMULI), metavar="LIST",
                        help="sweep stimuli (default random,digits)")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="sweep output folder (required with --sweep)")
    parser.set_defaults(func=cmd_energy)


def _check_json_target(path) -> None:
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise EnergyError(f"--json {path!r} is a directory")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise EnergyError(f"cannot write --json {path!r}: {str(parent)!r} is not a writable "
                          "directory")


def cmd_energy(args) -> int:
    from ..generate import check_output_dir, write_files
    from ..spec import KernelSpec

    if args.vectors is not None and args.vectors < 2:
        raise EnergyError(f"vectors must be at least 2 (toggles need a transition), not "
                          f"{args.vectors}")
    if args.json:
        _check_json_target(args.json)
    if args.netlists:
        check_output_dir(Path(args.netlists))
    if args.sweep:
        if not args.output:
            raise EnergyError("--sweep needs -o DIR for energy.json, energy.csv and energy.png")
        check_output_dir(Path(args.output))
        for width in args.widths:
            KernelSpec(neuron="threshold", kernel=(1, 1), width=width)  # validates the width
        results = run_sweep(args.kernels, args.widths, args.stimuli, vectors=args.vectors,
                            seed=args.seed, delays=args.delay, isolation=args.isolation,
                            progress=lambda line: print(line, file=sys.stderr, flush=True))
        files = {"energy.json": to_json({"command": "tn-hw " + " ".join(sys.argv[1:]),
                                         "results": results}),
                 "energy.csv": render_csv(results), "energy.md": render_markdown(results)}
        png = render_plot(results)
        written = write_files(args.output, files)
        (Path(args.output) / "energy.png").write_bytes(png)
        for result in results:
            print(render_text(result), end="\n\n")
        print("wrote " + ", ".join(str(p) for p in written) + f", {args.output}/energy.png")
        if args.json:
            Path(args.json).write_text(to_json(results))
        return 0
    result = run_energy(args.kernel, args.width, args.stimulus, vectors=args.vectors,
                        seed=args.seed, delays=args.delay, isolation=args.isolation)
    print(render_text(result))
    if args.netlists:
        files = {}
        spec = KernelSpec(neuron="threshold", kernel=args.kernel, width=args.width)
        for neuron in ("threshold", "mac"):
            netlist, _ = kernel_netlist(spec, neuron)
            files[f"{netlist.top}.v"] = netlist.verilog
            files[f"{netlist.top}.json"] = netlist.json_text
        for path in write_files(args.netlists, files):
            print(f"wrote {path}")
    if args.json:
        Path(args.json).write_text(to_json(result))
        print(f"wrote {args.json}")
    return 0
