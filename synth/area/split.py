"""Split synthesis: a large combinational design as independent parts, synthesized one at a time
and summed.

A whole flattened network (thousands of cells) can keep ABC busy for far longer than the sum of
its neurons does (docs/results/network-area.md). A network's neurons only share their inputs, so
each neuron with its requantization is synthesized alone, every *distinct* neuron once (conv
positions of one channel, or every neuron of a programmable layer, are the same circuit), and
each figure is multiplied by the number of places the design builds that neuron.

What the sum leaves out is logic the flat run could share between neurons (two neurons that
subtract the same constant from the same input). So a split figure is an upper bound on the flat
one, for the threshold network and its MAC counterpart alike; ``benchmarks/network_area.py``
measures the gap on networks small enough to synthesize whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ...executor import LocalExecutor, run_points
from ...progress import as_progress
from ..tools import DEFAULT_TIMEOUT, SynthError
from .flow import synthesize

__all__ = ["LONGEST", "Part", "combine_metrics", "network_area", "network_csv", "network_parts",
           "render_network_area", "render_ratios", "synthesize_part", "synthesize_parts"]

#: Metrics that do not add up over parts side by side: a critical path (``delay_ns`` of the
#: sky130 target) is the longest of the parts'. Every other metric (cells, area, leakage, energy
#: per inference, power) is a sum, times the copies.
LONGEST = frozenset({"delay_ns"})


def combine_metrics(items) -> dict:
    """Combine ``(count, metrics)`` of parts that work side by side (one evaluation each).

    Sums, each weighted by its count, except the :data:`LONGEST` metrics (the largest value).
    A metric that is ``None`` in any part (no energy figure for a clocked netlist) is ``None``
    in the result; floats are rounded to 4 decimals.
    """
    totals: dict = {}
    for count, metrics in items:
        for key, value in metrics.items():
            if key in totals and totals[key] is None:
                continue
            if value is None:
                totals[key] = None
            elif key in LONGEST:
                totals[key] = max(totals.get(key, value), value)
            else:
                totals[key] = totals.get(key, 0) + count * value
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in totals.items()}


@dataclass(frozen=True)
class Part:
    """One independently synthesized piece of a design.

    Attributes
    ----------
    name : str
        What it is, for reports (``"layer0 o3"``).
    verilog, top : str
        Its Verilog and top module.
    count : int
        How many copies the whole design holds.
    """

    name: str
    verilog: str
    top: str
    count: int = 1


def network_parts(net, mode: str = "baked") -> list[Part]:
    """The distinct neurons of a network (:func:`tn_hw.hdl.network.neuron_parts`) as Verilog.

    Parameters
    ----------
    net : tn_hw.reference.network.Network
        A loaded network.
    mode : str
        ``"baked"`` or ``"ports"``, as for ``tn-hw export``.
    """
    from ...emit import convert
    from ...hdl.network import NetworkNeuron, neuron_parts

    parts = []
    for stage, output, inside, count in neuron_parts(net, mode):
        padded = inside.count(False)
        name = (f"layer{stage.index}" + (f" o{output}" if mode == "baked" else "")
                + (f" pad{padded}" if padded else ""))
        top = f"tn_neuron_l{stage.index}_o{output}_{len(parts)}"
        text = convert(NetworkNeuron(stage, output, inside, mode=mode), name=top)
        parts.append(Part(name, text, top, count))
    return parts


def synthesize_part(task, **options) -> dict:
    """One part of a split synthesis: ``task`` is ``(part, target)`` (the part carries its
    Verilog, so it travels to a cluster worker whole)."""
    part, target = task
    return synthesize(part.verilog, part.top, target, **options)


def synthesize_parts(
    parts,
    target="generic",
    *,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[Part, dict], None] | None = None,
    executor=None,
    **options,
) -> dict:
    """Synthesize every part once and sum the figures, each weighted by its count.

    Parameters
    ----------
    parts : iterable of Part
    target : str
        A synthesis target of :func:`tn_hw.synth.area.flow.synthesize`.
    jobs : int
        Yosys runs at once (without ``executor``).
    timeout : float
        Per part, seconds.
    progress : callable, optional
        Called as ``progress(part, result)`` when a part is done.
    executor : tn_hw.executor.LocalExecutor or DaskExecutor, optional
        Where the runs go (:func:`tn_hw.executor.run_points`); default ``jobs`` threads here.
    **options
        Passed to :func:`~tn_hw.synth.area.flow.synthesize` (``cache_dir``, ``yosys``, ...).

    Returns
    -------
    dict
        ``metrics`` (:func:`combine_metrics`: sums, the longest delay), ``parts`` (per part:
        ``name``, ``top``, ``count``, ``metrics``, ``seconds``, ``cached``), ``instances`` (sum
        of counts), ``yosys_seconds`` (sum of the original run times of the distinct parts) and
        ``wall_seconds``.

    Raises
    ------
    tn_hw.executor.SweepError
        After every part has run, naming each part that failed.
    """
    parts = list(parts)
    started = time.perf_counter()

    def done(index, result):
        if progress is not None:
            progress(parts[index], result)

    results = run_points(executor or LocalExecutor(jobs), synthesize_part,
                         [(part, target) for part in parts],
                         describe=lambda task: f"{task[0].name} ({task[0].top}) on {task[1]}",
                         on_result=done, options=options | {"timeout": timeout})
    totals = combine_metrics((part.count, result["metrics"])
                             for part, result in zip(parts, results, strict=True))
    rows = []
    for part, result in zip(parts, results, strict=True):
        rows.append({"name": part.name, "top": part.top, "count": part.count,
                     "metrics": result["metrics"], "seconds": result["seconds"],
                     "cached": result["cached"]})
    return {
        "metrics": totals,
        "parts": rows,
        "instances": sum(part.count for part in parts),
        "yosys_seconds": round(sum(r["seconds"] for r in results), 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "yosys": results[0]["yosys"] if results else None,
    }


#: How :func:`network_area` synthesizes: neuron by neuron and summed, or whole.
SPLITS = ("neuron", "none")


def _one_layer(net, index):
    from ...reference.network import load_network, network_to_dict

    raw = network_to_dict(net)
    if not 0 <= index < len(raw["layers"]) or "neuron" not in raw["layers"][index]:
        raise SynthError(f"layer {index} of {net.name} is not a linear or conv layer "
                         f"(it has {len(raw['layers'])} layers, counted from 0)")
    layer = raw["layers"][index]
    raw["name"] = f"{net.name}-layer{index}"
    raw["input"] = {"shape": list(net.shapes[index]), "width": layer["width"], "frac_bits": 0}
    raw["layers"] = [layer]
    return load_network(raw)


def network_area(model, *, mode="baked", split="neuron", target="generic", jobs=1, layer=None,
                 timeout: float = DEFAULT_TIMEOUT, progress=None, executor=None,
                 **options) -> dict:
    """Area of one exported network: a row of plain data.

    Parameters
    ----------
    model : path-like, dict or tn_hw.reference.network.Network
        A ``tn-hw-net`` (loaded and validated by :func:`~tn_hw.reference.network.load_network`).
    mode : str
        ``"baked"`` or ``"ports"``, as for ``tn-hw export``.
    split : str
        ``"neuron"``: :func:`network_parts` through :func:`synthesize_parts`; ``"none"``: the
        whole flattened network in one Yosys run.
    target, jobs, timeout, executor, **options
        As for :func:`synthesize_parts`.
    layer : int, optional
        Only this layer (with its requantization), as a one-layer network.
    progress : tn_hw.progress.Progress, file or callable, optional
        Advanced once per synthesized part (once for ``split="none"``); see
        :func:`tn_hw.progress.as_progress`.

    Returns
    -------
    dict
        ``name``, ``mode``, ``split``, ``layer``, ``target``, ``top``, ``cells``, ``neurons``
        (neuron types), ``metrics``, ``yosys_seconds``, ``wall_seconds``, ``cached``, ``yosys``;
        for ``split="neuron"`` also ``instances``, ``distinct``, ``layers`` (per layer:
        ``instances``, ``distinct``, ``metrics``) and ``parts``.
    """
    from ...export import export_network
    from ...reference.network import Network, load_network

    if split not in SPLITS:
        raise SynthError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    net = model if isinstance(model, Network) else load_network(model)
    if layer is not None:
        net = _one_layer(net, layer)
    design = export_network(net, mode=mode)
    row = {"model": None if isinstance(model, (Network, dict)) else str(model),
           "name": net.name, "mode": mode, "split": split, "layer": layer, "target": target,
           "top": design.top, "cells": design.manifest["cells"],
           "neurons": sorted({s["neuron"] for s in design.manifest["stages"] if "neuron" in s})}
    started = time.perf_counter()
    progress = as_progress(progress, "synth-net")
    if split == "none":
        progress.start(1)
        whole = Part(design.top, design.verilog, design.top)
        result, = run_points(executor or LocalExecutor(jobs), synthesize_part, [(whole, target)],
                             describe=lambda task: f"{design.top} on {target}",
                             options=options | {"timeout": timeout})
        progress.step(f"{design.top} {'cached' if result['cached'] else 'synthesized'}")
        row.update(metrics=result["metrics"], yosys_seconds=result["seconds"],
                   cached=result["cached"], yosys=result["yosys"])
    else:
        parts = network_parts(net, mode)
        progress.start(len(parts))

        def done(part, one):
            state = "cached" if one["cached"] else f"{one['seconds']:.1f} s"
            progress.step(f"{part.name} {state}")

        result = synthesize_parts(parts, target, jobs=jobs, timeout=timeout, progress=done,
                                  executor=executor, **options)
        layers = {}
        for part in result["parts"]:
            entry = layers.setdefault(part["name"].split()[0],
                                      {"instances": 0, "distinct": 0, "metrics": {}})
            entry["instances"] += part["count"]
            entry["distinct"] += 1
        for name, entry in layers.items():
            entry["metrics"] = combine_metrics((p["count"], p["metrics"]) for p in result["parts"]
                                               if p["name"].split()[0] == name)
        metrics = dict(result["metrics"])
        for key in LONGEST & metrics.keys():
            # Layers run in series: the network's path is the sum of each layer's longest
            # neuron (each timed alone, so an estimate of the flat run's path).
            values = [entry["metrics"][key] for entry in layers.values()]
            metrics[key] = None if None in values else round(sum(values), 4)
        row.update(metrics=metrics, yosys_seconds=result["yosys_seconds"],
                   cached=all(p["cached"] for p in result["parts"]), yosys=result["yosys"],
                   instances=result["instances"], distinct=len(result["parts"]),
                   layers=layers, parts=result["parts"])
    row["wall_seconds"] = round(time.perf_counter() - started, 1)
    return row


def render_network_area(rows) -> str:
    """The console report of :func:`network_area` rows: one line per network, one per layer."""
    def metrics(values):
        return "  ".join(f"{k} {_shown(v)}" for k, v in values.items())

    lines = []
    for row in rows:
        extra = (f", {row['distinct']} distinct of {row['instances']} neurons"
                 if row["split"] == "neuron" else "")
        lines.append(f"{row['top']:<34} {row['cells']:>6} cells  {metrics(row['metrics'])}  "
                     f"(yosys {row['yosys_seconds']:.0f} s{extra}"
                     f"{', cached' if row['cached'] else ''})")
        for name, layer in row.get("layers", {}).items():
            lines.append(f"    {name:<10} {layer['instances']:>4} neurons  "
                         f"{metrics(layer['metrics'])}")
    return "\n".join(lines) + "\n"


def _shown(value):
    if value is None:
        return "n/a"
    return f"{value:.{1 if abs(value) >= 100 else 3}f}" if isinstance(value, float) else value


def render_ratios(rows) -> str:
    """``MAC/threshold`` ratio lines of rows given as (threshold, MAC) pairs."""
    lines = []
    for tn, mac in zip(rows[::2], rows[1::2], strict=True):
        ratios = "  ".join(f"{k} {mac['metrics'][k] / v:.2f}x"
                           for k, v in tn["metrics"].items() if v and mac["metrics"].get(k))
        lines.append(f"MAC/threshold {mac['name']} / {tn['name']}: {ratios}")
    return "".join(line + "\n" for line in lines)


def network_csv(rows) -> str:
    """CSV of :func:`network_area` rows: one line per network (``layer`` ``all``) and one per
    layer of a split run, one column per metric."""
    import csv
    import io

    keys = list(dict.fromkeys(k for row in rows for k in row["metrics"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "name", "mode", "split", "target", "layer", "neurons", *keys])
    for row in rows:
        head = [row["model"], row["name"], row["mode"], row["split"], row["target"]]
        writer.writerow([*head, "all" if row["layer"] is None else row["layer"],
                         row.get("instances", ""), *(row["metrics"].get(k) for k in keys)])
        for name, layer in row.get("layers", {}).items():
            writer.writerow([*head, name, layer["instances"],
                             *(layer["metrics"].get(k) for k in keys)])
    return out.getvalue()
