"""What every ``tn-hw`` command shares on its command line.

* :class:`Parser` and :func:`formatter`: one argument-error style (one line, a pointer to
  ``--help``, exit 2) and one help layout (epilogs kept as written);
* list parsers: :func:`kernel` (argparse type of one ``RxC``), :func:`kernel_list`,
  :func:`int_list` and :func:`name_list` (``threshold,mac``) for the sweeps;
* option groups: the design options of ``generate``/``regress`` (:func:`add_design_options`,
  :func:`spec_from_args`), the shared sweep flags ``--kernels --widths --neurons``
  (:func:`add_sweep_options`, :func:`sweep_from_args`; the old spellings ``--kernel`` and
  ``--width`` of ``tn-hw timing`` are aliases), the synthesis cache flags and ``--quiet``
  (:func:`progress_for`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import TnHwError
from ..progress import Progress
from ..spec import NEURONS, KernelSpec, parse_kernel

__all__ = [
    "Parser",
    "formatter",
    "kernel",
    "kernel_list",
    "int_list",
    "name_list",
    "choice_list",
    "add_design_options",
    "add_stream_option",
    "read_mask",
    "spec_from_args",
    "add_sweep_options",
    "sweep_from_args",
    "add_cache_options",
    "synth_options",
    "add_quiet_option",
    "progress_for",
    "add_executor_options",
    "executor_from_args",
    "add_simulator_option",
    "simulator_from_args",
]


class Parser(argparse.ArgumentParser):
    """Argument errors as one line plus a pointer to --help, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def formatter(prog):
    """The help layout of every command: descriptions and epilogs as written (they hold
    examples and tables), option help from column 32."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


# -- list parsers --------------------------------------------------------------------------------


def kernel(text):
    """argparse type of one kernel shape ``RxC``."""
    try:
        return parse_kernel(text)
    except TnHwError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parts(text) -> list[str]:
    return [part.strip() for part in str(text).split(",") if part.strip()]


def kernel_list(text, option: str = "--kernels") -> list[tuple[int, int]]:
    """``"3x3,5x5"`` -> ``[(3, 3), (5, 5)]``.

    Raises
    ------
    TnHwError
        On an empty list or a bad shape (the generator's own message).
    """
    kernels = [parse_kernel(part) for part in _parts(text)]
    if not kernels:
        raise TnHwError(f"{option} needs at least one kernel shape, e.g. 3x3")
    return kernels


def int_list(text, option: str = "--widths") -> list[int]:
    """``"4,8"`` -> ``[4, 8]``.

    Raises
    ------
    TnHwError
        On anything but integers separated by commas, or an empty list.
    """
    try:
        values = [int(part) for part in _parts(text)]
    except ValueError:
        raise TnHwError(f"{option} must be integers separated by commas, not {text!r}") from None
    if not values:
        raise TnHwError(f"{option} needs at least one integer")
    return values


def name_list(text, allowed, option: str = "--neurons") -> list[str]:
    """``"threshold,mac"`` -> ``["threshold", "mac"]``, each from ``allowed``.

    Raises
    ------
    TnHwError
        On an unknown name or an empty list.
    """
    names = _parts(text)
    if not names or any(name not in allowed for name in names):
        what = "neurons" if option == "--neurons" else "names"
        raise TnHwError(f"{option} must list {what} from {', '.join(allowed)}, not {text!r}")
    return names


def choice_list(allowed, what: str):
    """argparse type of a comma-separated list of names from ``allowed``; a bad one gives
    ``"<what> must be from a, b, not 'x'"``."""
    def parse(text):
        names = _parts(text)
        if not names or any(name not in allowed for name in names):
            raise argparse.ArgumentTypeError(f"{what} must be from {', '.join(allowed)}, "
                                             f"not {text!r}")
        return names
    return parse


# -- one design (generate, regress) --------------------------------------------------------------


def add_design_options(parser) -> None:
    """``--neuron --kernel --channels --outputs --width --bias-width --mask --stages --arch``."""
    parser.add_argument("--neuron", choices=NEURONS, default="threshold",
                        help="neuron family: threshold (compare-and-subtract with polarity), "
                             "mac (multiply-accumulate baseline), sam (sum-and-max) or adder "
                             "(-sum |x - w|); default threshold")
    parser.add_argument("--kernel", type=kernel, default=(3, 3), metavar="RxC",
                        help="kernel shape, sides 1 to 15, e.g. 3x3 or 5x5; default 3x3")
    parser.add_argument("--channels", type=int, default=1, metavar="C",
                        help="input channels per kernel (a 3x3 kernel with 3 channels has 27 "
                             "inputs); default 1")
    parser.add_argument("--outputs", type=int, default=1, metavar="N",
                        help="kernels sharing one input vector; more than 1 makes a layer; "
                             "default 1")
    parser.add_argument("--width", type=int, default=8, metavar="W",
                        help="width of inputs and thresholds/weights, signed, 2 to 32; "
                             "default 8")
    parser.add_argument("--bias-width", type=int, default=None, metavar="B",
                        help="width of the signed bias; default: the width of the sum of the "
                             "cells, so the bias can take any value that sum can")
    parser.add_argument("--mask", metavar="FILE",
                        help="sam only: JSON keep mask, OUTPUTS rows of N_INPUTS 0/1 (see "
                             "tn-hw generate --help); default dense")
    parser.add_argument("--stages", type=int, default=0, metavar="S",
                        help="register stages in the summation tree (latency S cycles; adds "
                             "clk and rst), 0 to tree depth + 1; default 0 (combinational)")
    parser.add_argument("--arch", default="tree", metavar="NAME",
                        help="micro-architecture of the kernel, one the neuron family offers "
                             "(every one computes the same integers): " + arch_choices()
                             + "; default tree, a balanced binary tree of adders")


def arch_choices() -> str:
    """The ``--arch`` values per family, e.g. ``"threshold: tree, csa; mac: tree, merged"``."""
    from .. import neurons

    return "; ".join(f"{name}: {', '.join(neurons.get(name).architectures)}"
                     for name in neurons.names())


def arch_epilog() -> str:
    """A help paragraph describing every family's ``--arch`` values (docs/architecture.md)."""
    import textwrap

    from .. import neurons

    lines = textwrap.wrap("--arch NAME picks the kernel's micro-architecture (the same "
                          "integers, another circuit; with --stages the compressor trees get "
                          "their registers between compressor levels; docs/architecture.md):",
                          width=96)
    for name in neurons.names():
        for arch, text in neurons.get(name).architectures.items():
            lines += textwrap.wrap(f"{name} {arch}: {text}", width=96, initial_indent="  ",
                                   subsequent_indent="      ")
    return "\n".join(lines) + "\n"


def add_stream_option(parser) -> None:
    """``--stream``."""
    parser.add_argument("--stream", action="store_true",
                        help="valid/ready stream interfaces on x and y (with --stages: a "
                             "global stall enable); default: one port per value")


def read_mask(path):
    """The ``--mask`` file: ``(max rows, min rows or None)``, or ``(None, None)`` without one.

    Raises
    ------
    TnHwError
        If the file cannot be read, is not JSON or has the wrong shape.
    """
    if path is None:
        return None, None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise TnHwError(f"cannot read mask file {path!r}: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:
        # JSONDecodeError, UnicodeDecodeError, an integer of over 4300 digits, deep nesting.
        raise TnHwError(f"mask file {path!r} is not JSON: {error}") from None
    if isinstance(data, dict):
        if set(data) - {"max", "min"} or "max" not in data:
            raise TnHwError(f"mask file {path!r}: an object needs the keys \"max\" and "
                            f"optionally \"min\", not {sorted(data)}")
        return data["max"], data.get("min")
    if not isinstance(data, list):
        raise TnHwError(f"mask file {path!r} must hold a JSON list of rows of 0/1")
    return data, None


def spec_from_args(args) -> KernelSpec:
    """The :class:`~tn_hw.spec.KernelSpec` of the design options (validated)."""
    mask, mask_min = read_mask(getattr(args, "mask", None))
    return KernelSpec(neuron=args.neuron, kernel=args.kernel, channels=args.channels,
                      outputs=args.outputs, width=args.width, bias_width=args.bias_width,
                      mask=mask, mask_min=mask_min, stages=getattr(args, "stages", 0),
                      arch=getattr(args, "arch", "tree"))


# -- sweeps (compare, energy, timing) ------------------------------------------------------------


def add_sweep_options(parser, *, kernels: str | None, widths: str | None,
                      neurons: str | None = "threshold,mac", neuron_choices=NEURONS,
                      aliases: bool = False) -> None:
    """The sweep flags every sweep command spells the same way.

    ``--kernels 3x3,5x5 --widths 4,8 --neurons threshold,mac``; the values stay text here and
    :func:`sweep_from_args` parses them after argparse, so a bad value gets one line that names
    the flag. ``aliases`` also accepts ``--kernel`` and ``--width`` (``tn-hw timing`` spelled
    its lists that way). A default of ``None`` means "not given" (``tn-hw energy`` then
    measures one design).
    """
    def shown(default):
        return f"default {default}" if default is not None else "sweep only"

    parser.add_argument("--kernels", *(["--kernel"] if aliases else []), dest="kernels",
                        default=kernels, metavar="RxC[,RxC...]",
                        help=f"kernel shapes, comma-separated ({shown(kernels)})")
    parser.add_argument("--widths", *(["--width"] if aliases else []), dest="widths",
                        default=widths, metavar="W[,W...]",
                        help="input and threshold/weight widths in bits, comma-separated "
                             f"({shown(widths)})")
    if neurons is not None:
        parser.add_argument("--neurons", default=neurons, metavar="NAME[,NAME...]",
                            help="neuron families, comma-separated, from "
                                 f"{', '.join(neuron_choices)} (default {neurons})")
    parser.set_defaults(neuron_choices=tuple(neuron_choices))


def sweep_from_args(args) -> tuple[list, list, list]:
    """``(kernels, widths, neurons)`` of the sweep flags, every width checked by the generator.

    Raises
    ------
    TnHwError
        One line naming the flag: an empty list, a bad kernel shape, a non-integer or
        out-of-range width, an unknown neuron.
    """
    kernels = kernel_list(args.kernels)
    widths = int_list(args.widths)
    for width in widths:
        KernelSpec(width=width)  # validates with the generator's own message
    neurons = name_list(getattr(args, "neurons", "threshold,mac"), args.neuron_choices)
    return kernels, widths, neurons


# -- synthesis cache and progress ----------------------------------------------------------------


def add_cache_options(parser) -> None:
    """``--cache-dir DIR`` and ``--no-cache``."""
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="result cache folder (default ~/.cache/tn-hw/synth or TN_HW_CACHE)")
    parser.add_argument("--no-cache", action="store_true",
                        help="always run the tools (results are not read from or written to "
                             "the cache)")


def synth_options(args) -> dict:
    """``cache_dir`` and ``cache`` for the synthesis functions."""
    return {"cache_dir": args.cache_dir, "cache": not args.no_cache}


def add_simulator_option(parser) -> None:
    """``--simulator icarus|verilator`` (regress, verify, demo)."""
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default=None,
                        help="icarus or verilator (compiled, about 10x faster on long runs; "
                             "each design is compiled once and cached in "
                             "~/.cache/tn-hw/verilator or $TN_HW_SIM_CACHE); default "
                             "$TN_HW_SIMULATOR or icarus")


def simulator_from_args(args) -> str:
    """The ``--simulator`` of ``args``, checked installed.

    Raises
    ------
    TnHwError
        One line naming the missing simulator and how to install it.
    """
    from ..testbench.sim import check_simulator, default_simulator

    simulator = default_simulator(getattr(args, "simulator", None))
    check_simulator(simulator)
    return simulator


def add_quiet_option(parser) -> None:
    """``--quiet``: no progress on stderr."""
    parser.add_argument("--quiet", action="store_true",
                        help="no progress on stderr (default: a bar with ETA on a terminal, "
                             "one line per finished point otherwise)")


def progress_for(args, label: str, total: int | None = None) -> Progress:
    """The sweep's :class:`~tn_hw.progress.Progress` on stderr (silent with ``--quiet``)."""
    return Progress(label, total, quiet=getattr(args, "quiet", False))


# -- where the points run ------------------------------------------------------------------------


def add_executor_options(parser, *, jobs_help: str = "parallel runs on this machine "
                         "(default 1)") -> None:
    """``-j N`` (this machine) and ``--scheduler tcp://HOST:PORT`` (a Dask cluster; default
    ``$TN_HW_SCHEDULER``; docs/cluster.md)."""
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help=jobs_help)
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="run each point as a task on this Dask scheduler's workers "
                             "(default $TN_HW_SCHEDULER, else this machine; needs "
                             "tn-hw[cluster])")


def executor_from_args(args):
    """The sweep's executor (:func:`tn_hw.executor.make_executor`); use it in a ``with``.

    Raises
    ------
    TnHwError
        ``-j`` below 1, Dask missing, the scheduler unreachable or a worker's tools differing.
    """
    from ..executor import make_executor

    return make_executor(getattr(args, "jobs", 1), getattr(args, "scheduler", None))
