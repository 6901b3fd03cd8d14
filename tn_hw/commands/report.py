"""Output helpers shared by the commands: a regression result line, JSON files."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import TnHwError

__all__ = ["print_result", "write_json"]


def print_result(result, label=None) -> None:
    """One line per regression result (PASS/FAIL, vectors, mismatches, tests, seed, time), and
    the log's path on a failure."""
    status = "PASS" if result.passed else "FAIL"
    tests = ", ".join(f"{name} {t['vectors']}" for name, t in result.tests.items())
    print(f"{status}  {label or result.top:<34} {result.vectors:>7} vectors  "
          f"{result.mismatches} mismatches  ({tests}; seed {result.seed}; "
          f"{result.build_seconds + result.run_seconds:.1f} s)")
    if not result.passed:
        print(f"      details: {result.log}")


def write_json(path, data, *, error=TnHwError) -> None:
    """Write ``data`` as indented JSON; a write failure is one ``error`` line."""
    try:
        Path(path).write_text(json.dumps(data, indent=1) + "\n")
    except OSError as err:
        raise error(f"cannot write {path!r}: {err.strerror or err}") from None
