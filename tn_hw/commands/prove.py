"""``tn-hw prove``: the formal proofs of a clocked network (:mod:`tn_hw.testbench.net_equiv`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import TnHwError
from .args import add_quiet_option, formatter

__all__ = ["cmd_prove", "register"]

_EPILOG = """\
What is proved, for all inputs and every input sequence (Yosys SAT with temporal induction, not
simulation), about the accelerator `tn-hw export MODEL --clocked [--reuse R]` builds:

  --reuse 1 (default)  every layer's registered stage equals the combinational layer
                       (`tn-hw export MODEL` without --clocked) delayed by one clock; chained,
                       the clocked network is the combinational network delayed by its latency
                       (one proof per linear or conv layer, cut out of the network with the
                       input shape and width it reads there)
  --reuse R >= 2       the folded network, in two parts:
                       datapath: per layer and per phase of a round, the folded kernels (their
                       phase tied to that constant) compute that phase's outputs as the
                       combinational layer does, into the registers they pass through;
                       stream control: with free valid, ready, payload and reset in every
                       cycle, y offers the oldest beat not yet out, once, in order, computed
                       over one whole round, and a beat leaves within the latency while
                       y__ready stays high

A refuted proof prints the counterexample Yosys found (signal values per clock step: `gold`
is the combinational reference, `gate` the clocked design) and the command exits 1; proved:
exit 0; a bad model or option: one line, exit 2. The stream regression (`tn-hw verify`) checks
the same designs by simulation on real data; the proofs cover every input. docs/semantics.md
("Formal check of the clocked network", "... of the folded network") says why proving layer by
layer suffices.

examples:
  tn-hw prove models/ball3-tn4.json
  tn-hw prove models/ball3-tn4.json --reuse 2 --json out/ball3-r2-proof.json
  tn-hw prove models/ball3-tn4.json --layers 0,2 --keep out/proof
"""


def _layer_list(text) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise TnHwError(f"--layers must be comma-separated layer indices, not {text!r}") from None
    if not values:
        raise TnHwError("--layers names no layer")
    return values


def _trace_text(trace: list) -> str:
    """One line of a counterexample: the signal values of each step (clocks left out)."""
    steps = {}
    for row in trace:
        if row["signal"].endswith("clk"):
            continue
        steps.setdefault(row["step"], []).append(f"{row['signal']}={row['value']}")
    return "; ".join(f"{'initial state' if step == 'init' else f'step {step}'}: "
                     + ", ".join(values) for step, values in steps.items())


def _verdict(part: dict) -> str:
    if part["proved"]:
        return f"proved ({part['seconds']} s)"
    if part["counterexample"]:
        return (f"REFUTED ({part['seconds']} s), counterexample: "
                f"{_trace_text(part.get('trace', [])) or '; '.join(part['summary'])}")
    return (f"NOT PROVED ({part['seconds']} s): no counterexample, but the induction did not "
            f"close ({'; '.join(part['summary']) or 'no verdict in the log'})")


def _check_inputs(args) -> list[int] | None:
    from ..hdl.network_stream import check_reuse
    from ..synth.system import load_model
    from ..testbench.net_equiv import layer_networks

    if not Path(args.model).is_file():
        raise TnHwError(f"model {args.model!r} is not a file")
    if args.reuse < 1:
        raise TnHwError(f"--reuse must be a positive integer, not {args.reuse}")
    if args.timeout <= 0:
        raise TnHwError(f"--timeout must be positive, not {args.timeout:g}")
    net = load_model(args.model)  # one line for a file that is not a valid network
    indices = [index for index, _ in layer_networks(args.model)]
    check_reuse(net, args.reuse)
    layers = None if args.layers is None else _layer_list(args.layers)
    unknown = sorted(set(layers or ()) - set(indices))
    if unknown:
        raise TnHwError(f"--layers {args.layers}: no linear or conv layer {unknown} in "
                        f"{args.model} (its layers to prove: {indices})")
    if args.json:
        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            raise TnHwError(f"--json {args.json!r}: folder {str(parent)!r} does not exist")
    return layers


def cmd_prove(args) -> int:
    """Handler of ``tn-hw prove``."""
    from ..testbench.net_equiv import check_folded_network, check_network_stages

    layers = _check_inputs(args)
    mode = args.thresholds
    if not args.quiet:
        what = "layer stages" if args.reuse == 1 else f"folded network (reuse {args.reuse})"
        print(f"prove: {args.model}: {what}, {mode}", file=sys.stderr, flush=True)
    if args.reuse == 1:
        report = check_network_stages(args.model, mode=mode, layers=layers, keep_dir=args.keep,
                                      timeout=args.timeout)
        lines = [f"layer {s['layer']} ({s['top']}) registered = combinational delayed by 1: "
                 f"{_verdict(s)}" for s in report["stages"]]
        claim = (f"the clocked network equals the combinational network delayed by "
                 f"{report['latency']} cycles" if layers is None else
                 f"layers {','.join(map(str, layers))}: registered = combinational delayed")
    else:
        report = check_folded_network(args.model, args.reuse, mode=mode, layers=layers,
                                      keep_dir=args.keep, timeout=args.timeout)
        lines = [f"datapath layer {p['layer']} phase {p['phase']} (outputs "
                 f"{','.join(map(str, p['outputs']))}): {_verdict(p)}"
                 for p in report["datapath"]["proofs"]]
        stream = report["stream"]
        lines.append(f"stream control ({stream['layers']} layers, reuse {args.reuse}): "
                     f"{_verdict(stream)}")
        claim = (f"the folded network (reuse {args.reuse}) computes the combinational network "
                 "of every beat, once, in order" if layers is None else
                 f"folded datapath of layers {','.join(map(str, layers))} and the stream control")
    report = {"model": str(args.model), "reuse": args.reuse, "mode": mode,
              "layers": layers} | report
    verdict = "PROVED" if report["proved"] else "REFUTED" if _refuted(report) else "NOT PROVED"
    print("\n".join(lines))
    print(f"{verdict}: {claim} ({report['seconds']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0 if report["proved"] else 1


def _refuted(report: dict) -> bool:
    parts = report.get("stages") or [*report["datapath"]["proofs"], report["stream"]]
    return any(p["counterexample"] for p in parts)


def register(subparsers) -> None:
    """Add the ``prove`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "prove", help="prove a clocked (or folded) network equal to the combinational one",
        description="Prove formally (Yosys SAT, temporal induction) that the clocked network "
                    "tn-hw export --clocked builds from MODEL computes what the combinational "
                    "network computes, delayed by its latency; with --reuse, the folded one.",
        epilog=_EPILOG, formatter_class=formatter)
    parser.add_argument("model", metavar="MODEL", help="a tn-hw-net model file "
                                                       "(e.g. models/ball3-tn4.json)")
    parser.add_argument("--reuse", type=int, default=1, metavar="R",
                        help="the folded network of tn-hw export --clocked --reuse R "
                             "(default 1: not folded)")
    parser.add_argument("--thresholds", choices=("baked", "ports"), default="baked",
                        help="baked (default: constants, small SAT problems) or ports, as "
                             "tn-hw export")
    parser.add_argument("--layers", metavar="K,K",
                        help="prove only these layers (indices in the model's layer list; "
                             "with --reuse the stream control is proved as well)")
    parser.add_argument("--keep", metavar="DIR", help="keep each proof's Verilog, Yosys script "
                                                      "and log here")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the report (every verdict, counterexample and time) "
                             "as JSON")
    parser.add_argument("--timeout", type=float, default=300, metavar="S",
                        help="seconds per Yosys proof (default 300)")
    add_quiet_option(parser)
    parser.set_defaults(func=cmd_prove)
