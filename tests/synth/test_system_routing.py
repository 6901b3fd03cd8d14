"""``tn-hw system``: a design nextpnr does not route is a recorded result, not a failure (issue 17).

A nextpnr run stopped at ``--route-timeout``, or one that reports that it failed to route, gives a
row with ``routes`` false and the reason (as a device that is too small gives ``fits`` false),
the pair's ratios are reported as unavailable, the summary and the CSV say so, and the command
exits 0. Any other nextpnr failure, and a bad timeout, still exit 2.

CI tier: a tiny threshold network (3 inputs, one neuron) and its MAC twin on iCE40 with a routing
timeout of 0.01 s (real Yosys and nextpnr); a stand-in nextpnr that writes nextpnr's routing
error, and one that writes a placement error (which must stay a failure); where a stopped run
was, read from its log.
"""

import csv
import json
import stat
import sys

import pytest

from helpers.cli import assert_refused, run
from tn_hw.synth.system import render_csv, render_table, run_system
from tn_hw.synth.timing import pnr


def _tiny(neuron: str) -> dict:
    layer = {"bias": [3], "in_features": 3, "neuron": neuron, "out_features": 1,
             "out_width": None, "shift": 0, "type": "linear", "w": [[5, -7, 2]], "width": 4}
    if neuron == "threshold":
        layer["p"] = [[0, 1, 0]]
    return {"format": "tn-hw-net", "version": 1, "name": f"tiny-{neuron}", "task": "ball3",
            "input": {"frac_bits": 2, "shape": [3], "width": 4}, "layers": [layer]}


@pytest.fixture
def tiny_pair(tmp_path):
    """A one-neuron threshold network and its MAC twin (found beside it by shape)."""
    folder = tmp_path / "models"
    folder.mkdir()
    for neuron in ("threshold", "mac"):
        (folder / f"tiny-{neuron}.json").write_text(json.dumps(_tiny(neuron)))
    return folder / "tiny-threshold.json"


def test_a_routing_timeout_is_a_row_and_exits_0(nextpnr, tiny_pair, capsys, tmp_path):
    out = tmp_path / "out"
    status, stdout, stderr = run(capsys, "system", str(tiny_pair), "--target", "ice40",
                                 "--route-timeout", "0.01", "--cache-dir",
                                 str(tmp_path / "cache"), "--quiet", "-o", str(out))
    assert status == 0, stderr
    result = json.loads((out / "system.json").read_text())
    assert result["meta"]["route_timeout_s"] == 0.01
    assert "--route-timeout 0.01" in result["meta"]["command"]
    rows = {r["model"]: r for r in result["rows"]}
    assert set(rows) == {"tiny-threshold", "tiny-mac"}
    for row in rows.values():
        assert row["fits"] is True and row["routes"] is False, row
        assert "did not finish within 0.01 s (timeout" in row["reason"]
        assert row["flow"] == "ice40" and row["device"] == "iCE40HX8K-CT256"
        assert "fmax_mhz" not in row and "latency_ns_fmax" not in row
    (pair,) = result["ratios"]
    assert pair["available"] is False and "fmax" not in pair
    assert pair["reason"] == ("tiny-threshold (ice40) does not route; "
                              "tiny-mac (ice40) does not route")
    summary = (out / "system.md").read_text()
    assert stdout in summary
    assert "tiny-mac (ice40): does not route: nextpnr (ice40) of" in summary
    assert "tiny-threshold (ice40) vs tiny-mac (ice40): no ratios, " in summary
    assert "| does not route |" in summary
    header, *lines = csv.reader((out / "system.csv").read_text().splitlines())
    assert header[-2:] == ["status", "reason"] and len(lines) == 2
    for line in lines:
        assert line[-2] == "does not route" and line[-1] == rows[line[0]]["reason"]
        assert line[header.index("fmax_mhz")] == ""


def _stand_in(tmp_path, message: str):
    """A nextpnr that answers --version and otherwise writes ``message`` into its log (-l)
    and exits 1, as nextpnr does on an error."""
    script = tmp_path / "nextpnr-stand-in"
    script.write_text(f"""#!{sys.executable}
import sys
if "--version" in sys.argv:
    print("nextpnr-ice40 -- Next Generation Place and Route (stand-in)")
    sys.exit(0)
log = sys.argv[sys.argv.index("-l") + 1]
with open(log, "w") as f:
    f.write("Info: Running router2...\\n" + {message!r} + "\\n")
sys.exit(1)
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_failed_to_route_is_a_row_another_error_is_not(yosys, tiny_pair, monkeypatch,
                                                        capsys, tmp_path):
    monkeypatch.setattr(pnr, "find_nextpnr", lambda name: stand_in)
    stand_in = _stand_in(tmp_path, "ERROR: Failed to route arc 2 of net 'y'.")
    result = run_system(tiny_pair, "ice40", twin=False, cache=False)
    (row,) = result["rows"]
    assert row["routes"] is False and row["fits"] is True
    assert "Failed to route arc 2" in row["reason"] and "exit 1" in row["reason"]
    assert result["ratios"] == []  # no twin
    assert "tiny-threshold (ice40): does not route: " in render_table(result)
    assert render_csv(result).splitlines()[1].startswith("tiny-threshold,threshold,ice40,")

    # A planted other error (placement) must stay a failure: one line, exit 2, no files.
    stand_in = _stand_in(tmp_path, "ERROR: Unable to place cell 'x', no BELs remaining")
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", str(tiny_pair), "--target", "ice40",
                            "--no-twin", "--no-cache", "--quiet", "-o", str(out))
    assert_refused(status, stderr, "Unable to place cell", out)


@pytest.mark.parametrize("argv, message", [
    (["--route-timeout", "0"], "--route-timeout must be positive"),
    (["--timeout", "-1"], "--timeout must be positive"),
    (["--target", "sky130", "--route-timeout", "5"], "for --target ice40 or ecp5 only"),
])
def test_bad_timeouts_are_refused(tiny_pair, capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", str(tiny_pair), *argv, "-o", str(out))
    assert_refused(status, stderr, message, out)


@pytest.mark.parametrize("log, stage", [
    ("", "stopped before placement"),
    ("Info: Packing LUTs...\nInfo: Creating initial analytic placement for 9 cells\n",
     "stopped while placing"),
    ("Info: HeAP Placer Time: 1717.87s\nInfo: Running router2...\n"
     "Info:     iter=62 wires=954728 overused=346 overuse=346 archfail=NA\n",
     "stopped while routing; its log's last line: "
     "'Info:     iter=62 wires=954728 overused=346 overuse=346 archfail=NA'"),
])
def test_where_a_stopped_run_was(tmp_path, log, stage):
    path = tmp_path / "pnr.log"
    path.write_text(log)
    assert pnr._pnr_stage(path) == stage
    assert pnr._pnr_stage(tmp_path / "missing.log") == "stopped before placement"
