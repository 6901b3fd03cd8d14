# amaranth: UnusedElaboratable=no
"""``tn-hw prove``: the formal proofs of a clocked or folded network from the command line.

CI tier (ball3-tn4, the smallest network; its two smallest layers, so that each proof is about
a second): the registered stages proven equal to the combinational layers delayed by a clock,
the folded network (reuse 2: a layer's datapath in every phase and the stream control), the
JSON report beside the human lines; a planted bug (a stage left unregistered) refuted with exit
1 and its counterexample printed; bad input one line, exit 2, no report written. The whole of
ball3 is proven in tests/testbench/test_network_equiv.py and test_network_fold_equiv.py.
"""

import json
from pathlib import Path

import pytest

from helpers.cli import assert_refused, run
from helpers.net_mutants import STAGE_MUTANTS
from tn_hw.hdl import network_stream

ROOT = Path(__file__).resolve().parents[2]
BALL3 = ROOT / "models" / "ball3-tn4.json"


def test_prove_ball3_stages(yosys, capsys, tmp_path):
    report_path = tmp_path / "proof.json"
    status, stdout, stderr = run(capsys, "prove", str(BALL3), "--layers", "2,3", "--json",
                                 str(report_path), "--quiet")
    assert status == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith("layer 2 (tn_net_ball3_tn4_layer2_baked_s1) registered = "
                               "combinational delayed by 1: proved (")
    assert lines[1].startswith("layer 3 ") and lines[-1].startswith("PROVED: layers 2,3")
    report = json.loads(report_path.read_text())
    assert report["proved"] is True and report["reuse"] == 1 and report["layers"] == [2, 3]
    assert [s["layer"] for s in report["stages"]] == [2, 3]
    assert all("Induction step proven: SUCCESS!" in s["summary"] for s in report["stages"])
    assert stderr == ""


def test_prove_ball3_folded(yosys, capsys, tmp_path):
    report_path = tmp_path / "proof.json"
    status, stdout, stderr = run(capsys, "prove", str(BALL3), "--reuse", "2", "--layers", "3",
                                 "--json", str(report_path))
    assert status == 0, stderr
    assert "datapath layer 3 phase 0 (outputs 0): proved (" in stdout
    assert "stream control (4 layers, reuse 2): proved (" in stdout
    assert stdout.splitlines()[-1].startswith("PROVED: folded datapath of layers 3 and the "
                                              "stream control")
    assert stderr.startswith("prove: ")  # the progress line (no --quiet)
    report = json.loads(report_path.read_text())
    assert report["proved"] and report["stream"]["proved"] and report["reuse"] == 2


def test_planted_bug_is_refuted_with_a_counterexample(yosys, capsys, tmp_path, monkeypatch):
    """A stage left unregistered (the clocked network's bug the proof exists to catch)."""
    monkeypatch.setattr(network_stream, "PipelinedNetwork", STAGE_MUTANTS["unregistered"])
    report_path = tmp_path / "proof.json"
    status, stdout, _ = run(capsys, "prove", str(BALL3), "--layers", "3", "--json",
                            str(report_path), "--quiet")
    assert status == 1
    first, last = stdout.splitlines()
    assert "layer 3 " in first and ": REFUTED (" in first
    assert "counterexample: " in first and "step 1: " in first and "gate_y__0=" in first
    assert last.startswith("REFUTED: layers 3")
    (stage,) = json.loads(report_path.read_text())["stages"]
    assert stage["counterexample"] and not stage["proved"]
    # The trace: at some step the clocked design's output differs from the reference's.
    values = {(r["step"], r["signal"]): r["value"] for r in stage["trace"]}
    steps = {step for step, _ in values if step != "init"}
    assert any(values[s, "gate_y__0"] != values[s, "gold_y__0"] for s in steps)


@pytest.mark.parametrize("argv, message", [
    (["models/none.json"], "is not a file"),
    ([str(BALL3), "--reuse", "9"], "reuse must be an integer from 1 to 5"),
    ([str(BALL3), "--reuse", "0"], "--reuse must be a positive integer"),
    ([str(BALL3), "--layers", "1,7"], "no linear or conv layer [7]"),
    ([str(BALL3), "--layers", "x"], "--layers must be comma-separated layer indices"),
    ([str(BALL3), "--timeout", "0"], "--timeout must be positive"),
])
def test_prove_refuses_bad_input(capsys, tmp_path, argv, message):
    report_path = tmp_path / "proof.json"
    status, _, stderr = run(capsys, "prove", *argv, "--json", str(report_path))
    assert_refused(status, stderr, message, report_path)


@pytest.mark.parametrize("text, message", [
    ("{\"format\": \"tn-hw-net\"", "is not JSON"),
    ("[1, 2]", "is not a tn-hw-net network (a JSON object"),
    ("{\"format\": \"tn-hw-net\", \"layers\": []}", "bad.json"),
])
def test_prove_refuses_a_bad_model(capsys, tmp_path, text, message):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    report_path = tmp_path / "proof.json"
    status, _, stderr = run(capsys, "prove", str(bad), "--json", str(report_path))
    assert_refused(status, stderr, message, report_path)


def test_prove_refuses_a_report_in_a_missing_folder(capsys, tmp_path):
    report_path = tmp_path / "no" / "proof.json"
    status, _, stderr = run(capsys, "prove", str(BALL3), "--json", str(report_path))
    assert_refused(status, stderr, "does not exist", report_path)
