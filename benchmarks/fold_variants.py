"""Adder-tree variants of the threshold kernel's polarity fold, measured in the generic flow.

    python benchmarks/fold_variants.py 3 A B D F L     # 3x3, 8 bit: transistors per variant
    python benchmarks/fold_variants.py 5 A F L
    python benchmarks/fold_variants.py 7 A F L

Every variant computes the same integers as hdl/kernel.py from the cells' one's-complement
contributions ``c = y - p``; only the shape of the sum differs. F is the form hdl/kernel.py keeps.

- A: signed ``c`` terms plus the inhibitory count ``sum p``;
- B: the ``p`` bits fed into the tree one by one;
- D: the count added to the bias first;
- F: offset-binary terms ``c + 2**W``, the count, minus ``N * 2**W``;
- L: unsigned ``W``-bit terms, plus the count, minus ``count * 2**W``.

Results are in docs/results/area.md.
"""

import argparse

from amaranth.hdl import Cat, Module, Signal

from tn_hw.generate import emit_design
from tn_hw.hdl.kernel import Kernel, balanced_sum
from tn_hw.spec import KernelSpec
from tn_hw.synth.area.flow import synthesize


class VariantKernel(Kernel):
    """The threshold kernel with its sum built by ``variant``."""

    def __init__(self, spec, variant):
        self._variant = variant
        super().__init__(spec)

    def elaborate(self, platform):
        m = Module()
        width, n = self.spec.width, self.spec.n_inputs
        cs, ps = [], list(self.p)
        for i in range(n):
            cell = m.submodules[f"cell{i}"] = self.make_cell(i)
            m.d.comb += [cell.x.eq(self.x[i]), cell.w.eq(self.w[i]), cell.p.eq(self.p[i])]
            cs.append(cell.c)
        count = Signal(range(n + 1))
        m.d.comb += count.eq(balanced_sum(ps))
        variant = self._variant
        if variant == "A":
            y = self.bias + balanced_sum(cs + [count])
        elif variant == "B":
            y = self.bias + balanced_sum(cs + ps)
        elif variant == "D":
            y = (self.bias + count) + balanced_sum(cs)
        elif variant == "F":
            offset = [Cat(c[:width], ~c[width]) for c in cs]
            y = self.bias + (balanced_sum(offset + [count]) - n * (1 << width))
        elif variant == "L":
            low = [c[:width] for c in cs]
            y = self.bias + (balanced_sum(low) + count - (count << width))
        else:
            raise ValueError(f"unknown variant {variant!r}")
        m.d.comb += self.y.eq(y)
        return m


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("side", type=int, help="kernel side (3 for 3x3)")
    parser.add_argument("variants", nargs="+", choices=list("ABDFL"))
    parser.add_argument("--width", type=int, default=8)
    args = parser.parse_args()
    spec = KernelSpec(kernel=(args.side, args.side), width=args.width)
    for variant in args.variants:
        design = emit_design(VariantKernel(spec, variant), "kernel", spec, spec.top_name)
        metrics = synthesize(design.verilog, design.top, "generic")["metrics"]
        print(f"{spec.kernel_text} W={spec.width} variant {variant}: {metrics['gates']} gates, "
              f"{metrics['transistors']} transistors", flush=True)


if __name__ == "__main__":
    main()
