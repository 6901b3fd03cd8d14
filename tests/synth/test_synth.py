"""Synthesis flows: real Yosys runs on small designs, the guards, the cache, tables and the CLI."""

import argparse
import csv
import json
from dataclasses import replace

import pytest

from tn_hw.errors import TnHwError
from tn_hw.synth.area import flow
from tn_hw.synth.area.compare import build_design, render_markdown, run_sweep, write_outputs
from tn_hw.synth.area.flow import TARGETS, SynthError, Target, expand_targets, synthesize
from tn_hw.synth.area.ops import OPS, run_ops


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory, yosys):
    """One cache for the session: the same design is synthesized once however many tests use it,
    and no test reads results from a user's cache."""
    return tmp_path_factory.mktemp("synth-cache")


@pytest.fixture(scope="session")
def small_designs():
    """A 1x2 kernel at 8 bit: two real 8-bit multipliers or compare-subtract cells, seconds to
    synthesize on every target."""
    return {n: build_design(n, (1, 2), 8) for n in ("threshold", "mac")}


def _run(design, target, cache_dir, **kwargs):
    return synthesize(design["verilog"], design["top"], target, cache_dir=cache_dir, **kwargs)


ADDER = """
module adder(input signed [7:0] a, input signed [7:0] b, output signed [8:0] y);
  assign y = a + b;
endmodule
"""

ASYNC_FLOP = """
module aflop(input clk, input rst, input [3:0] d, output reg [3:0] q);
  always @(posedge clk or posedge rst) if (rst) q <= 0; else q <= d;
endmodule
"""


# -- real runs -----------------------------------------------------------------------------------


def test_generic_threshold_smaller_than_mac_at_8_bit(cache_dir, small_designs):
    threshold = _run(small_designs["threshold"], "generic", cache_dir)
    mac = _run(small_designs["mac"], "generic", cache_dir)
    for result in (threshold, mac):
        metrics = result["metrics"]
        assert set(metrics) == {"gates", "transistors"}
        assert 0 < metrics["gates"] < metrics["transistors"] < 20 * metrics["gates"]
        assert all(cell in flow._GENERIC_ALLOWED for cell in result["cells_by_type"])
        assert result["yosys"].startswith("Yosys ")
    assert threshold["metrics"]["transistors"] * 1.5 < mac["metrics"]["transistors"]


def test_generic_flow_uses_booth(cache_dir):
    """The baseline's multipliers are Booth-encoded: a plain `synth` gives a bigger one."""
    verilog = ("module m(input signed [7:0] a, b, output signed [15:0] y);\n"
               "  assign y = a * b;\nendmodule\n")
    booth = synthesize(verilog, "m", "generic", cache_dir=cache_dir)["metrics"]["transistors"]
    plain = replace(TARGETS["generic"], name="generic-plain", synth_options="")
    array = synthesize(verilog, "m", plain, cache_dir=cache_dir)["metrics"]["transistors"]
    assert booth < array


def test_xc7_threshold_against_the_lut_mac(cache_dir, small_designs):
    """The xc7 flow without DSP blocks (Booth multipliers in LUTs and carry chains)."""
    mac_lut = _run(small_designs["mac"], "xc7-nodsp", cache_dir)["metrics"]
    threshold = _run(small_designs["threshold"], "xc7-nodsp", cache_dir)["metrics"]
    assert mac_lut["dsp48e1"] == 0 and threshold["dsp48e1"] == 0
    assert threshold["carry4"] > 0
    assert 0 < threshold["luts"] < mac_lut["luts"]


@pytest.mark.slow
def test_xc7_mac_takes_dsp_blocks(cache_dir, small_designs):
    """With DSP48E1 allowed the multipliers leave the LUTs (a third xc7 run, 7 s: slow tier)."""
    mac_dsp = _run(small_designs["mac"], "xc7", cache_dir)["metrics"]
    mac_lut = _run(small_designs["mac"], "xc7-nodsp", cache_dir)["metrics"]
    assert mac_dsp["dsp48e1"] >= 1
    assert mac_lut["luts"] > mac_dsp["luts"]


def test_ice40(cache_dir, small_designs):
    threshold = _run(small_designs["threshold"], "ice40", cache_dir)
    mac = _run(small_designs["mac"], "ice40", cache_dir)
    assert set(threshold["metrics"]) == {"lut4", "carry", "ffs"}
    assert threshold["metrics"]["carry"] > 0
    assert 0 < threshold["metrics"]["lut4"] < mac["metrics"]["lut4"]
    assert all(not cell.startswith("$") for cell in mac["cells_by_type"])


def test_constant_weights_fold(cache_dir):
    programmable = build_design("threshold", (1, 2), 8)
    constant = build_design("threshold", (1, 2), 8, weights="constant", seed=3)
    assert constant["top"].endswith("_const3") and "8'b" in constant["verilog"]
    assert constant == build_design("threshold", (1, 2), 8, weights="constant", seed=3)
    p = _run(programmable, "generic", cache_dir)["metrics"]["transistors"]
    c = _run(constant, "generic", cache_dir)["metrics"]["transistors"]
    assert c < p


# -- guards --------------------------------------------------------------------------------------


def test_guard_word_level_cells_left(cache_dir):
    no_techmap = Target(
        "no-techmap",
        "read_verilog -sv {verilog}\nsynth -flatten -top {top} -run :fine\n"
        "tee -q -o stat.json stat -json -tech cmos\n",
        "coarse synthesis only", allowed_cells=flow._GENERIC_ALLOWED, cmos=True)
    with pytest.raises(SynthError, match=r"left unmapped cells behind \(\$alu x1\)"):
        synthesize(ADDER, "adder", no_techmap, cache_dir=cache_dir)


def test_guard_gate_outside_the_set(cache_dir):
    """Fine-grained gates outside the chosen set count as unmapped too."""
    wrong_gates = replace(TARGETS["generic"], name="wrong-gates",
                          script=TARGETS["generic"].template().replace("{gates}", "AND,OR,XOR"))
    with pytest.raises(SynthError, match=r"unmapped cells behind \(\$_AND_"):
        synthesize(ADDER, "adder", wrong_gates, cache_dir=cache_dir)


def test_guard_inexact_transistor_total(cache_dir):
    """An async-reset flop is outside the `stat -tech cmos` table: the total ends in `+`."""
    keeps_async_flops = Target(
        "keeps-async-flops",
        "read_verilog -sv {verilog}\nsynth -flatten -top {top}\n"
        "tee -q -o stat.json stat -json -tech cmos\n",
        "no dfflegalize", allowed_cells=None, cmos=True)
    with pytest.raises(SynthError, match=r"inexact"):
        synthesize(ASYNC_FLOP, "aflop", replace(
            keeps_async_flops, allowed_cells=frozenset({"$_DFF_PP0_"})), cache_dir=cache_dir)


def test_generic_flow_legalizes_async_flops(cache_dir):
    result = synthesize(ASYNC_FLOP, "aflop", "generic", cache_dir=cache_dir)
    assert result["cells_by_type"].get("$_DFF_P_") == 4


def test_guard_missing_result_file(cache_dir):
    silent = Target("silent", "read_verilog -sv {verilog}\nsynth -top {top}\nstat\n", "no tee")
    with pytest.raises(SynthError, match="wrote no stat.json"):
        synthesize(ADDER, "adder", silent, cache_dir=cache_dir)


def test_failed_synthesis_is_one_clear_error(cache_dir):
    with pytest.raises(SynthError, match=r"generic synthesis of broken failed .*ERROR"):
        synthesize("module broken(input a, output y); assign y = ; endmodule\n", "broken",
                   cache_dir=cache_dir)


def test_unknown_target_and_missing_yosys(tmp_path):
    with pytest.raises(SynthError, match="unknown synthesis target 'vhdl'; known targets: "):
        synthesize(ADDER, "adder", "vhdl", cache_dir=tmp_path)
    with pytest.raises(SynthError, match="Yosys executable '/nonexistent/yosys' not found"):
        synthesize(ADDER, "adder", yosys="/nonexistent/yosys", cache_dir=tmp_path)
    assert issubclass(SynthError, TnHwError)


def test_parse_transistors():
    assert flow.parse_transistors("8186") == 8186
    with pytest.raises(SynthError, match=r"'48\+' is inexact"):
        flow.parse_transistors("48+")


def test_expand_targets():
    assert expand_targets("generic,xc7") == ["generic", "xc7", "xc7-nodsp"]
    assert expand_targets("all") == ["generic", "xc7", "xc7-nodsp", "ice40"]
    assert expand_targets("sky130,generic") == ["sky130", "generic"]
    assert expand_targets(["ice40", "ice40"]) == ["ice40"]
    with pytest.raises(SynthError, match="unknown synthesis target 'xc8'"):
        expand_targets("xc8")


# -- cache ---------------------------------------------------------------------------------------


def test_cache_hit_and_keep_dir(tmp_path, yosys):
    first = synthesize(ADDER, "adder", cache_dir=tmp_path / "cache")
    second = synthesize(ADDER, "adder", cache_dir=tmp_path / "cache")
    assert not first["cached"] and second["cached"]
    assert first["metrics"] == second["metrics"]
    other = synthesize(ADDER.replace("a + b", "a - b"), "adder", cache_dir=tmp_path / "cache")
    assert not other["cached"]
    kept = synthesize(ADDER, "adder", keep_dir=tmp_path / "keep", cache_dir=tmp_path / "cache")
    assert not kept["cached"] and kept["metrics"] == first["metrics"]
    for name in ("design.v", "run.ys", "run.log", "stat.json", "stat.txt"):
        assert (tmp_path / "keep" / name).exists()
    assert "abc -g NAND,NOR" in (tmp_path / "keep" / "run.ys").read_text()


def test_scripts_have_no_unfilled_placeholders():
    for target in TARGETS.values():
        text = target.script_text(top="t")
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        assert "{" not in body and "read_verilog -sv design.v" in body


# -- ops, sweep, CLI -----------------------------------------------------------------------------


def test_ops_table(cache_dir):
    table = run_ops(4, cache_dir=cache_dir)
    rows = {row["op"]: row for row in table["rows"]}
    assert list(rows) == list(OPS)
    assert rows["mul"]["ratio_to_mul"] == 1.0
    assert rows["not"]["transistors"] == 4 * 2  # four inverters
    assert all(row["transistors"] < rows["mul"]["transistors"]
               for op, row in rows.items() if op != "mul")
    assert rows["add"]["paper_ratio_to_mul"] == pytest.approx(58.80 / 488.14)


def test_sweep_outputs(cache_dir, tmp_path):
    # Two targets (xc7 is synthesized in the test_xc7_* tests; iCE40 maps faster).
    sweep = run_sweep(kernels=["1x2"], widths=[4], targets=["generic", "ice40"], jobs=2,
                      progress=None, cache_dir=cache_dir)
    assert len(sweep["rows"]) == 4
    paths = write_outputs(sweep, tmp_path, command="tn-hw compare ...")
    names = {p.name for p in paths}
    assert names == {"area.json", "area.csv", "area.md", "area_generic.png", "area_ice40.png"}
    rows = list(csv.DictReader((tmp_path / "area.csv").open()))
    assert {r["target"] for r in rows} == {"generic", "ice40"}
    data = json.loads((tmp_path / "area.json").read_text())
    assert data["ratios"][0]["metric"] == "transistors" and data["ratios"][0]["ratio"] > 1
    text = render_markdown(sweep)
    assert "MAC / threshold (transistors)" in text and "Booth" in text
    assert (tmp_path / "area_generic.png").stat().st_size > 10_000


def _cli():
    from tn_hw.commands.synth import register

    parser = argparse.ArgumentParser(prog="tn-hw")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_synth_and_errors(cache_dir, capsys, tmp_path):
    parser = _cli()
    args = parser.parse_args(["synth", "--neuron", "mac", "--kernel", "1x2", "--width", "8",
                              "--cache-dir", str(cache_dir), "--json", str(tmp_path / "r.json")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "tn_mac_k1x2_w8" in out and "transistors" in out and "Booth" in out
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["target"] == "generic"
    bad = parser.parse_args(["synth", "--target", "asic", "--cache-dir", str(cache_dir)])
    with pytest.raises(SynthError, match="unknown synthesis target 'asic'"):
        bad.func(bad)
    for command in ("synth", "compare", "ops"):
        help_text = parser._subparsers._group_actions[0].choices[command].format_help()
        assert "examples:" in help_text and f"tn-hw {command}" in help_text


@pytest.mark.slow
def test_full_3x3_8bit_every_target(cache_dir):
    """The headline configuration on every flow (a minute or two on two cores)."""
    sweep = run_sweep(kernels=["3x3"], widths=[8], targets=[*expand_targets("all"), "sky130"],
                      jobs=2,
                      progress=None, cache_dir=cache_dir)
    by = {(r["neuron"], r["target"]): r["metrics"] for r in sweep["rows"]}
    assert by[("threshold", "generic")]["transistors"] < by[("mac", "generic")]["transistors"]
    assert by[("threshold", "ice40")]["lut4"] < by[("mac", "ice40")]["lut4"]
    assert by[("mac", "xc7")]["dsp48e1"] == 9
