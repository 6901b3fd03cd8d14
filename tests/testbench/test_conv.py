"""The streaming conv layer: its parameters, its golden model, and its cocotb regression."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from helpers.conv_mutants import CONV_MUTANTS
from tn_hw.conv import ConvSpec, parse_image
from tn_hw.generate import generate_conv
from tn_hw.reference.network import conv2d
from tn_hw.spec import KernelSpec, SpecError
from tn_hw.testbench.conv_runner import CONV_TESTS, run_conv_regression


def conv_spec(neuron="threshold", *, kernel=(3, 3), channels=2, outputs=4, width=4,
              image=(6, 5), stride=1, padding=0, reuse=1):
    k = KernelSpec(neuron=neuron, kernel=kernel, channels=channels, outputs=outputs, width=width)
    return ConvSpec(kernel=k, image=image, stride=stride, padding=padding, reuse=reuse)


# -- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"image": (2, 5)}, "image 2x5 is smaller than the kernel 3x3"),
    ({"image": (0, 5)}, "image sides must be an integer from 1 to 1024, not 0"),
    ({"stride": 3}, "stride must be 1 or 2, not 3"),
    ({"padding": 3}, "padding must be an integer from 0 to 2, not 3"),
    ({"padding": -1}, "padding must be an integer from 0 to 2, not -1"),
    ({"reuse": 5}, "reuse must be an integer from 1 to 4, not 5"),
    ({"reuse": 0}, "reuse must be an integer from 1 to 4, not 0"),
    ({"reuse": 3}, "reuse 3 with 4 outputs needs 2 kernels, which finish in 2 cycles: use "
                   "reuse 2"),
    ({"neuron": "sam"}, "built from the threshold or mac neuron, not 'sam'"),
])
def test_spec_rejects(kwargs, message):
    with pytest.raises(SpecError) as info:
        conv_spec(**kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("8", (8, 8)), ("16x12", (16, 12)), ("abc", "image must look like 8x8"),
    ("0x4", "image sides must be integers from 1 to 1024"),
])
def test_parse_image(text, message):
    if isinstance(message, tuple):
        assert parse_image(text) == message
    else:
        with pytest.raises(SpecError, match=message):
            parse_image(text)


def test_derived_figures_by_hand():
    spec = conv_spec(image=(6, 5), stride=2, padding=1, reuse=2)
    # padded 8 x 7; outputs (8 - 3) // 2 + 1 = 3 by (7 - 3) // 2 + 1 = 3
    assert spec.padded_image == (8, 7) and spec.out_image == (3, 3)
    assert spec.instances == 2 and spec.line_length == 4
    assert spec.cycles_per_frame == 8 * 7 + 1 * 9
    assert spec.latency == 3
    assert conv_spec(outputs=5, reuse=2).instances == 3  # the last phase leaves one kernel idle
    d = spec.describe()
    assert ConvSpec.from_description(d) == spec
    assert d["cycles_per_frame"] == 65 and d["out_image"] == [3, 3]


# -- golden model --------------------------------------------------------------------------------


def test_golden_conv_known_answer():
    # One 3x3 threshold kernel over a 3x3 image, padding 1, stride 2: windows at (0, 0),
    # (0, 2), (2, 0), (2, 2) of the padded 5x5 raster. Thresholds 0, polarity 0: each window
    # sums its positive pixels.
    x = torch.tensor([[[[1, -2, 3], [4, 5, -6], [7, 8, 9]]]])
    w = torch.zeros(1, 9, dtype=torch.int64)
    p = torch.zeros(1, 9, dtype=torch.int64)
    bias = torch.tensor([10])
    y = conv2d("threshold", x, w, p, bias, kernel=(3, 3), stride=2, padding=1)
    assert y.tolist() == [[[[10 + 1 + 4 + 5, 10 + 3 + 5], [10 + 4 + 5 + 7 + 8, 10 + 5 + 8 + 9]]]]
    p[0, 4] = 1  # the centre tap inhibitory: window (0, 0) has image pixel (0, 0) = 1 there
    y = conv2d("threshold", x, w, p, bias, kernel=(3, 3), stride=2, padding=1)
    assert y[0, 0, 0, 0] == 10 - 1 + 4 + 5


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_golden_mac_conv_equals_torch_conv(stride, padding):
    g = torch.Generator().manual_seed(stride * 10 + padding)
    x = torch.randint(-8, 8, (2, 3, 7, 6), generator=g)
    w = torch.randint(-8, 8, (4, 3 * 3 * 3), generator=g)
    bias = torch.randint(-100, 100, (4,), generator=g)
    y = conv2d("mac", x, w, None, bias, kernel=(3, 3), stride=stride, padding=padding)
    # float64 holds these small integer sums exactly
    want = F.conv2d(x.double(), w.reshape(4, 3, 3, 3).double(), bias.double(), stride=stride,
                    padding=padding)
    assert torch.equal(y, want.to(torch.int64))


# -- cocotb regression on the emitted Verilog ------------------------------------------------

# Non-slow tier: four small layers (the fourth runs through the CLI in
# tests/commands/test_cli.py) in which every pair of (neuron, stride, padding) values and
# every reuse value appear; the slow tier runs every combination on bigger images.
QUICK = [
    conv_spec("threshold", stride=1, padding=0, reuse=1),
    conv_spec("threshold", stride=2, padding=1, reuse=2),
    conv_spec("mac", stride=1, padding=1, reuse=4),
]  # mac, stride 2, padding 0, reuse 1: test_cli.py test_generate_and_regress_a_conv_layer
FULL = [conv_spec(neuron, kernel=(3, 3), channels=3, outputs=6, width=8, image=(12, 10),
                  stride=stride, padding=padding, reuse=reuse)
        for neuron in ("threshold", "mac") for stride in (1, 2) for padding in (0, 1)
        for reuse in (1, 3)]
FULL += [conv_spec("threshold", kernel=(5, 3), channels=1, outputs=5, width=6, image=(9, 7),
                   stride=2, padding=2, reuse=5),
         conv_spec("mac", kernel=(1, 1), channels=4, outputs=3, width=8, image=(4, 4),
                   reuse=3),
         # line buffers of length 0 (image as wide as the kernel); a one-pixel raster
         conv_spec("threshold", kernel=(3, 3), channels=2, outputs=4, width=8, image=(7, 3),
                   stride=2, reuse=2),
         conv_spec("mac", kernel=(1, 1), channels=2, outputs=2, width=8, image=(1, 1),
                   stride=2, reuse=2),
         # 16-bit MAC, 5x5 kernel, wide accumulators
         conv_spec("mac", kernel=(5, 5), channels=2, outputs=4, width=16, image=(9, 8),
                   padding=2, reuse=2)]


def _check(spec, tmp_path, **kwargs):
    result = run_conv_regression(generate_conv(spec), tmp_path, seed=7, **kwargs)
    assert result.passed, f"{spec.top_name}: {result.failed}; see {result.log}"
    assert set(result.tests) == set(CONV_TESTS) and result.mismatches == 0
    frames = kwargs.get("frames", 3)
    ho, wo = spec.out_image
    assert result.tests["full_rate"]["vectors"] == frames * ho * wo
    assert result.tests["backpressure"]["vectors"] == frames * ho * wo
    return result


@pytest.mark.parametrize("spec", QUICK, ids=[s.top_name for s in QUICK])
def test_conv_regression(spec, tmp_path, icarus):
    _check(spec, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("spec", FULL, ids=[s.top_name for s in FULL])
def test_conv_regression_full(spec, tmp_path, icarus, tier):
    _check(spec, tmp_path, frames=8 if tier == "full" else 4)


MUTANT_BASE = conv_spec("threshold", stride=1, padding=0, reuse=2)


@pytest.mark.parametrize("name", sorted(CONV_MUTANTS))
def test_conv_mutant_is_caught(name, tmp_path, icarus):
    """Plant a bug; the test that targets it must fail, naming the seed and the position."""
    mutant, overrides, test = CONV_MUTANTS[name]
    spec = dataclasses.replace(MUTANT_BASE, **overrides)
    design = generate_conv(spec, component=mutant(spec))
    result = run_conv_regression(design, tmp_path, seed=12345, tests=(test,))
    assert not result.passed and result.failed == [test]
    assert result.mismatches > 0
    log = result.log.read_text()
    assert "reproduce with TN_HW_SEED=12345" in log
    assert "expected" in log and "got" in log or "output valid dropped" in log


# -- the Python design in the Amaranth simulator (fast, before any Verilog) ---------------------


SIM_SPECS = {
    "threshold-s2-p1-r3": conv_spec("threshold", kernel=(2, 3), channels=1, outputs=3, width=4,
                                    image=(4, 5), stride=2, padding=1, reuse=3),
    "mac-s1-p1-r1": conv_spec("mac", kernel=(3, 3), channels=2, outputs=2, width=3,
                              image=(3, 4), padding=1),
    # line buffers of length 0 (the image is as wide as the kernel), folded
    "mac-narrow-r2": conv_spec("mac", kernel=(3, 3), channels=1, outputs=2, width=4,
                               image=(5, 3), reuse=2),
    # one-pixel raster: zero-width counters, stride 2
    "threshold-1x1-s2": conv_spec("threshold", kernel=(1, 1), channels=3, outputs=2, width=4,
                                  image=(1, 1), stride=2),
    "threshold-1x1-s2-3x2": conv_spec("threshold", kernel=(1, 1), channels=1, outputs=1,
                                      width=4, image=(3, 2), stride=2),
}


def _simulate(spec, layer_class):
    """Two frames with input gaps and back-pressure; return (got, expected) output pixels."""
    from amaranth.sim import Simulator

    dut = layer_class(spec)
    k = spec.kernel
    g = torch.Generator().manual_seed(1)
    lo, hi = k.input_range
    frames = torch.randint(lo, hi + 1, (2, k.channels, *spec.image), generator=g)
    w = torch.randint(lo, hi + 1, (k.outputs, k.n_inputs), generator=g)
    p = torch.randint(0, 2, w.shape, generator=g) if k.neuron == "threshold" else None
    blo, bhi = k.bias_range
    bias = torch.randint(max(blo, -50), min(bhi, 50) + 1, (k.outputs,), generator=g)
    want = conv2d(k.neuron, frames, w, p, bias, kernel=k.kernel, stride=spec.stride,
                  padding=spec.padding)
    expected = [want[f, :, r, c].tolist() for f in range(2) for r in range(spec.out_image[0])
                for c in range(spec.out_image[1])]
    pixels = [frames[f, :, r, c].tolist() for f in range(2) for r in range(spec.image[0])
              for c in range(spec.image[1])]
    got = []

    async def testbench(ctx):
        for o in range(k.outputs):
            ctx.set(dut.bias[o], int(bias[o]))
            for i in range(k.n_inputs):
                ctx.set(dut.w[o][i], int(w[o, i]))
                if p is not None:
                    ctx.set(dut.p[o][i], int(p[o, i]))
        beat, cycle = 0, 0
        while len(got) < len(expected) and cycle < 40 * spec.cycles_per_frame:
            offer = beat < len(pixels) and cycle % 3 != 1      # gaps in the input
            ready = cycle % 4 != 2                              # back-pressure
            ctx.set(dut.i.valid, offer)
            if offer:
                ctx.set(dut.i.payload, pixels[beat])
            ctx.set(dut.o.ready, ready)
            i_ready, o_valid, o_payload = ctx.get(dut.i.ready), ctx.get(dut.o.valid), \
                ctx.get(dut.o.payload)
            if o_valid and ready:
                got.append([int(v) for v in o_payload])
            if offer and i_ready:
                beat += 1
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return got, expected


@pytest.mark.parametrize("name", sorted(SIM_SPECS))
def test_conv_layer_in_amaranth_simulator(name):
    from tn_hw.hdl.conv import ConvLayer

    got, expected = _simulate(SIM_SPECS[name], ConvLayer)
    assert got == expected


@pytest.mark.parametrize("name", ["line-buffer-long", "stride-phase", "padding-stale"])
def test_amaranth_simulator_check_catches_planted_bug(name):
    mutant, _, _ = CONV_MUTANTS[name]
    got, expected = _simulate(SIM_SPECS["threshold-s2-p1-r3"], mutant)
    assert got != expected
