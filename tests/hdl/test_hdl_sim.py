# amaranth: UnusedElaboratable=no
"""Fast checks of the Python design in the Amaranth simulator, against the golden model.

These catch design bugs in seconds; the cocotb regression (test_regression.py) then checks the
emitted Verilog itself.
"""

import numpy as np
import pytest
import torch
from amaranth.sim import Simulator

from tn_hw import reference
from tn_hw.hdl import Kernel, Layer, MacCell, ThresholdCell
from tn_hw.spec import KernelSpec, SpecError
from tn_hw.testbench.vectors import random_vectors


def _run(dut, testbench):
    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("width", [2, 4])
def test_threshold_cell_exhaustive(width):
    dut = ThresholdCell(width=width)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = range(lo, hi + 1)
    mismatches = []

    async def testbench(ctx):
        for x in values:
            for w in values:
                for p in (0, 1):
                    ctx.set(dut.x, x)
                    ctx.set(dut.w, w)
                    ctx.set(dut.p, p)
                    args = torch.tensor(x), torch.tensor(w), torch.tensor(p)
                    want = (reference.threshold_cell(*args).item(),
                            reference.threshold_ones_complement(*args).item())
                    got = (ctx.get(dut.y), ctx.get(dut.c))
                    if got != want:
                        mismatches.append((x, w, p, want, got))

    _run(dut, testbench)
    assert mismatches == []


def test_mac_cell_extremes():
    dut = MacCell(width=8)
    cases = [(-128, -128), (-128, 127), (127, 127), (0, -128), (-1, -1)]

    async def testbench(ctx):
        for x, w in cases:
            ctx.set(dut.x, x)
            ctx.set(dut.w, w)
            assert ctx.get(dut.y) == x * w

    _run(dut, testbench)


@pytest.mark.parametrize("spec", [
    KernelSpec(neuron="threshold", kernel=(3, 3), width=8),
    KernelSpec(neuron="mac", kernel=(3, 3), width=8),
    KernelSpec(neuron="threshold", kernel=(2, 3), channels=2, width=5, bias_width=4),
], ids=lambda s: s.top_name)
def test_kernel_random(spec):
    dut = Kernel(spec)
    vectors = random_vectors(spec, "kernel", np.random.default_rng(3), 200)
    t = {k: torch.from_numpy(v) for k, v in vectors.items()}
    want = reference.kernel(spec.neuron, t["x"], t["w"], t.get("p"), t["bias"]).tolist()
    got = []

    async def testbench(ctx):
        for b in range(len(want)):
            for i in range(spec.n_inputs):
                ctx.set(dut.x[i], int(vectors["x"][b, i]))
                ctx.set(dut.w[i], int(vectors["w"][b, i]))
                if spec.neuron == "threshold":
                    ctx.set(dut.p[i], int(vectors["p"][b, i]))
            ctx.set(dut.bias, int(vectors["bias"][b]))
            got.append(ctx.get(dut.y))

    _run(dut, testbench)
    assert got == want


def test_layer_random():
    spec = KernelSpec(neuron="threshold", kernel=(2, 2), outputs=3, width=6)
    dut = Layer(spec)
    vectors = random_vectors(spec, "layer", np.random.default_rng(4), 100)
    t = {k: torch.from_numpy(v) for k, v in vectors.items()}
    want = reference.layer("threshold", t["x"], t["w"], t["p"], t["bias"]).tolist()
    got = []

    async def testbench(ctx):
        for b in range(len(want)):
            for i in range(spec.n_inputs):
                ctx.set(dut.x[i], int(vectors["x"][b, i]))
                for o in range(spec.outputs):
                    ctx.set(dut.w[o][i], int(vectors["w"][b, o, i]))
                    ctx.set(dut.p[o][i], int(vectors["p"][b, o, i]))
            for o in range(spec.outputs):
                ctx.set(dut.bias[o], int(vectors["bias"][b, o]))
            got.append([ctx.get(dut.y[o]) for o in range(spec.outputs)])

    _run(dut, testbench)
    assert got == want


def test_port_widths_come_from_spec():
    spec = KernelSpec(neuron="threshold", kernel=(5, 5), width=16)
    dut = Kernel(spec)
    assert len(dut.x) == 25
    assert dut.y.shape().width == spec.output_width
    assert dut.bias.shape().width == spec.bias_width


def test_cell_rejects_bad_width():
    with pytest.raises(SpecError, match="width must be an integer from 2 to 32, not 1"):
        ThresholdCell(width=1)


def test_kernel_rejects_layer_spec():
    with pytest.raises(SpecError, match="use Layer"):
        Kernel(KernelSpec(outputs=2))
