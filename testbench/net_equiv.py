"""Formal check: the clocked network equals the combinational network delayed by its latency.

One SAT problem over the whole network (ball3-tn4: four layers, 23 threshold cells) does not
finish in ten minutes: SAT has to rediscover that two copies of the same arithmetic agree, with
four time frames in between. The check is therefore made per layer, each an induction proof of
a second or two:

for every linear or conv layer ``k`` of the network (with the flatten before it, if any), a
one-layer network is cut out of the file (its input: the shape and width layer ``k`` reads),
and the registered stage the clocked network builds for it
(:class:`~tn_hw.hdl.network_stream.PipelinedNetwork`, one register after the requantization)
is proven equal to the combinational stage (:class:`~tn_hw.hdl.network.Network`) delayed by
one cycle, with the miter and temporal induction of :mod:`.equiv` (``sat -tempinduct``: every
input sequence, any initial register state after the first cycle). Before SAT, ``opt_merge``
merges the cells of the miter that compute the same function of the same signals (structural
hashing, sound as any equivalence checker's first step): the two copies of the layer's
arithmetic become one, and SAT proves in a second what it could not in minutes (layer 1 of
ball3: 121 s without, 1.6 s with). A stage that is not registered, or registered twice, still
differs in structure and is refuted with a counterexample.

Why per layer suffices: :class:`~tn_hw.hdl.network_stream.PipelinedNetwork` is
:class:`~tn_hw.hdl.network.Network` with one hook changed (``stage_output``, the register),
so both chain the same stages in the same order, and a chain of stages each equal to its
combinational stage delayed by one cycle is the combinational chain delayed by the number of
stages. What the cut leaves to simulation is the chaining itself (which wires feed which
layer), checked bit for bit by the stream regression on every sample.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..netdesc import read_network
from ..synth.tools import SynthError, find_yosys
from .equiv import EQUIV_SCRIPT, GOLD, reference_verilog, run_proof, sat_summary

__all__ = ["NETWORK_EQUIV_SCRIPT", "check_network_stages", "layer_networks"]

#: :data:`.equiv.EQUIV_SCRIPT` with structural hashing of the miter before SAT.
NETWORK_EQUIV_SCRIPT = EQUIV_SCRIPT.replace(
    "hierarchy -top miter\n",
    "hierarchy -top miter\n# Structural hashing: the two copies of the layer's logic become one.\n"
    "opt_merge -share_all\nopt_clean\n")
assert NETWORK_EQUIV_SCRIPT != EQUIV_SCRIPT


def _raw(source) -> dict:
    if isinstance(source, dict):
        return source
    path = Path(source)
    if path.is_file():
        return json.loads(path.read_text())
    raise SynthError(f"no such network file {str(path)!r}")


def layer_networks(source) -> list[tuple[int, dict]]:
    """``[(layer index, one-layer tn-hw-net dict), ...]``, one per linear or conv layer of
    the network (a flatten before a layer goes with it); each reads the shape and width its
    layer reads in the whole network.

    Parameters
    ----------
    source : dict or path
        A tn-hw-net JSON object or file (validated by :func:`tn_hw.netdesc.read_network`).
    """
    raw = _raw(source)
    desc = read_network(raw)
    parts, start = [], 0
    for index, layer in enumerate(desc.layers):
        if layer.type == "flatten":
            continue
        sub = dict(raw, name=f"{desc.name}-layer{index}",
                   input={"shape": list(desc.shapes[start]), "width": layer.width,
                          "frac_bits": 0},
                   layers=list(raw["layers"][start:index + 1]))
        sub.pop("training", None)
        read_network(sub)
        parts.append((index, sub))
        start = index + 1
    return parts


def _prove_stage(sub, mode, core_class, executable, keep_dir, timeout):
    from ..export import export_network
    from ..hdl.network import Network
    from ..reference.network import load_network

    sub = load_network(sub)
    gate = export_network(sub, component=core_class(sub, mode=mode))
    comb = export_network(sub, component=Network(sub, mode=mode))
    latency = gate.manifest["latency"]
    if latency != 1:
        raise SynthError(f"{gate.top}: a one-layer stage has latency 1, not {latency}")
    script = NETWORK_EQUIV_SCRIPT.format(gold=GOLD, gate=gate.top, latency=1, maxsteps=6)
    files = {"comb.v": comb.verilog, "gate.v": gate.verilog,
             "gold.v": reference_verilog(comb.top, gate.manifest, 1)}
    text, seconds = run_proof(executable, "equiv", script, files, keep_dir=keep_dir,
                              what=f"the formal check of {gate.top}", timeout=timeout)
    refuted = "FAIL!" in text
    proved = "Induction step proven: SUCCESS!" in text and not refuted
    return {"top": gate.top, "proved": proved, "counterexample": refuted,
            "seconds": round(seconds, 2), "summary": sat_summary(text)}


def check_network_stages(source, *, mode: str = "baked", core_class=None, layers=None,
                         yosys=None, keep_dir=None, timeout=300) -> dict:
    """Prove (or refute) every registered layer stage of the clocked network against its
    combinational stage delayed by one cycle (module docstring).

    Parameters
    ----------
    source : dict or path
        The tn-hw-net network.
    mode : str
        ``"baked"`` (default; constants make the SAT problem small) or ``"ports"``.
    core_class : type, optional
        The clocked core to check, default
        :class:`~tn_hw.hdl.network_stream.PipelinedNetwork` (mutation tests pass a planted
        bug); called as ``core_class(net, mode=mode)``.
    keep_dir : path-like, optional
        Keep each layer's Verilog, script and log in ``keep_dir/layer<k>``.

    Returns
    -------
    dict
        ``proved`` (every stage checked proven), ``latency`` (stages checked), ``seconds``
        and ``stages``:
        per layer ``{layer, top, proved, counterexample, seconds, summary}``.

    Raises
    ------
    SynthError
        Yosys missing or failing for another reason than a refuted proof.
    """
    from ..hdl.network_stream import PipelinedNetwork

    core_class = core_class or PipelinedNetwork
    executable = find_yosys(yosys)
    started = time.perf_counter()
    stages = []
    wanted = None if layers is None else set(layers)
    for index, sub in layer_networks(source):
        if wanted is not None and index not in wanted:
            continue
        keep = None if keep_dir is None else Path(keep_dir) / f"layer{index}"
        result = _prove_stage(sub, mode, core_class, executable, keep, timeout)
        stages.append({"layer": index, **result})
    if not stages:
        raise SynthError(f"no linear or conv layer among {sorted(wanted or [])}")
    return {"proved": all(s["proved"] for s in stages), "latency": len(stages),
            "seconds": round(time.perf_counter() - started, 2), "stages": stages}
