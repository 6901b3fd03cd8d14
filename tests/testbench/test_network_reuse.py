# amaranth: UnusedElaboratable=no
"""The folded clocked network (``tn-hw export --clocked --reuse R``, hdl/network_stream.py).

Each layer's outputs fold onto ``ceil(O / R)`` kernels per position over ``R`` cycles; the
manifest records ``reuse``, ``initiation_interval = R`` and ``latency = layers * R``, which the
consistency check re-derives. The stream regression of tb_network.py (random gaps and
back-pressure, back to back with the timing of every beat at ``k * R + latency``, resets in
flight) compares every logit with the golden model, on ball3-tn4 and on a small strided,
padded conv network; planted bugs (a neuron select one off on one cycle, a valid bit left set
when ``y`` is taken between commits) must be caught.
"""

import copy
import json
from pathlib import Path

import pytest

from helpers.net_mutants import FOLDED_MUTANTS, tiny_net
from tn_hw.cli import main
from tn_hw.errors import SpecError
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.hdl.network_stream import FoldedNetwork, NetworkStream, PipelinedNetwork, check_reuse
from tn_hw.reference.network import load_network
from tn_hw.testbench.consistency import DesignMismatch, check_design

ROOT = Path(__file__).resolve().parents[2]
BALL3 = ROOT / "models" / "ball3-tn4.json"


@pytest.fixture(scope="module")
def ball3():
    return load_network(BALL3)


@pytest.fixture(scope="module")
def ball3_r2(ball3):
    """ball3-tn4 exported with reuse 2 (baked), shared by the manifest and regression tests."""
    return export_network(ball3, clocked=True, reuse=2)


# -- parameters and manifest -------------------------------------------------------------------


@pytest.mark.parametrize("reuse, kernels", [(2, [3, 2, 1, 1]), (3, [2, 1, 1, 1])])
def test_reuse_manifest(ball3, ball3_r2, reuse, kernels):
    design = ball3_r2 if reuse == 2 else export_network(ball3, clocked=True, reuse=reuse)
    m = design.manifest
    assert design.top == f"tn_net_ball3_tn4_baked_s{4 * reuse}_r{reuse}_stream"
    assert (m["reuse"], m["initiation_interval"], m["latency"]) == (reuse, reuse, 4 * reuse)
    layers = [s for s in m["stages"] if "neuron" in s]
    assert [s["kernels"] for s in layers] == kernels
    # Linear layers: one position, kernels x in_features cells (ball3: 3 -> 5 -> 3 -> 1 -> 1).
    assert [s["cells"] for s in layers] == [k * s["channels"]
                                            for k, s in zip(kernels, layers, strict=True)]
    assert m["cells"] == sum(s["cells"] for s in layers)
    check_design(m, design.verilog)


@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_reuse_one_is_the_unfolded_design(ball3):
    """Reuse 1 builds the unfolded core and control (test_clocked_network.py checks them)."""
    dut = NetworkStream(ball3, reuse=1)
    assert type(dut.core) is PipelinedNetwork
    assert (dut.latency, dut.initiation_interval, dut.reuse) == (4, 1, 1)


@pytest.mark.parametrize("reuse", [0, 6, 2.0, True, "2"])
def test_reuse_out_of_range(ball3, reuse):
    with pytest.raises(SpecError, match=r"reuse must be an integer from 1 to 5 \(the widest"):
        NetworkStream(ball3, reuse=reuse)


def test_reuse_needs_a_clocked_network(ball3):
    with pytest.raises(SpecError, match="needs a clocked network"):
        export_network(ball3, reuse=2)
    with pytest.raises(SpecError, match="reuse 1 is PipelinedNetwork"):
        FoldedNetwork(ball3, reuse=1)
    assert check_reuse(ball3, 5) == 5


@pytest.mark.parametrize("field, value, message", [
    ("reuse", 1, "latency: expected 4"),
    ("reuse", 7, "reuse: expected an integer from 1 to 5"),
    ("latency", 4, "latency: expected 8 .4 layers x reuse 2"),
    ("initiation_interval", 1, r"initiation_interval: expected 2 \(reuse 2\)"),
])
def test_consistency_refuses_a_wrong_folded_manifest(ball3_r2, field, value, message):
    design = ball3_r2
    manifest = copy.deepcopy(design.manifest)
    manifest[field] = value
    with pytest.raises(DesignMismatch, match=message):
        check_design(manifest, design.verilog)


def test_cli_reuse(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["export", str(BALL3), "--clocked", "--reuse", "2", "-o", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["latency"] == 8
    assert "latency 8 cycles, reuse 2: one inference per 2 clocks" in capsys.readouterr().out
    bad = tmp_path / "bad"
    assert main(["export", str(BALL3), "--reuse", "2", "-o", str(bad)]) == 2
    assert main(["export", str(BALL3), "--clocked", "--reuse", "9", "-o", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tn-hw: error: a reuse factor needs a clocked network (--clocked)",
                   "tn-hw: error: reuse must be an integer from 1 to 5 (the widest layer's "
                   "outputs), not 9"]
    assert not bad.exists()


# -- regression --------------------------------------------------------------------------------


def test_folded_ball3_verify(ball3_r2, tmp_path, icarus):
    out = tmp_path / "net"
    write_network_design(ball3_r2, out)
    report = verify_network(out, data="ball3-test", samples=300, seed=5)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 300
    assert report["rtl_accuracy"] == report["golden_accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("reuse, mode", [(3, "ports"), (5, "baked")])
def test_folded_ball3_verify_all(ball3, reuse, mode, tmp_path, icarus):
    out = tmp_path / "net"
    write_network_design(export_network(ball3, mode=mode, clocked=True, reuse=reuse), out)
    report = verify_network(out, data="ball3-test", seed=reuse)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 1000


def test_folded_conv_network_verify(tmp_path, icarus):
    """Strided, padded conv (3 outputs on 2 kernels per position, the last phase leaving one
    idle), flatten, linear 12 -> 4, ports mode, reuse 2."""
    net = load_network(tiny_net(seed=4))
    out = tmp_path / "net"
    write_network_design(export_network(net, mode="ports", clocked=True, reuse=2), out)
    report = verify_network(out, data="random", samples=120, seed=2)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("model, mode, reuse", [("digits-tmlp", "baked", 4),
                                                ("digits-tcnn", "ports", 2)])
def test_folded_digits_verify(model, mode, reuse, tmp_path, icarus):
    net = load_network(ROOT / "models" / f"{model}.json")
    out = tmp_path / "net"
    write_network_design(export_network(net, mode=mode, clocked=True, reuse=reuse), out)
    report = verify_network(out, data="digits-test", samples=60)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 60


@pytest.mark.parametrize("name", sorted(FOLDED_MUTANTS))
def test_folded_planted_bug_is_caught(ball3, name, tmp_path, icarus):
    out = tmp_path / "net"
    dut = FOLDED_MUTANTS[name](ball3, reuse=2)
    write_network_design(export_network(ball3, component=dut), out)
    report = verify_network(out, data="ball3-test", samples=80, seed=3, build_dir=tmp_path / "b")
    assert not report["passed"], f"{name} was not caught"
    log = Path(report["log"]).read_text()
    assert "mismatching beats" in log or "came out" in log or "left at cycle" in log
