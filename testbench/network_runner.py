"""Run a whole exported network under cocotb + Icarus and compare every logit as an integer.

The simulation top is a wrapper, ``tn_tb_top``, around one instance of the emitted network
(untouched), built like :mod:`tn_hw.testbench.harness`: Python packs a batch of input vectors
into one wide register, the wrapper applies them one per nanosecond and collects the logits into
another, so a batch costs four crossings however many samples it holds. In ``ports`` mode the
parameters sit in a third register that Python writes once, before the first batch.

A clocked network (``interface: "stream"``, :mod:`tn_hw.hdl.network_stream`) runs in the stream
wrapper of :mod:`tn_hw.testbench.stream_runner` (clock, reset, the streams under their own
names, the parameters in ``cfg``), driven cycle by cycle by the valid/ready BFM
(:mod:`tn_hw.testbench.valid_ready`): every sample under random valid gaps and ready
back-pressure, back to back with the timing of every beat, and with resets while beats are in
flight (see :mod:`tn_hw.testbench.tb_network`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TnHwError
from .consistency import check_design
from .harness import WRAPPER_TOP, LaneLayout, default_lanes
from .sim import check_simulator, default_waves, simulate
from .stream_runner import config_layout, stream_wrapper

__all__ = [
    "NetworkResult",
    "find_mismatches",
    "is_stream",
    "network_layouts",
    "network_wrapper",
    "run_network",
]

PARAMETER_FAMILIES = ("w", "p", "bias")


@dataclass
class NetworkResult:
    """Outcome of one network simulation.

    Attributes
    ----------
    top : str
    samples : int
    got : numpy.ndarray
        int64 ``(samples, outputs)``: every logit the RTL produced.
    mismatches : list of (sample, output, expected, got)
    passed : bool
        The cocotb test passed and no logit differs.
    """

    top: str
    samples: int
    got: np.ndarray
    mismatches: list = field(default_factory=list)
    cocotb_passed: bool = False
    lanes: int = 0
    build_seconds: float = 0.0
    run_seconds: float = 0.0
    log: Path | None = None
    reason: str | None = None
    waves: Path | None = None

    @property
    def passed(self) -> bool:
        return self.cocotb_passed and not self.mismatches


def _is_parameter(entry) -> bool:
    return entry["port"] not in ("x", "y")


def is_stream(manifest) -> bool:
    """Whether the network is the clocked stream accelerator."""
    return manifest.get("interface", "plain") == "stream"


def network_layouts(manifest, lanes):
    """``(data layout, parameter layout or None)``: :class:`LaneLayout` objects for the ``x``
    inputs and ``y`` outputs (``lanes`` samples per batch) and for the parameter ports (one
    vector, written once)."""
    data = dict(manifest, ports=[p for p in manifest["ports"] if not _is_parameter(p)])
    params = [p for p in manifest["ports"] if _is_parameter(p)]
    param_layout = None
    if params:
        param_layout = LaneLayout(dict(manifest, ports=params), lanes=1)
    return LaneLayout(data, lanes=lanes), param_layout


def network_wrapper(layout: LaneLayout, param_layout: LaneLayout | None) -> str:
    """Verilog of ``tn_tb_top`` for a network (see the module docstring)."""
    text = layout.wrapper_verilog()
    if param_layout is None:
        return text
    declaration = f"  reg  [{param_layout.in_bits - 1}:0] params = 0;\n"
    connections = "".join(f"    .{p.name}(params[{p.offset} +: {p.width}]),\n"
                          for p in param_layout.inputs)
    text = text.replace("  reg  [31:0] count = 0;\n", declaration + "  reg  [31:0] count = 0;\n")
    return text.replace(" dut (\n", " dut (\n" + connections, 1)


def find_mismatches(expected: np.ndarray, got: np.ndarray) -> list:
    """Every differing logit as ``(sample, output, expected, got)``, in sample order."""
    rows, cols = np.nonzero(expected != got)
    return [(int(r), int(c), int(expected[r, c]), int(got[r, c]))
            for r, c in zip(rows, cols, strict=True)]


def run_network(verilog: str, manifest: dict, x: np.ndarray, expected: np.ndarray, build_dir, *,
                parameters: dict | None = None, simulator: str | None = None,
                waves: bool | None = None, seed: int = 1) -> NetworkResult:
    """Simulate an emitted network on a batch of inputs and compare every logit.

    Parameters
    ----------
    verilog : str
        The network's Verilog (top ``manifest["top"]``).
    manifest : dict
        Its manifest (ports with names, families, indices, widths).
    x : numpy.ndarray
        int64 ``(samples, inputs)``, flattened ``(C, H, W)`` row-major.
    expected : numpy.ndarray
        int64 ``(samples, outputs)`` golden logits.
    build_dir : path
        A folder of this run's own.
    parameters : dict, optional
        Ports mode: ``{port family: nested list}`` values, driven once.
    waves : bool, optional
        Dump waveforms; default from ``TN_HW_WAVES``.
    seed : int
        A stream design: seed of the random gaps, back-pressure and reset points.

    Returns
    -------
    NetworkResult

    Raises
    ------
    TnHwError
        A missing simulator, missing parameter values, or a simulation without results.
    """
    check_simulator(simulator)
    check_design(manifest, verilog)
    x = np.ascontiguousarray(x, dtype=np.int64).reshape(len(x), -1)
    expected = np.ascontiguousarray(expected, dtype=np.int64).reshape(len(x), -1)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    stream = is_stream(manifest)
    if stream:
        lanes = 1
        param_layout = config_layout(manifest)
        param_layout = param_layout if param_layout.inputs else None
    else:
        probe, param_layout = network_layouts(manifest, 1)
        lanes = default_lanes(probe.in_bits, len(x))
        layout, param_layout = network_layouts(manifest, lanes)
    arrays = {"x": x, "expected": expected}
    if param_layout is not None:
        if parameters is None:
            raise TnHwError(f"{manifest['top']} has parameter ports; give their values")
        for port in param_layout.inputs:
            if port.family not in parameters:
                raise TnHwError(f"no values for the parameter port family {port.family!r}")
        for family in {p.family for p in param_layout.inputs}:
            arrays[f"param_{family}"] = np.asarray(parameters[family], dtype=np.int64)[None]
    dut_file = build_dir / manifest["verilog"]
    dut_file.write_text(verilog)
    wrapper_file = build_dir / f"{WRAPPER_TOP}.v"
    wrapper_file.write_text(stream_wrapper(manifest) if stream
                            else network_wrapper(layout, param_layout))
    data_file = build_dir / "vectors.npz"
    np.savez(data_file, **arrays)
    got_file = build_dir / "got.npy"
    got_file.unlink(missing_ok=True)
    config = {"manifest": manifest, "lanes": lanes, "data": str(data_file),
              "got": str(got_file), "seed": seed}
    run = simulate([dut_file, wrapper_file], "tn_hw.testbench.tb_network", build_dir,
                   config=config, simulator=simulator, waves=default_waves(waves),
                   hdl_toplevel=WRAPPER_TOP, dut_module=manifest["top"])
    if not got_file.exists():
        raise TnHwError(f"simulation of {manifest['top']} wrote no outputs: "
                        f"{run.reason or 'no reason found'}; see {run.log}")
    got = np.load(got_file)
    return NetworkResult(top=manifest["top"], samples=len(x), got=got,
                         mismatches=find_mismatches(expected, got),
                         cocotb_passed=run.total > 0 and not run.failed, lanes=lanes,
                         build_seconds=run.build_seconds, run_seconds=run.run_seconds,
                         log=run.log, reason=run.reason, waves=run.waves)
