"""``tn-hw explore``: micro-architecture fronts in sky130 at a series of clock targets."""

from __future__ import annotations

import shlex

from ..errors import TnHwError
from .args import (
    add_cache_options,
    add_executor_options,
    add_quiet_option,
    add_sweep_options,
    executor_from_args,
    formatter,
    progress_for,
    sweep_from_args,
    synth_options,
)

__all__ = ["cmd_explore", "parse_archs", "register"]

_EPILOG = """\
For every neuron, every micro-architecture it has (tn_hw.neurons.get(NAME).architectures),
every kernel and width, and every clock target, the smallest sky130 design that runs at the
clock with registers around it:

  stages   the fewest pipeline stages (0 .. max) whose fastest mapping meets the clock; with
           --cuts sky130 (default) the cut placement from per-operation delays measured with the
           liberty and the generator's unit-delay placement are both timed, the faster kept
  mapping  the smallest netlist that meets: ABC map -D 1 (fastest), the area recipe (amap), or
           map -D <clock - register overhead> (ABC trades the slack for area)
  measured area um^2 (stat -liberty), minimum clock period with registered ports (sta.py:
           inputs at the flop's clk->q, outputs with its setup), energy per inference (zero
           delay, 1000 random vectors, pipeline registers and their clock counted), leakage

Each row reports the smallest design meeting its clock among every design synthesized for the
architecture, whichever clock's search ran it. A clock no design meets leaves a row with
met=false and the fastest design found.

--point-timeout S stops any synthesis (its Yosys run) that takes longer than S seconds: the
point gets no figures, is recorded as not finished (explore.json "timed_out" with timeout_s,
a timed_out column in explore.csv, "not finished in S s" in explore.md), counts as meeting no
clock (the search goes on to more stages), runs once per sweep and is not cached, so a later
run with a larger limit, or none, synthesizes it. Without it a synthesis runs to the flow's own
limit (1800 s), whose expiry fails the sweep. DIR gets
explore.json (rows, every synthesized point, Pareto fronts, iso-clock ratios), explore.csv,
explore.md and explore_<kernel>_w<width>.png (area vs delay with each neuron's Pareto front,
energy vs delay). Runs in parallel (-j, --scheduler) and from the synthesis cache.

The FPGA side (iCE40, ECP5: place and route, Fmax, LUT/carry/DSP per architecture and stage
count) is tn-hw timing --archs (tn-hw timing --help).

examples:
  tn-hw explore --kernels 3x3 --widths 8 -o out/explore
  tn-hw explore --kernels 3x3,5x5 --widths 4,8,16 --clocks 20,10,5,4,3 -j 2 -o out/fronts
  tn-hw explore --kernels 3x3 --widths 8 --clocks 50MHz,200MHz,300MHz -o out/mhz
  tn-hw explore --kernels 5x5 --widths 16 --archs threshold:tree,threshold:csa,mac:merged -o out/w16
  tn-hw explore --kernels 7x7 --widths 8 --archs threshold:cmp-csa --point-timeout 600 -o out/cmp
"""


def parse_archs(text, neurons) -> dict | None:
    """``--archs`` text -> ``{neuron: [arch, ...]}`` for every neuron of the sweep.

    Each comma-separated item is ``NAME`` (every neuron of ``neurons`` that has it) or
    ``NEURON:NAME`` (that neuron's only); a neuron no item names keeps its default
    architecture. ``None`` (the option not given) gives ``None``: every architecture.

    Raises
    ------
    TnHwError
        An item that names no architecture of the sweep's neurons, or an empty list.
    """
    if text is None:
        return None
    from .. import neurons as registry

    wanted = [a.strip() for a in text.split(",") if a.strip()]
    archs = {n: [] for n in neurons}
    unknown = []
    for item in wanted:
        neuron, _, name = item.rpartition(":")
        owners = [neuron] if neuron else neurons
        hits = [n for n in owners if n in archs and name in registry.get(n).architectures]
        for n in hits:
            if name not in archs[n]:
                archs[n].append(name)
        if not hits:
            unknown.append(item)
    if not wanted or unknown:
        raise TnHwError(f"--archs: {', '.join(unknown) or repr(text)} names no "
                        f"architecture of {', '.join(neurons)}")
    return {n: names or [registry.DEFAULT_ARCH] for n, names in archs.items()}


def register(subparsers) -> None:
    """Add ``explore``."""
    from ..synth.explore import CLOCKS_NS, CUT_MODELS

    explore = subparsers.add_parser(
        "explore", help="sky130 fronts: every architecture at a series of clock targets",
        description="Synthesize every micro-architecture of each neuron onto sky130 at a "
                    "series of clock targets (timing-driven mapping, pipelining where needed) "
                    "and write the area/energy vs delay fronts and iso-clock ratios.",
        epilog=_EPILOG, formatter_class=formatter)
    add_sweep_options(explore, kernels="3x3", widths="8")
    explore.add_argument("--clocks", default=",".join(f"{c:g}" for c in CLOCKS_NS),
                         metavar="T[,T...]",
                         help="clock targets, comma-separated: periods in ns (20 or 20ns) or "
                              "frequencies (50MHz); default "
                              f"{','.join(f'{c:g}' for c in CLOCKS_NS)} ns (20 ns = the "
                              "paper's 50 MHz)")
    explore.add_argument("--archs", metavar="NAME[,NAME...]",
                         help="micro-architectures to sweep, comma-separated; each neuron takes "
                              "the names it has (tn-hw generate --help lists them), NEURON:NAME "
                              "only that neuron's (e.g. threshold:csa,mac:merged); default "
                              "every architecture of every neuron")
    explore.add_argument("--cuts", choices=CUT_MODELS, default="sky130",
                         help="pipeline cut placement: sky130 (liberty-measured per-operation "
                              "delays and the unit placement, the faster kept; default) or unit "
                              "(the generator's unit-delay model)")
    explore.add_argument("--point-timeout", metavar="SECONDS",
                         help="stop a synthesis that runs longer than SECONDS (a positive "
                              "number): recorded as not finished, meets no clock, not cached; "
                              "default no limit of the sweep's own")
    add_executor_options(explore, jobs_help="parallel syntheses (default 1)")
    explore.add_argument("-o", "--output", required=True, metavar="DIR",
                         help="folder for explore.json, explore.csv, explore.md and the PNGs")
    add_quiet_option(explore)
    add_cache_options(explore)
    explore.set_defaults(func=cmd_explore)


def cmd_explore(args) -> int:
    """Handler of ``tn-hw explore``."""
    from ..synth.explore import parse_clocks, parse_point_timeout, run_explore, write_outputs

    kernels, widths, neurons = sweep_from_args(args)
    clocks = parse_clocks(args.clocks)
    point_timeout = parse_point_timeout(args.point_timeout)
    if args.jobs < 1:
        raise TnHwError(f"-j must be a positive integer, not {args.jobs}")
    archs = parse_archs(args.archs, neurons)
    with executor_from_args(args) as executor:
        sweep = run_explore(neurons=neurons, kernels=kernels, widths=widths, clocks=clocks,
                            archs=archs, cut_model=args.cuts, jobs=args.jobs, executor=executor,
                            progress=progress_for(args, "explore"), point_timeout=point_timeout,
                            **synth_options(args))
    command = "tn-hw " + " ".join(shlex.quote(a) for a in getattr(args, "argv", None) or [
        "explore", "--kernels", args.kernels, "--widths", ",".join(map(str, widths)),
        "--neurons", ",".join(neurons), *(["--archs", args.archs] if args.archs else []),
        "--clocks", args.clocks, "--cuts", args.cuts,
        *(["--point-timeout", args.point_timeout] if point_timeout is not None else []),
        "-j", str(args.jobs), "-o", args.output])
    paths = write_outputs(sweep, args.output, command=command)
    meta = sweep["meta"]
    print(f"wrote {', '.join(str(p) for p in paths)}")
    unfinished = len(sweep.get("timed_out", []))
    print(f"{len(sweep['rows'])} searches, {meta['syntheses']} syntheses ({meta['cached']} from "
          f"cache) in {meta['wall_seconds']} s"
          + (f"; {unfinished} not finished in {point_timeout:g} s" if unfinished else ""))
    return 0
