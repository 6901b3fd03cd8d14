"""``tn-hw system --target sky130 --cell-map fast``: the short sky130 mapping recipe (issue 17).

The digits MLP's clocked network does not map with the default recipe (ABC's full liberty
script) in useful time; ``--cell-map fast`` maps it with ``synth -noabc`` and ABC ``strash; dc2;
&nf``. CI tier: the default recipe is still ``map.ys`` byte for byte (committed ball3 figures
stay valid), the fast script differs only in its ABC lines, bad input is refused, the recipe is
recorded in the JSON and every row, and the fast-recipe netlist of the clocked ball3-tn4 computes
the golden logits in the stream regression (cocotb + Icarus, integers compared), with a planted
gate swap caught.
"""

import json
from importlib import resources
from pathlib import Path

import pytest

from helpers.cli import assert_refused, run
from tn_hw.synth.sky130.mapping import synthesize_sky130
from tn_hw.synth.sky130.recipes import RECIPES, recipe_script
from tn_hw.synth.sky130.wheel import Sky130Error
from tn_hw.synth.system import (
    CELL_MAPS,
    SystemFlowError,
    load_model,
    map_clocked_sky130,
    netlist_regression,
    run_system,
)

MODELS = Path(__file__).resolve().parents[2] / "models"
BALL3 = MODELS / "ball3-tn4.json"


def _code(script: str) -> list[str]:
    return [line for line in script.splitlines() if line and not line.startswith("#")]


def test_default_cell_map_is_map_ys_and_fast_changes_only_the_abc_lines():
    map_ys = (resources.files("tn_hw.synth.sky130") / "map.ys").read_text()
    assert CELL_MAPS == ("default", "fast") and all(c in RECIPES for c in CELL_MAPS)
    # The default recipe is the script of every committed sky130 system figure.
    assert recipe_script("default") == map_ys
    fast = _code(recipe_script("fast"))
    default = _code(map_ys)
    changed = [(a, b) for a, b in zip(default, fast, strict=True) if a != b]
    assert changed == [
        ("synth -flatten -top {top} {synth_options}",
         "synth -flatten -top {top} {synth_options} -noabc"),
        ("abc -liberty cells.lib",
         "abc -liberty cells.lib -script +strash;dc2;&get,-n;&nf;&put"),
    ]


def test_unknown_recipe_is_refused_before_yosys_runs():
    with pytest.raises(Sky130Error, match="unknown sky130 recipe 'quick'"):
        synthesize_sky130("module t; endmodule", "t", recipe="quick")
    with pytest.raises(SystemFlowError, match="unknown --cell-map 'quick'"):
        run_system(BALL3, "sky130", cell_map="quick")
    with pytest.raises(SystemFlowError, match="for --target sky130 only"):
        run_system(BALL3, "ecp5", cell_map="fast")


@pytest.mark.parametrize("argv, message", [
    ([str(BALL3), "--target", "sky130", "--cell-map", "abc"], "unknown --cell-map 'abc'"),
    ([str(BALL3), "--target", "ecp5", "--cell-map", "fast"], "for --target sky130 only"),
    ([str(BALL3), "--target", "sky130", "--lut-map", "fast"], "(sky130: --cell-map)"),
])
def test_system_refuses_a_bad_cell_map(capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", *argv, "-o", str(out))
    assert_refused(status, stderr, message, out)


@pytest.fixture(scope="module")
def fast_netlist(yosys):
    """The clocked ball3-tn4 mapped with ``--cell-map fast`` (one Yosys run for the module)."""
    return map_clocked_sky130(load_model(BALL3), "fast")


def test_fast_cell_map_is_recorded_and_its_energy_checks_every_logit(yosys, capsys, tmp_path):
    # 40 ball3-test samples: the energy simulation compares every logit with the golden model
    # (it raises on a mismatch, tests/synth/test_system.py plants one).
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", str(BALL3), "--target", "sky130", "--no-twin",
                            "--cell-map", "fast", "--samples", "40", "--no-proxy", "--quiet",
                            "-o", str(out))
    assert status == 0, stderr
    result = json.loads((out / "system.json").read_text())
    assert result["meta"]["cell_map"] == "fast" and result["meta"]["lut_map"] is None
    assert "--cell-map fast" in result["meta"]["command"]
    (row,) = result["rows"]
    assert row["cell_map"] == "fast" and row["synthesis"] == RECIPES["fast"][0]
    assert row["samples"] == 40 and row["data"] == "ball3-test"
    assert row["area_um2"] > 0 and row["energy_pj"] > 0 and row["critical_ns"] > 0
    assert "--cell-map fast" in (out / "system.md").read_text().splitlines()[0]


def test_fast_netlist_differs_from_the_default_and_computes_the_golden_logits(
        icarus, fast_netlist, tmp_path):
    net = load_model(BALL3)
    report = netlist_regression(net, tmp_path / "gate", samples=50, netlist=fast_netlist)
    assert report["mismatch_count"] == 0, report["mismatches"]
    assert report["passed"], report["reason"]
    # Not the default recipe's netlist under another name: synth's ABC pass is gone, so the
    # default netlist's 1854 cells (docs/results/system.md) are not what was simulated.
    assert report["cells"] != 1854


def test_fast_netlist_bug_is_caught(icarus, fast_netlist, tmp_path):
    report = netlist_regression(load_model(BALL3), tmp_path / "mutant", samples=20,
                                netlist=fast_netlist, mutate=1)
    assert report["mutation"] is not None
    assert not report["passed"] and report["mismatch_count"] > 0
