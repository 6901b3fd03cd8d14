"""``tn-hw system --target sky130 --cell-map buffered``: ABC's buffering after the mapping.

Without buffering, the stall enable of a clocked network (one gate output reaching every stage
register) sets the sky130 critical path: the STA extrapolates the liberty's 0.05 pF tables to a
0.2 pF net (docs/results/system.md, "Buffered sky130 networks"). CI tier: the buffered recipes
change only the ABC line of their unbuffered recipe and are recorded; bad input is refused with
one line and exit 2; the buffered netlist of the clocked ball3-tn4 computes the golden logits
(zero-delay gate simulation, integers compared) with a planted gate swap caught; no gate of it
drives more than ``BUFFER_FANOUT`` inputs and its critical path stays inside the liberty's load
grid, checks shown to fail on the same netlist with its buffers removed (which is the default
recipe's netlist: same cells, same critical path as the committed ball3 figure). Slow: the
buffered netlist in the cocotb stream regression, with the same planted swap.
"""

import json
from importlib import resources
from pathlib import Path

import pytest

from helpers.cell_maps import (
    check_logits_and_swap,
    check_stream_regression,
    code_lines,
    run_system_recorded,
)
from helpers.cli import assert_refused, run
from tn_hw.export import export_network
from tn_hw.synth.sky130.liberty import default_liberty
from tn_hw.synth.sky130.mapping import synthesize_sky130
from tn_hw.synth.sky130.recipes import BUFFER_FANOUT, RECIPES, recipe_script
from tn_hw.synth.sky130.sta import critical_path, fanouts, read_timing
from tn_hw.synth.system import (
    CELL_MAPS,
    SystemFlowError,
    load_model,
    run_system,
)

ROOT = Path(__file__).resolve().parents[2]
BALL3 = ROOT / "models" / "ball3-tn4.json"
BUF = "sky130_fd_sc_hd__buf_1"


@pytest.mark.parametrize("buffered, plain", [("buffered", "default"), ("fast-buffered", "fast")])
def test_buffered_recipe_adds_only_abc_buffering(buffered, plain):
    assert buffered in CELL_MAPS and buffered in RECIPES
    # the default recipe is still map.ys byte for byte (committed figures stay valid)
    map_ys = (resources.files("tn_hw.synth.sky130") / "map.ys").read_text()
    assert recipe_script("default") == map_ys
    changed = [(a, b) for a, b in zip(code_lines(recipe_script(plain)),
                                      code_lines(recipe_script(buffered)), strict=True)
               if a != b]
    assert len(changed) == 1
    before, after = changed[0]
    assert before.startswith("abc -liberty cells.lib") and after.startswith(before[:22])
    assert after.endswith(f";&nf;&put;buffer,-N,{BUFFER_FANOUT}")
    if plain == "fast":
        assert after == f"{before};buffer,-N,{BUFFER_FANOUT}"
    else:
        # Yosys's default liberty script written out (the netlist without the buffer command
        # is the default recipe's byte for byte: measured, docs/results/system.md)
        assert after == ("abc -liberty cells.lib -script +strash;&get,-n;&fraig,-x;&put;scorr;"
                         "dc2;dretime;strash;&get,-n;&dch,-f;&nf;&put;"
                         f"buffer,-N,{BUFFER_FANOUT}")
    assert f"buffer -N {BUFFER_FANOUT}" in RECIPES[buffered][0]


@pytest.mark.parametrize("argv, message", [
    ([str(BALL3), "--target", "sky130", "--cell-map", "buffer"], "unknown --cell-map 'buffer'"),
    ([str(BALL3), "--target", "ecp5", "--cell-map", "buffered"], "for --target sky130 only"),
    ([str(BALL3), "--target", "ice40", "--cell-map", "fast-buffered"],
     "for --target sky130 only"),
])
def test_system_refuses_a_bad_buffered_cell_map(capsys, tmp_path, argv, message):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", *argv, "-o", str(out))
    assert_refused(status, stderr, message, out)


def test_buffered_cell_map_is_recorded(monkeypatch):
    seen, result = run_system_recorded(monkeypatch, BALL3, "buffered")
    assert seen == [("ball3-tn4", "buffered"), ("ball3-mac4", "buffered")]
    assert result["meta"]["cell_map"] == "buffered"
    assert [r["synthesis"] for r in result["rows"]] == [RECIPES["buffered"][0]] * 2
    with pytest.raises(SystemFlowError, match="unknown --cell-map 'buffered-fast'"):
        run_system(BALL3, "sky130", cell_map="buffered-fast")


@pytest.fixture(scope="module")
def ball3_buffered(yosys, tmp_path_factory):
    """The clocked ball3-tn4 design, its ``buffered`` mapping and the mapping's netlist.json
    (one export, one Yosys run for the module)."""
    design = export_network(load_model(BALL3), clocked=True)
    keep = tmp_path_factory.mktemp("buffered")
    mapped = synthesize_sky130(design.verilog, design.top, recipe="buffered", keep_dir=keep)
    return design, mapped, keep / "netlist.json"


def _unbuffered(netlist_json: Path, out: Path) -> Path:
    """The netlist with every ``buf_1`` removed (its sinks moved onto its input net)."""
    data = json.loads(netlist_json.read_text())
    module = next(iter(data["modules"].values()))
    alias = {}
    for name in [n for n, c in module["cells"].items() if c["type"] == BUF]:
        cell = module["cells"].pop(name)
        alias[cell["connections"]["X"][0]] = cell["connections"]["A"][0]

    def root(bit):
        while bit in alias:
            bit = alias[bit]
        return bit

    for cell in module["cells"].values():
        for pin, bits in cell["connections"].items():
            cell["connections"][pin] = [root(b) for b in bits]
    for port in module["ports"].values():
        port["bits"] = [root(b) for b in port["bits"]]
    out.write_text(json.dumps(data))
    return out


def _gate_fanout(netlist_json: Path, top: str) -> int:
    """Largest number of inputs a combinational cell's output drives (ABC's primary inputs,
    ports and flip-flop Q pins, are not ABC's to buffer)."""
    cells = json.loads(netlist_json.read_text())["modules"][top]["cells"]
    timing = read_timing(str(default_liberty()))["cells"]
    return max(n for driver, n in fanouts(netlist_json, top, default_liberty()).values()
               if "." in driver
               and timing[cells[driver.rsplit(".", 1)[0]]["type"]]["setup"] is None)


def _worst_path_load(netlist_json: Path, top: str) -> float:
    return max(step[7] for step in critical_path(netlist_json, top, default_liberty())["path"])


def test_buffered_critical_path_is_inside_the_load_grid(ball3_buffered, tmp_path):
    design, mapped, netlist_json = ball3_buffered
    top = design.top
    grid = read_timing(str(default_liberty()))["index_2"][-1]  # 0.05 pF
    assert mapped["recipe"] == "buffered" and mapped["cells_by_type"].get(BUF, 0) > 0
    assert _gate_fanout(netlist_json, top) <= BUFFER_FANOUT
    assert _worst_path_load(netlist_json, top) <= grid
    assert max(step[7] for step in mapped["critical_path"]) <= grid
    # Planted: the same netlist without its buffers is the default recipe's (the committed
    # ball3 figures: same cells, same critical path), and both checks fail on it.
    plain = _unbuffered(netlist_json, tmp_path / "unbuffered.json")
    committed = json.loads((ROOT / "docs/results/system/ball3-sky130/system.json").read_text())
    row = next(r for r in committed["rows"] if r["model"] == "ball3-tn4")
    assert mapped["cells"] - mapped["cells_by_type"][BUF] == row["cells"]
    assert critical_path(plain, top, default_liberty())["delay_ns"] == row["critical_ns"]
    assert _gate_fanout(plain, top) > 10 * BUFFER_FANOUT
    assert _worst_path_load(plain, top) > 4 * grid
    # buffering shortens the path it measured
    assert mapped["delay_ns"] < 0.6 * row["critical_ns"]


def test_buffered_netlist_computes_the_golden_logits_and_a_swap_is_caught(ball3_buffered):
    design, mapped, _ = ball3_buffered
    # the mapped cells, buffers included; one AND2 swapped for an OR2 is caught
    check_logits_and_swap(load_model(BALL3), design, mapped["netlist"], "and2_1 -> or2_1")


@pytest.mark.slow
def test_buffered_netlist_in_the_stream_regression(icarus, ball3_buffered, tmp_path):
    # buf_1 included among the cells' functional models
    _, mapped, _ = ball3_buffered
    check_stream_regression(load_model(BALL3), mapped["netlist"], tmp_path)
