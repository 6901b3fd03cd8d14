"""Mapping recipes of the sky130 target on the 3x3 8-bit programmable kernels (issue 14 item 4).

    python benchmarks/sky130_recipes.py [--kernel 3x3] [--width 8]

Prints a Markdown table (area um^2, cells, fa_1/ha_1 count, delay ns, energy pJ per inference)
per recipe and neuron, with the MAC/threshold ratios; docs/results/sky130.md quotes it.
"""

import argparse

from tn_hw.synth.area.compare import build_design
from tn_hw.synth.area.flow import synthesize
from tn_hw.synth.sky130.recipes import RECIPES


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", default="3x3")
    parser.add_argument("--width", type=int, default=8)
    args = parser.parse_args()
    designs = {n: build_design(n, args.kernel, args.width) for n in ("threshold", "mac")}
    print("| recipe | threshold um^2 | MAC um^2 | MAC / thr area | sum um^2 | threshold ns | "
          "MAC ns | threshold pJ | MAC pJ | MAC / thr pJ | fa+ha (thr / MAC) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for recipe in RECIPES:
        r = {n: synthesize(d["verilog"], d["top"], f"sky130-{recipe}")
             for n, d in designs.items()}
        t, m = r["threshold"]["metrics"], r["mac"]["metrics"]

        def adders(result):
            cells = result["cells_by_type"]
            return sum(cells.get(f"sky130_fd_sc_hd__{c}_1", 0) for c in ("fa", "ha"))

        print(f"| {recipe} | {t['area_um2']:.1f} | {m['area_um2']:.1f} | "
              f"{m['area_um2'] / t['area_um2']:.2f}x | {t['area_um2'] + m['area_um2']:.1f} | "
              f"{t['delay_ns']:.3f} | {m['delay_ns']:.3f} | {t['energy_pj']:.3f} | "
              f"{m['energy_pj']:.3f} | {m['energy_pj'] / t['energy_pj']:.2f}x | "
              f"{adders(r['threshold'])} / {adders(r['mac'])} |", flush=True)


if __name__ == "__main__":
    main()
