"""Plot the `tn-hw timing` JSON files: median Fmax (seed spread as error bars) against kernel size
at stages 0, and against pipeline stages.

    python benchmarks/plot_timing.py docs/results/timing/*.json -o docs/results/timing/fmax.png
"""

import argparse
import json
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="+", help="files written by tn-hw timing --json")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    args = parser.parse_args()
    rows = {}
    for path in args.json:
        with open(path) as file:
            data = json.load(file)
        for row in data["rows"]:
            if row["fits"]:
                key = (row["target"], row["neuron"], row["kernel"], row["width"], row["stages"])
                rows[key] = row
    fig, (by_size, by_stage) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = defaultdict(list)
    for (target, neuron, kernel, width, stages), row in sorted(rows.items()):
        if stages == 0:
            rows_, cols = (int(side) for side in kernel.split("x"))
            inputs = rows_ * cols
            series[(target, neuron, width)].append((inputs, row))
    for (target, neuron, width), points in sorted(series.items()):
        points.sort(key=lambda p: p[0])
        x = [p[0] for p in points]
        y = [p[1]["fmax_mhz"] for p in points]
        err = [[p[1]["fmax_mhz"] - p[1]["fmax_min"] for p in points],
               [p[1]["fmax_max"] - p[1]["fmax_mhz"] for p in points]]
        by_size.errorbar(x, y, yerr=err, marker="o" if neuron == "threshold" else "s",
                         linestyle="-" if neuron == "threshold" else "--", capsize=3,
                         label=f"{neuron} W={width} ({target})")
    by_size.set_xlabel("kernel inputs (3x3 = 9, 5x5 = 25, 7x7 = 49)")
    by_size.set_ylabel("Fmax, MHz (median of seeds; bars: min-max)")
    by_size.set_title("combinational kernel, registered in and out")
    by_size.legend(fontsize=7)
    staged = defaultdict(list)
    for (target, neuron, kernel, width, stages), row in sorted(rows.items()):
        staged[(target, neuron, kernel, width)].append((stages, row["fmax_mhz"]))
    for (target, neuron, kernel, width), points in sorted(staged.items()):
        if len(points) < 3:
            continue
        points.sort()
        by_stage.plot([p[0] for p in points], [p[1] for p in points],
                      marker="o" if neuron == "threshold" else "s",
                      linestyle="-" if neuron == "threshold" else "--",
                      label=f"{neuron} {kernel} W={width} ({target})")
    by_stage.set_xlabel("pipeline stages inside the kernel")
    by_stage.set_ylabel("Fmax, MHz (median of seeds)")
    by_stage.set_title("pipelined kernels")
    by_stage.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
