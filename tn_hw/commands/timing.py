"""``tn-hw timing``: place and route threshold and MAC kernels, Fmax and utilization."""

from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path

from ..synth.timing.pnr import (
    DEFAULT_FREQ,
    DEFAULT_TIMEOUT,
    PNR_TARGETS,
    PnrError,
    resolve_targets,
)
from ..synth.timing.sweep import render_table, run_timing, sweep_specs, write_csv
from .args import (
    add_cache_options,
    add_executor_options,
    add_quiet_option,
    add_sweep_options,
    executor_from_args,
    formatter,
    progress_for,
    sweep_from_args,
)

__all__ = ["cmd_timing", "parse_stages", "register", "timing_archs"]

_EPILOG = f"""\
What is measured: each kernel is wrapped in a clocked top module whose input register (a shift
register fed one bit per cycle) drives every kernel input and whose output register takes the
kernel output, so the clock's register-to-register Fmax is the kernel's own path (with
--stages N the kernel's N pipeline registers cut it). Yosys synthesizes it (MAC: Booth
multipliers in LUTs, or DSP blocks on the ecp5 target), nextpnr places and routes it once per
seed, and every figure is read from nextpnr's --report JSON and Yosys's stat JSON.

targets:
  ice40       iCE40 HX8K (CT256), 7680 logic cells, LUT-only (SB_LUT4 + SB_CARRY)
  ecp5        ECP5 LFE5U-85F (CABGA381), multipliers in MULT18X18D blocks allowed
  ecp5-nodsp  the same part, synth_ecp5 -nodsp: Booth multipliers in LUTs
  all         every target

columns: Fmax is the median over the seeds (min-max beside it); LUT4, carry, FF, DSP come
from the Yosys netlist nextpnr placed, LC from nextpnr (iCE40 logic cells, ECP5 TRELLIS_COMB);
latency counts the cycles from input register to output register (stages + 1) and their time
at the median Fmax; throughput is one kernel output per cycle at the median Fmax.
Ratios pair threshold and MAC at the same target, kernel, width and stages: Fmax
threshold/MAC (above 1: threshold faster), LC and LUT4 MAC/threshold (above 1: MAC larger).
With --archs every threshold architecture is paired with every MAC one, and a best-vs-best
table pairs the fastest of each neuron and the smallest (fewest LC) of each. On ecp5 only the
MAC `tree` (a `*` per input) can use MULT18X18D blocks; the `csa` and `merged` MACs write their
Booth partial products out as gates, so they are LUT designs on every target.

examples:
  tn-hw timing --kernels 3x3 --widths 8
  tn-hw timing --kernels 3x3,5x5 --widths 4,8 --stages 0,1,2 --seeds 3 --json t.json --csv t.csv
  tn-hw timing --kernels 7x7 --widths 16 --target ecp5,ecp5-nodsp --stages 0,max
  tn-hw timing --kernels 7x7 --widths 16 --target ice40 --skip-unfit
  tn-hw timing --kernels 3x3 --widths 8 --archs all --stages 0,1,2 --target ice40,ecp5

--stages takes integers and `max` (every boundary of the kernel's datapath registered).
--kernels, --widths and --neurons are the sweep flags of compare and energy too (--kernel and
--width still work here). Progress goes to stderr: a bar with ETA on a terminal, one line per
routed design otherwise, nothing with --quiet.
Results are cached per seed in ~/.cache/tn-hw/synth/pnr (override with --cache-dir or
TN_HW_CACHE); a repeated run only reads JSON. Default target clock {DEFAULT_FREQ:g} MHz: it
steers the placer; the Fmax reported is what the routed design achieves.
"""


def parse_stages(text: str) -> list:
    """``"0,1,max"`` -> ``[0, 1, "max"]``.

    Raises
    ------
    argparse.ArgumentTypeError
        On anything but non-negative integers and ``max``.
    """
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "max":
            values.append("max")
        elif part.isdigit():
            values.append(int(part))
        else:
            raise argparse.ArgumentTypeError(
                f"stages must be integers from 0 or 'max', separated by commas, not {text!r}")
    if not values:
        raise argparse.ArgumentTypeError("expected at least one stage count")
    return values


def timing_archs(text, neurons) -> dict | None:
    """``--archs`` of ``tn-hw timing``: ``None`` (not given) routes each neuron's default
    architecture, ``all`` every architecture of every neuron, anything else reads as
    ``tn-hw explore --archs`` (:func:`tn_hw.commands.explore.parse_archs`)."""
    from .. import neurons as registry
    from .explore import parse_archs

    if text is None:
        return None
    if text.strip() == "all":
        return {n: list(registry.get(n).architectures) for n in neurons}
    return parse_archs(text, neurons)


def _write_all(files: dict) -> None:
    """Write ``{path: text}`` all or nothing: every file is staged beside its target first."""
    staged = []
    try:
        for path, text in files.items():
            path = Path(path)
            stage = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            stage.write_text(text)
            staged.append((stage, path))
        for stage, path in staged:
            os.replace(stage, path)
    except OSError as error:
        for stage, _ in staged:
            stage.unlink(missing_ok=True)
        raise PnrError(f"cannot write {error.filename!r}: {error.strerror or error}") from None


def _command(args) -> str:
    """The command that reproduces this run (defaults left out)."""
    argv = ["timing", "--kernels", args.kernels, "--widths", args.widths,
            "--neurons", args.neurons, *(["--archs", args.archs] if args.archs else []),
            "--stages", ",".join(map(str, args.stages)), "--target", args.target,
            "--seeds", str(args.seeds)]
    if args.freq != DEFAULT_FREQ:
        argv += ["--freq", f"{args.freq:g}"]
    if args.skip_unfit:
        argv.append("--skip-unfit")
    return "tn-hw " + " ".join(shlex.quote(a) for a in argv)


def cmd_timing(args) -> int:
    """Handler of ``tn-hw timing``."""
    targets = resolve_targets(args.target)
    kernels, widths, neurons = sweep_from_args(args)
    if args.seeds < 1:
        raise PnrError(f"--seeds must be a positive integer, not {args.seeds}")
    if args.freq <= 0:
        raise PnrError(f"--freq must be positive, not {args.freq:g}")
    if args.timeout <= 0:
        raise PnrError(f"--timeout must be positive, not {args.timeout:g}")
    archs = timing_archs(args.archs, neurons)
    sweep_specs(neurons, kernels, widths, args.stages, archs)  # every parameter checked first
    for path in (args.json, args.csv):
        if path and not Path(path).resolve().parent.is_dir():
            raise PnrError(f"cannot write {path!r}: its folder does not exist")
    with executor_from_args(args) as executor:
        sweep = run_timing(neurons=neurons, kernels=kernels, widths=widths,
                           stages=args.stages, targets=targets,
                           seeds=list(range(1, args.seeds + 1)), freq=args.freq,
                           cache_dir=args.cache_dir, cache=not args.no_cache,
                           timeout=args.timeout, skip_unfit=args.skip_unfit,
                           progress=progress_for(args, "timing"), executor=executor,
                           archs=archs)
    sweep["meta"]["command"] = _command(args)
    print(render_table(sweep), end="")
    files = {}
    if args.json:
        files[args.json] = json.dumps(sweep, indent=1) + "\n"
    if args.csv:
        files[args.csv] = write_csv(sweep)
    _write_all(files)
    return 0


def register(subparsers) -> None:
    """Add the ``timing`` subcommand to an argparse subparsers object."""
    timing = subparsers.add_parser(
        "timing", help="place and route kernels: Fmax, utilization, latency, throughput",
        description="Place and route threshold and MAC kernels with open tools (Yosys, "
                    "nextpnr) and report Fmax, utilization, latency and throughput.",
        epilog=_EPILOG, formatter_class=formatter)
    add_sweep_options(timing, kernels="3x3", widths="8", aliases=True)
    timing.add_argument("--stages", type=parse_stages, default=[0], metavar="N[,N...]",
                        help="pipeline register stages in the kernel, integers or max "
                             "(default 0)")
    timing.add_argument("--archs", metavar="NAME[,NAME...]",
                        help="micro-architectures to route, comma-separated, as in tn-hw "
                             "explore (NAME, or NEURON:NAME for one neuron's), or all; default "
                             "each neuron's default (tree)")
    timing.add_argument("--target", default="ice40",
                        help=f"comma-separated: {', '.join(PNR_TARGETS)} or all (default ice40)")
    timing.add_argument("--seeds", type=int, default=3, metavar="N",
                        help="nextpnr placement seeds 1..N; the median Fmax is reported "
                             "(default 3)")
    timing.add_argument("--freq", type=float, default=DEFAULT_FREQ, metavar="MHZ",
                        help=f"nextpnr target clock (default {DEFAULT_FREQ:g})")
    timing.add_argument("--json", metavar="FILE", help="write rows, ratios and raw results")
    timing.add_argument("--csv", metavar="FILE", help="write the rows as CSV")
    timing.add_argument("--skip-unfit", action="store_true",
                        help="record designs too big for a device as rows instead of stopping")
    timing.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds per Yosys or nextpnr run (default {DEFAULT_TIMEOUT})")
    add_cache_options(timing)
    add_executor_options(timing, jobs_help="designs placed and routed at once (default 1)")
    add_quiet_option(timing)
    timing.set_defaults(func=cmd_timing)
