"""Command-line options of the streaming conv layer, for ``tn-hw generate`` and ``tn-hw regress``.

``tn-hw generate --image HxW ...`` emits a :class:`~tn_hw.hdl.conv.ConvLayer` instead of a kernel
or layer; ``tn-hw regress DIR`` runs the conv testbench when DIR holds one. The generate and
regress commands (:mod:`.generate`, :mod:`.regress`) call these functions in one line each.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..errors import TnHwError
from .args import spec_from_args
from .report import build_root, finish_build_root, print_result

__all__ = ["CONV_EPILOG", "add_conv_options", "add_conv_regress_options", "cmd_generate_conv",
           "cmd_regress_conv", "conv_regress_requested", "conv_requested", "is_conv_folder"]

CONV_EPILOG = """\
streaming convolution layer (--image makes one):
  tn-hw generate --image 8x8 --kernel 3x3 --channels 2 --outputs 4 --width 8 -o out/conv
  tn-hw generate --image 8x8 --stride 2 --padding 1 --reuse 2 --outputs 4 -o out/conv2
  tn-hw generate --neuron mac --image 16x16 --channels 3 --outputs 8 --reuse 4 -o out/mconv
The layer takes one pixel (all channels) per beat on a valid/ready stream in raster order and
gives OUTPUTS raw kernel outputs per output pixel; --reuse R computes them with
ceil(OUTPUTS / R) kernels over R cycles. docs/semantics.md, "Streaming convolution".
"""


def _image(text):
    from ..conv import parse_image

    try:
        return parse_image(text)
    except TnHwError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_conv_options(parser) -> None:
    """``--image``, ``--stride``, ``--padding``, ``--reuse`` (conv layer only)."""
    group = parser.add_argument_group("streaming convolution layer (with --image)")
    group.add_argument("--image", type=_image, default=None, metavar="HxW",
                       help="input feature map height x width: emit a streaming conv layer "
                            "over it (kernel/channels/outputs/width as above)")
    group.add_argument("--stride", type=int, default=None, metavar="S",
                       help="window step, 1 or 2 (2 stands in for pooling); default 1")
    group.add_argument("--padding", type=int, default=None, metavar="P",
                       help="zero rows/columns on every side, 0 to kernel side - 1; default 0")
    group.add_argument("--reuse", type=int, default=None, metavar="R",
                       help="reuse factor: ceil(OUTPUTS / R) kernels compute the OUTPUTS "
                            "outputs of a pixel in R cycles; default 1")


def add_conv_regress_options(parser) -> None:
    """``--frames`` for the conv testbench (and the generate options for a temporary layer)."""
    add_conv_options(parser)
    parser.add_argument("--frames", type=int, default=None, metavar="N",
                        help="conv layer only: frames per test (default: quick 3, full 8)")


def conv_requested(args) -> bool:
    """Whether the command line asks for a conv layer; refuse conv options without --image."""
    if getattr(args, "image", None) is not None:
        if getattr(args, "stream", False):
            raise TnHwError("a conv layer (--image) always has stream interfaces: drop --stream")
        if getattr(args, "arch", "tree") != "tree":
            raise TnHwError("--arch applies to kernels and layers; a conv layer (--image) is "
                            "built with the tree architecture")
        return True
    for option in ("stride", "padding", "reuse"):
        if getattr(args, option, None) is not None:
            raise TnHwError(f"--{option} applies to a conv layer only: add --image HxW")
    return False


def conv_regress_requested(args) -> bool:
    """Whether ``tn-hw regress`` is about a conv layer (``--image``, or DIR holds one)."""
    if conv_requested(args) or (args.design and is_conv_folder(args.design)):
        return True
    if getattr(args, "frames", None) is not None:
        raise TnHwError("--frames applies to a conv layer only (a folder from tn-hw generate "
                        "--image, or --image HxW)")
    return False


def _conv_spec(args):
    from ..conv import ConvSpec

    return ConvSpec(kernel=spec_from_args(args), image=args.image,
                    stride=1 if args.stride is None else args.stride,
                    padding=0 if args.padding is None else args.padding,
                    reuse=1 if args.reuse is None else args.reuse)


def _summary(spec) -> str:
    k = spec.kernel
    (h, w), (ho, wo) = spec.image, spec.out_image
    return (f"{spec.top_name}: {h}x{w}x{k.channels} -> {ho}x{wo}x{k.outputs}, "
            f"{k.kernel_text} {k.neuron} kernels x {spec.instances} (reuse {spec.reuse}), "
            f"output {k.output_width} bits, {spec.cycles_per_frame} cycles/frame "
            f"({spec.pixels_per_cycle:.3f} pixels/cycle), latency {spec.latency} cycles")


def cmd_generate_conv(args) -> int:
    from ..generate import generate_conv, write_design

    spec = _conv_spec(args)
    design = generate_conv(spec)
    files = write_design(design, args.output)
    print(_summary(spec))
    for path in files:
        print(f"  wrote {path}")
    return 0


def is_conv_folder(folder) -> bool:
    """Whether ``folder`` holds a conv layer written by ``tn-hw generate --image``."""
    from ..manifest import load_manifest

    return load_manifest(folder).get("kind") == "conv"


def _conv_from_folder(folder):
    from ..conv import ConvSpec
    from ..manifest import Design, load_manifest

    manifest = load_manifest(folder)
    try:
        spec = ConvSpec.from_description(manifest["parameters"])
        verilog = (Path(folder) / manifest["verilog"]).read_text()
    except (KeyError, TypeError) as error:
        raise TnHwError(f"{folder}/manifest.json is malformed (missing {error})") from None
    except OSError as error:
        raise TnHwError(f"cannot read the design's Verilog: {error}") from None
    return Design(kind="conv", spec=spec, top=manifest["top"], verilog=verilog,
                  manifest=manifest)


def cmd_regress_conv(args) -> int:
    """``tn-hw regress`` of a conv layer (a folder, or the options generated on the fly)."""
    from ..generate import generate_conv
    from ..testbench.conv_runner import run_conv_regression
    from .args import simulator_from_args

    simulator = simulator_from_args(args)
    if args.matrix:
        raise TnHwError("--matrix runs the kernel matrix; the conv layer has its own tests "
                        "(tests/testbench/test_conv.py)")
    if args.vectors is not None:
        raise TnHwError("--vectors does not apply to a conv layer; use --frames")
    if args.frames is not None and args.frames < 1:
        raise TnHwError(f"--frames must be 1 or more, not {args.frames}")
    if args.design:
        design = _conv_from_folder(args.design)
    else:
        design = generate_conv(_conv_spec(args))
    root, scratch = build_root(args.build_dir)
    try:
        result = run_conv_regression(design, root / design.top, tier=args.tier,
                                     frames=args.frames, seed=args.seed,
                                     waves=getattr(args, "waves", False) or None,
                                     simulator=simulator)
    except BaseException:
        if scratch:
            shutil.rmtree(root, ignore_errors=True)
        raise
    print_result(result)
    print(f"{result.vectors} output pixels in {sum(t['frames'] for t in result.tests.values())}"
          f" frames checked bit for bit, {result.mismatches} mismatches")
    finish_build_root(root, scratch, [result])
    if args.json:
        Path(args.json).write_text(json.dumps([result.as_dict()], indent=2) + "\n")
    return 0 if result.passed else 1
