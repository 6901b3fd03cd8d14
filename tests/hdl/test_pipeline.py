# amaranth: UnusedElaboratable=no
"""Pipelined kernels and layers (``KernelSpec.stages``): the spec, where the registers go, the
Amaranth-simulator check against the golden model at ``spec.latency``, and stage-0 Verilog
that stays byte-identical to the combinational designs the area tables were measured on."""

import hashlib
import itertools
import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from tn_hw.generate import generate
from tn_hw.hdl import Kernel, Layer
from tn_hw.hdl.adder import AdderKernel, AdderLayer
from tn_hw.hdl.pipeline import Stager, cut_points, op_delays
from tn_hw.hdl.sam import SamKernel, SamLayer
from tn_hw.spec import KernelSpec, SpecError
from tn_hw.testbench.vectors import family_shapes, golden_outputs, random_vectors

HASHES = Path(__file__).resolve().parents[1] / "data" / "stage0_verilog.json"


# -- the spec ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, depth", [
    ({"kernel": (3, 3)}, 4), ({"kernel": (1, 1)}, 0), ({"kernel": (1, 2)}, 1),
    ({"kernel": (2, 2), "channels": 2}, 3), ({"neuron": "mac", "kernel": (5, 5)}, 5),
])
def test_max_stages_follow_the_tree(kwargs, depth):
    spec = KernelSpec(**kwargs)
    assert spec.tree_depth == depth
    assert spec.max_stages == depth + 1
    assert KernelSpec(**kwargs, stages=spec.max_stages).latency == spec.max_stages


@pytest.mark.parametrize("kwargs, message", [
    ({"stages": 6}, "stages must be an integer from 0 to 5, not 6"),
    ({"stages": -1}, "stages must be an integer from 0 to 5, not -1"),
    ({"stages": 1.0}, "stages must be an integer from 0 to 5, not 1.0"),
    ({"stages": True}, "stages must be an integer from 0 to 5, not True"),
    ({"kernel": (1, 1), "stages": 2}, "stages must be an integer from 0 to 1, not 2"),
    ({"neuron": "sam", "kernel": (1, 3), "stages": 4},
     "stages must be an integer from 0 to 3, not 4"),
])
def test_stages_errors(kwargs, message):
    with pytest.raises(SpecError) as info:
        KernelSpec(**kwargs)
    assert str(info.value) == message


def test_names_and_description():
    plain = KernelSpec(neuron="mac", kernel=(3, 3), width=8)
    staged = KernelSpec(neuron="mac", kernel=(3, 3), width=8, stages=2)
    assert plain.top_name == "tn_mac_k3x3_w8" and plain.latency == 0
    assert staged.top_name == "tn_mac_k3x3_w8_s2" and staged.latency == 2
    described = staged.describe()
    assert described["stages"] == 2 and described["latency"] == 2
    assert KernelSpec.from_description(described) == staged
    old = plain.describe()
    del old["stages"]  # manifests written before stages existed
    assert KernelSpec.from_description(old) == plain


def _longest(delays, cuts):
    edges = (0, *cuts, len(delays))
    return max(sum(delays[a:b]) for a, b in itertools.pairwise(edges))


def test_cuts_balance_the_delay_model():
    for neuron, kernel, width in [("threshold", (3, 3), 8), ("mac", (5, 5), 16),
                                  ("adder", (1, 3), 4)]:
        top = KernelSpec(neuron=neuron, kernel=kernel, width=width).max_stages
        delays = op_delays(KernelSpec(neuron=neuron, kernel=kernel, width=width))
        for stages in range(top + 1):
            spec = KernelSpec(neuron=neuron, kernel=kernel, width=width, stages=stages)
            cuts = cut_points(spec)
            assert len(cuts) == stages and list(cuts) == sorted(set(cuts))
            assert all(1 <= c <= top for c in cuts)
            # No other placement has a shorter longest segment.
            best = min(_longest(delays, cs)
                       for cs in itertools.combinations(range(1, top + 1), stages))
            assert _longest(delays, cuts) == best
    # MAC 3x3 8-bit, one stage: the multiplier (4 levels) is split from the tree, one level in.
    assert cut_points(KernelSpec(neuron="mac", stages=1)) == (2,)


# -- stage 0 stays the combinational design ------------------------------------------------


def _stage0_designs():
    return [KernelSpec(neuron=n, kernel=k, width=w, outputs=o, channels=c)
            for n in ("threshold", "mac", "adder", "sam")
            for k, w, o, c in [((3, 3), 8, 1, 1), ((1, 1), 4, 1, 1), ((5, 5), 16, 1, 1),
                               ((1, 3), 3, 2, 1), ((2, 2), 4, 3, 2)]]


def test_stage0_verilog_is_unchanged():
    """The Verilog of stages=0 hashes to what the generator emitted before pipelining existed
    (recorded with the same Amaranth; the committed area tables were measured on it)."""
    recorded = json.loads(HASHES.read_text())
    if metadata.version("amaranth") != recorded["amaranth"]:
        pytest.skip(f"hashes recorded with amaranth {recorded['amaranth']}, not "
                    f"{metadata.version('amaranth')}")
    for spec in _stage0_designs():
        text = generate(spec).verilog
        assert "clk" not in text
        assert hashlib.sha256(text.encode()).hexdigest() == recorded["designs"][spec.top_name], \
            spec.top_name


# -- behaviour in the Amaranth simulator ---------------------------------------------------


def _classes(spec):
    if spec.neuron == "sam":
        return SamKernel if spec.outputs == 1 else SamLayer
    if spec.neuron == "adder":
        return AdderKernel if spec.outputs == 1 else AdderLayer
    return Kernel if spec.outputs == 1 else Layer


def _ports(dut, family, shape):
    port = getattr(dut, family)
    if not shape:
        return [((), port)]
    return [(index, _index(port, index)) for index in np.ndindex(*shape)]


def _index(port, index):
    for i in index:
        port = port[i]
    return port


def run_pipelined(dut, spec, vectors):
    """Apply vector ``t`` in cycle ``t``; return ``y`` read in every cycle (``T + latency``)."""
    kind = "kernel" if spec.outputs == 1 else "layer"
    shapes = family_shapes(spec, kind)
    batch = len(vectors["x"])
    outputs = _ports(dut, "y", () if kind == "kernel" else (spec.outputs,))
    seen = []

    async def testbench(ctx):
        for t in range(batch + spec.latency):
            b = min(t, batch - 1)
            for family, shape in shapes.items():
                for index, port in _ports(dut, family, shape):
                    ctx.set(port, int(vectors[family][(b, *index)]))
            seen.append([ctx.get(port) for _, port in outputs])
            if spec.stages:
                await ctx.tick()
            else:
                await ctx.delay(1e-6)

    sim = Simulator(dut)
    if spec.stages:
        sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return np.array(seen, dtype=np.int64).reshape(len(seen), -1)


PIPELINED = [
    *[KernelSpec(neuron="threshold", kernel=(3, 3), width=6, stages=s) for s in range(6)],
    *[KernelSpec(neuron="mac", kernel=(1, 3), width=5, stages=s) for s in range(4)],
    *[KernelSpec(neuron="adder", kernel=(2, 2), width=4, stages=s) for s in (1, 3)],
    KernelSpec(neuron="threshold", kernel=(1, 1), width=4, stages=1),
    KernelSpec(neuron="threshold", kernel=(1, 3), outputs=3, width=4, stages=2),
    KernelSpec(neuron="mac", kernel=(2, 2), outputs=2, width=4, stages=3),
    *[KernelSpec(neuron="sam", kernel=(1, 3), width=4, stages=s) for s in (1, 3)],
    # Pruned rows of different lengths: every neuron still has the layer's latency.
    KernelSpec(neuron="sam", kernel=(1, 4), outputs=2, width=4, stages=2,
               mask=[[1, 0, 0, 0], [1, 1, 1, 1]], mask_min=[[0, 1, 1, 0], [1, 0, 0, 0]]),
]


@pytest.mark.parametrize("spec", PIPELINED, ids=lambda s: s.top_name)
def test_pipelined_matches_golden_at_latency(spec):
    kind = "kernel" if spec.outputs == 1 else "layer"
    vectors = random_vectors(spec, kind, np.random.default_rng(11), 60)
    want = golden_outputs(spec, kind, vectors)["y"].reshape(60, -1)
    seen = run_pipelined(_classes(spec)(spec), spec, vectors)
    got = seen[spec.latency:]
    assert got.tolist() == want.tolist()
    if spec.latency:
        # One cycle early is a different vector's result: the latency is not off by one.
        assert seen[spec.latency - 1:-1].tolist() != want.tolist()


class _BiasOneStageShort(Stager):
    """Planted bug: the bias skips the last register, so it meets the sum one cycle early."""

    def stage(self, boundary, values):
        staged = super().stage(boundary, values)
        if boundary == self.cuts[-1]:
            staged = dict(staged, bias=values["bias"])
        return staged


class _MutantKernel(Kernel):
    stager_class = _BiasOneStageShort


def test_pipelined_check_catches_a_short_bias_path():
    spec = KernelSpec(neuron="threshold", kernel=(2, 2), width=4, stages=2)
    vectors = random_vectors(spec, "kernel", np.random.default_rng(12), 60)
    want = golden_outputs(spec, "kernel", vectors)["y"].reshape(60, -1)
    assert run_pipelined(Kernel(spec), spec, vectors)[2:].tolist() == want.tolist()
    assert run_pipelined(_MutantKernel(spec), spec, vectors)[2:].tolist() != want.tolist()
