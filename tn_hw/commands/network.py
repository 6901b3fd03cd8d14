"""Network commands: ``tn-hw train``, ``export`` and ``verify``."""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

from ..errors import TnHwError
from ..export import CLI_DATA, CLI_MODES, export_network, verify_network, write_network_design
from ..train import MODELS, train_model
from .args import add_simulator_option, formatter, simulator_from_args

__all__ = ["cmd_export", "cmd_train", "cmd_verify", "register"]

TRAIN_EPILOG = """\
models:
{models}

examples:
  tn-hw train digits-tmlp -o models/digits-tmlp.json
  tn-hw train digits-tcnn -o out/tcnn.json --seed 3
  tn-hw train ball3-tn4 -o models/ball3-tn4.json

Prints float, post-training-quantized, fake-quantized (after quantization-aware fine-tuning) and
integer test accuracies, and how often the integer network agrees with the fake-quantized one.
The file is a tn-hw-net JSON (docs/network-format.md), written only when complete.
"""


def _check_output_file(path: Path) -> None:
    """Fail before training, not after, when ``path`` cannot be written."""
    if path.is_dir():
        raise TnHwError(f"output {str(path)!r} is a directory; give a file name")
    probe = path.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise TnHwError(f"cannot write {str(path)!r}: {str(probe)!r} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise TnHwError(f"cannot write {str(path)!r}: {str(probe)!r} is not writable")


def cmd_train(args) -> int:
    """Handler of ``tn-hw train``."""
    from ..reference.network import save_network

    for option, value in (("--epochs", args.epochs), ("--qat-epochs", args.qat_epochs)):
        if value is not None and value < 0:
            raise TnHwError(f"{option} must be >= 0, not {value}")
    _check_output_file(Path(args.output))
    started = time.perf_counter()
    log = None if args.quiet else print
    result = train_model(args.model, seed=args.seed, epochs=args.epochs,
                         qat_epochs=args.qat_epochs, log=log)
    command = f"tn-hw train {args.model} -o {args.output} --seed {args.seed}"
    if args.epochs is not None:
        command += f" --epochs {args.epochs}"
    if args.qat_epochs is not None:
        command += f" --qat-epochs {args.qat_epochs}"
    result.network["training"]["command"] = command
    path = save_network(result.network, args.output)
    m = result.metrics
    print(f"{args.model}: test accuracy float {m['float']:.2f}%, ptq {m['ptq']:.2f}%, "
          f"fake-quant {m['fake_quant']:.2f}%, integer {m['integer']:.2f}%; "
          f"integer/fake-quant agreement {m['agreement']:.2f}% "
          f"(logits equal {m['logits_equal']:.2f}%); {time.perf_counter() - started:.1f} s")
    print(f"  wrote {path}")
    return 0


EXPORT_EPILOG = """\
examples:
  tn-hw export models/digits-tmlp.json -o out/tmlp
  tn-hw export models/digits-tcnn.json -o out/tcnn --thresholds ports
  tn-hw export models/ball3-tn4.json --clocked -o out/ball3-clocked
  tn-hw export models/ball3-tn4.json --clocked --reuse 2 -o out/ball3-r2

DIR receives <top>.v (the whole network, combinational: layers chained with requantization),
manifest.json (ports, stages with their widths, shifts and cell counts) and network.json (the
validated model, which tn-hw verify reads). --clocked: a clocked accelerator instead, a
register stage after every layer, x and y as valid/ready streams with one global stall, clk
and rst (synchronous, clears the valid bits); one inference per clock, latency = number of
layers (manifest: interface, latency, initiation_interval, reuse, clock). --reuse R folds
each layer as the streaming conv layer does: ceil(O/R) kernels per position compute its O
outputs over R cycles, one inference per R clocks, latency R per layer. baked: thresholds,
polarities and biases are constants that synthesis folds into the logic; ports: they are input
ports l<i>_w, l<i>_p, l<i>_bias (Sum-and-Max layers: l<i>_wp, l<i>_wm), programmable as in
the paper's FPGA design (on a clocked design: configuration, changed only while no beat is in
flight). Nothing is written unless export succeeds. The model file is parsed as JSON only,
never executed.
"""

VERIFY_EPILOG = """\
examples:
  tn-hw verify out/tmlp --data digits-test
  tn-hw verify out/tmlp --data random --samples 2000 --json out/tmlp/verify.json

Every logit the RTL (cocotb + Icarus) produces is compared, as an integer, with the golden
integer forward of network.json; mismatches are printed with the sample index, expected and
got. A clocked export (--clocked) is driven through its streams with random gaps and
back-pressure, back to back (timing of every beat checked against the manifest's latency) and
with resets in flight; --seed seeds the handshakes. With labelled data the RTL accuracy must
equal the golden accuracy. Exit status 0 only with zero mismatches.
"""

MAX_PRINTED = 20


def _samples(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def register(subparsers) -> None:
    """Add ``train``, ``export`` and ``verify``."""
    models = "\n".join(f"  {name:<16} {cfg.description}" for name, cfg in MODELS.items())
    train = subparsers.add_parser(
        "train", help="train, quantize and convert a Threshold-Net to a tn-hw-net file",
        description="Train a network on CPU (seeded), quantize it to 8 bits with power-of-two "
                    "scales and write the integer network.",
        epilog=TRAIN_EPILOG.format(models=models), formatter_class=formatter)
    train.add_argument("model", choices=list(MODELS), metavar="MODEL",
                       help="model name (see below)")
    train.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="tn-hw-net JSON file to write")
    train.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    train.add_argument("--epochs", type=int, metavar="N", help="float epochs (default: model's)")
    train.add_argument("--qat-epochs", type=int, metavar="N",
                       help="quantization-aware epochs (default: model's)")
    train.add_argument("--quiet", action="store_true", help="no progress lines")
    train.set_defaults(func=cmd_train)

    exp = subparsers.add_parser("export", help="write Verilog for a whole trained network",
                                description="Export a tn-hw-net model (JSON) to Verilog with a "
                                            "manifest.", epilog=EXPORT_EPILOG,
                                formatter_class=formatter)
    exp.add_argument("model", metavar="MODEL", help="tn-hw-net JSON file (from tn-hw train)")
    exp.add_argument("-o", "--output", required=True, metavar="DIR",
                     help="folder for <top>.v, manifest.json and network.json")
    exp.add_argument("--thresholds", choices=CLI_MODES, default="baked",
                     help="baked: parameters are constants (default); ports: programmable")
    exp.add_argument("--clocked", action="store_true",
                     help="a register stage per layer, valid/ready streams, clk and rst")
    exp.add_argument("--reuse", type=_samples, default=1, metavar="R",
                     help="with --clocked: fold each layer's outputs onto ceil(O/R) kernels "
                          "over R cycles (one inference per R clocks); default 1")
    exp.set_defaults(func=cmd_export)

    ver = subparsers.add_parser("verify", help="check an exported network's RTL on a data set",
                                description="Run a data set through an exported network under "
                                            "cocotb + Icarus and compare every logit with the "
                                            "golden integer model.", epilog=VERIFY_EPILOG,
                                formatter_class=formatter)
    ver.add_argument("design", metavar="DIR", help="folder written by tn-hw export")
    ver.add_argument("--data", choices=CLI_DATA, default="digits-test",
                     help="data set part, or random inputs; default digits-test")
    ver.add_argument("--samples", type=_samples, default=None, metavar="N",
                     help="only the first N samples (random: how many; default 1000)")
    ver.add_argument("--seed", type=int, default=1,
                     help="seed of --data random and of a clocked design's handshakes; "
                          "default 1")
    ver.add_argument("--build-dir", metavar="DIR", help="keep the simulation files here")
    ver.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    ver.add_argument("--waves", action="store_true",
                     help="dump an FST waveform of the run and keep it (its path is printed)")
    add_simulator_option(ver)
    ver.set_defaults(func=cmd_verify)


def cmd_export(args) -> int:
    from ..reference.network import load_network

    net = load_network(args.model)
    design = export_network(net, mode=args.thresholds, clocked=args.clocked, reuse=args.reuse)
    files = write_network_design(design, args.output)
    m = design.manifest
    every = ("one inference per clock" if args.reuse == 1
             else f"reuse {args.reuse}: one inference per {args.reuse} clocks")
    clocked = (f", latency {m['latency']} cycles, {every}, valid/ready streams"
               if args.clocked else "")
    print(f"{design.top}: {math.prod(m['input_shape'])} inputs -> {math.prod(m['output_shape'])} "
          f"logits ({m['output_width']} bits), {len(m['stages'])} layers, {m['cells']} cells, "
          f"{args.thresholds}{clocked}")
    for path in files:
        print(f"  wrote {path}")
    return 0


def cmd_verify(args) -> int:
    simulator = simulator_from_args(args)
    samples = args.samples
    if args.data == "random" and samples is None:
        samples = 1000
    report = verify_network(args.design, data=args.data, samples=samples, seed=args.seed,
                            build_dir=args.build_dir, waves=args.waves, simulator=simulator)
    for m in report["mismatches"][:MAX_PRINTED]:
        print(f"MISMATCH sample {m['sample']} logit {m['output']}: expected {m['expected']}, "
              f"got {m['got']}")
    if report["mismatch_count"] > MAX_PRINTED:
        print(f"... {report['mismatch_count'] - MAX_PRINTED} more mismatches")
    status = "PASS" if report["passed"] else "FAIL"
    print(f"{status}  {report['top']} ({report['mode']}): {report['samples']} samples of "
          f"{report['data']} x {report['outputs']} logits, {report['mismatch_count']} "
          f"mismatches" + ("" if report["passed"] else f": {report['reason']}"))
    if not report["passed"]:
        print(f"      details: {report['log']}")
    if report["waves"]:
        print(f"      waves: {report['waves']}")
    if report["golden_accuracy"] is not None:
        c, n = report["correct"], report["samples"]
        same = "equal" if c["rtl"] == c["golden"] else "DIFFERENT"
        print(f"      accuracy: RTL {c['rtl']}/{n} = {report['rtl_accuracy']:.4f}, golden "
              f"{c['golden']}/{n} = {report['golden_accuracy']:.4f} ({same})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["passed"] else 1
