"""Export a trained integer network to Verilog, and verify the RTL against the golden model.

``tn-hw export MODEL -o DIR`` writes ``<top>.v``, ``manifest.json`` and ``network.json`` (the
model, re-saved from the validated load) into DIR, staged so that an error leaves nothing
half-written. ``tn-hw verify DIR --data NAME`` runs a data set through that Verilog under cocotb
and Icarus and compares every logit with ``tn_hw.reference.network.forward``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import SpecError, TnHwError
from .manifest import MANIFEST_NAME, load_manifest, tool_versions, write_files

__all__ = ["NETWORK_NAME", "NetworkDesign", "export_network", "verify_network",
           "write_network_design"]

NETWORK_NAME = "network.json"
MANIFEST_KIND = "network"

#: Choices of the command line, spelled out so that ``tn-hw --help`` imports neither Amaranth
#: nor torch; tests/testbench/test_network_hw.py checks them against tn_hw.hdl.network.MODES and
#: tn_hw.reference.data.DATASETS.
CLI_MODES = ("baked", "ports")
CLI_DATA = ("digits-train", "digits-test", "ball3-train", "ball3-test", "random")

_MEANINGS = {
    "x": "input activation, signed, (C, H, W) row-major",
    "y": "logit: the last layer's requantized output, signed",
    "w": "threshold (threshold layer) or weight (mac layer) w[o][i], i in KernelSpec order",
    "p": "polarity p[o][i]: 0 excitatory (+r), 1 inhibitory (-r)",
    "bias": "bias of output o, signed",
    "wp": "W+ (max side) of a SAM layer wp[o][i], i in KernelSpec order, signed",
    "wm": "W- (min side) of a SAM layer wm[o][i], i in KernelSpec order, signed",
}


@dataclass(frozen=True)
class NetworkDesign:
    """An emitted network: Verilog, manifest, and the network file it came from."""

    top: str
    verilog: str
    manifest: dict
    network_text: str

    @property
    def verilog_name(self) -> str:
        return f"{self.top}.v"


def _family(port: str) -> str:
    return port.rsplit("_", 1)[-1] if port.startswith("l") and "_" in port else port


_STREAM_MEANINGS = {
    ("x", "payload"): "input activations: input i ((C, H, W) row-major) at bits [i*W +: W], "
                      "signed",
    ("x", "valid"): "input beat available",
    ("x", "ready"): "input beat accepted at the rising clock edge when x__valid is high",
    ("y", "payload"): "logits: logit o at bits [o*B +: B], signed",
    ("y", "valid"): "output beat available; y__valid and y__payload hold until y__ready",
    ("y", "ready"): "output beat taken at the rising clock edge when y__valid is high",
}

#: The clock of a clocked network (as a pipelined kernel's, tn_hw.generate).
CLOCK = {"clk": "rising edge", "rst": "synchronous, active high"}


def _ports(component) -> list:
    from amaranth.hdl import Shape
    from amaranth.lib import wiring

    ports = []
    for path, member, value in component.signature.flatten(component):
        shape = Shape.cast(value.shape())
        member_name = path[1] if path[0] in ("x", "y") and len(path) == 2 and \
            isinstance(path[1], str) else None
        entry = {
            "name": "__".join(str(part) for part in path),
            "port": path[0],
            "index": [] if member_name else list(path[1:]),
            "direction": "input" if member.flow == wiring.In else "output",
            "width": shape.width,
            "signed": shape.signed,
            "meaning": (_STREAM_MEANINGS[path[0], member_name] if member_name
                        else _MEANINGS[_family(path[0])]),
        }
        if member_name:
            entry["stream"] = member_name
            if member_name == "payload":
                layout = value.shape()
                element = Shape.cast(layout.elem_shape)
                entry["element"] = {"width": element.width, "signed": element.signed,
                                    "count": layout.length}
        ports.append(entry)
    return ports


def _interface(component) -> str:
    """``"stream"`` when ``x`` is a valid/ready stream, else ``"plain"``."""
    return "stream" if component.signature.members["x"].is_signature else "plain"


def _built_cells(spec, reuse: int) -> dict:
    """Cells one position of a layer builds: ``cells``, one per input of each kernel (a dense
    layer's ``kernels * n_inputs``). A masked SAM layer builds a cell for each input a kernel
    keeps on its max or its min side (over the union of the masks of the outputs a folded
    kernel serves, as :class:`~tn_hw.hdl.network_stream.FoldedNetwork` builds it), and
    ``sums_max`` / ``sums_min``: the ``x + W`` adders of each side."""
    from .hdl.network_stream import fold_kernels, fold_served, union_masks

    kernels = fold_kernels(spec.outputs, reuse)
    if not spec.is_sparse:
        return {"cells": kernels * spec.n_inputs}
    if reuse > 1:
        union = union_masks(spec, [fold_served(spec.outputs, reuse, g) for g in range(kernels)])
        keep_max, keep_min = union["max"], union["min"]
    else:
        keep_max, keep_min = spec.keep_max, spec.keep_min
    return {"cells": sum(a or b for row_max, row_min in zip(keep_max, keep_min, strict=True)
                         for a, b in zip(row_max, row_min, strict=True)),
            "sums_max": sum(map(sum, keep_max)), "sums_min": sum(map(sum, keep_min))}


def _describe_stage(stage, reuse: int = 1) -> dict:
    entry = {"index": stage.index, "type": stage.type, "in_shape": list(stage.in_shape),
             "out_shape": list(stage.out_shape)}
    if stage.has_parameters:
        built = {k: stage.positions * v for k, v in _built_cells(stage.spec, reuse).items()}
        if reuse > 1:  # (the keys in the order earlier manifests have them)
            entry.update(kernels=stage.positions * -(-stage.spec.outputs // reuse),
                         cells=built["cells"])
        entry.update(neuron=stage.spec.neuron, kernel=list(stage.spec.kernel),
                     channels=stage.spec.channels, outputs=stage.spec.outputs,
                     positions=stage.positions,
                     cells=built.pop("cells"), **built,
                     stride=stage.stride, padding=stage.padding,
                     width=stage.spec.width, bias_width=stage.spec.bias_width,
                     accumulator_width=stage.spec.output_width, shift=stage.shift,
                     out_width=stage.out_width, relu=stage.relu,
                     activation_width=stage.activation_width)
    return entry


def export_network(net, *, mode: str = "baked", component=None,
                   clocked: bool = False, reuse: int = 1) -> NetworkDesign:
    """Emit a loaded network as Verilog with its manifest.

    Parameters
    ----------
    net : tn_hw.reference.network.Network
        From :func:`tn_hw.reference.network.load_network`.
    mode : str
        ``"baked"`` or ``"ports"`` (see :mod:`tn_hw.hdl.network`).
    component : Network, PipelinedNetwork or NetworkStream, optional
        A prebuilt component (the mutation tests pass planted bugs this way, and the formal
        check the plain clocked core); default builds ``Network(net, mode=mode)``, or
        ``NetworkStream(net, mode=mode)`` with ``clocked``.
    clocked : bool
        The clocked stream accelerator (:mod:`tn_hw.hdl.network_stream`): a register stage per
        layer, ``x``/``y`` as valid/ready streams; the manifest records ``interface``,
        ``latency``, ``initiation_interval``, ``reuse`` and ``clock``.
    reuse : int
        With ``clocked``: fold every layer's outputs onto ``ceil(O / reuse)`` kernels per
        position over ``reuse`` cycles (initiation interval ``reuse``, latency ``reuse`` per
        layer; :mod:`tn_hw.hdl.network_stream`).

    Raises
    ------
    SpecError
        ``reuse`` out of range, or above 1 without ``clocked``.

    Returns
    -------
    NetworkDesign
    """
    from .emit import convert
    from .hdl.network import Network, top_name
    from .reference.network import network_to_dict

    if reuse != 1 and not clocked and component is None:
        raise SpecError("a reuse factor needs a clocked network (--clocked)")
    if component is not None:
        dut = component
    elif clocked:
        from .hdl.network_stream import NetworkStream, check_reuse

        check_reuse(net, reuse)  # before building: a refused component warns as unused
        dut = NetworkStream(net, mode=mode, reuse=reuse)
    else:
        dut = Network(net, mode=mode)
    interface = _interface(dut)
    if dut.latency:
        from .hdl.network_stream import clocked_top_name

        top = clocked_top_name(net, dut.mode, dut.latency, stream=interface == "stream",
                               reuse=dut.reuse)
    else:
        top = top_name(net, dut.mode)
    reuse_of_dut = dut.reuse if dut.latency else 1
    stages = [_describe_stage(s, reuse_of_dut) for s in dut.stages]
    network_text = json.dumps(network_to_dict(net), sort_keys=True, separators=(",", ":")) + "\n"
    manifest = {
        "format": 1,
        "kind": MANIFEST_KIND,
        "top": top,
        "verilog": f"{top}.v",
        "network": NETWORK_NAME,
        "network_sha256": hashlib.sha256(network_text.encode()).hexdigest(),
        "name": net.name,
        "task": net.task,
        "mode": dut.mode,
        "input_shape": list(dut.input_shape),
        "input_width": net.input_width,
        "output_shape": list(dut.output_shape),
        "output_width": dut.output_width,
        "latency": dut.latency,
        **({"interface": interface, "initiation_interval": dut.initiation_interval,
            "reuse": dut.reuse, "clock": dict(CLOCK)} if dut.latency else {}),
        "cells": sum(s["cells"] for s in stages if "cells" in s),
        "stages": stages,
        "requantization": "q = saturate((y + 2**(s-1)) >> s) for s > 0, saturate(y) for s = 0; "
                          "saturation to out_width (none if null); then max(q, 0) if relu",
        "ports": _ports(dut),
        "tools": tool_versions(),
    }
    text = convert(dut, name=top)
    manifest["verilog_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    return NetworkDesign(top=top, verilog=text, manifest=manifest, network_text=network_text)


def write_network_design(design: NetworkDesign, out) -> list[Path]:
    """Write ``<top>.v``, ``manifest.json`` and ``network.json`` into ``out``, staged in a
    temporary folder and moved in only when all are complete (as
    :func:`tn_hw.manifest.write_design`).

    Raises
    ------
    TnHwError
        If ``out`` is a file, or cannot be created or written.
    """
    files = {
        design.verilog_name: design.verilog,
        NETWORK_NAME: design.network_text,
        MANIFEST_NAME: json.dumps(design.manifest, indent=2) + "\n",
    }
    return write_files(out, files)


def _load_exported(folder):
    from .reference.network import load_network

    folder = Path(folder)
    manifest = load_manifest(folder)
    if manifest.get("kind") != MANIFEST_KIND:
        raise TnHwError(f"{str(folder)!r} holds a {manifest.get('kind')!r} design, not a network; "
                        "use tn-hw regress for kernels and layers")
    try:
        network_text = (folder / manifest["network"]).read_text()
        verilog = (folder / manifest["verilog"]).read_text()
    except KeyError as error:
        raise TnHwError(f"{folder}/manifest.json is malformed (missing {error})") from None
    except OSError as error:
        raise TnHwError(f"cannot read the exported network: {error}") from None
    if hashlib.sha256(network_text.encode()).hexdigest() != manifest.get("network_sha256"):
        raise TnHwError(f"{folder}/{manifest['network']} does not match the manifest's "
                        "checksum; export again")
    return manifest, load_network(json.loads(network_text)), verilog


def _check_against_network(manifest, net, verilog) -> None:
    """Refuse a manifest that disagrees with network.json or with its Verilog (issue 19)."""
    from .testbench.consistency import DesignMismatch, check_design

    for field, value in (("name", net.name), ("input_shape", list(net.input_shape)),
                         ("input_width", net.input_width)):
        if manifest.get(field) != value:
            raise DesignMismatch(f"{field}: expected {value!r} ({manifest.get('network')}), "
                                 f"found {manifest.get(field)!r}")
    check_design(manifest, verilog)


def _inputs(net, data, samples, seed):
    """Integer inputs ``(N, *input_shape)`` and labels (or ``None``) for ``--data``."""
    import numpy as np
    import torch

    if data == "random":
        rng = np.random.default_rng(seed)
        lo, hi = -(1 << (net.input_width - 1)), (1 << (net.input_width - 1)) - 1
        x = rng.integers(lo, hi, size=(samples, *net.input_shape), endpoint=True)
        return torch.from_numpy(x.astype(np.int64)), None
    from .reference.data import network_dataset

    x, labels = network_dataset(net, data)
    if samples is not None:
        x, labels = x[:samples], labels[:samples]
    return x, labels


def verify_network(folder, *, data: str = "digits-test", samples=None, seed: int = 1,
                   build_dir=None, waves: bool = False, simulator: str | None = None) -> dict:
    """Run a data set through an exported network's RTL and compare every logit.

    Parameters
    ----------
    folder : path
        Written by :func:`write_network_design` (``tn-hw export``).
    data : str
        A data set part of :data:`tn_hw.reference.data.DATASETS`, or ``"random"`` (uniform
        inputs over the input width).
    samples : int, optional
        Use only the first ``samples`` (required for ``"random"``).
    seed : int
        Seed of the random inputs, and of the handshakes of a clocked (stream) design.
    build_dir : path, optional
        Keep the simulation files here (default: a temporary folder, removed after a run that
        passed without waves, kept otherwise: ``report["build_dir"]``).
    waves : bool
        Dump an FST waveform (``report["waves"]``).
    simulator : str, optional
        ``"icarus"`` or ``"verilator"``; default ``$TN_HW_SIMULATOR`` or icarus.

    Returns
    -------
    dict
        ``top``, ``mode``, ``data``, ``samples``, ``outputs``, ``mismatch_count``,
        ``mismatches`` (list of ``{sample, output, expected, got}``), ``golden_accuracy`` and
        ``rtl_accuracy`` (``None`` without labels), ``passed``.
    """
    import numpy as np

    from .reference.network import forward, predict_logits
    from .testbench.network_runner import run_network

    manifest, net, verilog = _load_exported(folder)
    _check_against_network(manifest, net, verilog)
    x, labels = _inputs(net, data, samples, seed)
    golden = forward(net, x).reshape(len(x), -1)
    parameters = None
    if manifest["mode"] == "ports":
        from .hdl.network import parameter_values, plan_network

        parameters = parameter_values(plan_network(net))
    root = Path(build_dir) if build_dir else Path(tempfile.mkdtemp(prefix="tn-hw-verify-"))
    try:
        result = run_network(verilog, manifest, x.reshape(len(x), -1).numpy(), golden.numpy(),
                             root, parameters=parameters, waves=waves, simulator=simulator,
                             seed=seed)
    except BaseException:
        if not build_dir:
            shutil.rmtree(root, ignore_errors=True)
        raise
    report = {
        "top": manifest["top"], "mode": manifest["mode"], "data": data, "samples": len(x),
        "outputs": int(golden.shape[1]), "mismatch_count": len(result.mismatches),
        "mismatches": [{"sample": s, "output": o, "expected": e, "got": g}
                       for s, o, e, g in result.mismatches],
        "golden_accuracy": None, "rtl_accuracy": None, "correct": None,
        "build_seconds": round(result.build_seconds, 3),
        "run_seconds": round(result.run_seconds, 3),
        "reason": result.reason, "log": str(result.log),
        "waves": None if result.waves is None else str(result.waves),
    }
    if labels is not None and len(x):
        import torch

        golden_pred = predict_logits(golden)
        rtl_pred = predict_logits(torch.from_numpy(np.asarray(result.got, dtype=np.int64)))
        report["correct"] = {"golden": int((golden_pred == labels).sum()),
                             "rtl": int((rtl_pred == labels).sum())}
        report["golden_accuracy"] = report["correct"]["golden"] / len(x)
        report["rtl_accuracy"] = report["correct"]["rtl"] / len(x)
    report["passed"] = (result.passed and report["rtl_accuracy"] == report["golden_accuracy"])
    if not report["passed"] and report["reason"] is None:
        report["reason"] = (f"{report['mismatch_count']} mismatching logits"
                            if report["mismatch_count"] else "RTL and golden accuracy differ")
    if not build_dir and report["passed"] and result.waves is None:
        shutil.rmtree(root, ignore_errors=True)
    return report
