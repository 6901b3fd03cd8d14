"""Time the threshold-vs-MAC sweep with a cold and then a warm result cache.

    python benchmarks/bench_synth.py                     # 3 kernels x 3 widths x 2 neurons, -j 2
    python benchmarks/bench_synth.py --targets all -j 2  # every flow

The cold run uses a fresh, empty cache folder, so every design goes through Yosys; the warm run
repeats the same sweep on that cache. The yowasp WebAssembly compile (about 40 s on a first ever
call, kept in ~/.cache/YoWASP) is done before timing starts and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

from tn_hw.synth.area.compare import run_sweep
from tn_hw.synth.area.flow import expand_targets, find_yosys, short_version, yosys_version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernels", default="3x3,5x5,7x7")
    parser.add_argument("--widths", default="4,8,16")
    parser.add_argument("--targets", default="generic")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--json", help="also write the timings here")
    args = parser.parse_args()

    version = yosys_version(find_yosys())  # warms the WebAssembly cache outside the timing
    sweep_args = {
        "kernels": args.kernels.split(","),
        "widths": [int(w) for w in args.widths.split(",")],
        "targets": expand_targets(args.targets),
        "jobs": args.jobs,
        "progress": None,
    }
    timings = {}
    with tempfile.TemporaryDirectory(prefix="tn-hw-bench-cache-") as cache_dir:
        for phase in ("cold", "warm"):
            started = time.perf_counter()
            sweep = run_sweep(cache_dir=cache_dir, **sweep_args)
            timings[phase] = round(time.perf_counter() - started, 2)
            hits = sum(row["cached"] for row in sweep["rows"])
            print(f"{phase}: {timings[phase]:7.2f} s  {len(sweep['rows'])} runs, {hits} cached",
                  flush=True)
    report = {
        "kernels": args.kernels, "widths": args.widths, "targets": sweep_args["targets"],
        "jobs": args.jobs, "seconds": timings, "yosys": short_version(version),
        "cpus": os.cpu_count(), "machine": platform.machine(),
    }
    print(json.dumps(report))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=1)


if __name__ == "__main__":
    main()
