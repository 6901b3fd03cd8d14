"""``tn-hw regress`` (one design, a folder or the whole matrix) and ``tn-hw demo``."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from ..errors import TnHwError
from ..progress import Progress
from ..spec import KernelSpec
from .args import (
    add_design_options,
    add_executor_options,
    add_quiet_option,
    add_simulator_option,
    add_stream_option,
    executor_from_args,
    formatter,
    simulator_from_args,
    spec_from_args,
)
from .conv import add_conv_regress_options, cmd_regress_conv, conv_regress_requested
from .report import build_root, finish_build_root, print_result

__all__ = ["cmd_demo", "cmd_regress", "design_from_folder", "register"]

EPILOG = """\
examples:
  tn-hw regress out/k3                       # the design in out/k3 (from tn-hw generate)
  tn-hw regress --kernel 5x5 --width 16      # generate in a temporary folder and check
  tn-hw regress out/k3 --tier full --seed 7  # 10k random vectors, another seed
  tn-hw regress --matrix                     # the whole regression matrix (all configs)
  tn-hw regress --stages 3 --stream          # clocked: gaps, back-pressure, mid-stream reset
  tn-hw regress out/conv                     # a conv layer (tn-hw generate --image ...)
  tn-hw regress --simulator verilator        # compiled simulation (cached per design)

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



def register(subparsers) -> None:
    """Add ``regress`` and ``demo``."""
    reg = subparsers.add_parser("regress", help="check emitted Verilog against the golden model",
                                description="Run the cocotb regression (Icarus Verilog or "
                                            "Verilator) of a "
                                            "design against the PyTorch golden model, bit for "
                                            "bit.",
                                epilog=EPILOG, formatter_class=formatter)
    reg.add_argument("design", nargs="?", metavar="DIR",
                     help="folder written by tn-hw generate; without it, the design options "
                          "below are generated into a temporary folder")
    add_design_options(reg)
    add_stream_option(reg)
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
    add_simulator_option(reg)
    add_quiet_option(reg)
    add_executor_options(reg, jobs_help="--matrix: designs simulated at once, in processes "
                         "(default 1)")
    add_conv_regress_options(reg)
    reg.set_defaults(func=cmd_regress)

    demo = subparsers.add_parser("demo", help="generate, verify and compare a 3x3 8-bit kernel",
                                 description="The main job in one command: generate a 3x3 8-bit "
                                             "threshold kernel and its MAC baseline, run both "
                                             "regressions, synthesize both and print a summary.",
                                 formatter_class=formatter)
    demo.add_argument("-o", "--output", default="out/demo", metavar="DIR",
                      help="folder for the generated designs and results; default out/demo")
    demo.add_argument("--vectors", type=int, default=10_000, metavar="N",
                      help="random vectors per design; default 10000")
    demo.add_argument("--no-synth", action="store_true", help="skip the area comparison")
    add_simulator_option(demo)
    demo.set_defaults(func=cmd_demo)


def design_from_folder(folder):
    """The :class:`~tn_hw.generate.Design` that ``tn-hw generate`` wrote into ``folder``.

    Raises
    ------
    TnHwError
        If the manifest is missing or malformed, or the Verilog cannot be read.
    """
    from ..manifest import Design, load_manifest

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


def _run_one(design, args, build_dir):
    from ..testbench.runner import run_regression

    return run_regression(design, build_dir, tier=args.tier, random_vectors=args.vectors,
                          seed=args.seed, waves=args.waves or None, simulator=args.simulator)


def _run_matrix(args, root) -> list:
    """The whole matrix through the executor of ``-j`` / ``--scheduler``; each result line is
    printed in matrix order as soon as the designs before it have finished."""
    from ..testbench.matrix import regression_matrix, run_matrix

    configs = regression_matrix()
    finished, printed = {}, [0]
    with executor_from_args(args) as executor, \
            Progress("regress", len(configs), quiet=args.quiet) as progress:
        def done(index, result):
            finished[index] = result
            progress.step(f"{configs[index].id}: {result.mismatches} mismatches")
            while printed[0] in finished:
                print_result(finished[printed[0]], configs[printed[0]].id)
                printed[0] += 1

        return run_matrix(configs, executor=executor, on_result=done,
                          build_root=root, tier=args.tier, random_vectors=args.vectors,
                          seed=args.seed, waves=args.waves or None, simulator=args.simulator)


def cmd_regress(args) -> int:
    """Handler of ``tn-hw regress``."""

    if conv_regress_requested(args):
        return cmd_regress_conv(args)
    args.simulator = simulator_from_args(args)
    if args.vectors is not None and args.vectors < 0:
        raise TnHwError(f"--vectors must be 0 or more, not {args.vectors}")
    root, scratch = build_root(args.build_dir)
    try:
        if args.matrix:
            results = _run_matrix(args, root)
        else:
            if args.design:
                design = design_from_folder(args.design)
            else:
                from ..generate import generate

                design = generate(spec_from_args(args), stream=args.stream)
            results = [_run_one(design, args, root / design.top)]
            print_result(results[0])
    except BaseException:
        if scratch:
            shutil.rmtree(root, ignore_errors=True)
        raise
    finish_build_root(root, scratch, results)
    failed = [r for r in results if not r.passed]
    total = sum(r.vectors for r in results)
    run_seconds = sum(r.run_seconds for r in results)
    rate = (f", {total / run_seconds:,.0f} vectors/s with simulator start-up"
            if run_seconds > 0 else "")
    print(f"{len(results) - len(failed)}/{len(results)} designs passed, {total} vectors, "
          f"{sum(r.mismatches for r in results)} mismatches ({args.simulator}{rate})")
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
    return 1 if failed else 0


def cmd_demo(args) -> int:
    """Handler of ``tn-hw demo``."""
    from ..generate import generate, write_design
    from ..testbench.runner import run_regression

    simulator = simulator_from_args(args)
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
        result = run_regression(design, out / neuron / "sim", random_vectors=args.vectors,
                                simulator=simulator)
        seconds = time.perf_counter() - started
        print(f"[regress]  {'PASS' if result.passed else 'FAIL'}: {result.vectors} vectors, "
              f"{result.mismatches} mismatches against the PyTorch golden model "
              f"({simulator}, {seconds:.1f} s)")
        summary["designs"][neuron] = {"top": design.top, "regression": result.as_dict()}
    if not args.no_synth:
        from ..synth.area.flow import synthesize

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
