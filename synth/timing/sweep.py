"""``tn-hw timing``: Fmax, utilization, latency and throughput of threshold vs MAC kernels.

:func:`run_timing` places and routes every (target, kernel, width, stages, neuron) point with
:func:`~tn_hw.synth.pnr.place_and_route` over several placement seeds, keeps the median Fmax
and its spread, and pairs threshold with MAC rows into ratios; :func:`render_table` and
:func:`write_csv` turn the data into text. :func:`register` adds the subcommand.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shlex
import sys
import time
from pathlib import Path

from ..spec import NEURONS, KernelSpec, parse_kernel
from .flow import short_version
from .pnr import (
    DEFAULT_FREQ,
    DEFAULT_TIMEOUT,
    PNR_TARGETS,
    PnrError,
    place_and_route,
    resolve_targets,
    summarize_seeds,
)

__all__ = ["register", "cmd_timing", "run_timing", "render_table", "write_csv", "parse_stages"]

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

examples:
  tn-hw timing --kernel 3x3 --width 8
  tn-hw timing --kernel 3x3,5x5 --width 4,8 --stages 0,1,2 --seeds 3 --json t.json --csv t.csv
  tn-hw timing --kernel 7x7 --width 16 --target ecp5,ecp5-nodsp --stages 0,max
  tn-hw timing --kernel 7x7 --width 16 --target ice40 --skip-unfit

--stages takes integers and `max` (every boundary of the kernel's datapath registered).
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


def _kernels(text):
    kernels = [parse_kernel(k) for k in text.split(",") if k.strip()]
    if not kernels:
        raise PnrError("--kernel needs at least one kernel shape, e.g. 3x3")
    return kernels


def _widths(text):
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise PnrError(f"--width must be integers separated by commas, not {text!r}") from None
    if not widths:
        raise PnrError("--width needs at least one width")
    return widths


def _specs(neurons, kernels, widths, stages):
    """Every design of the sweep, validated before any tool runs."""
    specs = []
    for kernel in kernels:
        for width in widths:
            for stage in stages:
                for neuron in neurons:
                    if stage == "max":
                        stage = KernelSpec(neuron=neuron, kernel=kernel, width=width).max_stages
                    spec = KernelSpec(neuron=neuron, kernel=kernel, width=width, stages=stage)
                    if spec not in specs:
                        specs.append(spec)
    return specs


def run_timing(*, neurons, kernels, widths, stages, targets, seeds, freq=DEFAULT_FREQ,
               cache_dir=None, cache=True, timeout=DEFAULT_TIMEOUT, skip_unfit=False,
               progress=None) -> dict:
    """Place and route every design on every target; return rows, ratios and the raw results.

    Parameters
    ----------
    neurons, kernels, widths, stages : lists
        The sweep; ``stages`` may hold ``"max"``.
    targets : list of PnrTarget
    seeds : list of int
        nextpnr placement seeds; the median Fmax over them is reported.
    skip_unfit : bool
        Record a design too big for a device as a row with ``fits: false`` instead of raising.
    progress : file, optional
        A line per finished design.

    Returns
    -------
    dict
        ``rows`` (one per design and target), ``ratios`` (threshold vs MAC pairs), ``results``
        (the full :func:`~tn_hw.synth.pnr.place_and_route` dicts), ``meta``.

    Raises
    ------
    PnrError, SpecError
    """
    from ..generate import generate

    specs = _specs(neurons, kernels, widths, stages)
    started = time.monotonic()
    rows, results = [], []
    for target in targets:
        for spec in specs:
            base = {"target": target.name, "device": target.device, "neuron": spec.neuron,
                    "kernel": spec.kernel_text, "width": spec.width, "stages": spec.stages}
            one = time.monotonic()
            try:
                result = place_and_route(generate(spec), target, seeds=seeds, freq=freq,
                                         cache_dir=cache_dir, cache=cache, timeout=timeout)
            except PnrError as error:
                if skip_unfit and "does not fit" in str(error):
                    rows.append(base | {"fits": False, "note": str(error)})
                    if progress:
                        print(f"[timing] {target.name} {spec.top_name}: does not fit",
                              file=progress, flush=True)
                    continue
                raise
            summary = summarize_seeds(result)
            rows.append(base | {
                "fits": True,
                "top": result["top"],
                "fmax_mhz": summary["fmax_mhz"],
                "fmax_min": summary["fmax_min"],
                "fmax_max": summary["fmax_max"],
                "fmax_seeds": [round(s["fmax_mhz"], 2) for s in result["seeds"]],
                "lut4": result["synth"]["lut4"],
                "carry": result["synth"]["carry"],
                "ffs": result["synth"]["ffs"],
                "dsp": result["synth"]["dsp"],
                "logic_cells": summary["logic_cells"],
                "latency_cycles": result["latency_cycles"],
                "latency_ns": summary["latency_ns"],
                "throughput": summary["throughput"],
                "cached": all(s["cached"] for s in result["seeds"]),
            })
            results.append(result)
            if progress:
                cached = " (cached)" if rows[-1]["cached"] else ""
                print(f"[timing] {target.name} {spec.top_name}: {summary['fmax_mhz']} MHz, "
                      f"{summary['logic_cells']} LC, {time.monotonic() - one:.1f} s{cached}",
                      file=progress, flush=True)
    tools = {}
    for result in results:
        tools.setdefault(result["target"], result["tools"])
    return {
        "meta": {"seeds": list(seeds), "freq_mhz": freq, "tools": tools,
                 "devices": {t.name: t.device for t in targets},
                 "wall_seconds": round(time.monotonic() - started, 1)},
        "rows": rows,
        "ratios": _ratios(rows),
        "results": results,
    }


def _ratios(rows) -> list:
    by_key = {(r["target"], r["kernel"], r["width"], r["stages"], r["neuron"]): r
              for r in rows if r["fits"]}
    ratios = []
    for (target, kernel, width, stages, neuron), thr in by_key.items():
        mac = by_key.get((target, kernel, width, stages, "mac"))
        if neuron != "threshold" or mac is None:
            continue
        ratios.append({
            "target": target, "kernel": kernel, "width": width, "stages": stages,
            "fmax_threshold_over_mac": round(thr["fmax_mhz"] / mac["fmax_mhz"], 3),
            "lc_mac_over_threshold": round(mac["logic_cells"] / thr["logic_cells"], 3),
            "lut4_mac_over_threshold": round(mac["lut4"] / thr["lut4"], 3),
            "latency_ns_mac_over_threshold": round(mac["latency_ns"] / thr["latency_ns"], 3),
        })
    return ratios


def render_table(sweep: dict) -> str:
    """The rows and the ratios as fixed-width text."""
    out = io.StringIO()
    head = (f"{'target':<11}{'neuron':<10}{'kernel':>6}{'W':>4}{'st':>3}"
            f"{'Fmax MHz':>10}{'(min-max)':>16}{'LUT4':>7}{'carry':>6}{'FF':>6}{'DSP':>5}"
            f"{'LC':>7}{'cyc':>5}{'lat ns':>8}{'Mout/s':>8}")
    print(head, file=out)
    for r in sweep["rows"]:
        lead = (f"{r['target']:<11}{r['neuron']:<10}{r['kernel']:>6}{r['width']:>4}"
                f"{r['stages']:>3}")
        if not r["fits"]:
            print(f"{lead}  does not fit the {r['device']}", file=out)
            continue
        spread = f"({r['fmax_min']:.1f}-{r['fmax_max']:.1f})"
        print(f"{lead}{r['fmax_mhz']:>10.1f}{spread:>16}{r['lut4']:>7}{r['carry']:>6}"
              f"{r['ffs']:>6}{r['dsp']:>5}{r['logic_cells']:>7}{r['latency_cycles']:>5}"
              f"{r['latency_ns']:>8.1f}{r['throughput'] / 1e6:>8.1f}", file=out)
    if sweep["ratios"]:
        print("\nthreshold vs MAC (same target, kernel, width, stages)", file=out)
        print(f"{'target':<11}{'kernel':>6}{'W':>4}{'st':>3}{'Fmax thr/MAC':>14}"
              f"{'LC MAC/thr':>12}{'LUT4 MAC/thr':>14}{'lat ns MAC/thr':>16}", file=out)
        for q in sweep["ratios"]:
            print(f"{q['target']:<11}{q['kernel']:>6}{q['width']:>4}{q['stages']:>3}"
                  f"{q['fmax_threshold_over_mac']:>14.2f}{q['lc_mac_over_threshold']:>12.2f}"
                  f"{q['lut4_mac_over_threshold']:>14.2f}"
                  f"{q['latency_ns_mac_over_threshold']:>16.2f}", file=out)
    meta = sweep["meta"]
    seeds = ",".join(map(str, meta["seeds"]))
    print(f"\nnextpnr seeds {seeds} (median reported), target clock {meta['freq_mhz']:g} MHz",
          file=out)
    for target, tools in meta["tools"].items():
        print(f"{target}: {short_version(tools['yosys'])}; {tools['nextpnr']}", file=out)
    return out.getvalue()


_CSV_FIELDS = ("target", "device", "neuron", "kernel", "width", "stages", "fits", "fmax_mhz",
               "fmax_min", "fmax_max", "lut4", "carry", "ffs", "dsp", "logic_cells",
               "latency_cycles", "latency_ns", "throughput")


def write_csv(sweep: dict) -> str:
    """One CSV line per row (``fits`` false rows have empty figures)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(sweep["rows"])
    return out.getvalue()


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
    argv = ["timing", "--kernel", args.kernel, "--width", args.width, "--neurons", args.neurons,
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
    neurons = [n.strip() for n in args.neurons.split(",") if n.strip()]
    unknown = [n for n in neurons if n not in NEURONS]
    if unknown or not neurons:
        raise PnrError(f"--neurons must list neurons from {', '.join(NEURONS)}, "
                       f"not {args.neurons!r}")
    if args.seeds < 1:
        raise PnrError(f"--seeds must be a positive integer, not {args.seeds}")
    if args.freq <= 0:
        raise PnrError(f"--freq must be positive, not {args.freq:g}")
    if args.timeout <= 0:
        raise PnrError(f"--timeout must be positive, not {args.timeout:g}")
    kernels, widths = _kernels(args.kernel), _widths(args.width)
    _specs(neurons, kernels, widths, args.stages)  # every parameter checked before any tool
    for path in (args.json, args.csv):
        if path and not Path(path).resolve().parent.is_dir():
            raise PnrError(f"cannot write {path!r}: its folder does not exist")
    sweep = run_timing(neurons=neurons, kernels=kernels, widths=widths, stages=args.stages,
                       targets=targets, seeds=list(range(1, args.seeds + 1)), freq=args.freq,
                       cache_dir=args.cache_dir, cache=not args.no_cache, timeout=args.timeout,
                       skip_unfit=args.skip_unfit, progress=None if args.quiet else sys.stderr)
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
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    timing.add_argument("--kernel", default="3x3", metavar="RxC[,RxC...]",
                        help="kernel shapes, comma-separated (default 3x3)")
    timing.add_argument("--width", default="8", metavar="W[,W...]",
                        help="input and threshold/weight widths, comma-separated (default 8)")
    timing.add_argument("--neurons", default="threshold,mac",
                        help="neuron families, comma-separated (default threshold,mac)")
    timing.add_argument("--stages", type=parse_stages, default=[0], metavar="N[,N...]",
                        help="pipeline register stages in the kernel, integers or max "
                             "(default 0)")
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
    timing.add_argument("--cache-dir", metavar="DIR",
                        help="result cache folder (default ~/.cache/tn-hw/synth or TN_HW_CACHE)")
    timing.add_argument("--no-cache", action="store_true", help="always run the tools")
    timing.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    timing.set_defaults(func=cmd_timing)
