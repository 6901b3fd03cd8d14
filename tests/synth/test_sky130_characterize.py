"""Re-characterize two cells with ngspice and compare with the committed liberty.

Characterization is a measurement: the committed tables are reproduced on the same ngspice (39)
and models to the printed digits, but another ngspice release or platform may move a time step.
The tolerance is 2 % or 2 ps on delays and transitions and 2 % on pin capacitances: well above
run-to-run noise (none on one machine), well below what a wrong deck gives (a swapped edge or a
missing load moves a figure by 20 % or more, see the planted case below). ngspice is installed by
tools/setup.sh; without it this test is skipped, and under TN_HW_REQUIRE_TOOLS (CI) it fails.
"""

import pytest

from tn_hw.synth.sky130 import characterize
from tn_hw.synth.sky130.liberty import default_liberty
from tn_hw.synth.sky130.sta import read_timing

KEYS = ("cell_rise", "cell_fall", "rise_transition", "fall_transition")


@pytest.fixture(scope="module")
def fresh(ngspice):
    """``{cell: characterization}``, each cell run through ngspice once, when a test first asks
    for it (one run is about 5 s of loading the sky130 models)."""

    class Fresh(dict):
        def __missing__(self, cell):
            self[cell] = characterize.characterize_cell(cell)
            return self[cell]

    return Fresh()


def _close(a, b) -> bool:
    return abs(a - b) <= max(0.02 * abs(b), 0.002)


def _table_mismatches(fresh_cell, committed_cell):
    bad = []
    for arc in fresh_cell["arcs"]:
        ref = next(r for r in committed_cell["arcs"]
                   if r["from"] == arc["pin"] and r["to"] == arc["out"])
        for key in KEYS:
            for i, row in enumerate(arc[key]):
                for j, value in enumerate(row):
                    if not _close(value, ref[key][i][j]):
                        bad.append(f"{arc['pin']}->{arc['out']} {key}[{i}][{j}] {value} vs "
                                   f"{ref[key][i][j]}")
    return bad


# The inverter in the CI tier; the NAND's series stack in the slow tier.
@pytest.mark.parametrize("cell", ["inv_1", pytest.param("nand2_1", marks=pytest.mark.slow)])
def test_recharacterized_tables_match_the_committed_liberty(fresh, cell):
    committed = read_timing(str(default_liberty()))["cells"][f"sky130_fd_sc_hd__{cell}"]
    data = fresh[cell]
    assert _table_mismatches(data, committed) == []
    for pin, cap in data["capacitance"].items():
        assert cap == pytest.approx(committed["caps"][pin], rel=0.02)


def test_the_comparison_catches_a_wrong_load(fresh):
    # the inverter's tables compared as if they were the NAND's: the NAND's series pull-down
    # is slower, so the check must fail
    committed = read_timing(str(default_liberty()))["cells"]["sky130_fd_sc_hd__nand2_1"]
    inv = dict(fresh["inv_1"])
    inv["arcs"] = [{**inv["arcs"][0], "pin": "A", "out": "Y"}]
    assert _table_mismatches(inv, committed)


def test_figures_are_physical(fresh):
    inv = fresh["inv_1"]["arcs"][0]
    # delay grows with load, the output transition too
    for key in KEYS:
        for row in inv[key]:
            assert row == sorted(row)
    # an inverter input is about 2 fF (a 0.65/0.15 nfet and 1.0/0.15 pfet gate)
    assert 0.0015 < fresh["inv_1"]["capacitance"]["A"] < 0.003
    assert fresh["inv_1"]["leakage"] > 0
    assert fresh["inv_1"]["seconds"] > 0
