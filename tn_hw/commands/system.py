"""``tn-hw system``: a whole network as a clocked accelerator, measured against its MAC twin."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from ..errors import TnHwError
from .args import add_cache_options, add_quiet_option, formatter

__all__ = ["cmd_system", "register"]

#: Names of the files ``-o DIR`` receives (all or nothing).
OUTPUTS = ("system.json", "system.csv", "system.md")

_EPILOG = """\
What is measured: the network as `tn-hw export --clocked` builds it (baked weights, a register
stage per layer, valid/ready streams, one inference per clock), and its MAC twin the same way.

targets:
  ice40   Yosys + nextpnr on an iCE40 HX8K (LUT only): Fmax (median over the seeds), LUT4,
          carry, FF, DSP, BRAM; the design sits between a shift-register input and an output
          register (harness_ffs of the FFs), so every path is register to register
  ecp5    the same on an ECP5 LFE5U-85F; a network with MAC layers also without DSP blocks
          (flow ecp5-nodsp: Booth multipliers in LUTs); --lut-map fast maps the LUTs with the
          classic ABC's `strash; if` instead of abc9 and routes with nextpnr's router2 (both
          networks alike; recorded in the JSON)
  sky130  the stream design mapped onto sky130_fd_sc_hd: area, flip-flops, register-to-register
          critical path, leakage; the register-free network's netlist simulated gate by gate on
          the task's real test inputs (ball3-test, digits-test; every logit checked against the
          golden model): energy per inference in pJ (zero delay; unit delay counts glitches),
          power at 50 MHz (one inference per clock plus leakage), and the generic-flow energy
          proxy on the same inputs; --cell-map fast maps with a short ABC script (synth
          -noabc, then strash; dc2; &nf: no SAT sweeping, no choices) instead of ABC's full
          liberty script (both networks alike; recorded in the JSON); --cell-map buffered
          (fast-buffered) adds ABC's buffering after the mapping (buf_1 trees, gate fanout <= 8):
          without it the stall enable's fanout to every stage register sets the Fmax;
          --cell-map buffered-all (fast-buffered-all) also puts buf_1 trees on the flip-flop
          outputs and input ports ABC leaves unbuffered (no net but the clock drives more
          than 8 inputs)

A flow whose device is too small is a row that does not fit; one nextpnr does not route (it
reports that it failed to route, or --route-timeout stops it) is a row that does not route
within that time. Both keep their reason, their pair's ratios are reported as unavailable, and
the command still exits 0; a bad input or any other failure of the tools exits 2.

Latency is the accelerator's cycles (one per layer) at 50 MHz (the paper's clock) and at Fmax;
inferences per second are one per initiation interval. The twin is found in the model's folder
(same task, input and layer shapes, the other neuron), or given with --twin FILE; --no-twin
measures the model alone. Ratios: twin over threshold for latency, area, LUTs, energy and power,
threshold over twin for Fmax; above 1 the threshold network is better.

examples:
  tn-hw system models/ball3-tn4.json --target ecp5 -o out/sys-ecp5
  tn-hw system models/ball3-tn4.json --target sky130 -o out/sys-sky130
  tn-hw system models/digits-tmlp.json --target ecp5 --lut-map fast
  tn-hw system models/digits-tmlp.json --target sky130 --cell-map fast --no-proxy
"""


def _command(args) -> str:
    argv = ["system", args.model, "--target", args.target, "--seeds", str(args.seeds)]
    if args.twin:
        argv += ["--twin", args.twin]
    if args.no_twin:
        argv.append("--no-twin")
    if args.samples is not None:
        argv += ["--samples", str(args.samples)]
    if args.no_proxy:
        argv.append("--no-proxy")
    if args.lut_map != "abc9":
        argv += ["--lut-map", args.lut_map]
    if args.cell_map != "default":
        argv += ["--cell-map", args.cell_map]
    if args.timeout != 1800:
        argv += ["--timeout", f"{args.timeout:g}"]
    if args.route_timeout is not None:
        argv += ["--route-timeout", f"{args.route_timeout:g}"]
    return "tn-hw " + " ".join(shlex.quote(a) for a in argv)


def _progress(line: str) -> None:
    print(f"system: {line}", file=sys.stderr, flush=True)


def cmd_system(args) -> int:
    """Handler of ``tn-hw system``."""
    from ..manifest import check_output_dir, write_files
    from ..synth.system import (
        CELL_MAPS,
        LUT_MAPS,
        SYSTEM_TARGETS,
        render_csv,
        render_table,
        run_system,
    )

    if args.target not in SYSTEM_TARGETS:
        raise TnHwError(f"unknown target {args.target!r}; choose from "
                        f"{', '.join(SYSTEM_TARGETS)}")
    if args.seeds < 1:
        raise TnHwError(f"--seeds must be a positive integer, not {args.seeds}")
    if args.lut_map not in LUT_MAPS:
        raise TnHwError(f"unknown --lut-map {args.lut_map!r}; choose from {', '.join(LUT_MAPS)}")
    if args.lut_map != "abc9" and args.target != "ecp5":
        hint = " (sky130: --cell-map)" if args.target == "sky130" else ""
        raise TnHwError(f"--lut-map {args.lut_map} is for --target ecp5 only{hint}")
    if args.cell_map not in CELL_MAPS:
        raise TnHwError(f"unknown --cell-map {args.cell_map!r}; choose from "
                        f"{', '.join(CELL_MAPS)}")
    if args.cell_map != "default" and args.target != "sky130":
        raise TnHwError(f"--cell-map {args.cell_map} is for --target sky130 only")
    if args.timeout <= 0:
        raise TnHwError(f"--timeout must be positive, not {args.timeout:g}")
    if args.route_timeout is not None and args.route_timeout <= 0:
        raise TnHwError(f"--route-timeout must be positive, not {args.route_timeout:g}")
    if args.route_timeout is not None and args.target == "sky130":
        raise TnHwError("--route-timeout is for --target ice40 or ecp5 only (sky130 runs no "
                        "nextpnr; --timeout bounds its Yosys runs)")
    if args.twin and args.no_twin:
        raise TnHwError("--twin and --no-twin exclude each other")
    for path in (args.model, args.twin):
        if path and not Path(path).is_file():
            raise TnHwError(f"model {path!r} is not a file")
    if args.output:
        check_output_dir(Path(args.output))
    twin = False if args.no_twin else (args.twin or True)
    progress = None if args.quiet else _progress
    result = run_system(args.model, args.target, twin=twin,
                        seeds=tuple(range(1, args.seeds + 1)), freq=args.freq,
                        samples=args.samples, proxy=not args.no_proxy,
                        cache_dir=args.cache_dir, cache=not args.no_cache,
                        timeout=args.timeout, progress=progress, lut_map=args.lut_map,
                        cell_map=args.cell_map, route_timeout=args.route_timeout)
    result["meta"]["command"] = _command(args)
    table = render_table(result)
    print(table, end="")
    if args.output:
        write_files(args.output, {
            "system.json": json.dumps(result, indent=1) + "\n",
            "system.csv": render_csv(result),
            "system.md": f"    {result['meta']['command']}\n\n{table}",
        })
    return 0


def register(subparsers) -> None:
    """Add the ``system`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "system", help="a network as a clocked accelerator vs its MAC twin: Fmax, latency, "
                       "LUTs, sky130 area, energy and power",
        description="Place and route (iCE40, ECP5) or map (sky130) a whole network as a clocked "
                    "streaming accelerator, with its MAC twin, and compare them.",
        epilog=_EPILOG, formatter_class=formatter)
    parser.add_argument("model", help="a tn-hw-net model file (e.g. models/ball3-tn4.json)")
    parser.add_argument("--target", default="ecp5", help="ice40, ecp5 or sky130 (default ecp5)")
    parser.add_argument("--twin", metavar="FILE", help="the twin model (default: found beside "
                                                       "MODEL)")
    parser.add_argument("--no-twin", action="store_true", help="measure MODEL alone")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="nextpnr placement seeds 1..N, median Fmax (default 1)")
    parser.add_argument("--freq", type=float, default=100.0, metavar="MHZ",
                        help="nextpnr target clock (default 100)")
    parser.add_argument("--samples", type=int, metavar="N",
                        help="sky130: first N test inputs of the energy simulation (default all)")
    parser.add_argument("--no-proxy", action="store_true",
                        help="sky130: skip the generic-flow energy proxy")
    parser.add_argument("--lut-map", default="abc9", metavar="RECIPE",
                        help="ecp5: abc9 (default, the flow of tn-hw timing) or fast (classic "
                             "ABC strash; if, router2: for networks abc9 does not finish)")
    parser.add_argument("--cell-map", default="default", metavar="RECIPE",
                        help="sky130: default (ABC's full liberty script), fast (synth "
                             "-noabc, ABC strash; dc2; &nf: for networks the default does not "
                             "finish), buffered or fast-buffered (the same, then ABC buffer: "
                             "buf_1 trees, gate fanout <= 8), buffered-all or "
                             "fast-buffered-all (also flip-flop outputs and input ports)")
    parser.add_argument("--timeout", type=float, default=1800, metavar="S",
                        help="seconds per Yosys or nextpnr run (default 1800)")
    parser.add_argument("--route-timeout", type=float, metavar="S",
                        help="ice40/ecp5: seconds per nextpnr run (default --timeout); a run it "
                             "stops is a row that does not route in that time, not a failure")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="write system.json, system.csv and system.md into DIR")
    add_cache_options(parser)
    add_quiet_option(parser)
    parser.set_defaults(func=cmd_system)
