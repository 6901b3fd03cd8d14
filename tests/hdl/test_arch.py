"""The compressor tree (hdl/compress.py), the Booth cell and the architecture plumbing
(hdl/arch.py, ``--arch``), in the Amaranth simulator and on the command line.

The cocotb regression of every architecture and its planted bugs:
tests/testbench/test_arch_regression.py; the formal proofs: tests/testbench/test_arch_proof.py.
"""

import itertools
import json

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Fragment, Module, Signal, signed
from amaranth.sim import Simulator

from tn_hw import neurons
from tn_hw.cli import main
from tn_hw.generate import generate
from tn_hw.hdl.arch import (
    BoothCell,
    ColumnStager,
    MacMergedKernel,
    ThresholdCsaKernel,
    booth_digits,
)
from tn_hw.hdl.compress import BitMatrix, dadda_heights
from tn_hw.hdl.kernel import Kernel
from tn_hw.hdl.layer import build_component
from tn_hw.spec import KernelSpec, SpecError
from tn_hw.testbench.vectors import family_shapes, golden_outputs, random_vectors

ARCHITECTURES = {"threshold": ["tree", "csa", "cmp-csa"], "mac": ["tree", "csa", "merged"],
                 "sam": ["tree"], "adder": ["tree", "csa"]}


def _simulate(dut, vectors, apply, read):
    got = []

    async def bench(ctx):
        for vector in vectors:
            apply(ctx, vector)
            got.append(read(ctx))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


def test_registered_architectures():
    for name, archs in ARCHITECTURES.items():
        assert list(neurons.get(name).architectures) == archs
        for arch in archs:
            assert neurons.get(name).architectures[arch]


@pytest.mark.parametrize("height, targets", [
    (2, [2]), (3, [2]), (4, [3, 2]), (9, [6, 4, 3, 2]), (10, [9, 6, 4, 3, 2]),
    (45, [42, 28, 19, 13, 9, 6, 4, 3, 2]),
])
def test_dadda_heights(height, targets):
    assert dadda_heights(height) == targets


class _Sum(Elaboratable):
    """Three signed 3-bit operands (one shifted by 2), an unsigned 2-bit one, a constant."""

    def __init__(self, width):
        self.a, self.b, self.c = (Signal(signed(3), name=n) for n in "abc")
        self.u = Signal(2)
        self.y = Signal(width)
        self.width = width

    def elaborate(self, platform):
        m = Module()
        matrix = BitMatrix(self.width)
        matrix.add_signed(self.a)
        matrix.add_signed(self.b, 2)
        matrix.add_signed(self.c)
        matrix.add_unsigned(self.u, 1)
        matrix.add_constant(-5)
        assert matrix.height >= 4
        m.d.comb += self.y.eq(matrix.reduce(m, "t"))
        return m


def test_bit_matrix_sums_exactly():
    """Every input: the tree's sum equals the integer sum modulo ``2**width``."""
    dut = _Sum(7)
    vectors = list(itertools.product(range(-4, 4), range(-4, 4), range(-4, 4), range(4)))

    def apply(ctx, v):
        for sig, value in zip((dut.a, dut.b, dut.c, dut.u), v, strict=True):
            ctx.set(sig, value)

    got = _simulate(dut, vectors, apply, lambda ctx: ctx.get(dut.y))
    want = [(a + 4 * b + c + 2 * u - 5) % 128 for a, b, c, u in vectors]
    assert got == want


@pytest.mark.parametrize("width", [2, 3, 4, 5])
def test_booth_rows_give_the_product(width):
    """Every ``x, w``: ``sum_j 4**j (pp_j signed + neg_j) == x * w``, with ``ceil(W/2)`` rows."""
    dut = BoothCell(width=width)
    lo, hi = -(1 << (width - 1)), 1 << (width - 1)
    vectors = list(itertools.product(range(lo, hi), repeat=2))
    assert len(dut.pp) == booth_digits(width) == (width + 1) // 2

    def apply(ctx, v):
        ctx.set(dut.x, v[0])
        ctx.set(dut.w, v[1])

    def read(ctx):
        total = 0
        for j in range(len(dut.pp)):
            row = ctx.get(dut.pp[j])
            row -= (row >> width & 1) << (width + 1)  # W + 1 bits, two's complement
            total += (row + (ctx.get(dut.neg) >> j & 1)) << (2 * j)
        return total

    assert _simulate(dut, vectors, apply, read) == [x * w for x, w in vectors]


def test_builders_pick_the_architecture():
    def built(spec):
        component = build_component(spec)
        Fragment.get(component, None)  # elaborated, as generate would
        return component

    assert type(built(KernelSpec(kernel=(1, 2), width=2))) is Kernel
    assert type(built(KernelSpec(kernel=(1, 2), width=2, arch="csa"))) is ThresholdCsaKernel
    assert type(built(KernelSpec(neuron="mac", kernel=(1, 2), width=2,
                                 arch="merged"))) is MacMergedKernel
    layer = built(KernelSpec(neuron="mac", kernel=(1, 2), width=2, arch="merged", outputs=2))
    assert layer.kernel_class is MacMergedKernel


def test_verilog_shows_the_compressors():
    csa = generate(KernelSpec(kernel=(2, 2), width=4, arch="csa"))
    assert "csa_l0_k" in csa.verilog and "_fa0_s" in csa.verilog and "csa_sum" in csa.verilog
    assert csa.top == "tn_threshold_k2x2_w4_csa"
    assert csa.manifest["parameters"]["arch"] == "csa"
    merged = generate(KernelSpec(neuron="mac", kernel=(2, 2), width=4, arch="merged"))
    assert " * " not in merged.verilog and "neg0" in merged.verilog and "two1" in merged.verilog
    assert " * " in generate(KernelSpec(neuron="mac", kernel=(2, 2), width=4)).verilog


def test_sam_has_tree_only():
    with pytest.raises(SpecError, match="arch must be one of tree for the sam neuron"):
        KernelSpec(neuron="sam", arch="csa")


@pytest.mark.parametrize("extra, message", [
    (["--arch", "merged"], "arch must be one of tree, csa, cmp-csa for the threshold neuron"),
    (["--arch", "csa", "--image", "6x6"], "--arch applies to kernels and layers"),
])
def test_cli_refuses(extra, message, tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["generate", "--kernel", "2x2", "--width", "4", *extra, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


def test_cli_generates_and_documents(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["generate", "--neuron", "mac", "--kernel", "2x2", "--width", "4", "--arch",
                 "merged", "-o", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["arch"] == "merged"
    assert (out / "tn_mac_k2x2_w4_merged.v").is_file()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "threshold: tree, csa, cmp-csa; mac: tree, csa, merged" in text
    assert "mac merged: all Booth partial products of all inputs" in text


# -- pipelined architectures ------------------------------------------------------------------


def _run_clocked(dut, spec, vectors):
    """Apply vector ``t`` in cycle ``t``; ``y`` read in every cycle (``T + latency``)."""
    shapes = family_shapes(spec, "kernel")
    batch = len(vectors["x"])
    seen = []

    async def bench(ctx):
        for t in range(batch + spec.latency):
            b = min(t, batch - 1)
            for family, shape in shapes.items():
                ports = getattr(dut, family)
                for index in itertools.product(*(range(n) for n in shape)):
                    port = ports
                    for i in index:
                        port = port[i]
                    ctx.set(port, int(vectors[family][(b, *index)]))
            seen.append(ctx.get(dut.y))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return seen


PIPELINED = [KernelSpec(neuron=neuron, arch=arch, kernel=kernel, width=width, stages=stages)
             for neuron, arch, kernel, width in [
                 ("threshold", "csa", (2, 2), 4), ("threshold", "cmp-csa", (1, 3), 4),
                 ("mac", "csa", (1, 3), 4), ("mac", "merged", (2, 2), 4),
                 ("adder", "csa", (1, 3), 4)]
             for stages in (1, 2)] + [
    KernelSpec(arch="csa", kernel=(1, 1), width=3, stages=1),
    KernelSpec(neuron="mac", arch="merged", kernel=(3, 3), width=4, stages=5)]


@pytest.mark.parametrize("spec", PIPELINED, ids=lambda s: s.top_name)
def test_pipelined_architecture_matches_golden_at_latency(spec):
    vectors = random_vectors(spec, "kernel", np.random.default_rng(5), 40)
    want = golden_outputs(spec, "kernel", vectors)["y"].reshape(-1).tolist()
    seen = _run_clocked(build_component(spec), spec, vectors)
    assert seen[spec.latency:] == want
    # One cycle early is another vector's result: the latency is not off by one.
    assert seen[spec.latency - 1:-1] != want


class _Column0Early(ColumnStager):
    """Planted bug: column 0 skips the first register, meeting the rest a cycle early."""

    def __call__(self, boundary, columns):
        staged = super().__call__(boundary, columns)
        if boundary == self.cuts[0]:
            staged[0] = columns[0]
        return staged


def test_pipelined_check_catches_a_short_column():
    spec = KernelSpec(arch="csa", kernel=(2, 2), width=4, stages=2)

    class Mutant(ThresholdCsaKernel):
        def elaborate(self, platform):
            import tn_hw.hdl.arch as arch

            real = arch.ColumnStager
            arch.ColumnStager = _Column0Early
            try:
                return super().elaborate(platform)
            finally:
                arch.ColumnStager = real

    vectors = random_vectors(spec, "kernel", np.random.default_rng(6), 40)
    want = golden_outputs(spec, "kernel", vectors)["y"].reshape(-1).tolist()
    assert _run_clocked(ThresholdCsaKernel(spec), spec, vectors)[2:] == want
    assert _run_clocked(Mutant(spec), spec, vectors)[2:] != want


def test_stage_registers_sit_between_levels():
    verilog = generate(KernelSpec(neuron="mac", arch="merged", kernel=(2, 2), width=4,
                                  stages=2)).verilog
    assert "stage1_k" in verilog and "stage2_k" in verilog and "posedge clk" in verilog
