"""Issue 19: a design folder whose manifest disagrees with its Verilog is refused before any
simulation (one line naming the field, expected and found; exit 2); a failed run names its cause
and its log exists; ``--waves`` keeps an FST and prints its path."""

import json
import shutil
import subprocess
import sys
import tempfile

import pytest

from helpers.net_mutants import tiny_net
from tn_hw.cli import main
from tn_hw.conv import ConvSpec
from tn_hw.generate import generate, generate_conv, write_design
from tn_hw.spec import KernelSpec
from tn_hw.testbench import consistency
from tn_hw.testbench.consistency import DesignMismatch, check_design, verilog_ports
from tn_hw.testbench.runner import run_regression


def run(capsys, *argv):
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def edit_manifest(folder, change):
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2))
    return manifest


def port(manifest, name):
    return next(p for p in manifest["ports"] if p["name"] == name)


def assert_refused(status, out, err, *words):
    """Exit 2, one line on stderr naming the disagreement, nothing simulated."""
    assert status == 2, out + err
    assert len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err
    assert "PASS" not in out and "vectors" not in out


@pytest.fixture(autouse=True)
def scratch_in_tmp_path(tmp_path, monkeypatch):
    """Build folders that a failed run keeps land in the test's own folder, not /tmp."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


@pytest.fixture
def kernel_dir(tmp_path):
    folder = tmp_path / "d"
    write_design(generate(KernelSpec(kernel=(3, 3), width=8)), folder)
    return folder


def _set_width(m):
    m["parameters"]["width"] = 6


def _drop_x3(m):
    m["ports"] = [p for p in m["ports"] if p["name"] != "x__3"]


def _rename_top(m):
    m["top"] = "tn_threshold_k3x3_w6"


def _wrong_direction(m):
    port(m, "x__0")["direction"] = "output"


def _table_width(m):
    port(m, "w__2")["width"] = 6


def _unsigned_input(m):
    port(m, "x__1")["signed"] = False


def _copied_w6_manifest(m):
    """Every field of a 6-bit design's manifest, beside the 8-bit Verilog (a stale copy)."""
    other = generate(KernelSpec(kernel=(3, 3), width=6)).manifest
    m.clear()
    m.update(other, top="tn_threshold_k3x3_w8", verilog="tn_threshold_k3x3_w8.v")


# Each hand edit of issue 19 and the line that refuses it.
EDITS = {
    "narrowed_width": (_set_width, ["parameters.cell_width", "expected 7", "found 9"]),
    "removed_port": (_drop_x3, ["ports.x__3", "found no entry"]),
    "changed_top": (_rename_top, ["top:", "tn_threshold_k3x3_w6"]),
    "wrong_direction": (_wrong_direction, ["ports.x__0.direction", "expected input",
                                           "found output"]),
    "width_in_table_only": (_table_width, ["ports.w__2.width", "expected 8", "found 6"]),
    "unsigned_input": (_unsigned_input, ["ports.x__1.signed", "expected True", "found False"]),
    "stale_copy": (_copied_w6_manifest, ["ports.bias.width", "expected 13 (Verilog)",
                                         "found 11"]),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_regress_refuses_a_manifest_edit(edit, kernel_dir, capsys):
    change, words = EDITS[edit]
    edit_manifest(kernel_dir, change)
    status, out, err = run(capsys, "regress", kernel_dir)
    assert_refused(status, out, err, *words)


def test_regress_refuses_an_edited_verilog_by_its_hash(kernel_dir, capsys):
    verilog = kernel_dir / "tn_threshold_k3x3_w8.v"
    verilog.write_text(verilog.read_text().replace(" + ", " - ", 1))
    status, out, err = run(capsys, "regress", kernel_dir)
    assert_refused(status, out, err, "verilog_sha256", "edited")


def test_regress_refuses_a_narrowed_verilog_port(kernel_dir, capsys):
    verilog = kernel_dir / "tn_threshold_k3x3_w8.v"
    text = verilog.read_text().replace("input [7:0] x__4;", "input [5:0] x__4;")
    verilog.write_text(text.replace("wire [7:0] x__4;", "wire [5:0] x__4;"))
    status, out, err = run(capsys, "regress", kernel_dir)
    assert_refused(status, out, err, "ports.x__4.width", "expected 6 (Verilog)", "found 8")


def test_edited_verilog_without_a_hash_fails_with_its_cause(kernel_dir, tmp_path, capsys,
                                                            icarus):
    """An older manifest (no hash): the simulation catches the edit; the FAIL line says why and
    the log it points to exists after the command."""
    edit_manifest(kernel_dir, lambda m: m.pop("verilog_sha256"))
    verilog = kernel_dir / "tn_threshold_k3x3_w8.v"
    verilog.write_text(verilog.read_text().replace(" + ", " - ", 1))
    status, out, _ = run(capsys, "regress", kernel_dir, "--vectors", "200")
    assert status == 1
    fail = next(line for line in out.splitlines() if line.startswith("FAIL"))
    assert "mismatches in" in fail and "TN_HW_SEED" in fail
    details = next(line for line in out.splitlines() if "details:" in line).split()[-1]
    assert "reproduce with TN_HW_SEED" in open(details).read()


def test_a_passing_run_leaves_no_build_folder(kernel_dir, scratch_in_tmp_path, capsys, icarus):
    status, out, _ = run(capsys, "regress", kernel_dir, "--vectors", "50")
    assert status == 0, out
    assert list(scratch_in_tmp_path.iterdir()) == []


def test_simulator_error_is_the_reason(kernel_dir, capsys, icarus):
    """A Verilog that Icarus cannot build: the reason quotes its error; build.log is kept."""
    edit_manifest(kernel_dir, lambda m: m.pop("verilog_sha256"))
    verilog = kernel_dir / "tn_threshold_k3x3_w8.v"
    verilog.write_text(verilog.read_text().replace("endmodule", "assign ;\nendmodule", 1))
    status, out, _ = run(capsys, "regress", kernel_dir)
    assert status == 1
    fail = next(line for line in out.splitlines() if line.startswith("FAIL"))
    assert "could not build the design" in fail and "error" in fail.lower()
    details = next(line for line in out.splitlines() if "details:" in line).split()[-1]
    assert details.endswith("build.log") and "error" in open(details).read().lower()


def test_a_narrowed_layout_does_not_pass_in_the_simulator(tmp_path, monkeypatch, icarus):
    """With the folder check bypassed, the testbench's own check of the DUT handles' widths
    fails the run: a 6-bit layout never drives an 8-bit design as if it were the whole range."""
    design = generate(KernelSpec(kernel=(1, 2), width=8))
    narrowed = generate(KernelSpec(kernel=(1, 2), width=6)).manifest
    manifest = dict(narrowed, top=design.top, verilog=design.verilog_name)
    monkeypatch.setattr("tn_hw.testbench.runner.check_design", lambda *a: None)
    result = run_regression(design.__class__(kind=design.kind, spec=KernelSpec(kernel=(1, 2),
                                                                               width=6),
                                             top=design.top, verilog=design.verilog,
                                             manifest=manifest),
                            tmp_path, random_vectors=20)
    assert not result.passed
    assert "the layout drives 6 bits, the DUT's port has 8" in result.reason


# -- streams, conv layers, networks ------------------------------------------------------------


def test_stream_folder_edits_are_refused(tmp_path, capsys):
    folder = tmp_path / "s"
    write_design(generate(KernelSpec(kernel=(1, 2), width=4, stages=1), stream=True), folder)
    edit_manifest(folder, lambda m: port(m, "y__payload").update(width=5))
    status, out, err = run(capsys, "regress", folder)
    assert_refused(status, out, err, "ports.y__payload.width", "expected 7 (Verilog)", "found 5")
    write_design(generate(KernelSpec(kernel=(1, 2), width=4, stages=1), stream=True), folder)
    edit_manifest(folder, lambda m: m.update(clock=None))
    status, out, err = run(capsys, "regress", folder)
    assert_refused(status, out, err, "ports.clk", "found no entry")
    write_design(generate(KernelSpec(kernel=(1, 2), width=4, stages=1), stream=True), folder)
    edit_manifest(folder, lambda m: m["parameters"].update(stages=0, latency=0))
    status, out, err = run(capsys, "regress", folder)
    assert_refused(status, out, err, "latency: expected 0", "found 1")


def test_conv_folder_edits_are_refused(tmp_path, capsys):
    folder = tmp_path / "c"
    spec = ConvSpec(kernel=KernelSpec(kernel=(2, 2), outputs=2, width=4), image=(3, 3))
    write_design(generate_conv(spec), folder)
    edit_manifest(folder, lambda m: m["parameters"].update(reuse=2))
    status, out, err = run(capsys, "regress", folder)
    assert_refused(status, out, err, "parameters.", "expected")
    write_design(generate_conv(spec), folder)
    edit_manifest(folder, lambda m: port(m, "i__payload").update(direction="output"))
    status, out, err = run(capsys, "regress", folder)
    assert_refused(status, out, err, "ports.i__payload.direction", "expected input")
    write_design(generate_conv(spec), folder)
    edit_manifest(folder, lambda m: m["parameters"].update(width=3))
    status, out, err = run(capsys, "regress", folder)
    assert_refused(status, out, err, "parameters.")


# ports: the same manifest checks as baked (slow tier). The network is exported once; every edit
# is made on a fresh copy of that export (an export is the test's cost, about 15 s each).
@pytest.mark.parametrize("mode", ["baked", pytest.param("ports", marks=pytest.mark.slow)])
def test_network_folder_edits_are_refused(mode, tmp_path, capsys):
    model = tmp_path / "tiny.json"
    model.write_text(json.dumps(tiny_net(3)))
    pristine = tmp_path / "exported"
    assert main(["export", str(model), "-o", str(pristine), "--thresholds", mode]) == 0
    capsys.readouterr()

    def fresh_export():
        out = tmp_path / "net"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(pristine, out)
        return out

    out = fresh_export()
    edit_manifest(out, lambda m: m.update(input_width=m["input_width"] - 1))
    status, printed, err = run(capsys, "verify", out, "--data", "random", "--samples", "5")
    assert_refused(status, printed, err, "input_width: expected", "network.json")
    out = fresh_export()
    edit_manifest(out, lambda m: port(m, "x__0").update(width=m["input_width"] - 1))
    status, printed, err = run(capsys, "verify", out, "--data", "random", "--samples", "5")
    assert_refused(status, printed, err, "ports.x__0.width", "(Verilog)")
    out = fresh_export()
    edit_manifest(out, lambda m: m.update(ports=m["ports"][:-1]))
    status, printed, err = run(capsys, "verify", out, "--data", "random", "--samples", "5")
    assert_refused(status, printed, err, "ports.", "found no entry")
    out = fresh_export()
    verilog = next(out.glob("*.v"))
    verilog.write_text(verilog.read_text() + "\n// edited\n")
    status, printed, err = run(capsys, "verify", out, "--data", "random", "--samples", "5")
    assert_refused(status, printed, err, "verilog_sha256")


def test_every_generated_design_is_consistent():
    from tn_hw.testbench.matrix import regression_matrix

    for config in regression_matrix()[:6]:
        design = config.generate()
        check_design(design.manifest, design.verilog)


def test_verilog_port_parser_reads_both_header_styles():
    text = ("module a(x, y);\n  input [7:0] x;\n  output signed [3:0] y;\nendmodule\n"
            "module b(input wire [2:0] p, q, output r);\nendmodule\n")
    assert verilog_ports(text, "a") == {"x": ("input", 8), "y": ("output", 4)}
    assert verilog_ports(text, "b") == {"p": ("input", 3), "q": ("input", 3),
                                        "r": ("output", 1)}
    with pytest.raises(DesignMismatch, match="top: the manifest names module 'c'"):
        verilog_ports(text, "c")


def test_consistency_check_imports_no_amaranth():
    code = ("import sys, tn_hw.testbench.consistency as c, tn_hw.testbench.sim; "
            "c._spec({'kind': 'kernel', 'parameters': {'neuron': 'threshold', 'kernel': [3, 3], "
            "'channels': 1, 'outputs': 1, 'width': 8, 'bias_width': None}}); "
            "assert 'amaranth' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert consistency.__name__.endswith("consistency")


# -- waves ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["kernel", "stream"])
def test_waves_are_kept_and_printed(stream, tmp_path, capsys, icarus):
    folder = tmp_path / "d"
    write_design(generate(KernelSpec(kernel=(1, 2), width=4, stages=1 if stream else 0),
                          stream=stream), folder)
    status, out, _ = run(capsys, "regress", folder, "--waves", "--vectors", "20")
    assert status == 0, out
    waves = next(line for line in out.splitlines() if "waves:" in line).split()[-1]
    assert waves.endswith(".fst")
    data = open(waves, "rb").read()
    assert len(data) > 100
