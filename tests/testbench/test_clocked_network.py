# amaranth: UnusedElaboratable=no
"""The clocked network accelerator (``tn-hw export --clocked``, hdl/network_stream.py).

Exported, checked by the folder consistency check, and run through the stream regression of
tb_network.py (random gaps and back-pressure, back to back with the timing of every beat,
resets in flight) with every logit compared with the golden model; planted bugs (a register
stage skipped, a valid bit the reset does not clear, valid bits that ignore the stall) must be
caught.
"""

import copy
import hashlib
import json
from pathlib import Path

import pytest

from helpers.net_mutants import CLOCKED_MUTANTS as MUTANTS
from tn_hw.cli import main
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.reference.network import load_network
from tn_hw.testbench.consistency import DesignMismatch, check_design

ROOT = Path(__file__).resolve().parents[2]
BALL3 = ROOT / "models" / "ball3-tn4.json"

#: sha256 of ``tn-hw export models/ball3-tn4.json`` (combinational, baked) before the clocked
#: export existed: the combinational network must stay byte-identical.
BALL3_COMB_SHA256 = "b08c86df59d6847b10d1ca48be870307283f5b1a093b39532c1033c8d01947b9"


@pytest.fixture(scope="module")
def ball3():
    return load_network(BALL3)


# -- export and manifest -----------------------------------------------------------------------


def test_combinational_export_unchanged(ball3):
    design = export_network(ball3)
    assert hashlib.sha256(design.verilog.encode()).hexdigest() == BALL3_COMB_SHA256
    assert design.manifest["latency"] == 0
    assert "interface" not in design.manifest and "clock" not in design.manifest


@pytest.mark.parametrize("mode", ["baked", "ports"])
def test_clocked_manifest(ball3, mode):
    design = export_network(ball3, mode=mode, clocked=True)
    m = design.manifest
    assert design.top == f"tn_net_ball3_tn4_{mode}_s4_stream"
    assert (m["interface"], m["latency"], m["initiation_interval"]) == ("stream", 4, 1)
    assert sorted(m["clock"]) == ["clk", "rst"]
    names = {p["name"] for p in m["ports"]}
    assert {"x__payload", "x__valid", "x__ready", "y__payload", "y__valid",
            "y__ready"} <= names
    assert ("l0_w__0__0" in names) == (mode == "ports")
    check_design(m, design.verilog)


@pytest.mark.parametrize("field, value, message", [
    ("latency", 3, "latency: expected 4"),
    ("latency", 0, "latency: expected 4"),
    ("initiation_interval", 2, "initiation_interval: expected 1"),
    ("clock", None, "ports.clk: expected in the manifest"),
    ("interface", "plain", "ports.x__payload"),
])
def test_consistency_refuses_a_wrong_clocked_manifest(ball3, field, value, message):
    design = export_network(ball3, clocked=True)
    manifest = copy.deepcopy(design.manifest)
    manifest[field] = value
    with pytest.raises(DesignMismatch, match=message):
        check_design(manifest, design.verilog)


def test_consistency_refuses_a_combinational_manifest_with_latency(ball3):
    design = export_network(ball3)
    manifest = dict(design.manifest, latency=4)
    with pytest.raises(DesignMismatch, match="latency: expected 0"):
        check_design(manifest, design.verilog)


# -- regression ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, samples", [("baked", None), ("ports", 200)])
def test_clocked_ball3_verify(ball3, mode, samples, tmp_path, icarus):
    out = tmp_path / "net"
    write_network_design(export_network(ball3, mode=mode, clocked=True), out)
    report = verify_network(out, data="ball3-test", samples=samples, seed=3)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0
    assert report["samples"] == (samples or 1000)
    assert report["rtl_accuracy"] == report["golden_accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("model, mode", [("digits-tmlp", "ports"), ("digits-mlp", "baked")])
def test_clocked_digits_verify(model, mode, tmp_path, icarus):
    out = tmp_path / "net"
    net = load_network(ROOT / "models" / f"{model}.json")
    write_network_design(export_network(net, mode=mode, clocked=True), out)
    report = verify_network(out, data="digits-test", samples=100)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 100


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_planted_bug_is_caught(ball3, name, tmp_path, icarus):
    out = tmp_path / "net"
    dut = MUTANTS[name](ball3)
    write_network_design(export_network(ball3, component=dut), out)
    report = verify_network(out, data="ball3-test", samples=120, seed=3, build_dir=tmp_path / "b")
    assert not report["passed"], f"{name} was not caught"
    log = Path(report["log"]).read_text()
    assert "mismatching beats" in log or "came out" in log or "left at cycle" in log


def test_cli_export_clocked_and_verify(tmp_path, icarus, capsys):
    out = tmp_path / "b"
    assert main(["export", str(BALL3), "--clocked", "-o", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["latency"] == 4 and manifest["interface"] == "stream"
    assert "latency 4 cycles" in capsys.readouterr().out
    code = main(["verify", str(out), "--data", "ball3-test", "--samples", "300"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "PASS" in text and "0 mismatches" in text
