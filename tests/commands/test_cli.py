"""The ``tn-hw`` command line: help, happy paths, and one clear error for every bad input."""

import json
import subprocess
from pathlib import Path

import pytest

from helpers.cli import assert_refused, run


@pytest.mark.parametrize("argv, message", [
    (["--kernel", "0x3"], "kernel sides must be integers from 1 to 15, not '0x3'"),
    (["--kernel", "16x16"], "kernel sides must be integers from 1 to 15"),
    (["--kernel", "abc"], "kernel must look like 3x3 (rows x columns), not 'abc'"),
    (["--width", "1"], "width must be an integer from 2 to 32, not 1"),
    (["--width", "40"], "width must be an integer from 2 to 32, not 40"),
    (["--width", "eight"], "invalid int value: 'eight'"),
    (["--neuron", "spiking"], "invalid choice: 'spiking'"),
    (["--channels", "0"], "channels must be an integer from 1 to 1024, not 0"),
    (["--outputs", "0"], "outputs must be an integer from 1 to 1024, not 0"),
    (["--bias-width", "0"], "bias width must be an integer from 1 to 64, not 0"),
])
def test_generate_rejects_bad_parameters(capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "generate", *argv, "-o", str(out))
    assert_refused(status, stderr, message, out)


def test_generate_into_a_file_is_refused(capsys, tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder\n")
    status, _, stderr = run(capsys, "generate", "-o", str(target))
    assert status == 2
    assert "exists and is not a directory" in stderr
    assert target.read_text() == "not a folder\n"


def test_generate_below_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "taken").write_text("")
    status, _, stderr = run(capsys, "generate", "-o", str(tmp_path / "taken" / "sub"))
    assert status == 2
    assert "is not a directory" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_generate_into_an_unwritable_place_is_refused(capsys):
    # Root may write almost anywhere, but not into /proc: the error path is the same.
    status, _, stderr = run(capsys, "generate", "-o", "/proc/tn-hw-test/out")
    assert status == 2
    assert stderr.startswith("tn-hw: error: cannot write to '/proc/tn-hw-test/out'")
    assert len(stderr.strip().splitlines()) == 1


def test_generate_writes_verilog_and_manifest(capsys, tmp_path):
    out = tmp_path / "k5"
    status, stdout, _ = run(capsys, "generate", "--kernel", "5x5", "--width", "8", "-o", str(out))
    assert status == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["top"] == "tn_threshold_k5x5_w8"
    assert manifest["parameters"]["n_inputs"] == 25
    # The sum reaches +-25 * (2**8 - 1) = +-6375 (14 signed bits); a 14-bit bias adds up to 8191.
    assert manifest["parameters"]["sum_width"] == 14
    assert manifest["parameters"]["output_width"] == 15
    assert {p["port"] for p in manifest["ports"]} == {"x", "w", "p", "bias", "y"}
    assert (out / manifest["verilog"]).is_file()
    assert sorted(p.name for p in out.iterdir()) == sorted([manifest["verilog"], "manifest.json"])
    assert "tn_threshold_k5x5_w8" in stdout


@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_generated_verilog_compiles_in_icarus(capsys, tmp_path, neuron, icarus):
    out = tmp_path / neuron
    assert run(capsys, "generate", "--neuron", neuron, "--kernel", "3x3", "--channels", "2",
               "--outputs", "3", "-o", str(out))[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    compiled = subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "a.out"),
                               "-s", manifest["top"], str(out / manifest["verilog"])],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr


@pytest.mark.parametrize("command", [[], ["generate"], ["regress"], ["demo"], ["synth"],
                                     ["compare"], ["ops"], ["train"], ["export"],
                                     ["verify"], ["synth-net"]])
def test_help_teaches(capsys, command):
    status, stdout, _ = run(capsys, *command, "--help")
    assert status == 0
    assert "usage: tn-hw" in stdout
    if command:
        assert "example" in stdout.lower() or "tn-hw demo" in stdout.lower(), stdout


def test_no_command_prints_help(capsys):
    status, stdout, _ = run(capsys)
    assert status == 2
    assert "tn-hw generate" in stdout


def test_regress_refuses_a_folder_without_manifest(capsys, tmp_path):
    status, _, stderr = run(capsys, "regress", str(tmp_path))
    assert status == 2
    assert "holds no manifest.json; run tn-hw generate first" in stderr


def test_regress_refuses_a_malformed_manifest(capsys, tmp_path):
    (tmp_path / "manifest.json").write_text("{ not json")
    status, _, stderr = run(capsys, "regress", str(tmp_path))
    assert status == 2
    assert "cannot read" in stderr and "manifest.json" in stderr
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "kind": "kernel"}))
    status, _, stderr = run(capsys, "regress", str(tmp_path))
    assert status == 2
    assert "is malformed" in stderr


def test_regress_rejects_negative_vectors(capsys, icarus):
    status, _, stderr = run(capsys, "regress", "--vectors", "-1")
    assert status == 2
    assert "--vectors must be 0 or more, not -1" in stderr


def test_regress_generated_folder_passes(capsys, tmp_path, icarus):
    out = tmp_path / "k3"
    assert run(capsys, "generate", "--kernel", "3x3", "--width", "4", "-o", str(out))[0] == 0
    report = tmp_path / "report.json"
    status, stdout, _ = run(capsys, "regress", str(out), "--vectors", "200", "--seed", "3",
                            "--json", str(report))
    assert status == 0, stdout
    assert "1/1 designs passed" in stdout and "0 mismatches" in stdout
    (result,) = json.loads(report.read_text())
    assert result["passed"] and result["mismatches"] == 0 and result["seed"] == 3


def test_missing_simulator_is_one_clear_error(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    status, _, stderr = run(capsys, "regress", "--vectors", "10")
    assert status == 2
    assert "iverilog" in stderr.lower() or "icarus" in stderr.lower()
    assert len(stderr.strip().splitlines()) == 1


BALL3 = str(Path(__file__).resolve().parents[2] / "models/ball3-tn4.json")


@pytest.mark.parametrize("argv, message", [
    ([BALL3, "--pairs"], "--pairs needs models in (threshold, MAC) pairs, got 1 models"),
    ([BALL3, "--layer", "4"], "layer 4 of ball3-tn4 is not a linear or conv layer"),
    ([BALL3, "--target", "all"], "--target must be one of generic, xc7, xc7-nodsp, ice40"),
    ([BALL3, "-j", "0"], "-j must be a positive integer, not 0"),
    ([BALL3, "--timeout", "0"], "--timeout must be positive, not 0.0"),
    ([BALL3, "--mode", "soft"], "invalid choice: 'soft'"),
    (["missing.json"], "no such network file 'missing.json'"),
])
def test_synth_net_rejects_bad_input(capsys, tmp_path, argv, message):
    report = tmp_path / "area.json"
    status, _, stderr = run(capsys, "synth-net", *argv, "--json", str(report))
    assert_refused(status, stderr, message, report)


def test_synth_net_rejects_a_malformed_model_before_synthesis(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "tn-hw-net", "layers": 3}')
    status, stdout, stderr = run(capsys, "synth-net", BALL3, str(bad))
    assert status == 2
    assert "bad.json" in stderr and len(stderr.strip().splitlines()) == 1
    assert stdout == "", "no network is synthesized when one file is bad"


def test_synth_net_sums_neurons(capsys, tmp_path):
    from tn_hw.synth.area.flow import SynthError, find_yosys

    try:
        find_yosys()
    except SynthError as error:
        pytest.skip(str(error))
    report = tmp_path / "area.json"
    status, stdout, stderr = run(capsys, "synth-net", BALL3, BALL3, "--pairs", "--json",
                                 str(report))
    assert status == 0, stderr
    rows = json.loads(report.read_text())
    assert len(rows) == 2 and rows[0]["metrics"] == rows[1]["metrics"]
    row = rows[0]
    assert (row["mode"], row["split"], row["instances"], row["distinct"]) == \
        ("ports", "neuron", 10, 4)
    assert sum(p["count"] for p in row["parts"]) == 10
    for metric, total in row["metrics"].items():
        assert total == sum(p["count"] * p["metrics"][metric] for p in row["parts"]) > 0
        assert total == sum(layer["metrics"][metric] for layer in row["layers"].values())
    assert "MAC/threshold ball3-tn4 / ball3-tn4: gates 1.00x  transistors 1.00x" in stdout


# -- streaming conv layer (tn-hw generate --image, tn-hw regress DIR) -------------------------


@pytest.mark.parametrize("argv, message", [
    (["--image", "2x2"], "image 2x2 is smaller than the kernel 3x3"),
    (["--image", "8x8", "--padding", "3"], "padding must be an integer from 0 to 2, not 3"),
    (["--image", "8x8", "--outputs", "2", "--reuse", "3"],
     "reuse must be an integer from 1 to 2, not 3"),
    (["--image", "8x8", "--outputs", "4", "--reuse", "3"],
     "reuse 3 with 4 outputs needs 2 kernels, which finish in 2 cycles: use reuse 2"),
    (["--image", "8x8", "--stride", "3"], "stride must be 1 or 2, not 3"),
    (["--image", "8y8"], "image must look like 8x8 (height x width), not '8y8'"),
    (["--image", "0x8"], "image sides must be integers from 1 to 1024"),
    (["--stride", "2"], "--stride applies to a conv layer only: add --image HxW"),
    (["--padding", "1"], "--padding applies to a conv layer only"),
    (["--image", "8x8", "--neuron", "sam"], "built from the threshold or mac neuron, not 'sam'"),
    (["--image", "8x8", "--stages", "1"], "built from combinational kernels: leave stages at 0"),
    (["--image", "8x8", "--stream"], "always has stream interfaces: drop --stream"),
])
def test_generate_conv_rejects_bad_parameters(capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "generate", *argv, "-o", str(out))
    assert_refused(status, stderr, message, out)


def test_regress_frames_needs_a_conv_layer(capsys, tmp_path):
    status, _, stderr = run(capsys, "regress", "--frames", "2")
    assert_refused(status, stderr, "--frames applies to a conv layer only", tmp_path / "none")


def test_generate_and_regress_a_conv_layer(capsys, tmp_path, icarus):
    out = tmp_path / "conv"
    status, stdout, _ = run(capsys, "generate", "--neuron", "mac", "--image", "6x5", "--stride",
                            "2", "--channels", "2", "--outputs", "4", "--width", "4", "-o",
                            str(out))
    assert status == 0, stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "conv"
    assert manifest["top"] == "tn_conv_mac_k3x3x2_o4_w4_i6x5_s2_p0_r1"
    params = manifest["parameters"]
    assert params["out_image"] == [2, 2] and params["cycles_per_frame"] == 30
    assert "30 cycles/frame" in stdout
    status, _, stderr = run(capsys, "regress", str(out), "--vectors", "5")
    assert_refused(status, stderr, "--vectors does not apply to a conv layer; use --frames",
                   tmp_path / "none")
    report = tmp_path / "conv.json"
    status, stdout, _ = run(capsys, "regress", str(out), "--seed", "9", "--json", str(report))
    assert status == 0, stdout
    assert "PASS" in stdout and "0 mismatches" in stdout
    (result,) = json.loads(report.read_text())
    assert result["passed"] and result["mismatches"] == 0 and result["seed"] == 9
    assert set(result["tests"]) == {"full_rate", "backpressure", "reset_mid_frame"}
    assert result["tests"]["full_rate"]["vectors"] == 3 * 2 * 2
