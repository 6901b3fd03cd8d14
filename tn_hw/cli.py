"""The ``tn-hw`` command line: :func:`build_parser` registers every command of
:mod:`tn_hw.commands`; :func:`main` runs one and turns a :class:`~tn_hw.errors.TnHwError` into
one line on stderr and exit status 2."""

from __future__ import annotations

import sys

from .commands import register_all
from .commands.args import Parser, formatter
from .errors import TnHwError

__all__ = ["main", "build_parser"]

DESCRIPTION = """\
tn-hw generates Verilog for multiplication-free neurons and checks it bit for bit.

A threshold neuron replaces multiply with compare-and-subtract:
    y = bias + sum_i (+/-) max(x_i - w_i, 0)      (polarity p_i: 0 gives +, 1 gives -)
The MAC baseline computes y = bias + sum_i x_i * w_i with the same ports and widths.
Further multiplier-free neurons for comparison: sum-and-max (sam) and adder (AdderNet, L1).
"""

EPILOG = """\
typical session:
  tn-hw generate --kernel 5x5 --width 8 -o out/k5     # Verilog + manifest.json
  tn-hw regress out/k5                                # cocotb + Icarus vs the PyTorch model
  tn-hw synth --kernel 5x5 --width 8                  # area with open Yosys
  tn-hw compare -o out/area                           # threshold vs MAC sweep
  tn-hw demo                                          # all of it for a 3x3 8-bit kernel

a trained network, end to end:
  tn-hw train digits-tmlp -o out/tmlp.json            # or use models/digits-tmlp.json
  tn-hw export out/tmlp.json -o out/tmlp-rtl          # Verilog of the whole network
  tn-hw verify out/tmlp-rtl --data digits-test        # RTL vs golden model, every logit
  tn-hw prove models/ball3-tn4.json --reuse 2         # clocked/folded = combinational, SAT
  tn-hw synth-net out/tmlp.json models/digits-mlp.json --pairs   # area vs the MAC twin
  tn-hw system models/ball3-tn4.json --target ecp5    # clocked system vs the MAC twin

Run 'tn-hw COMMAND --help' for each command's options. Number semantics: docs/semantics.md.
"""


def build_parser() -> Parser:
    """The ``tn-hw`` parser with every command."""
    parser = Parser(prog="tn-hw", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    register_all(sub)
    return parser


def _version():
    from .manifest import tool_versions

    return tool_versions().get("tn-hw") or "unknown"


def main(argv=None) -> int:
    """Run ``tn-hw argv``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except TnHwError as error:
        print(f"tn-hw: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tn-hw: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
