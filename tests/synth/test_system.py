"""``tn-hw system``: a whole network as a clocked accelerator against its MAC twin (issue 17).

CI tier: ball3-tn4 placed and routed on iCE40 with a fixed seed through the command (JSON, CSV
and summary fields), the twin pairing, bad input, the energy simulation's logit check with a
planted wrong logit, and the mapped sky130 netlist of ball3-tn4 simulated on 50 ball3-test
samples with the stream regression (same logits as the golden model) and with a planted gate
swap (caught); the SAT miter of that netlist against a planted swap that ball3-test does not
catch gives an input that does. Slow: the same netlist on 300 samples, the sky130 energy of the
pair, and the inductive proof that the netlist is equivalent to itself (no false alarm).
"""

import json
from pathlib import Path

import pytest
import torch

from helpers.cli import assert_refused, run
from tn_hw.export import export_network
from tn_hw.reference.network import forward
from tn_hw.synth.system import (
    SystemFlowError,
    find_twin,
    load_model,
    map_clocked_sky130,
    netlist_equivalence,
    netlist_logits,
    netlist_regression,
    plant_netlist_bug,
    pnr_target,
    render_csv,
    render_table,
    run_system,
    task_test_data,
)

MODELS = Path(__file__).resolve().parents[2] / "models"
BALL3 = MODELS / "ball3-tn4.json"


def test_twins_pair_by_shape_and_neuron():
    assert find_twin(BALL3) == MODELS / "ball3-mac4.json"
    assert find_twin(MODELS / "ball3-mac4.json") == BALL3
    assert find_twin(MODELS / "digits-tmlp.json") == MODELS / "digits-mlp.json"
    assert find_twin(MODELS / "digits-tcnn.json") == MODELS / "digits-cnn.json"
    assert find_twin(MODELS / "digits-cnn.json") == MODELS / "digits-tcnn.json"
    assert find_twin(MODELS / "digits-tcnn-mi.json") is None  # mixed: no twin


def test_system_ice40_ball3(nextpnr, capsys, tmp_path):
    out = tmp_path / "out"
    status, stdout, stderr = run(capsys, "system", str(BALL3), "--target", "ice40",
                                 "--no-twin", "--seeds", "1", "--cache-dir",
                                 str(tmp_path / "cache"), "--quiet", "-o", str(out))
    assert status == 0, stderr
    result = json.loads((out / "system.json").read_text())
    assert result["meta"]["target"] == "ice40" and result["meta"]["twin"] is None
    (row,) = result["rows"]
    assert row["model"] == "ball3-tn4" and row["neuron"] == "threshold"
    assert row["flow"] == "ice40" and row["device"] == "iCE40HX8K-CT256"
    # The accelerator: one register stage per layer, one inference per clock.
    assert row["latency_cycles"] == 4 and row["initiation_interval"] == 1
    assert row["latency_ns_50mhz"] == 80.0
    fmax = row["fmax_mhz"]
    assert 5 < fmax < 500
    assert row["latency_ns_fmax"] == round(4 * 1000 / fmax, 3)
    assert row["inferences_per_s_fmax"] == round(fmax * 1e6)
    assert row["inferences_per_s_50mhz"] == 50_000_000
    assert row["seeds"][0]["seed"] == 1 and not row["seeds"][0]["cached"]
    assert row["lut4"] > 0 and row["dsp"] == 0 and row["bram"] == 0
    # Harness registers: every input bit (3 x 8 payload, valid, ready) and every output bit
    # (the logit, valid, ready) and the registered load pin; the network's own: 4 valid bits
    # and the stage registers.
    ports = export_network(load_model(BALL3), clocked=True).manifest["ports"]
    assert row["harness_ffs"] == sum(p["width"] for p in ports) + 1
    assert row["ffs"] > row["harness_ffs"] + 4 + 5
    csv = (out / "system.csv").read_text().splitlines()
    assert csv[0].startswith("model,neuron,flow,device,fmax_mhz")
    assert csv[1].startswith("ball3-tn4,threshold,ice40,")
    summary = (out / "system.md").read_text()
    assert "tn-hw system" in summary and f"| {fmax:g} |" in summary
    assert stdout in summary


@pytest.mark.parametrize("argv, message", [
    (["models/none.json"], "is not a file"),
    ([str(BALL3), "--target", "xc7"], "unknown target 'xc7'"),
    ([str(BALL3), "--seeds", "0"], "--seeds must be a positive integer"),
    ([str(BALL3), "--no-twin", "--twin", str(BALL3)], "exclude each other"),
    ([str(BALL3), "--lut-map", "abc"], "unknown --lut-map 'abc'"),
    ([str(BALL3), "--target", "ice40", "--lut-map", "fast"], "for --target ecp5 only"),
])
def test_system_refuses_bad_input(capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", *argv, "-o", str(out))
    assert_refused(status, stderr, message, out)


def test_system_refuses_a_broken_model(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{\"format\": \"tn-hw-net\"")
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", str(bad), "-o", str(out))
    assert_refused(status, stderr, "is not JSON", out)
    with pytest.raises(SystemFlowError, match="--samples must be at least 2"):
        run_system(BALL3, "sky130", samples=1)


def test_energy_logit_check_catches_a_wrong_logit():
    """The gate-level energy simulation compares every logit with the golden model: a logit
    off by one in the golden set must be refused."""
    from tn_hw.synth.system import _check_logits, task_test_data

    net = load_model(BALL3)
    design = export_network(net, clocked=True)
    _, x, golden = task_test_data(net, 20)
    outputs = {"y__payload_0": golden[:, 0].numpy()}
    _check_logits(outputs, design.manifest, golden, "same")
    wrong = golden.clone()
    wrong[7, 0] += 1
    with pytest.raises(SystemFlowError, match="logit 0 of sample 7"):
        _check_logits(outputs, design.manifest, wrong, "planted")


@pytest.fixture(scope="module")
def ball3_netlist(yosys):
    """The mapped sky130 netlist of the clocked ball3-tn4 (one Yosys run for the module)."""
    return map_clocked_sky130(load_model(BALL3))


def test_postsynth_netlist_computes_the_golden_logits(icarus, ball3_netlist, tmp_path):
    net = load_model(BALL3)
    report = netlist_regression(net, tmp_path / "gate", samples=50, netlist=ball3_netlist)
    assert report["samples"] == 50 and report["data"] == "ball3-test"
    assert report["cells"] > 100
    assert report["mismatch_count"] == 0, report["mismatches"]
    assert report["passed"], report["reason"]


def test_postsynth_netlist_bug_is_caught(icarus, ball3_netlist, tmp_path):
    net = load_model(BALL3)
    report = netlist_regression(net, tmp_path / "mutant", samples=20, netlist=ball3_netlist,
                                mutate=1)
    assert report["mutation"].split(": ")[1].startswith(("nand2", "nor2", "and2", "or2"))
    assert not report["passed"]
    assert report["mismatch_count"] > 0
    m = report["mismatches"][0]
    assert m["expected"] != m["got"]


def test_plant_netlist_bug_swaps_one_gate():
    text = ("  sky130_fd_sc_hd__nand2_1 _1_ (\n    .A(a),\n    .B(b),\n    .Y(y)\n  );\n"
            "  sky130_fd_sc_hd__or2_2 _2_ (\n    .A(a),\n    .B(b),\n    .X(z)\n  );\n")
    one, what = plant_netlist_bug(text, 1)
    assert what == "_2_: or2_2 -> and2_2"
    assert one == text.replace("or2_2", "and2_2")
    with pytest.raises(SystemFlowError, match="no occurrence 2"):
        plant_netlist_bug(text, 2)


@pytest.mark.slow
def test_postsynth_netlist_300_samples(icarus, ball3_netlist, tmp_path):
    report = netlist_regression(load_model(BALL3), tmp_path / "gate", samples=300,
                                netlist=ball3_netlist, seed=3)
    assert report["samples"] == 300 and report["mismatch_count"] == 0 and report["passed"]


@pytest.mark.slow
def test_sky130_energy_of_the_ball3_pair(yosys, tmp_path):
    result = run_system(BALL3, "sky130", samples=200, cache_dir=tmp_path)
    rows = {r["model"]: r for r in result["rows"]}
    assert set(rows) == {"ball3-tn4", "ball3-mac4"}
    for row in rows.values():
        assert row["samples"] == 200 and row["data"] == "ball3-test"
        assert row["area_um2"] > 0 and row["ffs"] > 0 and row["critical_ns"] > 0
        assert row["energy_pj"] > 0 and row["energy_unit_pj"] >= row["energy_pj"]
        assert row["power_uw_50mhz"] == pytest.approx(
            row["energy_pj"] * 50 + row["leakage_nw"] / 1e3, abs=5e-3)
        assert row["proxy"]["fanout"] > 0
    (ratio,) = result["ratios"]
    assert ratio["energy"] == round(rows["ball3-mac4"]["energy_pj"]
                                    / rows["ball3-tn4"]["energy_pj"], 3)


def test_netlist_miter_finds_an_input_for_the_swap_ball3_test_misses(yosys, ball3_netlist):
    # occurrence 0 (_1772_ NAND2 -> NOR2) passes 300 ball3-test samples: not an equivalent
    # mutant, SAT gives an input (outside the data's [-64, 64] range) whose logit differs.
    net = load_model(BALL3)
    design = export_network(net, clocked=True)
    mutant, _ = plant_netlist_bug(ball3_netlist, 0)
    r = netlist_equivalence(design, ball3_netlist, mutant, prove=False, one_sample=True)
    assert r["equivalent"] is False and r["method"] == "sat"
    assert r["step"] == 2 + design.manifest["latency"]
    x = torch.tensor([r["sample"]], dtype=torch.int64)
    assert r["gold_y"] == forward(net, x).reshape(-1).tolist()  # the mapped netlist is right
    assert r["other_y"] != r["gold_y"]
    # the gate-level simulation agrees: ball3-test does not catch the swap, the SAT input does
    _, data, golden = task_test_data(net, 40)
    both = torch.cat([data, x])
    want = torch.cat([golden, forward(net, x).reshape(1, -1)]).numpy()
    assert (netlist_logits(design, ball3_netlist, both) == want).all()
    got = netlist_logits(design, mutant, both)
    assert (got[:-1] == want[:-1]).all() and got[-1].tolist() == r["other_y"]


@pytest.mark.slow
def test_netlist_equivalence_proves_an_unchanged_netlist(yosys, ball3_netlist):
    design = export_network(load_model(BALL3), clocked=True)
    r = netlist_equivalence(design, ball3_netlist, ball3_netlist)
    assert r["equivalent"] is True and r["method"] == "equiv_induct" and r["unproven"] == []


def test_a_flow_that_does_not_fit_is_a_row_not_a_failure(monkeypatch):
    import tn_hw.synth.system as system
    from tn_hw.synth.timing.pnr import DoesNotFit

    def place(design, flow, **_):
        if flow == "ecp5" and "mac" in design.top:
            raise DoesNotFit(f"{design.top} does not fit the LFE5U-85F-CABGA381: it needs "
                                  "593 dsp and the device has 156; try a smaller design")
        return {"flow": flow, "device": "LFE5U-85F-CABGA381", "fmax_mhz": 50.0, "lut4": 9,
                "logic_cells": 9, "ffs": 3}

    monkeypatch.setattr(system, "place_network", place)
    result = run_system(MODELS / "ball3-mac4.json", "ecp5", twin=BALL3)
    rows = {(r["model"], r["flow"]): r for r in result["rows"]}
    unfit = rows[("ball3-mac4", "ecp5")]
    assert unfit["fits"] is False and "593 dsp" in unfit["reason"] and "fmax_mhz" not in unfit
    assert rows[("ball3-mac4", "ecp5-nodsp")]["fits"] is True
    # only the pair that fits is compared; the other is reported as unavailable
    assert [(r["flow"], r["mac_flow"], r["available"]) for r in result["ratios"]] == [
        ("ecp5", "ecp5", False), ("ecp5", "ecp5-nodsp", True)]
    table = render_table(result)
    assert "ball3-mac4 (ecp5): " in table and "does not fit" in table
    assert render_csv(result).count("\n") == 4  # header and three rows

    def broken(design, flow, **_):
        raise SystemFlowError("nextpnr failed")

    monkeypatch.setattr(system, "place_network", broken)
    with pytest.raises(SystemFlowError, match="nextpnr failed"):
        run_system(BALL3, "ecp5", twin=False)


def test_fast_lut_map_changes_only_the_lut_mapping():
    for flow in ("ecp5", "ecp5-nodsp"):
        base, fast = pnr_target(flow), pnr_target(flow, "fast")
        assert base is pnr_target(flow, "abc9")
        assert (fast.device, fast.capacity) == (base.device, base.capacity)
        assert fast.device_args == (*base.device_args, "--router", "router2")
        assert (fast.synth.synth_options, fast.synth.booth) == \
            (base.synth.synth_options, base.synth.booth)
        a = base.synth.script_text(top="t").splitlines()
        b = fast.synth.script_text(top="t").splitlines()
        code = [line for line in b if line and not line.startswith("#")]
        # the abc9 script's commands, with synth_ecp5 split around the classic ABC mapping
        assert [line for line in a if line and not line.startswith("#")] == \
            [line.replace(" -run :map_luts", "") for line in code
             if "-run map_cells:" not in line and "abc -lut" not in line
             and "latches_map" not in line and line != "clean"]
        assert "abc -lut 4 -script +strash;if" in code
    with pytest.raises(SystemFlowError, match="ECP5 flows only"):
        pnr_target("ice40", "fast")
    with pytest.raises(SystemFlowError, match="unknown --lut-map"):
        run_system(BALL3, "ecp5", lut_map="abc")
