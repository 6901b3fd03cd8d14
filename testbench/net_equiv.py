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

Folded network (``--reuse R``)
------------------------------
A folded layer (:class:`~tn_hw.hdl.network_stream.FoldedNetwork`) computes output
``p * G + g`` in kernel ``g`` in phase ``p`` of a round, its parameters chosen by multiplexers
on the phase; outputs of phases ``0 .. R-2`` wait in held registers (loaded whenever the phase
is theirs), and at the commit (``load``, the round's last phase) the layer register loads
them with the last phase's outputs. Equal to the combinational layer whatever the phase, the
folded kernels are not the same circuit (multiplexed parameters), and SAT alone does not
prove such arithmetic equal in minutes; the proof is therefore split in two, each part
small and structural:

1. **Datapath** (:func:`check_folded_datapath`), per linear or conv layer (cut out as above)
   and per phase ``p``: the folded core with its ``phase`` input tied to the constant ``p``
   (``load`` free) against the combinational layer whose phase-``p`` outputs go through the
   registers the folded layer puts them through (a register loading every cycle for a held
   output, then one loading on ``load``). With the phase constant, ``opt`` folds the
   multiplexers to one output's parameters, the folded kernels become copies of the
   combinational ones and structural hashing merges them; ``sat -tempinduct`` proves the
   rest. This proves: in phase ``p`` kernel ``g`` computes output ``p * G + g`` from the
   layer input of that cycle, into the held register of that output, and the layer register
   loads on ``load`` and holds otherwise. The base case starts with two loads (before their
   first load the registers of both sides hold unrelated values, no beat); the induction step
   covers every state.
2. **Control** (:func:`check_folded_stream`), the whole stream with the datapath removed
   (nothing in the proof reads the logits): :class:`FoldStreamHarness` drives the stream
   with free valid, ready, payload and reset in every cycle (gaps, back-pressure, resets in
   flight) under the stream rule (an offered beat stays, unchanged, until taken: assumed),
   and asserts in every cycle that ``y`` offers the oldest beat not yet out, once (a
   scoreboard of beats in and out and a tag beside each layer register loading on
   ``load``), that the phases of a round are consecutive with commits only in the last
   phase, that the payload layer 0 takes is the one it saw in every phase of the round, and
   that while ``y__ready`` stays high a beat in flight leaves within the latency;
   ``sat -tempinduct -prove-asserts`` from the reset state (base) and from any state (step).

Together: every layer's input is the same in all phases of a round (a layer register loads
only at a commit, which ends a round; layer 0's payload by 2), each held output was
computed in this round's phase (2: the phases since it are consecutive), so at the commit each
layer register loads its combinational layer of its input (1), and the tags (2) say the
register the logits come from holds, when ``y__valid``, the oldest beat taken and not yet
out: the logits are the combinational network of that beat's payload, once, in order.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from amaranth.hdl import Elaboratable, Fragment

from ..netdesc import read_network
from ..synth.tools import SynthError, find_yosys
from .equiv import EQUIV_SCRIPT, GOLD, reference_verilog, run_proof, sat_summary

__all__ = ["FOLD_DATAPATH_SCRIPT", "FOLD_STREAM_SCRIPT", "NETWORK_EQUIV_SCRIPT",
           "FoldStreamHarness", "check_folded_datapath", "check_folded_stream",
           "check_folded_network", "check_network_stages", "fold_phase_outputs",
           "layer_networks", "main", "sat_trace"]

#: :data:`.equiv.EQUIV_SCRIPT` with structural hashing of the miter before SAT.
NETWORK_EQUIV_SCRIPT = EQUIV_SCRIPT.replace(
    "hierarchy -top miter\n",
    "hierarchy -top miter\n# Structural hashing: the two copies of the layer's logic become one.\n"
    "opt_merge -share_all\nopt_clean\n")
assert NETWORK_EQUIV_SCRIPT != EQUIV_SCRIPT


_TRACE_ROW = re.compile(r"^\s*(init|\d+)\s+\\(\S+)\s+(\d+)\s+[0-9a-fA-Fx]+\s+([01x]+)\s*$")


def sat_trace(text: str) -> list[dict]:
    """The counterexample of a refuted Yosys ``sat`` run (its ``-show-inputs`` /
    ``-show-outputs`` table): ``[{step, signal, value, bits}, ...]`` in the table's order,
    ``step`` an int or ``"init"`` (initial register state), ``value`` the unsigned integer;
    empty when the text holds no model."""
    rows = []
    for line in text.splitlines():
        match = _TRACE_ROW.match(line)
        if match:
            step, signal, value, bits = match.groups()
            rows.append({"step": step if step == "init" else int(step), "signal": signal,
                         "value": int(value), "bits": bits})
    return rows


def _raw(source) -> dict:
    if isinstance(source, dict):
        return source
    path = Path(source)
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SynthError(f"{str(path)!r} is not a JSON file ({error})") from None
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
            "seconds": round(seconds, 2), "summary": sat_summary(text),
            **({"trace": sat_trace(text)} if refuted else {})}


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


def _prove_fold_layer(sub, mode, reuse, core_class, executable, keep_dir, timeout):
    """The datapath proofs of one layer cut out of the network, one per phase that computes
    an output (the two designs are converted once, the phase is tied in the wrapper)."""
    from ..emit import convert
    from ..export import export_network
    from ..hdl.network import Network
    from ..reference.network import load_network

    sub = load_network(sub)
    comb = export_network(sub, component=Network(sub, mode=mode))
    core = _cut_class(core_class)(sub, mode=mode, reuse=reuse)
    stage = next(s for s in core.stages if s.has_parameters)
    core_v = convert(core, name=FOLD_CORE)
    results = []
    for phase in range(reuse):
        channels = fold_phase_outputs(stage.spec.outputs, reuse, phase)
        if not channels:
            continue
        # Output channel k at position j is logit k * positions + j ((C, H, W) row-major).
        outputs = [k * stage.positions + j for k in channels for j in range(stage.positions)]
        held = phase < reuse - 1
        gate_v, gold_v = _fold_wrappers(comb.manifest["ports"], len(core.phase), phase,
                                        outputs, held, comb.top)
        latency = 2 if held else 1
        script = FOLD_DATAPATH_SCRIPT.format(gold=GOLD, gate=FOLD_GATE, phase=phase,
                                             latency=latency, maxsteps=latency + 4)
        files = {"comb.v": comb.verilog, "core.v": core_v, "gate.v": gate_v, "gold.v": gold_v}
        keep = None if keep_dir is None else Path(keep_dir) / f"phase{phase}"
        text, seconds = run_proof(executable, "fold", script, files, keep_dir=keep,
                                  what=f"the datapath check of {comb.top} in phase {phase}",
                                  timeout=timeout)
        refuted = "FAIL!" in text
        proved = "Induction step proven: SUCCESS!" in text and not refuted
        results.append({"phase": phase, "outputs": outputs, "proved": proved,
                        "counterexample": refuted, "seconds": round(seconds, 2),
                        "summary": sat_summary(text),
                        **({"trace": sat_trace(text)} if refuted else {})})
    return results


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
        Keep each proof's files in ``keep_dir/layer<k>/phase<p>``.

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
    from ..hdl.network_stream import check_reuse
    from ..reference.network import load_network

    check_reuse(load_network(_raw(source)), reuse)
    core_class = core_class or FoldedNetwork
    executable = find_yosys(yosys)
    started = time.perf_counter()
    proofs = []
    wanted = None if layers is None else set(layers)
    for index, sub in layer_networks(source):
        if wanted is not None and index not in wanted:
            continue
        keep = None if keep_dir is None else Path(keep_dir) / f"layer{index}"
        for result in _prove_fold_layer(sub, mode, reuse, core_class, executable, keep,
                                        timeout):
            proofs.append({"layer": index, **result})
    if not proofs:
        raise SynthError(f"no linear or conv layer among {sorted(wanted or [])}")
    return {"proved": all(p["proved"] for p in proofs), "reuse": reuse,
            "seconds": round(time.perf_counter() - started, 2), "proofs": proofs}


#: Yosys script of the control proof of a folded stream (:func:`check_folded_stream`).
FOLD_STREAM_SCRIPT = """\
# Folded stream: every accepted beat leaves once, in order, computed over one whole round
# (tn_hw.testbench.net_equiv.FoldStreamHarness).
read_rtlil harness.il
hierarchy -top {top}
proc
flatten
# Nothing reads the logits: the datapath goes, the control and the harness stay.
opt_clean
chformal -lower
opt_clean
tee -o result.txt sat -tempinduct -prove-asserts -set-assumes \\
-maxsteps {maxsteps} -show-inputs {top}
"""

HARNESS = "tn_fold_stream_harness"


class FoldStreamHarness(Elaboratable):
    """The control proof of a folded network stream (module docstring, "Folded network"):
    the stream with free inputs, one environment assumption, a scoreboard and assertions.

    The environment: ``x__valid``, ``x__payload``, ``y__ready`` and ``rst`` are free in every
    cycle (gaps, back-pressure, resets anywhere), under the stream rule that an offered beat
    stays offered, unchanged, until it is taken (assumed).

    The scoreboard counts beats taken in (``acc``) and out (``dlv``) modulo ``2**tag_bits``;
    a tag register beside every layer register loads when the layer registers do (``load``),
    layer 0's the number of the beat being taken (the datapath lemma proves the layer registers
    load their layer's function of their input on ``load`` and hold otherwise).

    Asserted in every cycle:

    1. ``y__valid`` only for the oldest beat not yet out: its tag equals ``dlv`` (so nothing
       is lost, duplicated or reordered), and a beat is in flight;
    2. beats in flight = set valid bits, and each valid layer holds the right beat;
    3. the phases of a round are consecutive: phase ``p > 0`` only the cycle after phase
       ``p - 1`` (or, the last phase, after itself while ``y`` holds the commit back) without
       a commit in between, and a commit (``load``) only in the last phase;
       so each held output read at a commit was computed in this round from the layer input
       of this round (a layer register loads only at a commit);
    4. the beat layer 0 takes at a commit is the one it computed over the whole round: the
       payload seen in every phase of the round equals the payload taken;
    5. progress: while a beat is in flight and ``y__ready`` stays high, one leaves within
       ``reuse * layers`` cycles (the latency), so no beat is stuck and rounds do not wait
       for new input.

    Parameters
    ----------
    dut : NetworkStream
        With reuse 2 or more.
    """

    def __init__(self, dut, tag_bits: int | None = None):
        from amaranth.hdl import Signal

        self.dut = dut
        self.tag_bits = tag_bits or max(2, (dut.layers + 1).bit_length() + 1)
        self.x_valid = Signal(name="x_valid")
        self.x_payload = Signal(len(dut.x.payload.as_value()), name="x_payload")
        self.y_ready = Signal(name="y_ready")

    def elaborate(self, platform):
        from amaranth.hdl import Assert, Assume, Module, Mux, Signal

        m = Module()
        dut = self.dut
        # Elaborated here, not as a submodule later: the assertions read its control state.
        m.submodules.dut = Fragment.get(dut, platform)
        reuse, layers, bits = dut.reuse, dut.layers, self.tag_bits
        m.d.comb += [dut.x.valid.eq(self.x_valid), dut.x.payload.eq(self.x_payload),
                     dut.y.ready.eq(self.y_ready)]
        control = dut.control_state
        phase, load = dut.core.phase, dut.core.load
        valid, count, take, active = (control["valid"], control["count"], control["take"],
                                      control["active"])
        x_take = dut.x.valid & dut.x.ready
        y_take = dut.y.valid & dut.y.ready

        # The stream rule of the source (assumed).
        pending = Signal(name="pending")
        held_payload = Signal.like(self.x_payload, name="held_payload", reset_less=True)
        m.d.sync += [pending.eq(dut.x.valid & ~dut.x.ready), held_payload.eq(self.x_payload)]
        with m.If(pending):
            m.d.comb += Assume(dut.x.valid & (self.x_payload == held_payload))

        # Scoreboard and tags.
        acc = Signal(bits, name="acc")
        dlv = Signal(bits, name="dlv")
        with m.If(x_take):
            m.d.sync += acc.eq(acc + 1)
        with m.If(y_take):
            m.d.sync += dlv.eq(dlv + 1)
        tags = [Signal(bits, name=f"tag{k}", reset_less=True) for k in range(layers)]
        with m.If(load):
            m.d.sync += tags[0].eq(acc)
            m.d.sync += [tags[k].eq(tags[k - 1]) for k in range(1, layers)]

        def ones(bits_):
            total = 0
            for bit in bits_:
                total = total + bit
            return total

        in_flight = Signal(bits, name="in_flight")
        m.d.comb += in_flight.eq(acc - dlv)
        m.d.comb += Assert(~dut.y.valid | ((tags[-1] == dlv) & (in_flight != 0)),
                           "y offers the oldest beat not yet out")
        m.d.comb += Assert(in_flight == ones(valid[k] for k in range(layers)),
                           "beats in flight = valid bits")
        for k in range(layers):
            ahead = Signal(bits, name=f"ahead{k}")
            m.d.comb += ahead.eq(dlv + ones(valid[j] for j in range(k + 1, layers)))
            m.d.comb += Assert(~valid[k] | (tags[k] == ahead), f"layer {k} holds its beat")

        # Rounds: consecutive phases, commits only in the last phase.
        last_phase = Signal.like(phase, name="last_phase_seen")
        last_load = Signal(name="last_load")
        m.d.sync += [last_phase.eq(phase), last_load.eq(load)]
        m.d.comb += Assert(count < reuse, "phase counter in range")
        m.d.comb += Assert(~load | (phase == reuse - 1), "commit only in the last phase")
        with m.If(phase != 0):
            # The last phase repeats while y holds the commit back.
            m.d.comb += Assert(((last_phase == phase - 1) |
                                ((phase == reuse - 1) & (last_phase == phase))) & ~last_load,
                               "phases of a round consecutive")

        # Layer 0's payload is the same in every phase of a round that takes it.
        seen = [Signal.like(self.x_payload, name=f"seen{p}", reset_less=True)
                for p in range(reuse - 1)]
        for p in range(reuse - 1):
            with m.If(phase == p):
                m.d.sync += seen[p].eq(self.x_payload)
            m.d.comb += Assert(~(take & active & (phase > p)) | (seen[p] == self.x_payload),
                               f"payload of phase {p} still offered")
            m.d.comb += Assert(~x_take | (seen[p] == self.x_payload),
                               f"payload taken = payload of phase {p}")
        m.d.comb += Assert(~x_take | take, "a beat is taken only by a round that computed it")

        # Progress: while y is ready and a beat is in flight, one leaves within a round per
        # layer (no beat stuck, no round that never commits).
        bound = reuse * layers
        waiting = Signal(range(bound + 2), name="waiting")
        with m.If((in_flight != 0) & dut.y.ready & ~y_take):
            m.d.sync += waiting.eq(Mux(waiting > bound, waiting, waiting + 1))
        with m.Else():
            m.d.sync += waiting.eq(0)
        m.d.comb += Assert(waiting <= bound, "a beat leaves within latency cycles of ready")
        return m

    def ports(self):
        return [self.x_valid, self.x_payload, self.y_ready]


def check_folded_stream(source, reuse: int, *, mode: str = "baked", stream_class=None,
                        yosys=None, keep_dir=None, timeout=300) -> dict:
    """Prove (or refute) the control of the folded stream of a network with Yosys SAT and
    temporal induction over the assertions of :class:`FoldStreamHarness`.

    Parameters
    ----------
    source : dict or path
        The tn-hw-net network.
    reuse : int
        2 or more.
    stream_class : type, optional
        Default :class:`~tn_hw.hdl.network_stream.NetworkStream`; mutation tests pass a
        planted bug (called as ``stream_class(net, mode=mode, reuse=reuse)``).

    Returns
    -------
    dict
        ``proved``, ``counterexample``, ``seconds``, ``summary``, ``reuse``, ``layers``.
    """
    from amaranth.back import rtlil

    from ..hdl.network_stream import NetworkStream, check_reuse
    from ..reference.network import load_network

    if isinstance(reuse, bool) or not isinstance(reuse, int) or reuse < 2:
        raise SynthError(f"the folded stream check needs a reuse of 2 or more, not {reuse!r}")
    executable = find_yosys(yosys)
    net = load_network(_raw(source))
    check_reuse(net, reuse)  # before building: a refused component warns as unused
    dut = (stream_class or NetworkStream)(net, mode=mode, reuse=reuse)
    harness = FoldStreamHarness(dut)
    text = rtlil.convert(harness, name=HARNESS, ports=harness.ports())
    maxsteps = reuse * dut.layers + 4
    script = FOLD_STREAM_SCRIPT.format(top=HARNESS, maxsteps=maxsteps)
    result, seconds = run_proof(executable, "stream", script, {"harness.il": text},
                                keep_dir=keep_dir, what="the folded stream check",
                                timeout=timeout)
    refuted = "FAIL!" in result
    proved = "Induction step proven: SUCCESS!" in result and not refuted
    return {"proved": proved, "counterexample": refuted, "seconds": round(seconds, 2),
            "reuse": reuse, "layers": dut.layers, "summary": sat_summary(result),
            **({"trace": sat_trace(result)} if refuted else {})}


def check_folded_network(source, reuse: int, *, mode: str = "baked", yosys=None,
                         keep_dir=None, timeout=300, layers=None) -> dict:
    """Both parts of the proof of the folded network (module docstring): the datapath of
    every layer (or of ``layers`` only) in every phase and the control of the stream.

    Returns
    -------
    dict
        ``proved`` (both), ``reuse``, ``mode``, ``seconds``, ``datapath``
        (:func:`check_folded_datapath`) and ``stream`` (:func:`check_folded_stream`).
    """
    started = time.perf_counter()
    keep = None if keep_dir is None else Path(keep_dir)
    datapath = check_folded_datapath(source, reuse, mode=mode, yosys=yosys, layers=layers,
                                     keep_dir=None if keep is None else keep / "datapath",
                                     timeout=timeout)
    stream = check_folded_stream(source, reuse, mode=mode, yosys=yosys,
                                 keep_dir=None if keep is None else keep / "stream",
                                 timeout=timeout)
    return {"proved": datapath["proved"] and stream["proved"], "reuse": reuse, "mode": mode,
            "seconds": round(time.perf_counter() - started, 2), "datapath": datapath,
            "stream": stream}


def main(argv=None) -> int:
    """``python -m tn_hw.testbench.net_equiv MODEL [--reuse R] [--mode M] [--keep DIR]``:
    the per-layer proof of the clocked network (reuse 1) or both parts of the proof of the
    folded one; prints the verdicts, exit 0 proved, 1 refuted, 2 bad input (one line)."""
    import argparse
    import sys

    from ..errors import TnHwError

    parser = argparse.ArgumentParser(prog="python -m tn_hw.testbench.net_equiv",
                                     description=main.__doc__.split(":")[0])
    parser.add_argument("model")
    parser.add_argument("--reuse", type=int, default=1)
    parser.add_argument("--mode", choices=("baked", "ports"), default="baked")
    parser.add_argument("--keep", default=None, help="keep the proofs' files here")
    args = parser.parse_args(argv)
    try:
        if args.reuse == 1:
            report = check_network_stages(args.model, mode=args.mode, keep_dir=args.keep)
            lines = [f"layer {s['layer']}: {'proved' if s['proved'] else 'REFUTED'} "
                     f"({s['seconds']} s)" for s in report["stages"]]
        else:
            report = check_folded_network(args.model, args.reuse, mode=args.mode,
                                          keep_dir=args.keep)
            lines = [f"datapath layer {p['layer']} phase {p['phase']}: "
                     f"{'proved' if p['proved'] else 'REFUTED'} ({p['seconds']} s)"
                     for p in report["datapath"]["proofs"]]
            stream = report["stream"]
            lines.append(f"stream control ({stream['layers']} layers, reuse {args.reuse}): "
                         f"{'proved' if stream['proved'] else 'REFUTED'} "
                         f"({stream['seconds']} s)")
    except (TnHwError, ValueError, OSError) as error:
        print(f"net_equiv: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    print(f"{'PROVED' if report['proved'] else 'REFUTED'} in {report['seconds']} s")
    return 0 if report["proved"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
