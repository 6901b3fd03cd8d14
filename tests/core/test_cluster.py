"""Sweeps on a real Dask cluster: a scheduler and two workers started here, on 127.0.0.1 only.

The same small compare and regression matrix run locally and on the cluster give the same
bytes; a worker killed mid-sweep loses and duplicates no point; a worker with another Yosys is
refused; an unreachable scheduler is one line within a bounded time; a failed point is named
while the rest finish; Ctrl-C (KeyboardInterrupt) cancels the tasks still on the cluster.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tn_hw import executor as ex
from tn_hw.cli import main
from tn_hw.executor import DaskExecutor, LocalExecutor, SweepError, run_points

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"  # never another address
#: Keeps cocotb from rewriting torch's asserts at every simulator start (seconds each).
QUICK_COCOTB = {"COCOTB_REWRITE_ASSERTION_FILES": "tb_*.py"}


def _dask(*args) -> list[str]:
    if (BIN / "dask").exists():
        return [str(BIN / "dask"), *args]
    return [str(BIN / f"dask-{args[0]}"), *args[1:]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Cluster:
    """A scheduler and workers as real processes, each in its own process group."""

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.address = f"tcp://{HOST}:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self._start(_dask("scheduler", "--host", HOST, "--port", str(self.port),
                          "--no-dashboard"), "scheduler")

    def _start(self, argv, name, env=None) -> subprocess.Popen:
        log = open(self.root / f"{name}-{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                env={**os.environ, **QUICK_COCOTB, **(env or {})},
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def add_worker(self, env=None) -> subprocess.Popen:
        # --no-nanny: one process per worker instead of a nanny and its worker (each start
        # imports distributed); a kill takes the whole process group either way.
        proc = self._start(_dask("worker", self.address, "--host", HOST, "--no-dashboard",
                                 "--nworkers", "1", "--nthreads", "1", "--no-nanny"),
                           "worker", env)
        self.workers.append(proc)
        return proc

    def client(self):
        import distributed

        return distributed.Client(self.address, timeout="20s", set_as_default=False)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=timeout)

    def kill(self, proc) -> None:
        """SIGKILL the process group: the worker dies mid-task without saying goodbye."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        if proc in self.workers:
            self.workers.remove(proc)

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, dask_distributed, icarus, yosys):
    root = tmp_path_factory.mktemp("cluster")
    cluster = Cluster(root)
    try:
        cluster.add_worker()
        cluster.add_worker()
        cluster.wait_for(2)
        yield cluster
    finally:
        cluster.close()


def _compare(out, cache, *extra):
    return main(["compare", "--kernels", "1x2,2x2", "--widths", "4", "--targets", "generic",
                 "-o", str(out), "--cache-dir", str(cache), "--quiet", *extra])


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _without_seconds(tree: dict) -> dict:
    return {k: {f: v for f, v in json.loads(data).items() if f != "seconds"}
            for k, data in tree.items()}


def test_compare_on_the_cluster_writes_the_bytes_of_a_local_run(cluster, tmp_path, capsys):
    out = tmp_path / "out"
    assert _compare(out, tmp_path / "cache-local") == 0
    local = _tree(out)
    shutil.rmtree(out)
    assert _compare(out, tmp_path / "cache-dask", "--scheduler", cluster.address) == 0
    assert _tree(out) == local  # area.json, .csv, .md and the PNG, byte for byte
    assert set(local) == {"area.json", "area.csv", "area.md", "area_generic.png"}
    # The client wrote the workers' cache entries: same keys, same results (run times differ).
    local_cache, dask_cache = _tree(tmp_path / "cache-local"), _tree(tmp_path / "cache-dask")
    assert len(dask_cache) == 4
    assert _without_seconds(dask_cache) == _without_seconds(local_cache)
    # A second cluster run is answered by the client's cache: no task, the same bytes.
    shutil.rmtree(out)
    capsys.readouterr()
    assert _compare(out, tmp_path / "cache-dask", "--scheduler", cluster.address) == 0
    assert "4 runs (4 from cache)" in capsys.readouterr().out
    assert _tree(out) == local


def test_regress_matrix_on_the_cluster_prints_what_a_local_run_prints(cluster, tmp_path, capsys,
                                                                       monkeypatch):
    """``regress --matrix`` with ``-j 2`` (processes here) and with ``--scheduler``: the same
    result lines in matrix order and the same JSON, but for run times and log paths."""
    from tn_hw.testbench import matrix

    wanted = ("threshold-cell-w4", "mac-3x3-w4")
    configs = [c for c in matrix.regression_matrix() if c.id in wanted]
    monkeypatch.setattr(matrix, "regression_matrix", lambda: configs)
    for name, value in QUICK_COCOTB.items():
        monkeypatch.setenv(name, value)

    def regress(*extra):
        report = tmp_path / f"r{len(extra)}.json"
        code = main(["regress", "--matrix", "--vectors", "40", "--seed", "3", "--quiet",
                     "--json", str(report), *extra])
        lines = [re.sub(r", [0-9,]+ vectors/s with simulator start-up\)$", ")",
                        re.sub(r"; [0-9.]+ s\)$", ")", line))
                 for line in capsys.readouterr().out.splitlines()]
        # Run times (and the summary's rate) differ, and so does the log's path (a scratch
        # folder of each run).
        rows = [{k: v for k, v in row.items() if not k.endswith("_seconds") and k != "log"}
                for row in json.loads(report.read_text())]
        return code, lines, rows

    capsys.readouterr()
    local = regress("-j", "2")
    remote = regress("--scheduler", cluster.address, "--build-dir", str(tmp_path / "unused"))
    assert local == remote
    code, lines, rows = local
    assert code == 0 and [line.split()[1] for line in lines[:2]] == list(wanted)
    assert lines[2] == "2/2 designs passed, " + lines[2].split(", ", 1)[1]
    assert all(row["passed"] and row["vectors"] > 40 for row in rows)
    assert not (tmp_path / "unused").exists()  # the workers built in folders of their own


def test_a_failed_point_is_named_and_the_rest_finish_on_the_cluster(cluster, tmp_path):
    from tn_hw.synth.area.compare import build_design, synthesize_point

    good = build_design("threshold", (2, 2), 3)
    broken = {"verilog": "module broken(input a, output y);\n  assign y = ;\nendmodule\n",
              "top": "broken"}
    points = [(("threshold", (2, 2), 3), good, "generic"),
              (("broken", (1, 1), 2), broken, "generic")]
    with DaskExecutor(cluster.address) as executor:
        with pytest.raises(SweepError, match=r"^1 of 2 points failed: broken \(1, 1\) 2: "
                                             r"generic synthesis of broken failed"):
            run_points(executor, synthesize_point, points,
                       describe=lambda p: " ".join(map(str, p[0])),
                       options={"cache_dir": tmp_path / "cache"})
    assert len(_tree(tmp_path / "cache")) == 1  # the good point finished and was cached


def test_a_worker_with_another_yosys_is_refused(cluster, tmp_path, capsys):
    from tn_hw.synth.tools import find_yosys

    fake = tmp_path / "yosys"
    fake.write_text("#!/bin/sh\n"
                    'if [ "$1" = "-V" ]; then\n'
                    '  echo "Yosys 0.9 (git sha1 0000000, fake)"; exit 0\n'
                    "fi\n"
                    f'exec "{find_yosys()}" "$@"\n')
    fake.chmod(0o755)
    # TN_HW_YOSYS is the documented way to choose a Yosys (docs/cluster.md): no test hook.
    odd = cluster.add_worker(env={"TN_HW_YOSYS": str(fake)})
    try:
        cluster.wait_for(3)
        capsys.readouterr()
        code = _compare(tmp_path / "out", tmp_path / "cache", "--scheduler", cluster.address)
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1
        assert err.startswith("tn-hw: error: worker tcp://127.0.0.1:")
        assert "runs yosys 'Yosys 0.9 (git sha1 0000000, fake)'" in err
        assert not (tmp_path / "out").exists()
    finally:
        cluster.kill(odd)


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path, capsys, monkeypatch,
                                                                  dask_distributed, yosys):
    monkeypatch.setattr(ex, "CONNECT_TIMEOUT", 3.0)
    monkeypatch.setenv(ex.SCHEDULER_ENV, f"tcp://{HOST}:{_free_port()}")  # as --scheduler
    started = time.monotonic()
    code = _compare(tmp_path / "out", tmp_path / "cache")
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2 and elapsed < 15
    assert err.count("\n") == 1
    assert err.startswith(f"tn-hw: error: cannot reach the Dask scheduler at tcp://{HOST}:")
    assert "within 3 s" in err


def test_without_dask_the_scheduler_flag_says_how_to_install(tmp_path, capsys, monkeypatch,
                                                             yosys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code = _compare(tmp_path / "out", tmp_path / "cache", "--scheduler", "tcp://127.0.0.1:1")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pip install 'tn-hw[cluster]'" in err
    # and the local path does not need it
    monkeypatch.delenv(ex.SCHEDULER_ENV, raising=False)
    assert isinstance(ex.make_executor(2), LocalExecutor)


def test_ctrl_c_cancels_the_remaining_tasks(cluster, tmp_path):
    from tn_hw.synth.area.compare import build_design, synthesize_point

    points = [((n, k), build_design(n, k, 4), "generic")
              for n in ("threshold", "mac") for k in ((2, 2), (3, 3), (4, 4))]

    def interrupt(index, result):
        raise KeyboardInterrupt

    with DaskExecutor(cluster.address) as executor:
        with pytest.raises(KeyboardInterrupt):
            run_points(executor, synthesize_point, points, on_result=interrupt,
                       options={"cache_dir": tmp_path / "cache"})
        deadline = time.monotonic() + 20
        left = None
        while time.monotonic() < deadline:
            left = executor.client.run_on_scheduler(
                lambda dask_scheduler: len(dask_scheduler.tasks))
            if left == 0:
                break
            time.sleep(0.2)
    assert left == 0  # every remaining task was cancelled on the scheduler
    assert len(_tree(tmp_path / "cache")) == 1  # only the point that finished was written


def test_a_worker_killed_mid_sweep_loses_and_duplicates_no_point(cluster, tmp_path):
    """Last in the file: it kills a worker (and starts a fresh one for anything after)."""
    from tn_hw.synth.area.compare import run_sweep

    seen, killed = [], []

    def progress(line):
        seen.append(line)
        if "[compare 1/" in line and not killed:
            killed.append(cluster.workers[0])
            cluster.kill(cluster.workers[0])

    with DaskExecutor(cluster.address) as executor:
        sweep = run_sweep(neurons=("threshold", "mac"), kernels=((2, 2), (3, 3)),
                          widths=(3, 4), targets=("generic",), executor=executor,
                          progress=progress, cache_dir=tmp_path / "cache")
    assert killed
    rows = [(r["neuron"], r["kernel"], r["width"]) for r in sweep["rows"]]
    assert len(rows) == len(set(rows)) == 8
    assert sum(line.startswith("[compare ") and "/8]" in line for line in seen) == 8
    assert len(_tree(tmp_path / "cache")) == 8
    cluster.add_worker()
