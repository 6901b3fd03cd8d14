"""``tn-hw generate --stages/--stream`` and ``tn-hw regress`` on clocked designs."""

import json

import pytest

from helpers.cli import assert_refused, run
from tn_hw.spec import KernelSpec


@pytest.mark.parametrize("argv, message", [
    (["--stages", "6"], "stages must be an integer from 0 to 5, not 6"),
    (["--stages", "-1"], "stages must be an integer from 0 to 5, not -1"),
    (["--kernel", "1x1", "--stages", "2"], "stages must be an integer from 0 to 1, not 2"),
    (["--neuron", "sam", "--kernel", "1x2", "--stages", "3"],
     "stages must be an integer from 0 to 2, not 3"),
    (["--stages", "two"], "invalid int value: 'two'"),
])
def test_generate_rejects_bad_stages(capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "generate", *argv, "--stream", "-o", str(out))
    assert_refused(status, stderr, message, out)


def test_generate_pipelined_stream(capsys, tmp_path):
    out = tmp_path / "k3"
    status, stdout, _ = run(capsys, "generate", "--neuron", "mac", "--stages", "2", "--stream",
                            "-o", str(out))
    assert status == 0
    assert "latency 2 cycles, valid/ready streams" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    spec = KernelSpec(neuron="mac", stages=2)
    assert manifest["top"] == "tn_mac_k3x3_w8_s2_stream"
    assert manifest["interface"] == "stream"
    assert manifest["latency"] == spec.latency == manifest["parameters"]["latency"] == 2
    assert manifest["clock"] == {"clk": "rising edge", "rst": "synchronous, active high"}
    ports = {p["name"]: p for p in manifest["ports"]}
    assert ports["x__payload"]["element"] == {"width": 8, "signed": True, "count": 9}
    assert ports["x__payload"]["width"] == 72
    assert ports["y__payload"]["width"] == spec.output_width
    assert {"x__valid", "x__ready", "y__valid", "y__ready", "bias", "w__8"} <= set(ports)
    verilog = (out / manifest["verilog"]).read_text()
    assert "input clk;" in verilog and "input rst;" in verilog


def test_generate_plain_manifest_says_combinational(capsys, tmp_path):
    status, _, _ = run(capsys, "generate", "-o", str(tmp_path / "k"))
    manifest = json.loads((tmp_path / "k" / "manifest.json").read_text())
    assert status == 0
    assert (manifest["interface"], manifest["latency"], manifest["clock"]) == ("plain", 0, None)


def test_regress_runs_the_stream_testbench(capsys, tmp_path, icarus):
    out = tmp_path / "s"
    assert run(capsys, "generate", "--kernel", "1x2", "--width", "4", "--stages", "2",
               "--stream", "-o", str(out))[0] == 0
    status, stdout, _ = run(capsys, "regress", str(out), "--vectors", "60",
                            "--json", str(tmp_path / "r.json"))
    assert status == 0, stdout
    result = json.loads((tmp_path / "r.json").read_text())[0]
    assert set(result["tests"]) == {"back_to_back", "random_handshake", "reset_mid_stream"}
    assert result["mismatches"] == 0 and result["passed"]
