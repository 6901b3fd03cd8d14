"""``tn-hw timing --archs``: the micro-architectures of issue 15 placed and routed on the FPGA
targets. The sweep's specs, the pairing of every threshold architecture with every MAC one, the
best-vs-best pairs and the table are pure Python over hand-made rows; one tiny kernel of each
compressor architecture is routed end to end on iCE40."""

import json

import pytest

from helpers.cli import assert_refused, run
from tn_hw.commands.timing import timing_archs
from tn_hw.errors import TnHwError
from tn_hw.synth.timing.sweep import best_ratios, render_table, sweep_specs, write_csv


def _row(neuron, arch, fmax, lc, *, stages=0, target="ice40", fits=True):
    row = {"target": target, "device": "dev", "neuron": neuron, "arch": arch, "kernel": "3x3",
           "width": 8, "stages": stages, "fits": fits}
    if fits:
        row |= {"fmax_mhz": fmax, "fmax_min": fmax, "fmax_max": fmax, "lut4": lc - 10,
                "carry": 5, "ffs": 40, "dsp": 0, "logic_cells": lc, "latency_cycles": stages + 1,
                "latency_ns": round(1000 / fmax, 2), "throughput": round(fmax * 1e6)}
    return row


ROWS = [
    _row("threshold", "tree", 70.0, 600),
    _row("threshold", "csa", 90.0, 650),
    _row("threshold", "cmp-csa", 60.0, 580),
    _row("mac", "tree", 55.0, 1800),
    _row("mac", "merged", 80.0, 1700),
    _row("mac", "csa", 50.0, 1900, fits=False),
]


def _sweep(rows):
    from tn_hw.synth.timing.sweep import _ratios

    return {"rows": rows, "ratios": _ratios(rows), "best": best_ratios(rows),
            "meta": {"seeds": [1], "freq_mhz": 100.0, "tools": {}}}


def test_sweep_specs_route_each_named_architecture():
    specs = sweep_specs(["threshold", "mac"], [(3, 3)], [8], [0, "max"],
                        {"threshold": ["tree", "csa"], "mac": ["merged"]})
    assert [(s.neuron, s.arch, s.stages) for s in specs] == [
        ("threshold", "tree", 0), ("threshold", "csa", 0), ("mac", "merged", 0),
        ("threshold", "tree", specs[3].max_stages), ("threshold", "csa", specs[4].max_stages),
        ("mac", "merged", specs[5].max_stages)]
    # "max" is each architecture's own deepest cut, not the default architecture's.
    assert specs[4].max_stages == sweep_specs(["threshold"], [(3, 3)], [8], ["max"],
                                              {"threshold": ["csa"]})[0].stages
    # No archs: the default architecture only, as before the option existed.
    assert {s.arch for s in sweep_specs(["threshold", "mac"], [(3, 3)], [8], [0])} == {"tree"}


def test_timing_archs_reads_all_names_and_neuron_prefixes():
    assert timing_archs(None, ["threshold", "mac"]) is None
    every = timing_archs("all", ["threshold", "mac"])
    assert every["threshold"] == ["tree", "csa", "cmp-csa"]
    assert every["mac"][0] == "tree" and "merged" in every["mac"]
    assert timing_archs("threshold:csa,mac:merged", ["threshold", "mac"]) == {
        "threshold": ["csa"], "mac": ["merged"]}
    # A name both neurons have goes to both; a neuron left out keeps its default.
    assert timing_archs("csa", ["threshold", "mac"]) == {"threshold": ["csa"], "mac": ["csa"]}
    assert timing_archs("mac:merged", ["threshold", "mac"])["threshold"] == ["tree"]
    with pytest.raises(TnHwError, match="threshold:merged names no architecture"):
        timing_archs("threshold:merged", ["threshold", "mac"])


def test_every_threshold_architecture_meets_every_mac_one():
    ratios = _sweep(ROWS)["ratios"]
    # 3 threshold x 2 MAC architectures that fit (the unfit MAC csa pairs with nothing).
    assert {(q["threshold_arch"], q["mac_arch"]) for q in ratios} == {
        (t, m) for t in ("tree", "csa", "cmp-csa") for m in ("tree", "merged")}
    q = next(q for q in ratios if (q["threshold_arch"], q["mac_arch"]) == ("csa", "merged"))
    assert q["fmax_threshold_over_mac"] == round(90 / 80, 3)
    assert q["lc_mac_over_threshold"] == round(1700 / 650, 3)


def test_best_against_best_picks_fastest_and_smallest_of_each_neuron():
    fastest, smallest = best_ratios(ROWS)
    assert (fastest["pick"], fastest["threshold_arch"], fastest["mac_arch"]) == (
        "fastest", "csa", "merged")
    assert fastest["fmax_threshold_over_mac"] == round(90 / 80, 3)
    assert (smallest["pick"], smallest["threshold_arch"], smallest["mac_arch"]) == (
        "smallest", "cmp-csa", "merged")
    assert smallest["lc_mac_over_threshold"] == round(1700 / 580, 3)
    # Each (target, kernel, width, stages) is its own group; a group with one neuron has no pair.
    rows = ROWS + [_row("threshold", "tree", 100.0, 700, stages=1)]
    assert {q["stages"] for q in best_ratios(rows)} == {0}


def test_table_shows_architectures_only_when_a_variant_is_routed():
    text = render_table(_sweep(ROWS))
    assert "arch" in text.splitlines()[0] and "csa/merged" in text
    assert "best vs best" in text and "does not fit the dev" in text
    default = [r for r in ROWS if r["arch"] == "tree"]
    text = render_table(_sweep(default))
    assert "arch" not in text and "best vs best" not in text
    assert write_csv(_sweep(ROWS)).splitlines()[1].endswith(",tree")


@pytest.mark.parametrize("argv, message", [
    (["--archs", "threshold:merged"], "--archs: threshold:merged names no architecture"),
    (["--archs", "booth"], "--archs: booth names no architecture of threshold, mac"),
    (["--archs", ","], "--archs: ',' names no architecture"),
])
def test_timing_rejects_unknown_architectures(capsys, tmp_path, argv, message):
    out = tmp_path / "t.json"
    status, _, stderr = run(capsys, "timing", "--kernel", "2x2", *argv, "--json", str(out))
    assert_refused(status, stderr, message, out)


def test_compressor_architectures_route_on_ice40(capsys, tmp_path, nextpnr):
    out = tmp_path / "t.json"
    status, stdout, _ = run(capsys, "timing", "--kernel", "1x2", "--width", "4", "--seeds", "1",
                            "--archs", "threshold:csa,mac:merged", "--stages", "1",
                            "--cache-dir", str(tmp_path / "cache"), "--quiet",
                            "--json", str(out))
    assert status == 0
    data = json.loads(out.read_text())
    assert [(r["neuron"], r["arch"], r["stages"]) for r in data["rows"]] == [
        ("threshold", "csa", 1), ("mac", "merged", 1)]
    assert all(r["fits"] and r["latency_cycles"] == 2 for r in data["rows"])
    assert data["rows"][0]["top"].endswith("_s1_csa")
    assert [q["pick"] for q in data["best"]] == ["fastest", "smallest"]
    assert "--archs threshold:csa,mac:merged" in data["meta"]["command"]
    assert "best vs best" in stdout
