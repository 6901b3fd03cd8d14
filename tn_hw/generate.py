"""Verilog generation: from a :class:`~tn_hw.spec.KernelSpec` to Verilog text and a manifest.

The Amaranth part only: the manifest contract (:class:`~tn_hw.manifest.Design`, reading and
writing design folders) lives in the Amaranth-free :mod:`tn_hw.manifest`; its public names are
re-exported here for existing callers.
"""

from __future__ import annotations

import hashlib

from amaranth.hdl import Shape
from amaranth.lib import wiring

from . import emit, neurons
from .conv import ConvSpec
from .hdl.layer import build_component
from .manifest import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    Design,
    check_output_dir,
    load_manifest,
    port_meaning,
    tool_versions,
    write_design,
    write_files,
)
from .spec import KernelSpec

__all__ = [
    "DESIGN_KINDS", "INTERFACES", "emit_design", "generate", "generate_cell", "generate_conv",
    # Re-exported from tn_hw.manifest (import them from there in new code).
    "MANIFEST_NAME", "Design", "check_output_dir", "load_manifest", "tool_versions",
    "write_design", "write_files",
]

DESIGN_KINDS = ("cell", "kernel", "layer")

#: Port interfaces: one port per value, or valid/ready streams for x and y (hdl/stream.py).
INTERFACES = ("plain", "stream")


def _ports(component, spec, kind):
    # Weight ports that list kept connections only (SAM): name each one's (output, input) pair.
    family = spec.family
    pairs = {}
    if family.port_connections is not None and kind != "cell":
        pairs = family.port_connections(spec)
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
            "meaning": port_meaning(path[0], spec.neuron, kind, stream_member),
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




def _pipeline_cuts(spec) -> dict:
    """Where the register stages went and which model placed them (:mod:`tn_hw.hdl.pipeline`)."""
    from .hdl.pipeline import cut_model, cut_points

    if spec.arch != neurons.DEFAULT_ARCH:
        # Registers between compressor levels, placed on a gate-delay model (tn_hw.hdl.arch).
        return {"model": "compressor-levels"}
    return {"model": cut_model(spec), "boundaries": list(cut_points(spec))}


def emit_design(component, kind, spec, top, *, interface="plain") -> Design:
    """Emit any elaboratable with the ports of a ``kind`` design of ``spec`` (used by
    :func:`generate`, and by the mutation tests to emit planted bugs the same way)."""
    text = emit.convert(component, name=top)
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
        **({"pipeline_cuts": _pipeline_cuts(spec)}
           if clocked and isinstance(spec, KernelSpec) else {}),
        "input_order": "input i of a kernel is (channel * rows + row) * cols + column",
        "ports": _ports(component, spec, kind),
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
    if not isinstance(spec, KernelSpec):
        raise TypeError(f"spec must be a KernelSpec, not {spec!r}")
    kind = "kernel" if spec.outputs == 1 else "layer"
    if stream:
        from .hdl.stream import StreamDesign

        return emit_design(StreamDesign(spec), kind, spec, f"{spec.top_name}_stream",
                           interface="stream")
    # The family's builder (tn_hw.neurons), or the generic kernel/layer.
    return emit_design(build_component(spec), kind, spec, spec.top_name)


def generate_cell(*, neuron: str, width: int) -> Design:
    """Emit a single cell of family ``neuron`` as the top module."""
    spec = KernelSpec(neuron=neuron, kernel=(1, 1), width=width)
    cell = spec.family.make_cell(width)
    return emit_design(cell, "cell", spec, f"tn_{neuron}_cell_w{width}")


def generate_conv(spec: ConvSpec, component=None):
    """Emit a streaming convolution layer as a :class:`~tn_hw.generate.Design` of kind
    ``"conv"``; ``component`` replaces the :class:`~tn_hw.hdl.conv.ConvLayer` (mutation tests).

    The manifest lists every port (stream payloads flattened: ``i__payload`` is channel ``c`` at
    bits ``[c*W +: W]``, ``o__payload`` output ``o`` at ``[o*OW +: OW]``) and the derived
    figures; ``tn-hw regress DIR`` reads it back.
    """
    from .hdl.conv import ConvLayer  # Amaranth elaboration of the layer, only when emitting

    if not isinstance(spec, ConvSpec):
        raise TypeError(f"spec must be a ConvSpec, not {spec!r}")
    component = ConvLayer(spec) if component is None else component
    top = spec.top_name
    text = emit.convert(component, name=top)
    ports = []
    for path, member, value in component.signature.flatten(component):
        shape = Shape.cast(value.shape())  # a stream payload is an ArrayLayout
        ports.append({"name": "__".join(str(part) for part in path), "port": path[0],
                      "index": list(path[1:]),
                      "direction": "input" if member.flow == wiring.In else "output",
                      "width": shape.width, "signed": shape.signed})
    k = spec.kernel
    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": "conv",
        "top": top,
        "verilog": f"{top}.v",
        "parameters": spec.describe(),
        "input_order": "input i of a kernel is (channel * rows + row) * cols + column",
        "streams": {
            "i": f"input pixels in raster order, one pixel (all {k.channels} channels) per beat; "
                 f"channel c at payload bits [c*{k.width} +: {k.width}], signed",
            "o": f"output pixels in raster order, {k.outputs} raw kernel outputs per beat; "
                 f"output o at payload bits [o*{k.output_width} +: {k.output_width}], signed",
            "frame": "frames follow back to back; the layer counts pixels (no first/last); "
                     "a reset drops the frame in flight and the next beat starts a new frame",
        },
        "ports": ports,
        "tools": tool_versions(),
        "verilog_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    return Design(kind="conv", spec=spec, top=top, verilog=text, manifest=manifest)
