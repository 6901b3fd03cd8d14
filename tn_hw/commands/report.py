"""Output helpers shared by the commands: a regression result line, JSON files."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..errors import TnHwError

__all__ = ["build_root", "check_output_file", "finish_build_root", "print_result", "write_json"]


def print_result(result, label=None) -> None:
    """One line per regression result (PASS/FAIL, vectors, mismatches, tests, seed, time), and
    for a FAIL why, then the log's path (kept after the run); the waveform's path with waves."""
    status = "PASS" if result.passed else "FAIL"
    tests = ", ".join(f"{name} {t['vectors']}" for name, t in result.tests.items())
    print(f"{status}  {label or result.top:<34} {result.vectors:>7} vectors  "
          f"{result.mismatches} mismatches  ({tests}; seed {result.seed}; "
          f"{result.build_seconds + result.run_seconds:.1f} s)"
          + ("" if result.passed else f": {result.reason}"))
    if not result.passed:
        print(f"      details: {result.log}")
    if result.waves:
        print(f"      waves: {result.waves}")


def build_root(build_dir):
    """``(root folder, whether it is a scratch folder of this run)`` for a regression."""
    if build_dir:
        return Path(build_dir), False
    return Path(tempfile.mkdtemp(prefix="tn-hw-regress-")), True


def finish_build_root(root, scratch, results):
    """Remove a scratch build folder after a run that passed; after a failure keep the folders
    of the failed designs (their logs are printed), and with waves keep everything."""
    if not scratch or any(r.waves for r in results):
        return
    if not any(not r.passed for r in results):
        shutil.rmtree(root, ignore_errors=True)
        return
    for result in results:
        if result.passed and result.build_dir is not None:
            shutil.rmtree(result.build_dir, ignore_errors=True)


def write_json(path, data, *, error=TnHwError) -> None:
    """Write ``data`` as indented JSON; a write failure is one ``error`` line."""
    try:
        Path(path).write_text(json.dumps(data, indent=1) + "\n")
    except OSError as err:
        raise error(f"cannot write {path!r}: {err.strerror or err}") from None


def check_output_file(path, flag: str, *, error=TnHwError) -> None:
    """Fail before any work, as one ``error`` line, when ``flag``'s file cannot be written."""
    import os

    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise error(f"{flag} {str(path)!r} is a directory; give a file name")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise error(f"cannot write {flag} {str(path)!r}: {str(parent)!r} is not a writable "
                    "directory")
