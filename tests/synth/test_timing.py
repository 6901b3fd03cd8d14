"""Place and route (synth/timing/pnr.py) and ``tn-hw timing``: a real end-to-end run on a tiny
kernel, the report parser, the registered-wrapper check and its mutant, and the bad-input paths."""

import json
from dataclasses import replace

import pytest

from helpers.cli import assert_refused, run
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.synth.area import flow
from tn_hw.synth.timing.pnr import (
    PNR_TARGETS,
    PnrError,
    check_registered,
    parse_report,
    place_and_route,
    registered_wrapper,
)

ICE40 = PNR_TARGETS["ice40"]


@pytest.fixture(scope="session")
def pnr_cache(tmp_path_factory, nextpnr):
    """One cache for the session, never the user's."""
    return tmp_path_factory.mktemp("pnr-cache")


def _tiny(neuron="threshold", stages=0):
    return generate(KernelSpec(neuron=neuron, kernel=(1, 1), width=4, stages=stages))


# -- the flow end to end -------------------------------------------------------------------------


def test_flow_end_to_end_ice40(pnr_cache, tmp_path):
    design = _tiny("threshold")
    wrapper = registered_wrapper(design)
    result = place_and_route(design, "ice40", seeds=(1,), keep_dir=tmp_path / "keep")
    seed = result["seeds"][0]
    assert seed["fmax_mhz"] > 0
    # The utilization comes from nextpnr's report file, the cell counts from the Yosys stat of
    # the netlist nextpnr placed: read them back from the files the run left behind.
    report = json.loads((tmp_path / "keep" / "report-seed1.json").read_text())
    assert seed["logic_cells"] == report["utilization"]["ICESTORM_LC"]["used"]
    assert seed["fmax_mhz"] == next(iter(report["fmax"].values()))["achieved"]
    # Independent cross-check: the same wrapper through the area flow (synth/area/ice40.ys, the same
    # synthesis commands, parsed by flow.py) must give the same LUT4, carry and FF counts.
    area = flow.synthesize(wrapper.verilog, wrapper.top, "ice40", cache_dir=pnr_cache)
    assert result["synth"]["lut4"] == area["metrics"]["lut4"]
    assert result["synth"]["carry"] == area["metrics"]["carry"]
    assert result["synth"]["ffs"] == area["metrics"]["ffs"]
    # Combinational kernel: the only flip-flops are the wrapper's input and output registers.
    assert result["synth"]["ffs"] == wrapper.input_bits + wrapper.output_bits
    # Every logic cell holds at most one LUT4, one flip-flop and one carry, and each LUT4 needs
    # its own cell: a parser reading another entry (IO, "available", the global buffers) fails.
    synth = result["synth"]
    assert synth["lut4"] <= seed["logic_cells"] <= synth["lut4"] + synth["ffs"] + synth["carry"]
    assert seed["logic_cells"] < report["utilization"]["ICESTORM_LC"]["available"]
    assert seed["io"] == 2 + wrapper.output_bits  # clk, sin and the registered outputs
    assert result["latency_cycles"] == 1


def test_flow_cache_and_pipeline_registers(pnr_cache):
    staged = _tiny("threshold", stages=1)
    first = place_and_route(staged, "ice40", seeds=(1,), cache_dir=pnr_cache)
    again = place_and_route(staged, "ice40", seeds=(1,), cache_dir=pnr_cache)
    assert again["seeds"][0]["cached"] and again["seeds"][0]["fmax_mhz"] == \
        first["seeds"][0]["fmax_mhz"]
    wrapper = registered_wrapper(staged)
    # The kernel's own pipeline registers count on top of the wrapper's.
    assert first["synth"]["ffs"] > wrapper.input_bits + wrapper.output_bits
    assert first["latency_cycles"] == staged.spec.latency + 1 == 2


# -- the registered-wrapper check and its mutant -------------------------------------------------


def test_missing_output_register_is_caught(pnr_cache):
    """The planted bug: the wrapper without its output register. The kernel would then end at
    the pins, outside the clock's Fmax; the netlist check must refuse it before nextpnr runs."""
    design = _tiny("mac")
    mutant = registered_wrapper(design, output_register=False)
    with pytest.raises(PnrError, match=r"output y\[0\] of tn_timing_top is driven by SB_LUT4"):
        place_and_route(design, "ice40", seeds=(1,), cache_dir=pnr_cache, wrapper=mutant)


def _netlist(cells, ports):
    return {"modules": {"top": {"ports": ports, "cells": cells}}}


_PORTS = {"clk": {"direction": "input", "bits": [2]}, "sin": {"direction": "input", "bits": [3]},
          "y": {"direction": "output", "bits": [4]}}
_FF_IN = {"type": "SB_DFF", "port_directions": {"C": "input", "D": "input", "Q": "output"},
          "connections": {"C": [2], "D": [3], "Q": [5]}}
_LUT = {"type": "SB_LUT4", "port_directions": {"I0": "input", "O": "output"},
        "connections": {"I0": [5], "O": [6]}}
_FF_OUT = {"type": "SB_DFF", "port_directions": {"C": "input", "D": "input", "Q": "output"},
           "connections": {"C": [2], "D": [6], "Q": [4]}}


def test_check_registered_accepts_register_logic_register():
    check_registered(_netlist({"a": _FF_IN, "b": _LUT, "c": _FF_OUT}, _PORTS), "top", "SB_DFF")


def test_check_registered_refuses_logic_at_a_pin():
    to_pin = replace_connections(_LUT, {"I0": [5], "O": [4]})
    with pytest.raises(PnrError, match=r"output y\[0\] of top is driven by SB_LUT4.O"):
        check_registered(_netlist({"a": _FF_IN, "b": to_pin}, _PORTS), "top", "SB_DFF")
    from_pin = replace_connections(_LUT, {"I0": [3], "O": [6]})
    with pytest.raises(PnrError, match=r"input sin\[0\] of top feeds SB_LUT4.I0"):
        check_registered(_netlist({"b": from_pin, "c": _FF_OUT}, _PORTS), "top", "SB_DFF")
    with pytest.raises(PnrError, match="driven by no cell"):
        check_registered(_netlist({"a": _FF_IN}, _PORTS), "top", "SB_DFF")


def replace_connections(cell, connections):
    return {**cell, "connections": connections}


# -- the report parser ---------------------------------------------------------------------------


def _report(achieved=125.0, delays=(0.5, 3.0, 4.5), clocks=None, edge="posedge clk"):
    segments = [{"delay": d, "type": t} for d, t in zip(delays, ("clk-to-q", "logic", "setup"),
                                                          strict=True)]
    return {
        "fmax": clocks if clocks is not None else {"clk": {"achieved": achieved,
                                                           "constraint": 100.0}},
        "critical_paths": [{"from": "<async>", "to": edge, "path": []},
                           {"from": edge, "to": edge, "path": segments}],
        "utilization": {"ICESTORM_LC": {"available": 7680, "used": 42},
                        "SB_IO": {"available": 206, "used": 9},
                        "ICESTORM_RAM": {"available": 32, "used": 0}},
    }


def test_parse_report_reads_achieved_fmax_and_used_cells():
    parsed = parse_report(_report(), ICE40)
    assert parsed["fmax_mhz"] == 125.0  # achieved, not the 100 MHz constraint
    assert parsed["logic_cells"] == 42 and parsed["io"] == 9
    assert parsed["critical_path_ns"] == 8.0 and parsed["logic_levels"] == 1
    assert parsed["utilization"] == {"ICESTORM_LC": [42, 7680], "SB_IO": [9, 206]}


@pytest.mark.parametrize("report, message", [
    (_report(clocks={}), "names 0 clocks"),
    (_report(clocks={"a": {"achieved": 1}, "b": {"achieved": 2}}), "names 2 clocks"),
    (_report(edge="posedge other"), "no register-to-register critical path for clk"),
    # A path that does not add up to the period: the parser must notice, not pick a number.
    (_report(achieved=100.0), "critical path of 8.000 ns disagrees with Fmax 100.00 MHz"),
])
def test_parse_report_refuses_inconsistent_reports(report, message):
    with pytest.raises(PnrError, match=message):
        parse_report(report, ICE40)


# -- tn-hw timing --------------------------------------------------------------------------------


def test_timing_cli_table_json_csv(capsys, pnr_cache, tmp_path):
    out_json, out_csv = tmp_path / "t.json", tmp_path / "t.csv"
    status, stdout, _ = run(capsys, "timing", "--kernel", "1x1", "--width", "4", "--seeds", "1",
                            "--stages", "0", "--cache-dir", str(pnr_cache), "--quiet",
                            "--json", str(out_json), "--csv", str(out_csv))
    assert status == 0
    data = json.loads(out_json.read_text())
    assert [(r["neuron"], r["stages"]) for r in data["rows"]] == [("threshold", 0), ("mac", 0)]
    thr, mac = data["rows"]
    ratio = data["ratios"][0]
    assert ratio["fmax_threshold_over_mac"] == round(thr["fmax_mhz"] / mac["fmax_mhz"], 3)
    assert ratio["lc_mac_over_threshold"] == round(mac["logic_cells"] / thr["logic_cells"], 3)
    achieved = data["results"][0]["seeds"][0]["fmax_mhz"]  # one seed: the median is it
    assert thr["throughput"] == round(achieved * 1e6)  # one output per cycle
    assert thr["latency_ns"] == round(1000.0 / achieved, 2)  # one cycle, register to register
    assert data["meta"]["command"].startswith("tn-hw timing --kernels 1x1 --widths 4")
    assert "threshold vs MAC" in stdout and "tn_threshold" not in stdout
    assert out_csv.read_text().splitlines()[0].startswith("target,device,neuron,kernel")
    assert len(out_csv.read_text().splitlines()) == 3


def test_timing_help_has_examples(capsys):
    status, stdout, _ = run(capsys, "timing", "--help")
    assert status == 0
    assert "examples:" in stdout and "tn-hw timing --kernels 3x3,5x5" in stdout
    assert "iCE40 HX8K" in stdout


@pytest.mark.parametrize("argv, message", [
    (["--target", "xc7"], "unknown place-and-route target 'xc7'; known targets: ice40, ecp5"),
    (["--stages", "two"], "stages must be integers from 0 or 'max'"),
    (["--stages", "9"], "stages must be an integer from 0 to 3, not 9"),
    (["--seeds", "0"], "--seeds must be a positive integer, not 0"),
    (["--neurons", "threshold,spiking"], "--neurons must list neurons from"),
    (["--kernel", "0x3"], "kernel sides must be integers from 1 to 15"),
    (["--width", "1"], "width must be an integer from 2 to 32, not 1"),
    (["--width", "eight"], "--widths must be integers separated by commas, not 'eight'"),
    (["--freq", "0"], "--freq must be positive, not 0"),
    (["--timeout", "0"], "--timeout must be positive, not 0"),
])
def test_timing_rejects_bad_input(capsys, tmp_path, argv, message):
    out = tmp_path / "t.json"
    status, _, stderr = run(capsys, "timing", "--kernel", "2x2", *argv, "--json", str(out))
    assert_refused(status, stderr, message, out)


def test_timing_refuses_a_design_too_big(capsys, tmp_path, pnr_cache, monkeypatch):
    # A device with room for 10 LUT4s stands in for a real overflow (which takes minutes of
    # Yosys to reach); the capacity check and its one-line exit are the same code.
    monkeypatch.setitem(PNR_TARGETS, "ice40", replace(ICE40, capacity={"lut4": 10, "ffs": 7680}))
    out = tmp_path / "t.json"
    status, _, stderr = run(capsys, "timing", "--kernel", "1x1", "--width", "4", "--seeds", "1",
                            "--quiet", "--cache-dir", str(pnr_cache), "--json", str(out))
    assert_refused(status, stderr, "does not fit the iCE40HX8K-CT256: it needs", out)
    status, stdout, _ = run(capsys, "timing", "--kernel", "1x1", "--width", "4", "--seeds", "1",
                            "--quiet", "--cache-dir", str(pnr_cache), "--skip-unfit")
    assert status == 0 and "does not fit the iCE40HX8K-CT256" in stdout


def test_timing_timeout_is_one_line(capsys, tmp_path, pnr_cache):
    out = tmp_path / "t.json"
    status, _, stderr = run(capsys, "timing", "--kernel", "1x1", "--width", "4", "--seeds", "1",
                            "--no-cache", "--timeout", "0.01", "--quiet", "--json", str(out))
    assert_refused(status, stderr, "took longer than 0.01 s (timeout)", out)


# -- a sweep on every target (slow) --------------------------------------------------------------


@pytest.mark.slow
def test_sweep_every_target_and_depth(capsys, pnr_cache, tmp_path):
    out = tmp_path / "sweep.json"
    status, _, _ = run(capsys, "timing", "--kernel", "2x2", "--width", "4,8", "--stages", "0,max",
                       "--target", "all", "--seeds", "2", "--quiet", "--cache-dir",
                       str(pnr_cache), "--json", str(out))
    assert status == 0
    data = json.loads(out.read_text())
    assert len(data["rows"]) == 3 * 2 * 2 * 2 and all(r["fits"] for r in data["rows"])
    for row in data["rows"]:
        assert row["fmax_min"] <= row["fmax_mhz"] <= row["fmax_max"]
        assert row["latency_cycles"] == row["stages"] + 1
        assert (row["dsp"] > 0) == (row["target"] == "ecp5" and row["neuron"] == "mac")
