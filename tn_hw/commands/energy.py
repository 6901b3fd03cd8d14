"""``tn-hw energy``: the switching-activity energy proxy from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from ..synth.energy.gatesim import DELAY_MODELS
from ..synth.energy.options import (
    COMPARED_NEURONS,
    PAPER_POWER_BAND,
    STIMULI,
    WEIGHTINGS,
    EnergyError,
)
from .args import (
    add_executor_options,
    add_quiet_option,
    add_sweep_options,
    choice_list,
    executor_from_args,
    formatter,
    kernel,
    progress_for,
    sweep_from_args,
)
from .report import check_output_file

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

--target sky130: both kernels go through the sky130 target of the area flow (the project's
sky130_fd_sc_hd liberty, recipe of docs/results/sky130.md); the mapped netlists are simulated
on the same streams, every output checked against the golden model, and every toggle costs
the cell's characterized internal energy plus C V^2/2 of its load: pJ per inference at zero
and unit delay, area um^2, critical path ns, leakage nW and power at 50 MHz (--csv, --json).
Not with --isolation or --netlists.

examples:
  tn-hw energy --kernel 3x3 --width 8 --stimulus random
  tn-hw energy --kernel 3x3 --width 8 --target sky130 --json e.json --csv e.csv
  tn-hw energy --kernels 3x3,5x5 --widths 4,8 --target sky130 -o out/e130
  tn-hw energy --kernel 3x3 --width 8 --stimulus digits --json e3.json
  tn-hw energy --kernel 3x3 --stimulus digits --isolation      # operand-isolation experiment
  tn-hw energy --kernel 3x3 --width 8 --netlists out/nets       # keep both gate netlists
  tn-hw energy --kernels 3x3,5x5,7x7 --widths 4,8,16 --stimuli random,digits -o out/e

A sweep (--kernels, --widths or --stimuli given, or --sweep for the defaults 3x3,5x5,7x7 x
4,8,16 x random,digits) writes energy.json, energy.csv, energy.md (tables) and energy.png
(MAC/threshold ratio per design beside the paper's band) into DIR, all or nothing. Progress
goes to stderr: a bar with ETA on a terminal, one line per design otherwise, nothing with
--quiet. --neurons is the same flag as in compare and timing; the energy proxy measures the
threshold kernel against its MAC baseline, so it takes threshold,mac.
"""

#: Sweep lists of ``--sweep`` alone.
SWEEP_DEFAULTS = {"kernels": "3x3,5x5,7x7", "widths": "4,8,16", "stimuli": list(STIMULI)}


def register(subparsers) -> None:
    """Add the ``energy`` subcommand."""
    parser = subparsers.add_parser(
        "energy", help="switching-activity energy proxy: threshold vs MAC kernels",
        description="Gate-level switching-activity energy proxy of a threshold kernel and its "
                    "Booth MAC baseline on random or real (digits) activations.",
        epilog=_EPILOG, formatter_class=formatter)
    parser.add_argument("--kernel", type=kernel, default=(3, 3), metavar="RxC",
                        help="kernel shape (default 3x3)")
    parser.add_argument("--width", type=int, default=8, metavar="W",
                        help="input and threshold/weight width, 2 to 32 (default 8)")
    parser.add_argument("--stimulus", choices=STIMULI, default="random",
                        help="input stream (default random)")
    parser.add_argument("--vectors", type=int, default=None, metavar="N",
                        help="vectors per stream (random default 10000; digits default all: "
                             "450 test images, 16 patches each at 3x3)")
    parser.add_argument("--seed", type=int, default=1, help="random stimulus seed (default 1)")
    parser.add_argument("--delay", type=choice_list(DELAY_MODELS, "delay"),
                        default=list(DELAY_MODELS), metavar="MODELS",
                        help="delay models, comma-separated: zero, unit (default both)")
    parser.add_argument("--isolation", action="store_true",
                        help="also measure the operand-isolated threshold kernel")
    parser.add_argument("--target", default="generic", metavar="TARGET",
                        help="generic: the gate-count proxy above (default); sky130 (or "
                             "sky130-<recipe>): sky130_fd_sc_hd cells, pJ per inference, um^2, "
                             "ns, leakage, uW at 50 MHz")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("--csv", metavar="FILE",
                        help="also write the result as CSV (--target sky130)")
    parser.add_argument("--netlists", metavar="DIR",
                        help="also write both kernels' gate netlists (<top>.v from "
                             "write_verilog -noattr -noexpr, <top>.json) into DIR")
    parser.add_argument("--sweep", action="store_true",
                        help="sweep kernels x widths x stimuli instead of one design (implied "
                             "by --kernels, --widths or --stimuli; defaults 3x3,5x5,7x7, "
                             "4,8,16, random,digits; digits only at width 8)")
    add_sweep_options(parser, kernels=None, widths=None, neurons="threshold,mac",
                      neuron_choices=COMPARED_NEURONS)
    parser.add_argument("--stimuli", type=choice_list(STIMULI, "stimuli"),
                        default=None, metavar="LIST",
                        help="sweep stimuli, comma-separated (default random,digits)")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="sweep output folder (required for a sweep)")
    add_executor_options(parser, jobs_help="sweep designs measured at once, in processes "
                         "(default 1)")
    add_quiet_option(parser)
    parser.set_defaults(func=cmd_energy)


def cmd_energy(args) -> int:
    # The proxy imports torch (digits stimulus, golden model): only when a run is asked for.
    from ..manifest import check_output_dir, write_files
    from ..spec import KernelSpec
    from ..synth.energy.proxy import (
        kernel_netlist,
        render_csv,
        render_markdown,
        render_plot,
        render_text,
        run_energy,
        run_sweep,
        to_json,
    )

    if args.vectors is not None and args.vectors < 2:
        raise EnergyError(f"vectors must be at least 2 (toggles need a transition), not "
                          f"{args.vectors}")
    if args.json:
        check_output_file(args.json, "--json", error=EnergyError)
    sky130 = _sky130_target(args)
    if args.netlists:
        check_output_dir(Path(args.netlists))
    sweep = args.sweep or any(getattr(args, name) is not None for name in SWEEP_DEFAULTS)
    for name, default in SWEEP_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    kernels, widths, neurons = sweep_from_args(args)
    if sorted(neurons) != sorted(COMPARED_NEURONS):
        raise EnergyError(f"the energy proxy compares threshold with its MAC baseline: "
                          f"--neurons must be threshold,mac, not {args.neurons!r}")
    if sky130:
        return _cmd_sky130(args, kernels, widths, sweep)
    if sweep:
        if not args.output:
            raise EnergyError("--sweep needs -o DIR for energy.json, energy.csv and energy.png")
        check_output_dir(Path(args.output))
        with executor_from_args(args) as executor:
            results = run_sweep(kernels, widths, args.stimuli, vectors=args.vectors,
                                seed=args.seed, delays=args.delay, isolation=args.isolation,
                                progress=progress_for(args, "energy"), executor=executor)
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


def _sky130_target(args) -> bool:
    """Whether ``--target`` names a sky130 flow; bad targets and options it cannot take are
    one line each."""
    from ..synth.area.flow import TARGETS

    if args.target == "generic":
        if args.csv:
            raise EnergyError("--csv is written with --target sky130 (a sweep writes "
                              "energy.csv into -o DIR)")
        return False
    sky = [name for name in TARGETS if name.startswith("sky130")]
    if args.target not in sky:
        raise EnergyError(f"--target must be generic or one of {', '.join(sky)}, not "
                          f"{args.target!r}")
    for flag, value in (("--isolation", args.isolation), ("--netlists", args.netlists)):
        if value:
            raise EnergyError(f"{flag} is not offered with --target {args.target}")
    if args.csv:
        check_output_file(args.csv, "--csv", error=EnergyError)
    return True


def _cmd_sky130(args, kernels, widths, sweep) -> int:
    """``--target sky130``: pJ per inference, um^2, ns, leakage and power of both kernels."""
    from ..manifest import check_output_dir, write_files
    from ..synth.energy.proxy import to_json
    from ..synth.sky130.inference import (
        render_csv,
        render_markdown,
        render_text,
        run_sky130_energy,
    )

    points = ([(k, w, s) for k in kernels for w in widths for s in args.stimuli
               if s == "random" or w == 8] if sweep else
              [(args.kernel, args.width, args.stimulus)])
    if sweep:
        if not args.output:
            raise EnergyError("--sweep needs -o DIR for energy.json, energy.csv and energy.md")
        check_output_dir(Path(args.output))
    results = [run_sky130_energy(kernel, width, stimulus, vectors=args.vectors, seed=args.seed,
                                 delays=args.delay, target=args.target)
               for kernel, width, stimulus in points]
    for result in results:
        print(render_text(result))
    document = {"command": "tn-hw " + " ".join(sys.argv[1:]), "results": results}
    if sweep:
        table = f"Command:\n\n    {document['command']}\n\n" + render_markdown(results)
        written = write_files(args.output, {"energy.json": to_json(document),
                                            "energy.csv": render_csv(results),
                                            "energy.md": table})
        print("wrote " + ", ".join(str(p) for p in written))
    if args.json:
        Path(args.json).write_text(to_json(document if sweep else results[0]))
        print(f"wrote {args.json}")
    if args.csv:
        Path(args.csv).write_text(render_csv(results))
        print(f"wrote {args.csv}")
    return 0
