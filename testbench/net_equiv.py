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


# -- the folded network (--reuse): datapath per phase, control with the stream ----------------

#: Yosys script of the datapath lemma of a folded layer (:func:`check_folded_datapath`).
FOLD_DATAPATH_SCRIPT = """\
# Folded layer with its phase tied to {phase} == combinational layer (tn_hw.testbench.net_equiv).
read_verilog comb.v
read_verilog core.v
read_verilog gate.v
read_verilog gold.v
setattr -mod -unset top
hierarchy -check
proc
flatten
opt_clean
miter -equiv -flatten -make_outputs {gold} {gate} miter
hierarchy -top miter
# The phase is a constant: its multiplexers fold to the parameters of one output each, and the
# folded kernels become copies of the combinational ones, merged by structural hashing.
opt
opt_merge -share_all
opt_clean
# Before their first loads the registers of both hold different arbitrary values (no beat):
# the base case starts with two loads, the induction step from any state.
tee -o result.txt sat -tempinduct -seq {latency} -maxsteps {maxsteps} -prove trigger 0 \\
-set-at 1 in_load 1 -set-at 2 in_load 1 -show-inputs -show-outputs miter
"""

FOLD_GATE = "tn_fold_gate"
FOLD_CORE = "tn_fold_core"


def fold_phase_outputs(outputs: int, reuse: int, phase: int) -> list[int]:
    """The outputs of a layer of ``outputs`` outputs that its kernels compute in ``phase``
    with reuse ``reuse`` (:class:`~tn_hw.hdl.network_stream.FoldedNetwork`: output
    ``phase * G + g`` in kernel ``g``, ``G = ceil(outputs / reuse)``)."""
    groups = -(-outputs // reuse)
    return [o for o in range(phase * groups, (phase + 1) * groups) if o < outputs]


def _cut_class(core_class):
    """``core_class`` taking any reuse of 2 or more: a layer cut out of a network may have
    fewer outputs than the reuse of the whole network (its last phases then leave kernels
    idle, as in the whole network)."""
    return type(f"Cut{core_class.__name__}", (core_class,),
                {"check_reuse": lambda self, net, reuse: reuse})


def _fold_wrappers(ports, phase_width, phase, outputs, held, comb_top):
    """Verilog of the gate (the folded core with ``phase`` tied to a constant) and of the gold
    (the combinational layer, each output of the phase through the registers the folded
    layer puts it through: ``held`` outputs a held register loading every cycle, then the
    layer register loading on ``load``; the last phase's outputs the layer register only).
    Both expose ``yp``: the phase's outputs, first output in the low bits."""
    inputs = [p for p in ports if p["direction"] == "input"]
    width = {p["name"]: p["width"] for p in ports}
    names = [p["name"] for p in inputs] + ["load", "clk", "rst", "yp"]
    yp = sum(width[f"y__{o}"] for o in outputs)
    head = [f"  input [{p['width'] - 1}:0] {p['name']};" for p in inputs]
    head += ["  input load;", "  input clk;", "  input rst;", f"  output [{yp - 1}:0] yp;"]
    ys = [p for p in ports if p["direction"] == "output"]
    pick = "{" + ", ".join(f"y__{o}" for o in reversed(outputs)) + "}"
    gate = [f"module {FOLD_GATE}({', '.join(names)});", *head]
    gate += [f"  wire [{p['width'] - 1}:0] {p['name']};" for p in ys]
    links = [f"    .{p['name']}({p['name']})" for p in inputs + ys]
    links += [f"    .phase({phase_width}'d{phase})", "    .load(load)", "    .clk(clk)",
              "    .rst(rst)"]
    gate += [f"  {FOLD_CORE} core (\n" + ",\n".join(links) + "\n  );",
             f"  assign yp = {pick};", "endmodule"]
    gold = [f"module {GOLD}({', '.join(names)});", *head]
    gold += [f"  wire [{p['width'] - 1}:0] {p['name']};" for p in ys]
    links = [f"    .{p['name']}({p['name']})" for p in inputs + ys]
    gold.append(f"  {comb_top} comb (\n" + ",\n".join(links) + "\n  );")
    for o in outputs:
        w, source = width[f"y__{o}"], f"y__{o}"
        if held:
            gold += [f"  reg [{w - 1}:0] h{o};", f"  always @(posedge clk) h{o} <= y__{o};"]
            source = f"h{o}"
        gold += [f"  reg [{w - 1}:0] q{o};",
                 f"  always @(posedge clk) if (load) q{o} <= {source};"]
    gold.append("  assign yp = {" + ", ".join(f"q{o}" for o in reversed(outputs)) + "};")
    gold.append("endmodule")
    return "\n".join(gate) + "\n", "\n".join(gold) + "\n"


def _prove_fold_phase(sub, mode, reuse, phase, core_class, executable, keep_dir, timeout):
    from amaranth.back import verilog

    from ..export import export_network
    from ..hdl.network import Network
    from ..reference.network import load_network

    sub = load_network(sub)
    comb = export_network(sub, component=Network(sub, mode=mode))
    core = _cut_class(core_class)(sub, mode=mode, reuse=reuse)
    stage = next(s for s in core.stages if s.has_parameters)
    outputs = fold_phase_outputs(stage.spec.outputs, reuse, phase)
    held = phase < reuse - 1
    gate_v, gold_v = _fold_wrappers(comb.manifest["ports"], len(core.phase), phase,
                                    outputs, held, comb.top)
    latency = 2 if held else 1
    script = FOLD_DATAPATH_SCRIPT.format(gold=GOLD, gate=FOLD_GATE, phase=phase,
                                         latency=latency, maxsteps=latency + 4)
    files = {"comb.v": comb.verilog,
             "core.v": verilog.convert(core, name=FOLD_CORE, emit_src=False),
             "gate.v": gate_v, "gold.v": gold_v}
    text, seconds = run_proof(executable, "fold", script, files, keep_dir=keep_dir,
                              what=f"the datapath check of {comb.top} in phase {phase}",
                              timeout=timeout)
    refuted = "FAIL!" in text
    proved = "Induction step proven: SUCCESS!" in text and not refuted
    return {"phase": phase, "outputs": outputs, "proved": proved, "counterexample": refuted,
            "seconds": round(seconds, 2), "summary": sat_summary(text)}


def check_folded_datapath(source, reuse: int, *, mode: str = "baked", core_class=None,
                          layers=None, yosys=None, keep_dir=None, timeout=300) -> dict:
    """Prove (or refute), for every linear or conv layer of the network folded ``reuse``
    times and every phase, that the folded layer with its phase tied to that constant
    computes the outputs of that phase as the combinational layer does, into the registers
    they pass through (module docstring, "Folded network").

    Parameters
    ----------
    source : dict or path
        The tn-hw-net network.
    reuse : int
        The reuse factor, 2 or more.
    core_class : type, optional
        Default :class:`~tn_hw.hdl.network_stream.FoldedNetwork` (mutation tests pass a
        planted bug); called as ``core_class(net, mode=mode, reuse=reuse)``.
    layers : iterable of int, optional
        Only these layer indices.
    keep_dir : path-like, optional
        Keep each proof's files in ``keep_dir/layer<k>_phase<p>``.

    Returns
    -------
    dict
        ``proved``, ``seconds`` and ``proofs``: per layer and phase ``{layer, phase,
        outputs, proved, counterexample, seconds, summary}`` (a phase that computes no
        output of the layer has nothing to prove and is left out).
    """
    from ..hdl.network_stream import FoldedNetwork

    if isinstance(reuse, bool) or not isinstance(reuse, int) or reuse < 2:
        raise SynthError(f"the folded datapath check needs a reuse of 2 or more, not {reuse!r}")
    core_class = core_class or FoldedNetwork
    executable = find_yosys(yosys)
    started = time.perf_counter()
    proofs = []
    wanted = None if layers is None else set(layers)
    for index, sub in layer_networks(source):
        if wanted is not None and index not in wanted:
            continue
        n_out = read_network(sub).layers[-1].spec.outputs
        for phase in range(reuse):
            if not fold_phase_outputs(n_out, reuse, phase):
                continue
            keep = None if keep_dir is None else Path(keep_dir) / f"layer{index}_phase{phase}"
            result = _prove_fold_phase(sub, mode, reuse, phase, core_class, executable, keep,
                                       timeout)
            proofs.append({"layer": index, **result})
    if not proofs:
        raise SynthError(f"no linear or conv layer among {sorted(wanted or [])}")
    return {"proved": all(p["proved"] for p in proofs), "reuse": reuse,
            "seconds": round(time.perf_counter() - started, 2), "proofs": proofs}
