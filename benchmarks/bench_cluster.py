"""Overhead of running a sweep on a Dask cluster, and what a cluster would make of the timing sweep.

1. The same small compare sweep, cold cache each time: on this machine with ``-j 2``, and on a
   local cluster of a scheduler and two workers (one thread each) on 127.0.0.1. The difference
   of the wall times over the number of tasks is the overhead per task (shipping the Verilog,
   the result and the cache entries, scheduling); connecting and the version check are timed
   apart (once per sweep).
2. The committed timing sweep (docs/results/timing/, 55 minutes cold on one machine, one point
   after another): its logs give the time of every point; a cluster of N workers, each taking the
   next point in sweep order when it is free (how Dask hands out equal tasks), finishes when its
   last worker does. Each task pays the measured overhead.

Usage::

    python benchmarks/bench_cluster.py                  # both parts
    python benchmarks/bench_cluster.py --projection-only
"""

from __future__ import annotations

import argparse
import heapq
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SWEEP = {"neurons": ("threshold", "mac"), "kernels": ((2, 2), (3, 3), (4, 4)),
         "widths": (4, 6), "targets": ("generic",)}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _spawn(argv, log: Path):
    with open(log, "w") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(procs) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def measure(workdir: Path) -> dict:
    """Wall times of the small sweep with -j 2 and on a local 2-worker cluster (cold caches)."""
    from tn_hw.executor import DaskExecutor, LocalExecutor
    from tn_hw.synth.area.compare import build_design, run_sweep

    tasks = len(SWEEP["neurons"]) * len(SWEEP["kernels"]) * len(SWEEP["widths"])
    started = time.monotonic()
    with LocalExecutor(2) as executor:
        local = run_sweep(**SWEEP, jobs=2, executor=executor, progress=None,
                          cache_dir=workdir / "cache-local")
    local_wall = time.monotonic() - started

    port = _port()
    address = f"tcp://{HOST}:{port}"
    procs = [_spawn([str(BIN / "dask"), "scheduler", "--host", HOST, "--port", str(port),
                     "--no-dashboard"], workdir / "scheduler.log")]
    try:
        for i in range(2):
            procs.append(_spawn([str(BIN / "dask"), "worker", address, "--host", HOST,
                                 "--no-dashboard", "--nworkers", "1", "--nthreads", "1"],
                                workdir / f"worker{i}.log"))
        import distributed

        with distributed.Client(address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            client.run(lambda: __import__("tn_hw.executor").executor.tool_versions())  # warm
        connected = time.monotonic()
        with DaskExecutor(address) as executor:
            ready = time.monotonic()
            remote = run_sweep(**SWEEP, jobs=2, executor=executor, progress=None,
                               cache_dir=workdir / "cache-dask")
            done = time.monotonic()
            # Round trip of a task that does nothing but carry a 3x3 MAC's Verilog there and
            # its length back: scheduling and transport alone, one task after another.
            verilog = build_design("mac", (3, 3), 8)["verilog"]
            trips = 20
            trip_started = time.monotonic()
            for _ in range(trips):
                executor.client.submit(len, verilog, pure=False).result()
            round_trip = (time.monotonic() - trip_started) / trips
    finally:
        _stop(procs)
    yosys_local = sum(r["seconds"] for r in local["rows"])
    yosys_remote = sum(r["seconds"] for r in remote["rows"])
    cluster_wall = done - ready
    return {"tasks": tasks, "local_wall": local_wall, "cluster_wall": cluster_wall,
            "connect": ready - connected, "yosys_local": yosys_local, "round_trip": round_trip,
            "outside_local": (2 * local_wall - yosys_local) / tasks,
            "outside_cluster": (2 * cluster_wall - yosys_remote) / tasks,
            "yosys_remote": yosys_remote,
            "overhead_per_task": (cluster_wall - local_wall) / tasks,
            "same_rows": [(r["top"], r["metrics"]) for r in local["rows"]]
            == [(r["top"], r["metrics"]) for r in remote["rows"]]}


_POINT = re.compile(r"^\[timing\] (\S+) (\S+): .* ([0-9.]+) s$")


def timing_points() -> list[float]:
    """Seconds of every point the committed cold timing sweep ran (cached points left out)."""
    seconds = []
    for log in sorted((ROOT / "docs/results/timing").glob("run_cold_part*.log")):
        for line in log.read_text().splitlines():
            match = _POINT.match(line)
            if match and "(cached)" not in line:
                seconds.append(float(match[3]))
    return seconds


def project(seconds, workers: int, overhead: float) -> float:
    """Finish time of ``seconds`` handed out in order to ``workers`` as each becomes free."""
    free = [0.0] * workers
    heapq.heapify(free)
    for task in seconds:
        heapq.heappush(free, heapq.heappop(free) + task + overhead)
    return max(free)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projection-only", action="store_true")
    parser.add_argument("--overhead", type=float, default=None,
                        help="seconds per task for the projection (default: measured)")
    args = parser.parse_args()
    overhead = args.overhead
    if not args.projection_only:
        with tempfile.TemporaryDirectory(prefix="tn-hw-bench-cluster-") as scratch:
            m = measure(Path(scratch))
        print(f"small compare sweep, {m['tasks']} Yosys runs, cold cache:")
        print(f"  -j 2 on this machine     {m['local_wall']:6.1f} s wall "
              f"(Yosys {m['yosys_local']:.1f} s summed)")
        print(f"  2 local Dask workers     {m['cluster_wall']:6.1f} s wall "
              f"(Yosys {m['yosys_remote']:.1f} s summed); connect + version check "
              f"{m['connect']:.1f} s once")
        print(f"  wall difference per task {m['overhead_per_task']:+6.2f} s; "
              f"same figures: {m['same_rows']}")
        print(f"  slot time outside Yosys per task: -j 2 {m['outside_local']:.2f} s, "
              f"cluster {m['outside_cluster']:.2f} s (2 slots x wall - Yosys time)")
        print(f"  round trip of an empty task carrying a 3x3 MAC's Verilog: "
              f"{m['round_trip'] * 1000:.0f} ms")
        if overhead is None:
            overhead = max(0.0, m["overhead_per_task"], m["round_trip"])
    overhead = overhead or 0.0
    seconds = timing_points()
    total = sum(seconds)
    print(f"\ntiming sweep (docs/results/timing, cold): {len(seconds)} routed points, "
          f"{total / 60:.1f} min one after another; longest point {max(seconds):.0f} s")
    print(f"projection with {overhead:.2f} s overhead per task, points in sweep order:")
    print(f"  {'workers':>7} {'minutes':>8} {'speed-up':>9}")
    for n in (1, 2, 4, 8, 16, 32):
        wall = project(seconds, n, overhead)
        print(f"  {n:>7} {wall / 60:>8.1f} {total / wall:>8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
