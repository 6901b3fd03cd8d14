"""Energy per inference on sky130 cells for ``tn-hw energy --target sky130`` (issue 14 item 3).

Each kernel goes through the ``sky130`` target of the area flow (the mapping recipe of the
area tables, :mod:`.recipes`); its mapped netlist is simulated gate by gate
(:func:`~tn_hw.synth.sky130.power.build_netlist`: every cell output evaluates its liberty
function) on the energy command's input streams (:func:`tn_hw.synth.energy.proxy.make_streams`:
random or the digits activations, the same streams the generic energy proxy uses), every output
of every vector is compared with the golden model as an integer, and every toggle is weighted
as :mod:`.power` weighs it: the cell's characterized internal energy plus ``C_load VDD^2 / 2``
of the net's load. Area (um^2), delay (ns, :mod:`.sta`) and leakage come from the flow's result;
power at 50 MHz is ``energy_pj x 50 + leakage``.

The netlist of a run is cached beside the flow's result (``<cache>/sky130-netlist``, keyed by
the flow's own key), so a repeated sweep runs no Yosys.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from ..tools import ResultCache, SynthError, cache_key, content_key, find_yosys, yosys_version
from .power import CLOCK_MHZ, VDD, build_netlist, toggle_energy_fj
from .target import Sky130Flow

__all__ = ["render_csv", "render_markdown", "render_text", "run_sky130_energy",
           "sky130_kernel_energy", "sky130_netlist"]

#: Figures of a row, in table order: (key, column heading).
COLUMNS = (("area_um2", "area um^2"), ("cells", "cells"), ("delay_ns", "delay ns"),
           ("leakage_nw", "leakage nW"), ("energy_pj", "pJ/inference"),
           ("energy_unit_pj", "pJ, unit delay"), ("power_uw", f"uW at {CLOCK_MHZ:g} MHz"))
#: The figures a MAC / threshold ratio is given for.
RATIOS = ("area_um2", "delay_ns", "leakage_nw", "energy_pj", "energy_unit_pj", "power_uw")


def sky130_netlist(verilog: str, top: str, target: str = "sky130", *, cache_dir=None,
                   cache: bool = True, timeout: float = 1800) -> tuple[dict, dict]:
    """The mapped netlist (``write_json`` document) and the flow result of one design.

    The flow result comes from :func:`tn_hw.synth.area.flow.synthesize` (cached as usual); the
    netlist from the cache entry beside it, or from one run of the same script that keeps its
    files, which also fills the flow's entry when that is missing (else its area must equal
    the cached one).

    Raises
    ------
    SynthError
        Yosys failing, or a kept run whose area differs from the flow's result.
    """
    from ..area.flow import TARGETS, synthesize

    flow = TARGETS[target]
    if not isinstance(flow.extension, Sky130Flow):
        raise SynthError(f"{target!r} is not a sky130 target")
    executable = find_yosys(None)
    # The flow's own cache key (as synthesize() builds it), and the netlist's beside it.
    flow_key = cache_key(content_key(verilog, flow.script_text(top=top),
                                     yosys_version(executable)), *flow.extension.key_parts(verilog))
    results = ResultCache(cache_dir, enabled=cache)
    store = results.sub("sky130-netlist")
    key = cache_key(flow_key, "netlist.json")
    files = store.load_files(key, ["netlist.json"])
    if files is None:
        with tempfile.TemporaryDirectory(prefix="tn-hw-sky130-net-") as scratch:
            kept = synthesize(verilog, top, flow, keep_dir=scratch, timeout=timeout)
            store.store_files(key, scratch, ["netlist.json"])
            files = {"netlist.json": (Path(scratch) / "netlist.json").read_text()}
        cached = results.load(flow_key)
        if cached is None:
            # One Yosys run serves both entries: the flow's result is this run's.
            results.store(flow_key, kept)
            return json.loads(files["netlist.json"]), kept
        if cached["metrics"]["area_um2"] != kept["metrics"]["area_um2"]:
            raise SynthError(f"{top}: a repeated sky130 run gave "
                             f"{kept['metrics']['area_um2']} um^2, the cached result "
                             f"{cached['metrics']['area_um2']} um^2")
    result = synthesize(verilog, top, flow, cache_dir=cache_dir, cache=cache, timeout=timeout)
    return json.loads(files["netlist.json"]), result


def sky130_kernel_energy(spec, neuron: str, streams, *, delays=("zero", "unit"),
                         target: str = "sky130", netlist=None, cache_dir=None) -> dict:
    """Energy per inference (pJ) of one kernel's sky130 netlist on ``streams``, checked.

    Parameters
    ----------
    spec : tn_hw.spec.KernelSpec
        Shape and width (its neuron field is ignored).
    neuron : str
        ``"threshold"`` or ``"mac"``.
    streams : list of tn_hw.synth.energy.proxy.Stream
        From :func:`~tn_hw.synth.energy.proxy.make_streams`.
    delays : sequence of str
        ``"zero"`` (settled values: ``energy_pj``) and/or ``"unit"`` (``energy_unit_pj``).
    target : str
        ``sky130`` or a ``sky130-<recipe>`` target.
    netlist : tuple, optional
        ``(write_json document, flow result)`` to use instead of synthesizing (tests pass
        mutants).

    Returns
    -------
    dict
        ``neuron``, ``top``, the flow's ``area_um2``, ``cells``, ``delay_ns``, ``leakage_nw``;
        ``energy_pj`` / ``energy_unit_pj`` (per delay model asked), ``internal_pj``,
        ``load_pj``, ``input_pj`` (zero-delay split), ``power_uw``, ``vectors``,
        ``transitions``, ``toggles`` (per transition), ``cached``, ``sim_seconds``.

    Raises
    ------
    tn_hw.synth.energy.options.EnergyError
        An output of a vector differs from the golden model.
    """
    from ...generate import generate
    from ...spec import KernelSpec
    from ..energy.proxy import check_outputs
    from .liberty import default_liberty

    design = generate(KernelSpec(neuron=neuron, kernel=spec.kernel, width=spec.width))
    report, flow = netlist if netlist is not None else sky130_netlist(
        design.verilog, design.top, target, cache_dir=cache_dir)
    lib = default_liberty()
    sim_netlist, cells, loads = build_netlist(report, design.top, lib)
    sim_netlist.signed = {p["name"]: p["signed"] for p in design.manifest["ports"]}
    per_gate, per_input = toggle_energy_fj(sim_netlist, cells, loads, lib)
    load_only = np.array([loads.get(n, 0.0) * VDD ** 2 / 2 * 1e3 for n in sim_netlist.drives])
    m = flow["metrics"]
    row = {"neuron": neuron, "top": design.top, "target": target,
           **{k: m[k] for k in ("area_um2", "cells", "delay_ns", "leakage_nw")},
           "vectors": sum(len(s.x) for s in streams), "cached": flow.get("cached", False)}
    started = time.monotonic()
    for delay in delays:
        gates = inputs = loads_fj = 0.0
        transitions = toggles = 0
        for stream in streams:
            sim = sim_netlist.simulate(stream.ports(), delay=delay)
            check_outputs(sim.outputs["y"], stream.golden(neuron),
                          what=f"{design.top} (sky130) on {stream.name} ({delay} delay)")
            gates += float(sim.toggles @ per_gate)
            inputs += float(sim.input_toggles @ per_input)
            loads_fj += float(sim.toggles @ load_only)
            transitions += sim.transitions
            toggles += int(sim.toggles.sum())
        per = (gates + inputs) / transitions / 1e3  # fJ -> pJ per inference
        if delay == "zero":
            row.update(energy_pj=round(per, 4),
                       internal_pj=round((gates - loads_fj) / transitions / 1e3, 4),
                       load_pj=round(loads_fj / transitions / 1e3, 4),
                       input_pj=round(inputs / transitions / 1e3, 4),
                       toggles=round(toggles / transitions, 2), transitions=transitions)
        else:
            row["energy_unit_pj"] = round(per, 4)
    row.setdefault("energy_pj", None)
    row.setdefault("energy_unit_pj", None)
    # pJ per inference x inferences per us = uW; leakage nW -> uW.
    row["power_uw"] = (None if row["energy_pj"] is None
                       else round(row["energy_pj"] * CLOCK_MHZ + row["leakage_nw"] / 1e3, 3))
    row["sim_seconds"] = round(time.monotonic() - started, 3)
    return row


def run_sky130_energy(kernel=(3, 3), width: int = 8, stimulus: str = "random", *,
                      vectors: int | None = None, seed: int = 1, delays=("zero", "unit"),
                      target: str = "sky130", cache_dir=None) -> dict:
    """Threshold kernel and Booth MAC of one shape and width on sky130: both rows and the
    MAC / threshold ratios (one :func:`sky130_kernel_energy` each, the same stimulus)."""
    from ...spec import KernelSpec
    from ..energy.options import COMPARED_NEURONS
    from ..energy.proxy import make_streams

    spec = KernelSpec(neuron="threshold", kernel=tuple(kernel), width=width)
    rows = {}
    for neuron in COMPARED_NEURONS:
        streams = make_streams(spec, neuron, stimulus, vectors=vectors, seed=seed)
        rows[neuron] = sky130_kernel_energy(spec, neuron, streams, delays=delays,
                                            target=target, cache_dir=cache_dir)
    thr, mac = rows["threshold"], rows["mac"]
    return {"kernel": spec.kernel_text, "width": width, "stimulus": stimulus, "seed": seed,
            "target": target, "clock_mhz": CLOCK_MHZ, "threshold": thr, "mac": mac,
            "ratio": {k: (round(mac[k] / thr[k], 4) if mac.get(k) and thr.get(k) else None)
                      for k in RATIOS}}


def _cell(value, key):
    if value is None:
        return "n/a"
    if key == "cells":
        return str(value)
    return f"{value:.3f}" if key in ("delay_ns", "energy_pj", "energy_unit_pj") else f"{value:.1f}"


def render_text(result: dict) -> str:
    """Console table of one :func:`run_sky130_energy` result."""
    thr = result["threshold"]
    head = (f"sky130 ({result['target']}), {result['kernel']} kernel, {result['width']} bit, "
            f"{result['stimulus']} stimulus ({thr['vectors']} vectors"
            + (f", seed {result['seed']}" if result["stimulus"] == "random" else "")
            + "), every output checked against the golden model")
    width = max(len(result[n]["top"]) for n in ("threshold", "mac")) + 2
    lines = [head, f"{'':<{width}}" + "".join(f"{h:>16}" for _, h in COLUMNS)]
    for neuron in ("threshold", "mac"):
        row = result[neuron]
        lines.append(f"{row['top']:<{width}}" + "".join(f"{_cell(row[k], k):>16}"
                                                       for k, _ in COLUMNS))
    ratios = ["" if k == "cells" or result["ratio"].get(k) is None
              else f"{result['ratio'][k]:.2f}x" for k, _ in COLUMNS]
    lines.append(f"{'MAC / threshold':<{width}}" + "".join(f"{r:>16}" for r in ratios))
    lines.append("pJ/inference: zero delay (settled values); unit delay counts glitches; "
                 f"power = pJ x {result['clock_mhz']:g} MHz + leakage")
    return "\n".join(lines) + "\n"


def _flat(results) -> list[dict]:
    rows = []
    for r in results:
        for neuron in ("threshold", "mac"):
            row = r[neuron]
            rows.append({"kernel": r["kernel"], "width": r["width"], "stimulus": r["stimulus"],
                         "seed": r["seed"], "target": r["target"], "neuron": neuron,
                         "top": row["top"], **{k: row[k] for k, _ in COLUMNS},
                         **{k: row.get(k) for k in ("internal_pj", "load_pj", "input_pj",
                                                    "toggles", "vectors")}})
    return rows


def render_csv(results) -> str:
    """One CSV line per kernel and neuron."""
    rows = _flat(results)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def render_markdown(results) -> str:
    """A Markdown table: both kernels per point and the MAC / threshold ratios."""
    lines = ["| kernel | W | stimulus | threshold um^2 | MAC um^2 | thr ns | MAC ns | thr pJ | "
             "MAC pJ | MAC / thr pJ | MAC / thr pJ, unit delay | thr uW | MAC uW |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        t, m, q = r["threshold"], r["mac"], r["ratio"]
        lines.append(
            f"| {r['kernel']} | {r['width']} | {r['stimulus']} | {t['area_um2']:.1f} | "
            f"{m['area_um2']:.1f} | {t['delay_ns']:.3f} | {m['delay_ns']:.3f} | "
            f"{_cell(t['energy_pj'], 'energy_pj')} | {_cell(m['energy_pj'], 'energy_pj')} | "
            + " | ".join("n/a" if q[k] is None else f"{q[k]:.2f}x"
                         for k in ("energy_pj", "energy_unit_pj"))
            + f" | {_cell(t['power_uw'], 'power_uw')} | {_cell(m['power_uw'], 'power_uw')} |")
    return "\n".join(lines) + "\n"
