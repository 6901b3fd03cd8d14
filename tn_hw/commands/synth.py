"""Area commands: ``tn-hw synth``, ``compare``, ``synth-net`` and ``ops``."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..spec import NEURONS, KernelSpec, parse_kernel
from ..synth.area.flow import TARGETS, expand_targets
from ..synth.tools import SynthError
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
from .report import check_output_file, write_json

__all__ = ["cmd_compare", "cmd_ops", "cmd_synth", "cmd_synth_net", "register"]

_TARGET_HELP = (
    "comma-separated synthesis targets: generic (gates + CMOS transistor estimate), "
    "xc7 (Xilinx 7-series, run twice: DSP48E1 allowed and -nodsp), xc7-nodsp, ice40 "
    "(Lattice iCE40), all (those four), or sky130 (sky130_fd_sc_hd standard cells: um^2, ns, "
    "pJ)"
)

_SYNTH_EPILOG = """\
targets:
  generic    synth -flatten -booth, abc -g with a fixed CMOS gate set, stat -tech cmos:
             gate count and transistor estimate (technology-independent)
  xc7        synth_xilinx -family xc7: LUTs, CARRY4, flops, DSP48E1 (the paper's PYNQ-Z2 is a
             Zynq-7020); on the command line also runs xc7-nodsp (multipliers in LUTs)
  ice40      synth_ice40: SB_LUT4, SB_CARRY
  sky130     synth -flatten -booth, abc -liberty onto the project's characterized
             sky130_fd_sc_hd liberty (tt, 25 C, 1.8 V): area in um^2 (total and by cell type),
             critical-path delay in ns (tn_hw.synth.sky130.sta over the liberty's NLDM
             tables), leakage, dynamic energy per inference in pJ (gate-level activity on 1000
             random vectors, each toggle weighted by the cell's internal energy plus C V^2/2 of
             its load) and power at the paper's 50 MHz. Without --neuron it runs both neurons.
  The MAC baseline uses Booth-encoded multipliers (synth -booth in generic, the booth pass
  before synth_xilinx -nodsp and synth_ice40) or, in xc7, DSP48E1 blocks.

examples:
  tn-hw synth --neuron threshold --kernel 3x3 --width 8
  tn-hw synth --neuron mac --kernel 5x5 --width 8 --target all --json mac5.json
  tn-hw synth --neuron threshold --kernel 3x3 --width 8 --weights constant --seed 1
  tn-hw synth --kernel 3x3 --width 8 --target sky130 --json k3.json

Results are cached by (Verilog, script, Yosys version) in ~/.cache/tn-hw/synth
(override with --cache-dir or TN_HW_CACHE). The Yosys scripts live in the installed
tn_hw/synth/area/*.ys and can be run by hand; --keep DIR leaves the filled-in script, the
design and the Yosys log there.
"""

_COMPARE_EPILOG = """\
Synthesizes threshold and MAC kernels with the same flow at the same widths, then writes into
DIR: area.csv and area.json (one row per run, one column per metric), area.md (tables with
MAC/threshold ratios) and area_<target>.png (area vs kernel size per width, and the ratio
with the paper's 3.89-4.33x band). Weight modes are never mixed in one ratio.

examples:
  tn-hw compare --kernels 3x3,5x5,7x7 --widths 4,8,16 -j 2 -o out/area
  tn-hw compare --kernels 3x3 --widths 8 --targets all -o out/one
  tn-hw compare --weights constant --seed 0 -o out/const
  tn-hw compare --neurons threshold,sam,adder,mac --kernels 3x3 --widths 8 -o out/neurons

With --neurons beyond threshold and mac, area.md gains a table of every neuron against the
Booth MAC (MAC / neuron on each target's primary metric) and area.json a "neuron_ratios" list.

A repeated sweep reads the cache and takes seconds. Progress goes to stderr: a bar with ETA
on a terminal, one line per finished run otherwise, nothing with --quiet.
"""

_OPS_EPILOG = """\
The paper's Table 1 (Synopsys DC, TSMC 28 nm) with open tools: each operation is a small
Verilog module of signed W-bit operands (mul: 2W-bit result; add/sub: W+1 bits; shift: a
barrel shifter by a variable amount) through the generic flow; the table gives gates, the
CMOS transistor estimate and each operation's ratio to multiplication beside the paper's.

examples:
  tn-hw ops --width 8
  tn-hw ops --width 16 --json ops16.json
  tn-hw ops --width 8 --target sky130     # um^2 of sky130_fd_sc_hd cells (130 nm)
"""


_SYNTH_NET_EPILOG = """\
Exports each tn-hw-net model as `tn-hw export` does and synthesizes it. By default neuron by
neuron: every distinct neuron (with its requantization) is synthesized once and the figures are
summed times its copies, because one flattened run of a network of a thousand cells can keep
ABC busy for hours. The sum leaves out sharing between neurons: for programmable networks it
matches a whole run within about 1 %; with baked constants it over-estimates by 10-20 %,
more for MAC (docs/results/network-area.md). --split none runs the network whole.

examples:
  tn-hw synth-net models/digits-tmlp.json models/digits-mlp.json --pairs --mode ports
  tn-hw synth-net models/digits-tcnn.json --mode baked -j 2 --json tcnn.json
  tn-hw synth-net models/ball3-tn4.json --split none
  tn-hw synth-net models/digits-tmlp.json --layer 1 --split none

--pairs reads the models as (threshold network, MAC network) pairs and prints MAC/threshold
ratios. Results are cached like every tn-hw synthesis run.

--target sky130 (sky130_fd_sc_hd standard cells, docs/results/sky130.md) reports area_um2,
cells, delay_ns, leakage_nw, energy_pj (dynamic energy per inference: each neuron's gate-level
activity on 1000 random input vectors, parameters held, every toggle weighted by the cell's
characterized energy plus C V^2/2 of its load; zero delay), energy_unit_pj (unit delay,
glitches counted) and power_uw (at 50 MHz, with leakage). Split by neuron, area, leakage,
energy and power are sums over the neurons times their copies, and delay_ns is the sum over
the layers of each layer's slowest neuron timed alone (an estimate; --split none times the
whole network). Split, every neuron's energy is its activity under random inputs, not the
network's own (later layers see requantized values); see docs/results/sky130.md.

  tn-hw synth-net models/ball3-tn4.json --target sky130 --json b.json --csv b.csv
  tn-hw synth-net models/digits-tmlp.json models/digits-mlp.json --pairs --target sky130
"""


def _add_weight_options(parser):
    parser.add_argument("--weights", choices=("programmable", "constant"), default="programmable",
                        help="programmable: thresholds/weights, polarities and bias are input "
                             "ports (default); constant: baked in from a seeded random draw")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the constant weights (default 0)")


def register(subparsers) -> None:
    """Add ``synth``, ``compare``, ``synth-net`` and ``ops``.

    Each subcommand sets ``func`` to its handler; a handler takes the parsed arguments and
    returns an exit code, raising :class:`~tn_hw.synth.tools.SynthError` for user errors.
    """
    synth = subparsers.add_parser(
        "synth", help="synthesize one kernel and print its area figures",
        description="Synthesize one generated kernel with open Yosys and print its area "
                    "figures per target.",
        epilog=_SYNTH_EPILOG, formatter_class=formatter)
    synth.add_argument("--neuron", default=None,
                       help="neuron family, or several separated by commas (default threshold; "
                            "threshold,mac with --target sky130)")
    synth.add_argument("--kernel", default="3x3", help="kernel shape RxC (default 3x3)")
    synth.add_argument("--width", type=int, default=8,
                       help="input and threshold/weight width in bits (default 8)")
    synth.add_argument("--target", default="generic", help=_TARGET_HELP + " (default generic)")
    synth.add_argument("--arch", default="tree", metavar="NAME",
                       help="micro-architecture of every kernel (tn-hw generate --help lists "
                            "each family's); default tree")
    synth.add_argument("--stages", type=int, default=0, metavar="S",
                       help="register stages (tn-hw generate --stages); sky130 then reports "
                            "the clocked energy: registers transparent, clock pins counted "
                            "(default 0)")
    synth.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    synth.add_argument("--keep", metavar="DIR",
                       help="leave design.v, run.ys, run.log and stat files in DIR/<target>")
    _add_weight_options(synth)
    add_cache_options(synth)
    synth.set_defaults(func=cmd_synth)

    compare = subparsers.add_parser(
        "compare", help="sweep threshold vs MAC kernels: CSV, JSON, Markdown and plots",
        description="Sweep threshold and MAC kernels over kernel sizes, widths and targets.",
        epilog=_COMPARE_EPILOG, formatter_class=formatter)
    add_sweep_options(compare, kernels="3x3,5x5,7x7", widths="4,8,16")
    compare.add_argument("--targets", default="generic",
                         help=_TARGET_HELP + " (default generic)")
    add_executor_options(compare, jobs_help="parallel processes (default 1)")
    compare.add_argument("-o", "--output", required=True, metavar="DIR",
                         help="folder for area.csv, area.json, area.md and the PNGs")
    add_quiet_option(compare)
    _add_weight_options(compare)
    add_cache_options(compare)
    compare.set_defaults(func=cmd_compare)

    net = subparsers.add_parser(
        "synth-net", help="synthesize whole exported networks (neuron by neuron) and compare",
        description="Area of whole tn-hw-net networks with open Yosys, neuron by neuron.",
        epilog=_SYNTH_NET_EPILOG, formatter_class=formatter)
    net.add_argument("models", nargs="+", metavar="MODEL", help="tn-hw-net model files (JSON)")
    net.add_argument("--mode", choices=("baked", "ports"), default="ports",
                     help="ports: programmable parameters, the paper's FPGA design (default); "
                          "baked: constants folded by synthesis")
    net.add_argument("--split", choices=("neuron", "none"), default="neuron",
                     help="neuron: each distinct neuron once, summed (default); none: whole")
    net.add_argument("--layer", type=int, default=None, metavar="I",
                     help="only layer I (from 0) with its requantization")
    net.add_argument("--target", default="generic",
                     help="one synthesis flow: generic (gates + CMOS transistor estimate, "
                          "default), xc7 (DSP48E1 allowed), xc7-nodsp, ice40 or sky130 "
                          "(sky130_fd_sc_hd cells: um^2, ns, leakage, pJ per inference, uW at "
                          "50 MHz; also sky130-<recipe>)")
    add_executor_options(net, jobs_help="Yosys runs at once (default 1)")
    net.add_argument("--timeout", type=float, default=None, metavar="S",
                     help="seconds per Yosys run (default 1800)")
    net.add_argument("--pairs", action="store_true",
                     help="models are (threshold, MAC) pairs: print MAC/threshold ratios")
    net.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    net.add_argument("--csv", metavar="FILE",
                     help="also write one CSV line per network and per layer")
    add_quiet_option(net)
    add_cache_options(net)
    net.set_defaults(func=cmd_synth_net)

    ops = subparsers.add_parser(
        "ops", help="the paper's Table 1 (area of single operations) with open tools",
        description="Area of multiplication, addition, subtraction, shift and logic "
                    "operations at one width, beside the paper's Table 1.",
        epilog=_OPS_EPILOG, formatter_class=formatter)
    ops.add_argument("--width", type=int, default=8, help="operand width in bits (default 8)")
    ops.add_argument("--target", choices=("generic", "sky130"), default="generic",
                     help="generic (gates, CMOS transistors; default) or sky130 (standard-cell "
                          "um^2 and ns, beside the paper's um^2)")
    ops.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    add_cache_options(ops)
    ops.set_defaults(func=cmd_ops)


def _metric_text(metrics: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in metrics.items())


def _sky130_text(result: dict) -> str:
    m, d = result["metrics"], result["details"]
    largest = sorted(d["area_by_type"].items(), key=lambda kv: -kv[1])[:3]
    text = [f"area {m['area_um2']:.1f} um^2 ({m['cells']} cells; most area: "
            + ", ".join(f"{c.split('__')[-1]} {a:.0f} um^2" for c, a in largest) + ")",
            f"delay {m['delay_ns']:.3f} ns (sta.py over the liberty)",
            f"leakage {m['leakage_nw']:.2f} nW"]
    if m["energy_pj"] is None:
        text.append("energy: n/a")
    else:
        glitches = ("registers transparent, clock pins counted" if m["energy_unit_pj"] is None
                    else f"{m['energy_unit_pj']:.3f} pJ with unit-delay glitches")
        text += [f"energy {m['energy_pj']:.3f} pJ/inference (zero delay; {glitches})",
                 f"power {m['power_uw']:.1f} uW at {d['clock_mhz']:g} MHz"]
    return ", ".join(text)


def _neurons(args, targets) -> list[str]:
    sky130 = any(t.startswith("sky130") for t in targets)
    text = args.neuron or ("threshold,mac" if sky130 else "threshold")
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in NEURONS]
    if bad or not names:
        raise SynthError(f"--neuron must be one or more of {', '.join(NEURONS)} separated by "
                         f"commas, not {text!r}")
    return list(dict.fromkeys(names))


def cmd_synth(args) -> int:
    """Handler of ``tn-hw synth``."""
    from ..synth.area.compare import build_design
    from ..synth.area.flow import synthesize
    from ..synth.tools import short_version

    targets = expand_targets(args.target)
    kernel = parse_kernel(args.kernel)
    names = _neurons(args, targets)
    for neuron in names:
        KernelSpec(neuron=neuron, kernel=kernel, width=args.width, arch=args.arch,
                   stages=args.stages)  # validates early
    runs = []
    for neuron in names:
        design = build_design(neuron, kernel, args.width, args.weights, args.seed, args.arch,
                              stages=args.stages)
        results = []
        for target in targets:
            keep = Path(args.keep) / design["top"] / target if args.keep and len(names) > 1 \
                else Path(args.keep) / target if args.keep else None
            results.append(synthesize(design["verilog"], design["top"], target, keep_dir=keep,
                                      **synth_options(args)))
        runs.append((neuron, design, results))
    for index, (_, design, results) in enumerate(runs):
        print(f"{design['top']} ({args.weights} weights), {short_version(results[0]['yosys'])}")
        if index == 0:
            print("baseline for comparisons: MAC with Booth-encoded multipliers, same flow and "
                  "width")
        name_width = max(len(t) for t in targets)
        for result in results:
            cached = " (cached)" if result["cached"] else ""
            text = (_sky130_text(result) if result["target"].startswith("sky130")
                    else _metric_text(result["metrics"]))
            print(f"  {result['target']:<{name_width}}  {text}{cached}")
    ratios = _sky130_ratios(runs)
    for target, ratio in ratios.items():
        print(f"MAC / threshold on {target}: " + ", ".join(
            f"{k} {v:.2f}x" for k, v in ratio.items() if v is not None))
    if args.json:
        documents = [{"design": design["spec"], "top": design["top"], "weights": args.weights,
                      "results": results} for _, design, results in runs]
        document = documents[0] if len(documents) == 1 else {
            "runs": documents, "mac_over_threshold": ratios}
        write_json(args.json, document, error=SynthError)
    return 0


def _sky130_ratios(runs) -> dict:
    by_neuron = {neuron: {r["target"]: r for r in results} for neuron, _, results in runs}
    if "threshold" not in by_neuron or "mac" not in by_neuron:
        return {}
    out = {}
    for target, mac in by_neuron["mac"].items():
        threshold = by_neuron["threshold"].get(target)
        if not target.startswith("sky130") or threshold is None:
            continue
        out[target] = {
            key: (mac["metrics"][key] / threshold["metrics"][key]
                  if mac["metrics"].get(key) and threshold["metrics"].get(key) else None)
            for key in ("area_um2", "delay_ns", "energy_pj", "power_uw", "leakage_nw")}
    return out


def cmd_compare(args) -> int:
    """Handler of ``tn-hw compare``."""
    from ..synth.area.compare import run_sweep, write_outputs

    kernels, widths, neurons = sweep_from_args(args)
    if args.jobs < 1:
        raise SynthError(f"-j must be a positive integer, not {args.jobs}")
    targets = expand_targets(args.targets)
    with executor_from_args(args) as executor:
        sweep = run_sweep(neurons=neurons, kernels=kernels, widths=widths, targets=targets,
                          weights=args.weights, seed=args.seed, jobs=args.jobs,
                          progress=progress_for(args, "compare"), executor=executor,
                          **synth_options(args))
    command = "tn-hw " + " ".join(shlex.quote(a) for a in getattr(args, "argv", None) or [
        "compare", *(["--neurons", args.neurons] if args.neurons != "threshold,mac" else []),
        "--kernels", args.kernels, "--widths", ",".join(map(str, widths)),
        "--targets", args.targets, "--weights", args.weights,
        *(["--seed", str(args.seed)] if args.weights == "constant" else []),
        "-j", str(args.jobs), "-o", args.output])
    paths = write_outputs(sweep, args.output, command=command)
    hits = sum(r["cached"] for r in sweep["rows"])
    print(f"wrote {', '.join(str(p) for p in paths)}")
    print(f"{len(sweep['rows'])} runs ({hits} from cache) in {sweep['meta']['wall_seconds']} s")
    return 0


def cmd_synth_net(args) -> int:
    """Handler of ``tn-hw synth-net``."""
    from ..synth.area.split import (
        network_area,
        network_csv,
        render_network_area,
        render_ratios,
    )
    from ..synth.tools import DEFAULT_TIMEOUT

    if args.pairs and len(args.models) % 2:
        raise SynthError(f"--pairs needs models in (threshold, MAC) pairs, got "
                         f"{len(args.models)} models")
    if args.jobs < 1:
        raise SynthError(f"-j must be a positive integer, not {args.jobs}")
    if args.timeout is not None and args.timeout <= 0:
        raise SynthError(f"--timeout must be positive, not {args.timeout}")
    if args.target not in TARGETS:
        raise SynthError(f"--target must be one of {', '.join(TARGETS)}, not {args.target!r}")
    for option in ("json", "csv"):
        if getattr(args, option):
            check_output_file(getattr(args, option), f"--{option}", error=SynthError)
    from ..reference.network import load_network

    nets = [load_network(model) for model in args.models]  # every file checked before Yosys
    rows = []
    with executor_from_args(args) as executor:
        for model, net in zip(args.models, nets, strict=True):
            with progress_for(args, f"synth-net {net.name}") as progress:
                row = network_area(net, mode=args.mode, split=args.split, target=args.target,
                                   jobs=args.jobs, layer=args.layer, progress=progress,
                                   timeout=args.timeout or DEFAULT_TIMEOUT, executor=executor,
                                   **synth_options(args))
            row["model"] = str(model)
            rows.append(row)
            print(render_network_area([row]), end="", flush=True)
    if args.pairs:
        print(render_ratios(rows), end="")
    if args.json:
        write_json(args.json, rows, error=SynthError)
    if args.csv:
        Path(args.csv).write_text(network_csv(rows))
    return 0


def cmd_ops(args) -> int:
    """Handler of ``tn-hw ops``."""
    from ..synth.area.ops import render_ops, run_ops

    KernelSpec(width=args.width)  # validates with the generator's own message
    table = run_ops(args.width, target=args.target, **synth_options(args))
    print(render_ops(table), end="")
    if args.json:
        write_json(args.json, table, error=SynthError)
    return 0


