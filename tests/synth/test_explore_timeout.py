"""``tn-hw explore --point-timeout``: a synthesis that runs longer than the limit is stopped,
recorded as not finished (explore.json, explore.csv, explore.md), meets no clock (its search
goes on to more stages), runs once per sweep and is not cached.

Two seams keep it to seconds: the sweep runs on a table of synthetic metrics with one point
whose "synthesis" is a real child process that sleeps past the limit (run through
:func:`tn_hw.synth.tools.run_tool`, as Yosys is), and the cache tests run the real
:func:`~tn_hw.synth.area.flow.synthesize` with a stand-in Yosys executable that sleeps.
"""

from __future__ import annotations

import csv
import json
import stat
import sys
import time

import pytest

from tn_hw.cli import main
from tn_hw.synth import explore
from tn_hw.synth.explore import CSV_FIELDS, run_explore, write_outputs
from tn_hw.synth.tools import (
    DEFAULT_TIMEOUT,
    ResultCache,
    ToolTimeout,
    cache_key,
    content_key,
    run_tool,
)

LIMIT = 0.5          # s: the point timeout of the synthetic sweeps
SLEEP = 2.0          # s: how long the slow point's child process runs if nobody stops it

# (stages, mapping) -> (delay ns, area um^2). 0 stages fast is the slow point (it would meet
# 6 ns if it finished); with it stopped the 6 ns search must go on to 1 stage.
TABLE = {(0, "fast"): (5.5, 300.0), (0, "area"): (7.0, 100.0),
         (1, "fast"): (4.0, 320.0), (1, "area"): (4.9, 180.0),
         (2, "fast"): (3.0, 400.0), (2, "area"): (4.5, 260.0)}


class _Calls(list):
    """(stages, mapping) of every stand-in synthesis, in order; ``slow``: the ones that sleep."""


@pytest.fixture
def synthetic(monkeypatch, tmp_path):
    """run_explore on :data:`TABLE`, the real :func:`explore.explore_point` around a stand-in
    ``synthesize``; returns the list of (stages, mapping) the stand-in was asked for (its
    ``slow`` set: the points that sleep past the limit, default 0 stages ``fast``)."""
    calls = _Calls()
    calls.slow = {(0, "fast")}

    def design(neuron, arch, kernel, width, stages, cuts):
        return {"verilog": "", "top": f"{neuron}_{arch}_s{stages}", "cuts": list(range(stages)),
                "stages": stages}

    def synthesize(verilog, top, target, *, timeout=DEFAULT_TIMEOUT, **options):
        stages, mapping = int(top.rsplit("_s", 1)[1]), target.name.rsplit("-", 1)[1]
        calls.append((stages, mapping))
        if (stages, mapping) in calls.slow:  # the slow synthesis: a child that sleeps
            run_tool([sys.executable, "-c", f"import time; time.sleep({SLEEP})"], tmp_path,
                     log="run.log", timeout=timeout, what=f"synthesis of {top}",
                     timeout_error=ToolTimeout)
        delay, area = TABLE.get((stages, mapping)) or (3.0 + 0.1 * stages, 100.0 * stages)
        return {"top": top, "cached": False, "seconds": 0.0, "details": {},
                "metrics": {"delay_ns": delay, "area_um2": area, "energy_pj": area / 100,
                            "leakage_nw": 1.0, "ffs": stages, "cells": 1}}

    monkeypatch.setattr(explore, "_design", design)
    monkeypatch.setattr(explore, "synthesize", synthesize)
    monkeypatch.setattr(explore, "find_yosys", lambda yosys=None: "yosys")
    monkeypatch.setattr(explore, "yosys_version", lambda path: "Yosys 0 (synthetic)")
    return calls


def _sweep(point_timeout=LIMIT, clocks=(6.0, 5.0), cut_model="unit"):
    return run_explore(neurons=("threshold",), kernels=((3, 3),), widths=(8,), clocks=clocks,
                       archs={"threshold": ["tree"]}, cut_model=cut_model, progress=None,
                       point_timeout=point_timeout)


def check_timed_out_record(sweep, calls, out_dir) -> None:
    """The checker: the slow point is stopped at the limit, synthesized once, recorded in the
    sweep and in all three outputs, and the searches moved on to 1 stage."""
    assert calls.count((0, "fast")) == 1                  # once, though both searches ask it
    assert (0, "area") not in calls                        # 0 stages never met: not mapped
    assert sweep["meta"]["point_timeout_s"] == LIMIT
    [unfinished] = sweep["timed_out"]
    assert (unfinished["stages"], unfinished["mapping"], unfinished["timed_out"],
            unfinished["timeout_s"], unfinished["clocks_ns"]) == (0, "fast", True, LIMIT,
                                                                  [6.0, 5.0])
    assert all(p["stages"] > 0 for p in sweep["points"])   # no figures for the stopped one
    rows = {r["clock_ns"]: r for r in sweep["rows"]}
    # 6 ns: the stopped 0-stage point would have met; the search went on to 1 stage
    assert (rows[6.0]["met"], rows[6.0]["min_stages"], rows[6.0]["stages"]) == (True, 1, 1)
    assert (rows[5.0]["stages"], rows[5.0]["mapping"], rows[5.0]["area_um2"]) == (1, "area",
                                                                                 180.0)
    assert all(r["timed_out"] == ["0 stages fast"] for r in sweep["rows"])

    write_outputs(sweep, out_dir, command="tn-hw explore --point-timeout 0.5")
    data = json.loads((out_dir / "explore.json").read_text())
    assert data["meta"]["point_timeout_s"] == LIMIT
    assert [(p["stages"], p["mapping"], p["timed_out"], p["timeout_s"])
            for p in data["timed_out"]] == [(0, "fast", True, LIMIT)]
    with open(out_dir / "explore.csv") as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == (*CSV_FIELDS, "timed_out")
    assert [r["timed_out"] for r in table] == ["0 stages fast"] * 2
    text = (out_dir / "explore.md").read_text()
    assert "## Not finished in 0.5 s" in text
    assert "0 stages, fast (`threshold_tree_s0`): not finished in 0.5 s" in text
    assert "| 0 | - | not finished in 0.5 s |" in text     # the pipelining table


def test_a_point_over_the_limit_is_recorded_and_the_search_moves_on(synthetic, tmp_path):
    started = time.monotonic()
    sweep = _sweep()
    assert time.monotonic() - started < SLEEP               # the child was stopped, not awaited
    check_timed_out_record(sweep, synthetic, tmp_path / "out")


def test_mutant_timeout_ignored_is_caught(synthetic, monkeypatch, tmp_path):
    """An explore_point that drops the limit lets the slow point finish: the checker fails."""
    real = explore.explore_point

    def ignores_the_limit(task, *, point_timeout=None, **options):
        return real(task, **options)

    monkeypatch.setattr(explore, "explore_point", ignores_the_limit)
    sweep = _sweep()
    with pytest.raises(AssertionError):
        check_timed_out_record(sweep, synthetic, tmp_path / "out")
    assert sweep["timed_out"] == [] and sweep["rows"][0]["stages"] == 0


def test_a_timed_out_cut_probe_falls_back_to_the_unit_cuts(synthetic):
    """With --cuts sky130 the tree's cuts are placed on delays measured on its deepest
    pipelined form; when that probe does not finish, the unit placement alone is timed."""
    from tn_hw.spec import KernelSpec

    top = KernelSpec(neuron="threshold", kernel=(3, 3), width=8).max_stages
    synthetic.slow = {(0, "fast"), (top, "fast")}
    sweep = _sweep(clocks=(5.0,), cut_model="sky130")
    assert [(p["stages"], p["mapping"]) for p in sweep["timed_out"]] == [(0, "fast"),
                                                                        (top, "fast")]
    assert sweep["meta"]["op_delays_ns"] == {}
    assert all(p["cut_model"] in (None, "unit") for p in sweep["points"])
    row = sweep["rows"][0]
    assert (row["met"], row["stages"], row["cut_model"]) == (True, 1, "unit")
    assert synthetic.count((top, "fast")) == 1


class _Everything:
    def __contains__(self, item):
        return True


def test_an_architecture_with_no_finished_point_has_a_row_without_a_design(synthetic,
                                                                           tmp_path):
    synthetic.slow = _Everything()
    sweep = run_explore(neurons=("threshold",), kernels=((1, 1),), widths=(4,), clocks=(6.0,),
                        archs={"threshold": ["tree"]}, cut_model="unit", progress=None,
                        point_timeout=LIMIT)
    assert sweep["points"] == [] and len(sweep["timed_out"]) == 2      # 0 and 1 stage fast
    [row] = sweep["rows"]
    assert (row["met"], row["stages"], row["area_um2"]) == (False, None, None)
    assert row["timed_out"] == ["0 stages fast", "1 stage fast"]
    write_outputs(sweep, tmp_path / "out")
    text = (tmp_path / "out" / "explore.md").read_text()
    assert "| 6 | **no** | no design | - |" in text
    with open(tmp_path / "out" / "explore.csv") as handle:
        [line] = list(csv.DictReader(handle))
    assert (line["met"], line["area_um2"], line["timed_out"]) == ("False", "",
                                                                  "0 stages fast; 1 stage fast")


def test_without_a_limit_the_outputs_have_no_timeout_fields(synthetic, tmp_path):
    """Default (no limit): the sweep and its three outputs are the ones of before the option
    (no key, column or section more)."""
    sweep = _sweep(point_timeout=None, clocks=(6.0,))
    assert synthetic.count((0, "fast")) == 1 and "timed_out" not in sweep
    assert "point_timeout_s" not in sweep["meta"]
    assert all("timed_out" not in r for r in sweep["rows"])
    assert sweep["rows"][0]["stages"] == 0                  # it finished (after SLEEP) and met
    write_outputs(sweep, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "explore.json").read_text())
    assert set(data) == {"meta", "command", "iso_clock", "fronts", "rows", "points"}
    header = (tmp_path / "out" / "explore.csv").read_text().splitlines()[0]
    assert header == ",".join(CSV_FIELDS)
    assert "not finished" not in (tmp_path / "out" / "explore.md").read_text()


# -- the real synthesize with a stand-in Yosys that sleeps ---------------------------------------


@pytest.fixture
def sleepy_yosys(tmp_path, monkeypatch):
    """A 'Yosys' that answers -V and otherwise starts a child ``sleep 30`` and waits for it;
    each run appends a line to runs.txt and the child's pid to child.pid."""
    path = tmp_path / "bin" / "yosys"
    path.parent.mkdir()
    path.write_text(f"""#!/bin/sh
if [ "$1" = "-V" ]; then echo "Yosys 0.0 (sleepy stand-in)"; exit 0; fi
echo run >> {tmp_path}/runs.txt
sleep 30 &
echo $! > {tmp_path}/child.pid
wait
""")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _gone(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")     # killed, not yet reaped by whoever adopted it


def _task():
    verilog = "module tiny(input a, output y); assign y = ~a; endmodule\n"
    return ({"verilog": verilog, "top": "tiny", "cuts": []}, "fast")


def _runs(tmp_path) -> int:
    runs = tmp_path / "runs.txt"
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def check_not_cached(tmp_path, yosys, cache_dir) -> None:
    """The checker: a timed-out point is a record, not a result; a second run (here with a
    limit as small) runs Yosys again instead of reading the cache."""
    options = {"yosys": str(yosys), "cache_dir": cache_dir}
    first = explore.explore_point(_task(), point_timeout=LIMIT, **options)
    assert first["timed_out"] and first["timeout_s"] == LIMIT and first["metrics"] is None
    assert not first["cached"]
    second = explore.explore_point(_task(), point_timeout=LIMIT, **options)
    assert second.get("timed_out") and not second["cached"]
    assert _runs(tmp_path) == 2
    assert not list(cache_dir.rglob("*.json"))


def test_a_timed_out_synthesis_is_killed_and_not_cached(sleepy_yosys, tmp_path):
    started = time.monotonic()
    check_not_cached(tmp_path, sleepy_yosys, tmp_path / "cache")
    assert time.monotonic() - started < 10
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child), "the stand-in Yosys's child process outlived the timeout"


def test_synthesize_raises_tool_timeout_a_synth_error(sleepy_yosys, tmp_path):
    from tn_hw.synth.area.flow import synthesize
    from tn_hw.synth.tools import SynthError

    with pytest.raises(ToolTimeout, match=r"took longer than 0.5 s \(timeout\)") as caught:
        synthesize(_task()[0]["verilog"], "tiny", explore.mapping_target("fast"),
                   yosys=str(sleepy_yosys), cache_dir=tmp_path / "cache", timeout=LIMIT)
    assert isinstance(caught.value, SynthError)


def test_mutant_timed_out_point_cached_as_a_result_is_caught(sleepy_yosys, tmp_path,
                                                             monkeypatch):
    """A synthesize that stores the timed-out record under the point's key (so the next run
    reads it back) fails the checker."""
    from tn_hw.synth.area import flow

    real = flow.synthesize

    def caches_the_timeout(verilog, top, target, *, timeout=DEFAULT_TIMEOUT, cache_dir=None,
                           yosys=None, **options):
        key = cache_key(content_key(verilog, target.script_text(top=top),
                                    flow.yosys_version(flow.find_yosys(yosys))),
                        *target.extension.key_parts(verilog))
        try:
            return real(verilog, top, target, timeout=timeout, cache_dir=cache_dir,
                        yosys=yosys, **options)
        except ToolTimeout:
            record = {"top": top, "timed_out": True, "timeout_s": timeout, "seconds": timeout,
                      "metrics": None, "cached": False}
            ResultCache(cache_dir).store(key, record)
            raise

    monkeypatch.setattr(explore, "synthesize", caches_the_timeout)
    with pytest.raises(AssertionError):
        check_not_cached(tmp_path, sleepy_yosys, tmp_path / "cache")


# -- the option ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-5", "abc", "nan", "inf", ""])
def test_a_bad_point_timeout_is_one_line_exit_2(tmp_path, capsys, value):
    assert main(["explore", "--point-timeout", value, "-o", str(tmp_path / "o"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--point-timeout" in err[0] and "positive number" in err[0]
    assert not (tmp_path / "o").exists()


def test_help_explains_point_timeout(capsys):
    with pytest.raises(SystemExit):
        main(["explore", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--point-timeout SECONDS" in text and "not finished" in text
    assert "not cached" in text and "meets no clock" in text


def test_run_explore_refuses_a_bad_limit():
    from tn_hw.errors import TnHwError

    for bad in (0, -1.0, float("nan")):
        with pytest.raises(TnHwError, match="point timeout must be a positive number"):
            run_explore(neurons=("threshold",), kernels=((3, 3),), point_timeout=bad,
                        progress=None)
