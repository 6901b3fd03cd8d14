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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .flow import DEFAULT_TIMEOUT, synthesize

__all__ = ["Part", "network_parts", "synthesize_parts"]


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
    from amaranth.back import verilog

    from ..hdl.network import NetworkNeuron, neuron_parts

    parts = []
    for stage, output, inside, count in neuron_parts(net, mode):
        padded = inside.count(False)
        name = f"layer{stage.index} o{output}" + (f" pad{padded}" if padded else "")
        if mode == "ports":
            name = f"layer{stage.index}" + (f" pad{padded}" if padded else "")
        top = f"tn_neuron_l{stage.index}_o{output}_{len(parts)}"
        text = verilog.convert(NetworkNeuron(stage, output, inside, mode=mode), name=top,
                               emit_src=False)
        parts.append(Part(name, text, top, count))
    return parts


def synthesize_parts(
    parts,
    target="generic",
    *,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[Part, dict], None] | None = None,
    **options,
) -> dict:
    """Synthesize every part once and sum the figures, each weighted by its count.

    Parameters
    ----------
    parts : iterable of Part
    target : str
        A synthesis target of :func:`tn_hw.synth.flow.synthesize`.
    jobs : int
        Yosys runs at once.
    timeout : float
        Per part, seconds.
    progress : callable, optional
        Called as ``progress(part, result)`` when a part is done.
    **options
        Passed to :func:`~tn_hw.synth.flow.synthesize` (``cache_dir``, ``yosys``, ...).

    Returns
    -------
    dict
        ``metrics`` (sums), ``parts`` (per part: ``name``, ``top``, ``count``, ``metrics``,
        ``seconds``, ``cached``), ``instances`` (sum of counts), ``yosys_seconds`` (sum of the
        original run times of the distinct parts) and ``wall_seconds``.

    Raises
    ------
    tn_hw.synth.flow.SynthError
        From the first part that fails.
    """
    parts = list(parts)
    started = time.perf_counter()

    def run(part):
        result = synthesize(part.verilog, part.top, target, timeout=timeout, **options)
        if progress is not None:
            progress(part, result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(run, parts))
    totals: dict = {}
    rows = []
    for part, result in zip(parts, results, strict=True):
        for key, value in result["metrics"].items():
            totals[key] = totals.get(key, 0) + part.count * value
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
