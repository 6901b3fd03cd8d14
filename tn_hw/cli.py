"""The ``tn-hw`` command line."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .errors import TnHwError
from .spec import NEURONS, KernelSpec, parse_kernel

__all__ = ["main", "build_parser"]

_DESCRIPTION = """\
tn-hw generates Verilog for multiplication-free neurons and checks it bit for bit.

A threshold neuron replaces multiply with compare-and-subtract:
    y = bias + sum_i (+/-) max(x_i - w_i, 0)      (polarity p_i: 0 gives +, 1 gives -)
The MAC baseline computes y = bias + sum_i x_i * w_i with the same ports and widths.
Further multiplier-free neurons for comparison: sum-and-max (sam) and adder (AdderNet, L1).
"""

_EPILOG = """\
typical session:
  tn-hw generate --kernel 5x5 --width 8 -o out/k5     # Verilog + manifest.json
  tn-hw regress out/k5                                # cocotb + Icarus vs the PyTorch model
  tn-hw synth --kernel 5x5 --width 8                  # area with open Yosys
  tn-hw compare -o out/area                           # threshold vs MAC sweep
  tn-hw demo                                          # all of it for a 3x3 8-bit kernel

a trained network, end to end:
  tn-hw train digits-tmlp -o out/tmlp.json            # or use models/digits-tmlp.json
  tn-hw export out/tmlp.json -o out/tmlp-rtl          # Verilog of the whole network
  tn-hw verify out/tmlp-rtl --data digits-test        # RTL vs golden model, every logit
  tn-hw synth-net out/tmlp.json models/digits-mlp.json --pairs   # area vs the MAC twin

Run 'tn-hw COMMAND --help' for each command's options. Number semantics: docs/semantics.md.
"""

_GENERATE_EPILOG = """\
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

_REGRESS_EPILOG = """\
examples:
  tn-hw regress out/k3                       # the design in out/k3 (from tn-hw generate)
  tn-hw regress --kernel 5x5 --width 16      # generate in a temporary folder and check
  tn-hw regress out/k3 --tier full --seed 7  # 10k random vectors, another seed
  tn-hw regress --matrix                     # the whole regression matrix (all configs)
  tn-hw regress --stages 3 --stream          # clocked: gaps, back-pressure, mid-stream reset
  tn-hw regress out/conv                     # a conv layer (tn-hw generate --image ...)

Each design gets directed corners (all-min, all-max, x == w everywhere, all-excitatory,
all-inhibitory, extreme bias), seeded random vectors (half uniform, half from the edges of
each range) and, for a single cell of width <= 6, every (x, w, p). Every output is compared
with the PyTorch golden model as an integer. A pipelined design (--stages) gets one vector
per clock, each output read exactly its latency later; a stream design (--stream) gets beats
back to back, under random valid gaps and ready back-pressure, and with resets in the middle of
the stream, every output beat compared and the handshake rules checked. The seed defaults to
$TN_HW_SEED or 1 and is printed with any mismatch; --waves (or TN_HW_WAVES=1) dumps an FST
waveform, keeps it and prints its path.
Before simulating, DIR is checked: the manifest's parameters re-derived, its port table against
the ports the Verilog declares and against the parameters, the top module name and the hash of
the Verilog; a disagreement is refused with one line naming the field (exit 2). A FAIL says why
and keeps its build folder (the "details" log).
A conv layer gets its own tests: full-rate back-to-back frames (frame period checked),
random input gaps with output back-pressure, and a reset in the middle of a frame; every
output pixel is compared with the golden integer conv (--frames per test).
"""


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line plus a pointer to --help, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _kernel(text):
    try:
        return parse_kernel(text)
    except TnHwError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_design_options(parser):
    parser.add_argument("--neuron", choices=NEURONS, default="threshold",
                        help="neuron family: threshold (compare-and-subtract with polarity), "
                             "mac (multiply-accumulate baseline), sam (sum-and-max) or adder "
                             "(-sum |x - w|); default threshold")
    parser.add_argument("--kernel", type=_kernel, default=(3, 3), metavar="RxC",
                        help="kernel shape, sides 1 to 15, e.g. 3x3 or 5x5; default 3x3")
    parser.add_argument("--channels", type=int, default=1, metavar="C",
                        help="input channels per kernel (a 3x3 kernel with 3 channels has 27 "
                             "inputs); default 1")
    parser.add_argument("--outputs", type=int, default=1, metavar="N",
                        help="kernels sharing one input vector; more than 1 makes a layer; "
                             "default 1")
    parser.add_argument("--width", type=int, default=8, metavar="W",
                        help="width of inputs and thresholds/weights, signed, 2 to 32; "
                             "default 8")
    parser.add_argument("--bias-width", type=int, default=None, metavar="B",
                        help="width of the signed bias; default: the width of the sum of the "
                             "cells, so the bias can take any value that sum can")
    parser.add_argument("--mask", metavar="FILE",
                        help="sam only: JSON keep mask, OUTPUTS rows of N_INPUTS 0/1 (see "
                             "tn-hw generate --help); default dense")
    parser.add_argument("--stages", type=int, default=0, metavar="S",
                        help="register stages in the summation tree (latency S cycles; adds "
                             "clk and rst), 0 to tree depth + 1; default 0 (combinational)")


def _add_stream_option(parser):
    parser.add_argument("--stream", action="store_true",
                        help="valid/ready stream interfaces on x and y (with --stages: a "
                             "global stall enable); default: one port per value")


def _read_mask(path):
    if path is None:
        return None, None
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise TnHwError(f"cannot read mask file {path!r}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise TnHwError(f"mask file {path!r} is not JSON: {error}") from None
    if isinstance(data, dict):
        if set(data) - {"max", "min"} or "max" not in data:
            raise TnHwError(f"mask file {path!r}: an object needs the keys \"max\" and "
                            f"optionally \"min\", not {sorted(data)}")
        return data["max"], data.get("min")
    if not isinstance(data, list):
        raise TnHwError(f"mask file {path!r} must hold a JSON list of rows of 0/1")
    return data, None


def _spec_from_args(args) -> KernelSpec:
    mask, mask_min = _read_mask(getattr(args, "mask", None))
    return KernelSpec(neuron=args.neuron, kernel=args.kernel, channels=args.channels,
                      outputs=args.outputs, width=args.width, bias_width=args.bias_width,
                      mask=mask, mask_min=mask_min, stages=getattr(args, "stages", 0))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tn-hw", description=_DESCRIPTION, epilog=_EPILOG,
                     formatter_class=_formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    from .conv_cli import CONV_EPILOG, add_conv_options, add_conv_regress_options

    gen = sub.add_parser("generate", help="write Verilog and a manifest for one design",
                         description="Generate Verilog for a threshold or MAC kernel or layer, "
                                     "or a streaming conv layer.",
                         epilog=_GENERATE_EPILOG + "\n" + CONV_EPILOG,
                         formatter_class=_formatter)
    _add_design_options(gen)
    _add_stream_option(gen)
    add_conv_options(gen)
    gen.add_argument("-o", "--output", required=True, metavar="DIR",
                     help="folder for <top>.v and manifest.json (created if missing)")
    gen.set_defaults(func=cmd_generate)

    reg = sub.add_parser("regress", help="check emitted Verilog against the golden model",
                         description="Run the cocotb regression (Icarus Verilog) of a design "
                                     "against the PyTorch golden model, bit for bit.",
                         epilog=_REGRESS_EPILOG, formatter_class=_formatter)
    reg.add_argument("design", nargs="?", metavar="DIR",
                     help="folder written by tn-hw generate; without it, the design options "
                          "below are generated into a temporary folder")
    _add_design_options(reg)
    _add_stream_option(reg)
    reg.add_argument("--matrix", action="store_true",
                     help="run the whole regression matrix instead of one design")
    reg.add_argument("--tier", choices=("quick", "full"), default="quick",
                     help="random vectors per design: quick 2000, full 10000; default quick")
    reg.add_argument("--vectors", type=int, default=None, metavar="N",
                     help="random vectors per design (overrides --tier)")
    reg.add_argument("--seed", type=int, default=None,
                     help="seed of the random and directed vectors; default $TN_HW_SEED or 1")
    reg.add_argument("--build-dir", metavar="DIR",
                     help="keep build files, logs and waveforms here (default: temporary)")
    reg.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    reg.add_argument("--waves", action="store_true",
                     help="dump an FST waveform of every design simulated and keep it (its path "
                          "is printed)")
    add_conv_regress_options(reg)
    reg.set_defaults(func=cmd_regress)

    demo = sub.add_parser("demo", help="generate, verify and compare a 3x3 8-bit kernel",
                          description="The main job in one command: generate a 3x3 8-bit "
                                      "threshold kernel and its MAC baseline, run both "
                                      "regressions, synthesize both and print a summary.",
                          formatter_class=_formatter)
    demo.add_argument("-o", "--output", default="out/demo", metavar="DIR",
                      help="folder for the generated designs and results; default out/demo")
    demo.add_argument("--vectors", type=int, default=10_000, metavar="N",
                      help="random vectors per design; default 10000")
    demo.add_argument("--no-synth", action="store_true", help="skip the area comparison")
    demo.set_defaults(func=cmd_demo)

    from .export import register as register_export
    from .synth.cli import register as register_synth
    from .synth.energy_cli import register as register_energy
    from .synth.timing import register as register_timing
    from .train import register as register_train

    for register in (register_synth, register_train, register_export, register_energy,
                     register_timing):
        register(sub)
    return parser


def _version():
    from .generate import tool_versions

    return tool_versions().get("tn-hw") or "unknown"


# -- commands ---------------------------------------------------------------------------------


def cmd_generate(args) -> int:
    from .conv_cli import cmd_generate_conv, conv_requested
    from .generate import generate, write_design

    if conv_requested(args):
        return cmd_generate_conv(args)
    spec = _spec_from_args(args)
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


def _design_from_folder(folder):
    from .generate import Design, load_manifest

    manifest = load_manifest(folder)
    try:
        params = manifest["parameters"]
        spec = KernelSpec.from_description(params)
        verilog_path = Path(folder) / manifest["verilog"]
        return Design(kind=manifest["kind"], spec=spec, top=manifest["top"],
                      verilog=verilog_path.read_text(), manifest=manifest)
    except (KeyError, TypeError) as error:
        raise TnHwError(f"{folder}/manifest.json is malformed (missing {error})") from None
    except OSError as error:
        raise TnHwError(f"cannot read the design's Verilog: {error}") from None


def print_result(result, label=None):
    """One line per design: PASS/FAIL, counts, and for a FAIL why, then where the log is."""
    status = "PASS" if result.passed else "FAIL"
    tests = ", ".join(f"{name} {t['vectors']}" for name, t in result.tests.items())
    print(f"{status}  {label or result.top:<34} {result.vectors:>7} vectors  "
          f"{result.mismatches} mismatches  ({tests}; seed {result.seed}; "
          f"{result.build_seconds + result.run_seconds:.1f} s)"
          + ("" if result.passed else f": {result.reason}"))
    if not result.passed:
        print(f"      details: {result.log}")
    if result.waves:
        print(f"      waves: {result.waves}")


def _run_one(design, args, build_dir):
    from .testbench.runner import run_regression

    return run_regression(design, build_dir, tier=args.tier, random_vectors=args.vectors,
                          seed=args.seed, waves=args.waves or None)


def build_root(build_dir):
    """``(root folder, whether it is a scratch folder of this run)`` for a regression."""
    if build_dir:
        return Path(build_dir), False
    return Path(tempfile.mkdtemp(prefix="tn-hw-regress-")), True


def finish_build_root(root, scratch, results):
    """Remove a scratch build folder after a run that passed; after a failure keep the folders
    of the failed designs (their logs are printed), and with waves keep everything."""
    if not scratch or any(r.waves for r in results):
        return
    kept = [r for r in results if not r.passed]
    if not kept:
        shutil.rmtree(root, ignore_errors=True)
        return
    for result in results:
        if result.passed and result.build_dir is not None:
            shutil.rmtree(result.build_dir, ignore_errors=True)


def cmd_regress(args) -> int:
    from .conv_cli import cmd_regress_conv, conv_regress_requested
    from .testbench.matrix import regression_matrix
    from .testbench.runner import check_simulator

    if conv_regress_requested(args):
        return cmd_regress_conv(args)
    check_simulator("icarus")
    if args.vectors is not None and args.vectors < 0:
        raise TnHwError(f"--vectors must be 0 or more, not {args.vectors}")
    if args.matrix:
        jobs = [(c.id, c.generate) for c in regression_matrix()]
    elif args.design:
        jobs = [(None, lambda: _design_from_folder(args.design))]
    else:
        from .generate import generate

        jobs = [(None, lambda: generate(_spec_from_args(args), stream=args.stream))]
    root, scratch = build_root(args.build_dir)
    results = []
    try:
        for label, make in jobs:
            design = make()
            result = _run_one(design, args, root / (label or design.top))
            print_result(result, label)
            results.append(result)
    except BaseException:
        if scratch:
            shutil.rmtree(root, ignore_errors=True)
        raise
    finish_build_root(root, scratch, results)
    failed = [r for r in results if not r.passed]
    total = sum(r.vectors for r in results)
    print(f"{len(results) - len(failed)}/{len(results)} designs passed, {total} vectors, "
          f"{sum(r.mismatches for r in results)} mismatches")
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
    return 1 if failed else 0


def cmd_demo(args) -> int:
    from .generate import generate, write_design
    from .testbench.runner import check_simulator, run_regression

    check_simulator("icarus")
    out = Path(args.output)
    print("tn-hw demo: a 3x3 kernel of 8-bit threshold neurons against its MAC baseline\n")
    summary = {"designs": {}}
    for neuron in ("threshold", "mac"):
        spec = KernelSpec(neuron=neuron, kernel=(3, 3), width=8)
        design = generate(spec)
        write_design(design, out / neuron)
        print(f"[generate] {design.top}: 9 inputs, output {spec.output_width} bits "
              f"-> {out / neuron / design.verilog_name}")
        started = time.perf_counter()
        result = run_regression(design, out / neuron / "sim", random_vectors=args.vectors)
        seconds = time.perf_counter() - started
        print(f"[regress]  {'PASS' if result.passed else 'FAIL'}: {result.vectors} vectors, "
              f"{result.mismatches} mismatches against the PyTorch golden model "
              f"({seconds:.1f} s)")
        summary["designs"][neuron] = {"top": design.top, "regression": result.as_dict()}
    if not args.no_synth:
        from .synth.flow import synthesize

        print("[synth]    Yosys generic flow (MAC with Booth multipliers); the first run "
              "compiles Yosys, ~1 min")
        area = {}
        for neuron in ("threshold", "mac"):
            design = generate(KernelSpec(neuron=neuron, kernel=(3, 3), width=8))
            area[neuron] = synthesize(design.verilog, design.top, "generic")
            summary["designs"][neuron]["area"] = area[neuron]
        _print_area(area)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    ok = all(d["regression"]["passed"] for d in summary["designs"].values())
    print(f"\nsummary: {out / 'summary.json'}; regression {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def _print_area(area):
    print(f"           {'metric':<14}{'threshold':>12}{'MAC':>12}{'MAC/threshold':>15}")
    for key in ("gates", "transistors"):
        t, m = area["threshold"]["metrics"][key], area["mac"]["metrics"][key]
        print(f"           {key:<14}{t:>12}{m:>12}{m / t:>14.2f}x")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except TnHwError as error:
        print(f"tn-hw: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tn-hw: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
