"""``--target sky130`` for ``tn-hw synth-net`` and ``tn-hw energy`` (issue 14 item 3).

Real Yosys runs on the smallest designs that show each point: the last two layers of the
paper's ball3 network (two neurons in series) and a 2x2 4-bit kernel pair. How split figures
combine (sums, the longest delay per layer, layers in series) and the golden-model check of the
energy simulation each have a planted bug that the test catches.
"""

import csv
import json
from pathlib import Path

import pytest

from tn_hw.cli import main
from tn_hw.spec import KernelSpec
from tn_hw.synth.area import split
from tn_hw.synth.area.split import combine_metrics
from tn_hw.synth.energy.options import EnergyError
from tn_hw.synth.energy.proxy import make_streams
from tn_hw.synth.sky130.inference import sky130_kernel_energy, sky130_netlist

BALL3 = str(Path(__file__).parents[2] / "models" / "ball3-tn4.json")


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def private_cache(module_cache, monkeypatch):
    # One cache for the module: the 2x2 kernels synthesized once serve two tests.
    monkeypatch.setenv("TN_HW_CACHE", str(module_cache))


def test_combine_metrics_adds_copies_and_keeps_the_longest_delay(monkeypatch):
    parts = [(3, {"area_um2": 10.0, "delay_ns": 2.0, "energy_pj": 1.5}),
             (1, {"area_um2": 4.0, "delay_ns": 3.5, "energy_pj": None})]
    assert combine_metrics(parts) == {"area_um2": 34.0, "delay_ns": 3.5, "energy_pj": None}
    # Planted bug: delay treated as an additive figure.
    monkeypatch.setattr(split, "LONGEST", frozenset())
    assert combine_metrics(parts)["delay_ns"] != 3.5


def _ball3_tail(tmp_path):
    """The last two layers of ball3 (3 -> 1 -> 1) as a network: two small neurons in series."""
    raw = json.loads(Path(BALL3).read_text())
    raw.update(name="ball3-tail", input={"shape": [3], "width": 8, "frac_bits": 0},
               layers=raw["layers"][2:])
    path = tmp_path / "ball3-tail.json"
    path.write_text(json.dumps(raw))
    return str(path)


def test_synth_net_sky130_reports_um2_ns_pj_per_inference(capsys, tmp_path):
    out_json, out_csv = tmp_path / "b.json", tmp_path / "b.csv"
    assert main(["synth-net", _ball3_tail(tmp_path), "--target", "sky130", "--quiet",
                 "--json", str(out_json), "--csv", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "area_um2" in text and "delay_ns" in text and "energy_pj" in text
    row, = json.loads(out_json.read_text())
    m = row["metrics"]
    assert m["area_um2"] > 0 and m["delay_ns"] > 0 and m["energy_pj"] > 0
    assert m["power_uw"] == pytest.approx(m["energy_pj"] * 50 + m["leakage_nw"] / 1e3, abs=0.01)
    layers = row["layers"]
    assert list(layers) == ["layer0", "layer1"]
    # Neurons side by side add up; layers in series add their slowest neuron's delay.
    for key in ("area_um2", "cells", "leakage_nw", "energy_pj", "power_uw"):
        assert m[key] == pytest.approx(sum(v["metrics"][key] for v in layers.values()),
                                       rel=1e-6, abs=1e-3)
    for name, layer in layers.items():
        parts = [p for p in row["parts"] if p["name"].split()[0] == name]
        assert layer["metrics"]["delay_ns"] == max(p["metrics"]["delay_ns"] for p in parts)
        assert layer["metrics"]["area_um2"] == pytest.approx(
            sum(p["count"] * p["metrics"]["area_um2"] for p in parts), abs=1e-3)
    assert m["delay_ns"] == pytest.approx(sum(v["metrics"]["delay_ns"]
                                              for v in layers.values()), abs=1e-3)
    with out_csv.open() as f:
        lines = list(csv.DictReader(f))
    assert [line["layer"] for line in lines] == ["all", "layer0", "layer1"]
    assert float(lines[0]["area_um2"]) == pytest.approx(m["area_um2"])


def test_energy_sky130_pj_per_inference_of_a_2x2_kernel(capsys, tmp_path):
    out_json, out_csv = tmp_path / "e.json", tmp_path / "e.csv"
    assert main(["energy", "--kernel", "2x2", "--width", "4", "--target", "sky130",
                 "--vectors", "300", "--json", str(out_json), "--csv", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "pJ/inference" in text and "MAC / threshold" in text and "um^2" in text
    result = json.loads(out_json.read_text())
    for neuron in ("threshold", "mac"):
        row = result[neuron]
        assert row["vectors"] == 300 and row["area_um2"] > 0 and row["delay_ns"] > 0
        assert row["energy_pj"] == pytest.approx(
            row["internal_pj"] + row["load_pj"] + row["input_pj"], abs=1e-3)
        assert row["energy_unit_pj"] >= row["energy_pj"] > 0
        assert row["power_uw"] == pytest.approx(row["energy_pj"] * 50
                                                + row["leakage_nw"] / 1e3, abs=1e-3)
    assert result["ratio"]["energy_pj"] == pytest.approx(
        result["mac"]["energy_pj"] / result["threshold"]["energy_pj"], rel=1e-3)
    with out_csv.open() as f:
        assert [line["neuron"] for line in csv.DictReader(f)] == ["threshold", "mac"]


def test_a_wrong_cell_in_the_sky130_netlist_fails_the_golden_check():
    from tn_hw.generate import generate

    spec = KernelSpec(neuron="threshold", kernel=(2, 2), width=4)
    design = generate(spec)
    report, flow = sky130_netlist(design.verilog, design.top)
    streams = make_streams(spec, "threshold", "random", vectors=200, seed=2)
    row = sky130_kernel_energy(spec, "threshold", streams, delays=("zero",),
                               netlist=(report, flow))
    assert row["energy_pj"] > 0
    # Planted bug: one cell replaced by its complement (same inputs, the output renamed).
    swaps = {"nand2_1": ("and2_1", "Y", "X"), "nor2_1": ("or2_1", "Y", "X"),
             "xnor2_1": ("xor2_1", "Y", "X"), "xor2_1": ("xnor2_1", "X", "Y"),
             "inv_1": ("buf_1", "Y", "X")}
    cells = report["modules"][design.top]["cells"]
    name = next(n for n, c in cells.items() if c["type"].split("__")[-1] in swaps)
    new, old, out = swaps[cells[name]["type"].split("__")[-1]]
    conn = dict(cells[name]["connections"])
    conn[out] = conn.pop(old)
    cells[name] = {"type": f"sky130_fd_sc_hd__{new}", "connections": conn}
    with pytest.raises(EnergyError, match="differs from the golden model"):
        sky130_kernel_energy(spec, "threshold", streams, delays=("zero",),
                             netlist=(report, flow))


@pytest.mark.parametrize("argv, words", [
    (["energy", "--target", "sky13"], "--target must be generic or one of sky130"),
    (["energy", "--target", "sky130", "--isolation"], "--isolation is not offered"),
    (["energy", "--csv", "x.csv"], "--csv is written with --target sky130"),
    (["synth-net", BALL3, "--target", "sky13"], "--target must be one of"),
    (["synth-net", BALL3, "--target", "sky130", "--csv", "no/such/dir/x.csv"],
     "cannot write --csv"),
])
def test_bad_sky130_inputs_are_one_line_and_exit_2(argv, words, capsys, tmp_path,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert list(tmp_path.iterdir()) == []
