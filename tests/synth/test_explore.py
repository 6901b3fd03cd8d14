"""``tn-hw explore`` (tn_hw.synth.explore): fronts over architectures and clock targets, the
liberty cut model, registered-port timing and the energy of pipelined netlists."""

from __future__ import annotations

import csv
import json

import pytest

from tn_hw.cli import main
from tn_hw.errors import TnHwError
from tn_hw.generate import generate
from tn_hw.hdl.pipeline import best_cuts, cut_points
from tn_hw.spec import KernelSpec, SpecError
from tn_hw.synth.explore import (
    CSV_FIELDS,
    iso_clock_ratios,
    pareto_front,
    parse_clocks,
    run_explore,
    search,
    write_outputs,
)
from tn_hw.synth.sky130.cuts import OUTPUT_STAGE, op_delays_ns, stage_arrivals
from tn_hw.synth.sky130.liberty import default_liberty
from tn_hw.synth.sky130.power import clock_energy_pj

# -- pure parts ----------------------------------------------------------------------------------


def _p(delay, area, name=""):
    return {"delay_ns": delay, "area_um2": area, "name": name}


def test_pareto_front_keeps_only_undominated_points():
    points = [_p(5, 100, "a"), _p(4, 120, "b"), _p(4, 150, "dominated by b"), _p(3, 300, "c"),
              _p(6, 100, "dominated by a"), _p(2.5, 300, "d"), _p(7, 90, "e"),
              _p(3, 300, "duplicate of c")]
    front = pareto_front(points)
    assert [p["name"] for p in front] == ["d", "b", "a", "e"]
    # every point off the front is dominated by one on it, and none on it by another
    for p in points:
        if p not in front:
            assert any(q["delay_ns"] <= p["delay_ns"] and q["area_um2"] <= p["area_um2"]
                       for q in front)
    for p in front:
        assert not any(q is not p and q["delay_ns"] <= p["delay_ns"]
                       and q["area_um2"] <= p["area_um2"] for q in front)
    assert pareto_front([]) == []
    # another axis: energy
    energy = [{"delay_ns": 1, "energy_pj": 5}, {"delay_ns": 2, "energy_pj": 5}]
    assert pareto_front(energy, y="energy_pj") == energy[:1]


def _row(neuron, arch, clock, area, delay, energy, met=True):
    return {"neuron": neuron, "arch": arch, "kernel": "3x3", "width": 8, "clock_ns": clock,
            "met": met, "stages": 0, "mapping": "area", "area_um2": area, "delay_ns": delay,
            "energy_pj": energy, "area_delay": area * delay, "energy_delay": energy * delay}


def test_iso_clock_ratios_take_best_vs_best_meeting_the_clock():
    rows = [_row("threshold", "tree", 20, 5000, 4.5, 4.0),
            _row("threshold", "csa", 20, 4000, 5.0, 3.0),       # the best threshold at 20 ns
            _row("mac", "tree", 20, 18000, 5.7, 13.0),
            _row("mac", "merged", 20, 15000, 6.0, 12.0),         # the best MAC at 20 ns
            _row("mac", "tiny", 20, 1000, 30.0, 1.0, met=False),  # misses: never counted
            _row("threshold", "tree", 3, 7000, 2.9, 5.0),
            _row("mac", "tree", 3, 21000, 3.1, 15.0, met=False)]  # no MAC meets 3 ns
    ratios = iso_clock_ratios({"rows": rows})
    assert len(ratios) == 1
    r = ratios[0]
    assert (r["clock_ns"], r["arch"], r["ref_arch"]) == (20, "csa", "merged")
    assert r["area_ratio"] == round(15000 / 4000, 3)
    assert r["energy_ratio"] == 4.0
    assert r["area_delay_ratio"] == round(15000 * 6.0 / (4000 * 5.0), 3)
    assert r["energy_delay_ratio"] == round(12.0 * 6.0 / (3.0 * 5.0), 3)


def _drive(clock, table, max_stages=4):
    """Run :func:`search` against a table ``{(stages, mapping): (delay, area)}``; return the
    choice and the candidates it asked for."""
    asked = []
    gen = search(clock, max_stages, 0.3)
    value = None
    try:
        while True:
            point = gen.send(value) if value is not None else next(gen)
            asked.append(point)
            stages, mapping = point
            delay, area = table.get(point) or table[(stages, "D")]
            value = {"delay_ns": delay, "area_um2": area}
    except StopIteration as stop:
        return stop.value, asked


def test_search_takes_the_fewest_stages_then_the_smallest_that_meets():
    table = {(0, "fast"): (6.0, 300), (0, "area"): (7.0, 100), (0, "D"): (6.5, 200),
             (1, "fast"): (4.0, 320), (1, "area"): (4.8, 150), (1, "D"): (4.5, 250),
             (2, "fast"): (3.0, 400), (2, "area"): (3.9, 260), (2, "D"): (3.5, 330),
             (3, "fast"): (2.9, 500), (3, "area"): (3.5, 450), (3, "D"): (3.2, 470),
             (4, "fast"): (2.8, 600), (4, "area"): (3.0, 550), (4, "D"): (2.95, 580)}
    choice, asked = _drive(10.0, table)          # loose: the area mapping, no register
    assert (choice["stages"], choice["mapping"], choice["min_stages"]) == (0, "area", 0)
    assert choice["metrics"]["area_um2"] == 100
    choice, asked = _drive(6.2, table)           # 0 stages only fast (300); 1 stage area 150
    assert (choice["stages"], choice["mapping"], choice["min_stages"]) == (1, "area", 0)
    assert asked == [(0, "fast"), (0, "area"), (0, "D5900"), (1, "fast"), (1, "area")]
    choice, _ = _drive(3.6, table)               # 2 stages: D (330) beats fast (400)
    assert (choice["stages"], choice["mapping"]) == (2, "D3300")
    choice, _ = _drive(2.5, table)               # nothing meets: the fastest design found
    assert not choice["met"] and choice["min_stages"] is None
    assert (choice["stages"], choice["metrics"]["delay_ns"]) == (4, 2.8)
    table[(4, "fast")] = (3.1, 600)              # the fastest may sit below the last count
    choice, _ = _drive(2.5, table)
    assert (choice["stages"], choice["metrics"]["delay_ns"]) == (3, 2.9)


def test_parse_clocks_units_and_bad_values():
    assert parse_clocks("20,10ns,200MHz,10") == [20.0, 10.0, 5.0]
    assert parse_clocks("50mhz") == [20.0]
    for bad in ("", "abc", "0", "-5", "20,x", "5GHz", "0.1"):
        with pytest.raises(TnHwError):
            parse_clocks(bad)


def test_best_cuts_on_measured_delays_and_explicit_cuts():
    assert best_cuts([1, 1, 1, 4], 1) == (3,)
    # segments 2.1, 1.4, 2.1 ns: no two cuts make the longest shorter
    assert best_cuts([0.8, 0.6, 0.7, 1.4, 0.9, 1.2], 2) == (3, 4)
    spec = KernelSpec(neuron="threshold", kernel=(3, 3), width=4, stages=1)
    unit = cut_points(spec)
    explicit = KernelSpec(neuron="threshold", kernel=(3, 3), width=4, stages=1, cuts=(1,))
    assert cut_points(explicit) == (1,) != unit
    assert KernelSpec.from_description(explicit.describe()) == explicit
    assert explicit.top_name == spec.top_name + "_c1"
    design = generate(explicit)
    assert design.manifest["pipeline_cuts"] == {"model": "explicit", "boundaries": [1]}
    assert generate(spec).manifest["pipeline_cuts"]["model"] == "unit"
    for bad in ((3, 1), (0,), (9,), (1, 1)):
        with pytest.raises(SpecError):
            KernelSpec(neuron="threshold", kernel=(3, 3), width=4, stages=len(bad), cuts=bad)


def test_stage_arrivals_and_op_delays():
    report = {"modules": {"top": {
        "ports": {"x": {"direction": "input", "bits": [2]},
                  "y": {"direction": "output", "bits": [5]}},
        "cells": {"$ff1": {"type": "dfxtp_1", "connections": {"CLK": [9], "D": [3], "Q": [4]}},
                  "$ff2": {"type": "dfxtp_1", "connections": {"CLK": [9], "D": [6], "Q": [7]}}},
        "netnames": {"stage1_terms0": {"bits": [4]}, "stage2_sum0": {"bits": [7]}}}}}
    arrivals = stage_arrivals(report, "top", {"$ff1": 1.0, "$ff2": 1.5, "y": 0.9})
    assert arrivals == {1: 1.0, 2: 1.5, OUTPUT_STAGE: 0.9}
    assert op_delays_ns(arrivals, 2, 0.3) == [0.7, 1.2, 0.6]
    assert op_delays_ns({1: 1.0}, 2, 0.3) is None


def test_clock_energy_of_the_register_by_hand():
    # dfxtp_1 CLK internal_power at slew 0.08 ns (index 1 of the clock template):
    # rise 0.00632097 + fall 0.0102611 pJ, plus C_clk V^2 = 0.001335 pF x 1.8^2 V^2.
    expected = 0.00632097 + 0.0102611 + 0.001335 * 1.8 ** 2
    assert clock_energy_pj("sky130_fd_sc_hd__dfxtp_1", default_liberty()) == \
        pytest.approx(expected, abs=1e-9)


# -- the command ---------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["--clocks", "20,fast"], "--clocks"),
    (["--clocks", ""], "--clocks"),
    (["--widths", "99"], "width"),
    (["--kernels", "3y3"], "kernel"),
    (["--neurons", "nope"], "--neurons"),
    (["-j", "0"], "-j"),
    (["--archs", "nosuch"], "--archs: nosuch names no architecture"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["explore", *argv, "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


def test_explore_command_small_sweep(tmp_path, capsys):
    """2x2, 4 bit threshold kernel, a loose and a tight clock, through the command: fields,
    stages, outputs, the cache."""
    loose, tight = 20.0, 2.2
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["explore", "--kernels", "2x2", "--widths", "4", "--neurons", "threshold",
            "--archs", "tree", "--clocks", f"{loose:g},{tight:g}ns", "-o", str(out), "--quiet",
            "--cache-dir", str(cache)]
    assert main(argv) == 0
    assert "2 searches" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "explore.csv", "explore.json", "explore.md", "explore_2x2_w4.png"]
    data = json.loads((out / "explore.json").read_text())
    assert set(data) == {"meta", "command", "iso_clock", "fronts", "rows", "points"}
    assert data["meta"]["architectures"] == {"threshold": ["tree"]}
    assert data["meta"]["clocks_ns"] == [loose, tight]
    rows = {r["clock_ns"]: r for r in data["rows"]}
    for clock, row in rows.items():
        assert (row["neuron"], row["arch"], row["kernel"], row["width"]) == \
            ("threshold", "tree", "2x2", 4)
        assert row["met"] and row["delay_ns"] <= clock
        assert row["area_um2"] > 0 and row["energy_pj"] > 0 and row["leakage_nw"] > 0
        assert row["ffs"] >= row["stages"] and len(row["cuts"]) == row["stages"]
        assert row["min_stages"] <= row["stages"]
        assert row["area_delay"] == round(row["area_um2"] * row["delay_ns"], 2)
    lo, hi = rows[loose], rows[tight]
    assert lo["stages"] == 0 and lo["mapping"] == "area"
    # the tight target needs more registers or a faster netlist than the loose one
    assert hi["stages"] > lo["stages"] or hi["delay_ns"] < lo["delay_ns"]
    assert hi["cut_model"] in ("unit", "sky130")
    # every synthesized point is on record; the all-stages probe of the cut model among them
    top = KernelSpec(neuron="threshold", kernel=(2, 2), width=4).max_stages
    assert any(p["stages"] == top and p["mapping"] == "fast" for p in data["points"])
    assert data["meta"]["op_delays_ns"]["threshold tree 2x2 W=4"]
    front = data["fronts"]["threshold 2x2 W=4"]
    assert front == sorted(front, key=lambda p: p["delay_ns"])
    assert all(a["area_um2"] > b["area_um2"] for a, b in zip(front, front[1:], strict=False))
    with open(out / "explore.csv") as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == CSV_FIELDS and len(table) == 2
    # a second run reads every point from the cache and writes the same table
    before = (out / "explore.csv").read_text()
    assert main(argv) == 0
    assert "from cache" in capsys.readouterr().out
    assert (out / "explore.csv").read_text() == before


@pytest.mark.slow
def test_explore_both_neurons_iso_clock(tmp_path):
    """2x2, 4 bit, threshold and MAC at a loose and a tight clock: the iso-clock ratios."""
    sweep = run_explore(neurons=("threshold", "mac"), kernels=((2, 2),), widths=(4,),
                        clocks=(20.0, 2.2), progress=None, cache_dir=tmp_path / "cache")
    ratios = iso_clock_ratios(sweep)
    assert {r["clock_ns"] for r in ratios} == {20.0, 2.2}
    for r in ratios:
        assert r["area_ratio"] == round(r["ref_area_um2"] / r["area_um2"], 3)
    paths = write_outputs(sweep, tmp_path / "out")
    assert (tmp_path / "out" / "explore.md") in paths


def test_registered_ports_add_clock_to_q_and_setup_by_hand(tmp_path):
    """One inverter from x to y: with registered ports x arrives at the flop's clock-to-Q (at
    the inverter's input capacitance) with the flop's output slew, and y needs its setup."""
    from tn_hw.synth.sky130.sta import OUTPUT_LOAD, critical_path, lookup, read_timing

    inv, flop = "sky130_fd_sc_hd__inv_1", "sky130_fd_sc_hd__dfxtp_1"
    netlist = tmp_path / "netlist.json"
    netlist.write_text(json.dumps({"modules": {"top": {
        "ports": {"x": {"direction": "input", "bits": [2]},
                  "y": {"direction": "output", "bits": [3]}},
        "cells": {"u1": {"type": inv, "connections": {"A": [2], "Y": [3]}}},
        "netnames": {}}}}))
    lib = read_timing(str(default_liberty()))
    i1, i2, cells = lib["index_1"], lib["index_2"], lib["cells"]
    arc = cells[inv]["arcs"][0]
    clk_q = next(a for a in cells[flop]["arcs"] if a["type"] == "rising_edge")
    cap = cells[inv]["caps"]["A"]
    expected = max(
        lookup(clk_q[f"cell_{e_in}"], i1, i2, 0.08, cap)
        + lookup(arc[f"cell_{e_out}"], i1, i2,
                 lookup(clk_q[f"{e_in}_transition"], i1, i2, 0.08, cap), OUTPUT_LOAD)
        + cells[flop]["setup"][e_out]
        for e_in, e_out in (("rise", "fall"), ("fall", "rise")))
    plain = critical_path(netlist, "top", default_liberty())
    registered = critical_path(netlist, "top", default_liberty(), registered_ports=True,
                               endpoints=True)
    assert registered["delay_ns"] == pytest.approx(expected, abs=1e-4)
    assert registered["delay_ns"] > plain["delay_ns"] + 0.2
    assert registered["endpoints"] == {"y": registered["delay_ns"]}


def test_explore_help_teaches(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["explore", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "tn-hw explore --kernels 3x3" in text and "--clocks" in text


@pytest.mark.slow
@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_explicit_cuts_pass_the_clocked_regression(tmp_path, neuron):
    """A kernel with liberty-style explicit cuts (not the unit placement) is bit-exact under
    the clocked regression, its manifest consistent (tn-hw regress checks both)."""
    from tn_hw.manifest import write_design

    spec = KernelSpec(neuron=neuron, kernel=(3, 3), width=4, stages=2, cuts=(2, 3))
    assert cut_points(KernelSpec(neuron=neuron, kernel=(3, 3), width=4, stages=2)) != (2, 3)
    write_design(generate(spec), tmp_path / neuron)
    assert main(["regress", str(tmp_path / neuron)]) == 0
