"""Energy proxy (issue 7): gate netlists, the bit-parallel simulator against hand counts and
Icarus, the golden-model check and its mutants, the weightings, stimuli and the CLI."""

import json

import numpy as np
import pytest
import torch

from helpers.cli import assert_refused, run
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.synth.area.flow import synthesize
from tn_hw.synth.energy.gatesim import (
    GATE_TRANSISTORS,
    Netlist,
    SynthError,
    icarus_probe,
)
from tn_hw.synth.energy.netlist import synthesize_netlist
from tn_hw.synth.energy.proxy import (
    WEIGHTINGS,
    EnergyError,
    Stream,
    gate_weights,
    kernel_energy,
    make_streams,
    proxy_energy,
    run_energy,
)

# -- a hand-counted netlist ------------------------------------------------------------------------
#
#   a, b, c inputs;  n1 = NAND(a, b);  n2 = XOR(n1, c);  n3 = NOT(a);  n4 = XOR(a, n3)
#   y = {n4, n2}  (y[0] = n2, y[1] = n4; n4 is always 1 once settled)

TINY = {"modules": {"tiny": {
    "ports": {"a": {"direction": "input", "bits": [2]},
              "b": {"direction": "input", "bits": [3]},
              "c": {"direction": "input", "bits": [4]},
              "y": {"direction": "output", "bits": [5, 7]}},
    "cells": {
        "g1": {"type": "$_NAND_", "connections": {"A": [2], "B": [3], "Y": [6]}},
        "g2": {"type": "$_XOR_", "connections": {"A": [6], "B": [4], "Y": [5]}},
        "g3": {"type": "$_NOT_", "connections": {"A": [2], "Y": [8]}},
        "g4": {"type": "$_XOR_", "connections": {"A": [2], "B": [8], "Y": [7]}},
    },
    "netnames": {}}}}

# (a, b, c) per vector, and by hand:
#   vector      0 (1,1,0)  1 (0,1,0)  2 (0,1,1)  3 (1,1,1)
#   n1 NAND     0          1          1          0         -> 2 toggles
#   n2 XOR      0          1          0          1         -> 3 toggles
#   n3 NOT      0          1          1          0         -> 2 toggles
#   n4 XOR      1          1          1          1         -> 0 toggles (zero delay)
# Unit delay: a changes on 0->1 and 2->3; n4 = a ^ n3 sees the new a one step before the new
# n3, so it glitches 1 -> 0 -> 1 each time: 4 toggles. n2 changes once per transition (its
# inputs n1 and c never change in the same transition), so it keeps its 3.
TINY_VECTORS = {"a": [1, 0, 0, 1], "b": [1, 1, 1, 1], "c": [0, 0, 1, 1]}


@pytest.fixture()
def tiny():
    return Netlist.from_json(TINY, "tiny")


def test_tiny_zero_delay_hand_count(tiny):
    sim = tiny.simulate(TINY_VECTORS, delay="zero")
    assert sim.toggles.tolist() == [2, 3, 2, 0]
    assert sim.input_toggles.tolist() == [2, 0, 1]
    assert sim.outputs["y"].tolist() == [0b10, 0b11, 0b10, 0b11]
    assert sim.transitions == 3


def test_tiny_unit_delay_counts_the_glitch(tiny):
    sim = tiny.simulate(TINY_VECTORS, delay="unit")
    assert sim.toggles.tolist() == [2, 3, 2, 4]
    assert sim.steps == 2


def test_tiny_weightings_by_hand(tiny):
    # Transistors: NAND 4, XOR 12, NOT 2; pins: 2, 2, 1, 2.
    # Fanout: n1 -> g2 (1 pin); n2 -> y[0] (1); n3 -> g4 (1); n4 -> y[1] (1): every gate 1 + 1.
    # Inputs: a -> g1, g3, g4 (3 pins); b -> g1 (1); c -> g2 (1).
    assert gate_weights(tiny, "transistors")[0].tolist() == [4, 12, 2, 12]
    assert gate_weights(tiny, "pins")[0].tolist() == [2, 2, 1, 2]
    assert gate_weights(tiny, "fanout")[0].tolist() == [2, 2, 2, 2]
    assert gate_weights(tiny, "fanout")[1].tolist() == [3, 1, 1]
    assert gate_weights(tiny, "transistors")[1].tolist() == [0, 0, 0]
    zero = tiny.simulate(TINY_VECTORS, delay="zero")
    unit = tiny.simulate(TINY_VECTORS, delay="unit")
    energy = {w: proxy_energy(tiny, zero.toggles, zero.input_toggles, w) for w in WEIGHTINGS}
    # toggles [2, 3, 2, 0]; input toggles [2, 0, 1]
    assert energy == {"toggles": 7, "transistors": 2 * 4 + 3 * 12 + 2 * 2,
                      "pins": 2 * 2 + 3 * 2 + 2 * 1, "fanout": 7 * 2 + (2 * 3 + 1 * 1)}
    # unit delay adds n4's 4 glitch toggles: 4 x 12 transistors.
    assert proxy_energy(tiny, unit.toggles, unit.input_toggles, "transistors") == 48 + 48


def test_unknown_weighting_is_refused(tiny):
    with pytest.raises(EnergyError, match="unknown weighting 'area'"):
        gate_weights(tiny, "area")


def test_netlist_guards():
    looped = json.loads(json.dumps(TINY))
    looped["modules"]["tiny"]["cells"]["g1"]["connections"]["A"] = [5]  # n1 <- n2 <- n1
    with pytest.raises(SynthError, match="combinational loop"):
        Netlist.from_json(looped, "tiny")
    flop = json.loads(json.dumps(TINY))
    flop["modules"]["tiny"]["cells"]["g1"]["type"] = "$_DFF_P_"
    with pytest.raises(SynthError, match="combinational generic gates only"):
        Netlist.from_json(flop, "tiny")


# -- real netlists ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory, yosys):
    return tmp_path_factory.mktemp("energy-cache")


def _netlist(neuron, kernel, width, cache_dir):
    design = generate(KernelSpec(neuron=neuron, kernel=kernel, width=width))
    signed = {p["name"]: p["signed"] for p in design.manifest["ports"]}
    return synthesize_netlist(design.verilog, design.top, signed=signed, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def small(cache_dir):
    """2x2 kernels at 4 bit: a few hundred gates each."""
    return {n: _netlist(n, (2, 2), 4, cache_dir) for n in ("threshold", "mac")}


@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_netlist_is_the_area_flows_netlist(small, cache_dir, neuron):
    netlist, area = small[neuron]
    design = generate(KernelSpec(neuron=neuron, kernel=(2, 2), width=4))
    again = synthesize(design.verilog, design.top, "generic", cache_dir=cache_dir)
    assert area["metrics"] == again["metrics"]
    counted = {}
    for kind in netlist.types:
        counted[kind] = counted.get(kind, 0) + 1
    assert counted == again["cells_by_type"]
    assert sum(GATE_TRANSISTORS[k] for k in netlist.types) == again["metrics"]["transistors"]


@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_gate_level_equals_golden_both_delays(small, neuron):
    spec = KernelSpec(neuron=neuron, kernel=(2, 2), width=4)
    streams = make_streams(spec, neuron, "random", vectors=600, seed=3)
    result = kernel_energy(spec, neuron, streams, netlist=small[neuron][0])
    assert result["transitions"] == 599
    # Glitches only add toggles, and the MAC's product bits glitch.
    assert result["unit"]["toggles"] >= result["zero"]["toggles"] > 0


def _mutant(netlist):
    """The gate driving y[0], changed into its complement."""
    complement = {"$_XOR_": "$_XNOR_", "$_XNOR_": "$_XOR_", "$_NAND_": "$_AND_",
                  "$_NOR_": "$_OR_", "$_NOT_": "$_BUF_", "$_MUX_": "$_NMUX_",
                  "$_NMUX_": "$_MUX_", "$_AOI3_": "$_OAI3_", "$_OAI3_": "$_AOI3_",
                  "$_AOI4_": "$_OAI4_", "$_OAI4_": "$_AOI4_"}
    index = netlist.drives.index(netlist.outputs["y"][0])
    return netlist.with_gate(index, complement[netlist.types[index]])


@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_mutant_netlist_fails_the_golden_check(small, neuron):
    spec = KernelSpec(neuron=neuron, kernel=(2, 2), width=4)
    streams = make_streams(spec, neuron, "random", vectors=200, seed=3)
    with pytest.raises(EnergyError, match="differs from the golden model on 200 of 200"):
        kernel_energy(spec, neuron, streams, netlist=_mutant(small[neuron][0]), delays=("zero",))


def _cross_check(netlist, stimulus, delay, n):
    outputs, values = icarus_probe(netlist, stimulus, delay=delay)
    sim = netlist.simulate(stimulus, delay=delay)
    samples = len(values) // n
    start = samples if delay == "unit" else 0  # unit delay: vector 0 starts from unknowns
    toggles = np.abs(np.diff(values[start:].astype(np.int64), axis=0)).sum(axis=0)
    return outputs, sim, toggles


@pytest.mark.parametrize("delay", ["zero", "unit"])
@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_evaluator_matches_icarus_gate_by_gate(small, icarus, neuron, delay):
    netlist = small[neuron][0]
    spec = KernelSpec(neuron=neuron, kernel=(2, 2), width=4)
    stimulus = make_streams(spec, neuron, "random", vectors=150, seed=5)[0].ports()
    outputs, sim, toggles = _cross_check(netlist, stimulus, delay, 150)
    assert outputs["y"].tolist() == sim.outputs["y"].tolist()
    assert toggles.tolist() == sim.toggles.tolist()
    if delay == "zero":  # every gate's settled value on every vector, not only the counts
        _, values = icarus_probe(netlist, stimulus, delay="zero")
        assert np.array_equal(values, netlist.gate_values(stimulus))


def test_icarus_cross_check_catches_a_mutant(small, icarus):
    netlist = small["threshold"][0]
    spec = KernelSpec(neuron="threshold", kernel=(2, 2), width=4)
    stimulus = make_streams(spec, "threshold", "random", vectors=100, seed=5)[0].ports()
    outputs, _ = icarus_probe(_mutant(netlist), stimulus, delay="zero")
    assert outputs["y"].tolist() != netlist.simulate(stimulus).outputs["y"].tolist()


# -- stimuli ---------------------------------------------------------------------------------------


def test_digits_conv_streams_are_the_trained_first_layer():
    from tn_hw.reference import integer
    from tn_hw.reference.data import network_dataset
    from tn_hw.reference.network import forward, load_network

    spec = KernelSpec(neuron="threshold", kernel=(3, 3), width=8)
    for neuron, model in (("threshold", "digits-tcnn"), ("mac", "digits-cnn")):
        streams = make_streams(spec, neuron, "digits", vectors=None)
        net = load_network(f"models/{model}.json")
        x, _ = network_dataset(net, "digits-test")
        _, stages = forward(net, x, return_all=True)
        layer = net.compute_layers[0]
        assert len(streams) == layer.w.shape[0] == 4
        for k, stream in enumerate(streams):
            assert stream.x.shape == (len(x) * 16, 9)
            q = integer.requantize(torch.from_numpy(stream.golden(neuron)), layer.shift,
                                   layer.out_width)
            if layer.activation == "relu":
                q = q.clamp(min=0)
            assert torch.equal(q, stages[1][:, k].reshape(-1))


def test_digits_window_streams_and_refusals():
    spec = KernelSpec(neuron="threshold", kernel=(5, 5), width=8)
    streams = make_streams(spec, "threshold", "digits", vectors=40)
    assert len(streams) == 16 and streams[0].x.shape == (40, 25)
    assert int(streams[0].x.min()) >= 0 and int(streams[0].x.max()) <= 64
    with pytest.raises(EnergyError, match="needs --width 8"):
        make_streams(KernelSpec(neuron="mac", kernel=(3, 3), width=4), "mac", "digits",
                     vectors=None)
    with pytest.raises(EnergyError, match="square kernel of side 1 to 8"):
        make_streams(KernelSpec(neuron="mac", kernel=(3, 5), width=8), "mac", "digits",
                     vectors=None)


def test_zeroed_counts_ties():
    stream = Stream("s", torch.tensor([[1, 2], [3, 0]]), torch.tensor([1, 1]), None, 0)
    assert stream.zeroed() == 2  # x == w and x < w are both zeroed


# -- end to end ------------------------------------------------------------------------------------


def test_run_energy_end_to_end(cache_dir):
    result = run_energy((2, 2), 4, "random", vectors=300, seed=2, isolation=True,
                        cache_dir=cache_dir)
    for delay in ("zero", "unit"):
        for w in WEIGHTINGS:
            mac, thr = result["mac"][delay]["per_vector"][w], \
                result["threshold"][delay]["per_vector"][w]
            assert result["ratio"][delay][w] == mac / thr
    assert 0 < result["zeroing"]["fraction"] < 1
    assert result["isolated"]["gates"] > result["threshold"]["gates"]


@pytest.fixture()
def energy_cache(monkeypatch, cache_dir):
    monkeypatch.setenv("TN_HW_CACHE", str(cache_dir))


def test_cli_energy_one_design(capsys, tmp_path, energy_cache):
    out = tmp_path / "e.json"
    nets = tmp_path / "nets"
    status, stdout, _ = run(capsys, "energy", "--kernel", "1x1", "--width", "4", "--vectors",
                            "200", "--json", str(out), "--netlists", str(nets))
    assert status == 0
    assert sorted(p.name for p in nets.iterdir()) == [
        "tn_mac_k1x1_w4.json", "tn_mac_k1x1_w4.v", "tn_threshold_k1x1_w4.json",
        "tn_threshold_k1x1_w4.v"]
    assert "\\$_XOR_" in (nets / "tn_threshold_k1x1_w4.v").read_text()
    assert "MAC/thr" in stdout and "every output equal to the golden model" in stdout
    data = json.loads(out.read_text())
    assert set(data["ratio"]) == {"zero", "unit"}
    assert set(data["ratio"]["zero"]) == set(WEIGHTINGS)


def test_cli_energy_sweep(capsys, tmp_path, energy_cache):
    out = tmp_path / "sweep"
    status, _, _ = run(capsys, "energy", "--sweep", "--kernels", "1x1,2x2", "--widths", "4",
                       "--stimuli", "random", "--vectors", "100", "--delay", "zero", "-o",
                       str(out))
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == ["energy.csv", "energy.json", "energy.md",
                                                  "energy.png"]
    rows = (out / "energy.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * len(WEIGHTINGS)


@pytest.mark.parametrize("argv, message", [
    (["--width", "1"], "width must be an integer from 2 to 32, not 1"),
    (["--stimulus", "digits", "--width", "4"], "the digits stimulus needs --width 8"),
    (["--stimulus", "digits", "--kernel", "9x9"], "square kernel of side 1 to 8, not 9x9"),
    (["--vectors", "1"], "vectors must be at least 2"),
    (["--delay", "half"], "delay must be from zero, unit, not 'half'"),
    (["--kernel", "0x3"], "kernel sides must be integers from 1 to 15, not '0x3'"),
    (["--stimulus", "sunny"], "invalid choice: 'sunny'"),
    (["--sweep", "--widths", "4,x"], "--widths must be integers separated by commas, not '4,x'"),
    (["--sweep", "--widths", "1"], "width must be an integer from 2 to 32, not 1"),
])
def test_cli_energy_refuses_bad_input(capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    json_out = tmp_path / "e.json"
    status, _, stderr = run(capsys, "energy", *argv, "--json", str(json_out), "-o", str(out))
    assert_refused(status, stderr, message, out)
    assert not json_out.exists()


def test_cli_energy_sweep_needs_a_folder(capsys, tmp_path):
    status, _, stderr = run(capsys, "energy", "--sweep")
    assert_refused(status, stderr, "--sweep needs -o DIR", tmp_path / "none")


def test_cli_energy_unwritable_json(capsys, tmp_path):
    target = tmp_path / "missing" / "e.json"
    status, _, stderr = run(capsys, "energy", "--json", str(target))
    assert_refused(status, stderr, "is not a writable directory", target)


def test_cli_energy_netlists_into_a_file_is_refused(capsys, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("not a folder\n")
    json_out = tmp_path / "e.json"
    status, _, stderr = run(capsys, "energy", "--netlists", str(taken), "--json", str(json_out))
    assert_refused(status, stderr, "exists and is not a directory", json_out)
    assert taken.read_text() == "not a folder\n"


# -- heavier runs ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("delay", ["zero", "unit"])
@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_3x3_w8_matches_icarus(cache_dir, icarus, neuron, delay):
    netlist, _ = _netlist(neuron, (3, 3), 8, cache_dir)
    spec = KernelSpec(neuron=neuron, kernel=(3, 3), width=8)
    stimulus = make_streams(spec, neuron, "digits", vectors=400)[0].ports()
    outputs, sim, toggles = _cross_check(netlist, stimulus, delay, 400)
    assert outputs["y"].tolist() == sim.outputs["y"].tolist()
    assert toggles.tolist() == sim.toggles.tolist()


@pytest.mark.slow
def test_3x3_digits_end_to_end(cache_dir):
    result = run_energy((3, 3), 8, "digits", cache_dir=cache_dir)
    assert result["threshold"]["vectors"] == 4 * 450 * 16
    assert result["ratio"]["zero"]["transistors"] > 1

