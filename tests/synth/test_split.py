# amaranth: UnusedElaboratable=no
"""Split synthesis: a network's neurons cut out one by one (hdl.network.NetworkNeuron) compute
exactly what the network computes for them, and the split sum weights every part by its count."""

from pathlib import Path

import pytest
import torch
from amaranth.sim import Simulator

from tn_hw.hdl.network import (
    NetworkNeuron,
    neuron_parts,
    plan_network,
    window_indices,
    window_inside,
)
from tn_hw.reference.network import forward, load_network
from tn_hw.synth.area import split
from tn_hw.synth.area.split import Part, network_parts, synthesize_parts

MODELS = Path(__file__).resolve().parents[2] / "models"


def _net(name):
    return load_network(MODELS / f"{name}.json")


def _neurons(net):
    return sum(s.positions * s.spec.outputs for s in plan_network(net) if s.has_parameters)


@pytest.mark.parametrize("name", ["ball3-tn4", "digits-tmlp", "digits-tcnn", "digits-cnn"])
@pytest.mark.parametrize("mode", ["baked", "ports"])
def test_parts_cover_every_neuron_once(name, mode):
    net = _net(name)
    parts = neuron_parts(net, mode)
    assert sum(count for *_, count in parts) == _neurons(net)
    # Parts are distinct circuits: no (stage, output, padding) twice.
    keys = [(stage.index, output, inside) for stage, output, inside, _ in parts]
    assert len(set(keys)) == len(keys)
    if mode == "ports":
        # Every neuron of a programmable layer is the same circuit up to padding.
        assert len(parts) <= len(net.layers) * 9


def _simulate(neuron, stage, output, rows, acts, oy=0, ox=0):
    """Drive ``neuron`` with each row's inputs; return its outputs as Python ints."""
    indices = (window_indices(stage, oy, ox) if stage.type == "conv2d"
               else list(range(stage.spec.n_inputs)))
    real = [i for i in indices if i is not None]
    results = []

    async def bench(ctx):
        if hasattr(neuron, "w"):
            ctx.set(neuron.bias, stage.bias[output])
            for i in range(stage.spec.n_inputs):
                ctx.set(neuron.w[i], stage.w[output][i])
                if stage.p is not None:
                    ctx.set(neuron.p[i], stage.p[output][i])
        for row in rows:
            flat = acts[row].flatten().tolist()
            for port, index in enumerate(real):
                ctx.set(neuron.x[port], flat[index])
            results.append(ctx.get(neuron.y))

    sim = Simulator(neuron)
    sim.add_testbench(bench)
    sim.run()
    return results


def _cases(net):
    """(stage, output, oy, ox) for a spread of neurons: every output of small layers, and for a
    conv the corner (most padding) and an interior position."""
    for stage in plan_network(net):
        if not stage.has_parameters:
            continue
        outputs = range(stage.spec.outputs) if stage.spec.outputs <= 5 else (0, 3)
        if stage.type == "conv2d":
            _, h, w = stage.out_shape
            positions = {(0, 0), (h // 2, w // 2), (h - 1, w - 1)}
        else:
            positions = {(0, 0)}
        for o in outputs:
            for oy, ox in sorted(positions):
                yield stage, o, oy, ox


@pytest.mark.parametrize("name", ["ball3-tn4", "digits-tcnn", "digits-cnn"])
@pytest.mark.parametrize("mode", ["baked", "ports"])
def test_neuron_computes_what_the_network_computes(name, mode):
    net = _net(name)
    lo, hi = -(1 << (net.input_width - 1)), (1 << (net.input_width - 1)) - 1
    gen = torch.Generator().manual_seed(7)
    x = torch.randint(lo, hi + 1, (12, *net.input_shape), generator=gen)
    x[0] = lo  # extremes
    x[1] = hi
    _, acts = forward(net, x, return_all=True)
    checked = 0
    for stage, o, oy, ox in _cases(net):
        inside = window_inside(stage, oy, ox)
        neuron = NetworkNeuron(stage, o, inside, mode=mode)
        got = _simulate(neuron, stage, o, range(len(x)), acts[stage.index], oy, ox)
        out = acts[stage.index + 1]
        want = (out[:, o, oy, ox] if stage.type == "conv2d" else out[:, o]).tolist()
        assert got == want, (stage.index, o, oy, ox)
        checked += 1
    assert checked >= 4


def test_wrong_padding_is_caught():
    """Mutation: a corner neuron built with an interior neuron's padding pattern (its inputs
    shifted onto the wrong taps) must disagree with the network."""
    net = _net("digits-tcnn")
    stage = next(s for s in plan_network(net) if s.type == "conv2d" and s.padding)
    _, h, w = stage.out_shape
    corner, interior = window_inside(stage, 0, 0), window_inside(stage, h // 2, w // 2)
    assert corner != interior and interior.count(True) > corner.count(True)
    # Feed the corner's real inputs into the first taps of an interior-shaped neuron.
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(-128, 128, (16, *net.input_shape), generator=gen)
    _, acts = forward(net, x, return_all=True)
    want = acts[stage.index + 1][:, 0, 0, 0].tolist()
    mutant = NetworkNeuron(stage, 0, corner, mode="baked")
    mutant._inside = tuple(sorted(corner, reverse=True))  # real inputs first: wrong taps
    got = _simulate(mutant, stage, 0, range(len(x)), acts[stage.index], 0, 0)
    assert got != want
    right = _simulate(NetworkNeuron(stage, 0, corner, mode="baked"), stage, 0, range(len(x)),
                      acts[stage.index], 0, 0)
    assert right == want


def test_neuron_rejects_bad_arguments():
    stage = next(s for s in plan_network(_net("ball3-tn4")) if s.has_parameters)
    with pytest.raises(ValueError, match="mode must be one of"):
        NetworkNeuron(stage, 0, (True,) * stage.spec.n_inputs, mode="soft")
    with pytest.raises(ValueError, match="inside has 2 entries"):
        NetworkNeuron(stage, 0, (True, True), mode="baked")


def test_synthesize_parts_weights_by_count(monkeypatch):
    """The sum is count-weighted, each distinct part is synthesized once."""
    calls = []

    def fake(verilog, top, target, **options):
        calls.append(top)
        return {"metrics": {"gates": len(verilog), "transistors": 2 * len(verilog)},
                "seconds": 1.5, "cached": False, "yosys": "Yosys test"}

    monkeypatch.setattr(split, "synthesize", fake)
    parts = [Part("a", "x" * 10, "a", 3), Part("b", "x" * 7, "b", 1), Part("c", "x", "c", 5)]
    result = synthesize_parts(parts, jobs=2)
    assert sorted(calls) == ["a", "b", "c"]
    assert result["metrics"] == {"gates": 42, "transistors": 84}
    assert result["instances"] == 9
    assert result["yosys_seconds"] == 4.5
    assert [p["count"] for p in result["parts"]] == [3, 1, 5]


def test_network_parts_emit_one_module_each():
    parts = network_parts(_net("digits-tcnn"), "ports")
    assert sum(p.count for p in parts) == _neurons(_net("digits-tcnn"))
    for part in parts:
        assert f"module {part.top}(" in part.verilog


def test_synthesize_parts_names_failed_parts_and_runs_the_rest(monkeypatch):
    """A failing part does not stop the others (their results are cached for the next run);
    the error then names every failed part with its message, in part order."""
    from tn_hw.executor import SweepError
    from tn_hw.synth.area.flow import SynthError

    calls = []

    def fake(verilog, top, target, **options):
        calls.append(top)
        if top in ("b", "e"):
            raise SynthError(f"generic synthesis of {top} took longer than 1 s")
        return {"metrics": {"gates": 1}, "seconds": 0.0, "cached": False, "yosys": "Yosys"}

    monkeypatch.setattr(split, "synthesize", fake)
    parts = [Part(name, "x", name) for name in "abcdef"]
    with pytest.raises(SweepError, match=r"^2 of 6 points failed: b \(b\) on generic: generic "
                                         r"synthesis of b took longer than 1 s; e \(e\) on "
                                         r"generic: .*of e took"):
        synthesize_parts(parts, jobs=1)
    assert calls == list("abcdef")
