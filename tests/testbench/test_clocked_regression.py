"""cocotb regressions of clocked designs (Icarus): pipelined kernels and layers with one vector
per clock, stream designs under valid gaps, back-pressure and mid-stream resets; and the
mutation tests that show each check catches the bug it is there for."""

import pytest

from helpers.pipe_mutants import (
    PLAIN_MUTANTS,
    STREAM_MUTANTS,
    emit_plain_mutant,
    emit_stream_mutant,
)
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.testbench.runner import TIERS, run_regression
from tn_hw.testbench.stream_runner import STREAM_TESTS

QUICK_VECTORS = 400


def _spec(text):
    """``neuron-RxC-wW-sS[-oO]`` -> KernelSpec."""
    parts = text.split("-")
    rows, cols = (int(v) for v in parts[1].split("x"))
    fields = {p[0]: int(p[1:]) for p in parts[2:]}
    return KernelSpec(neuron=parts[0], kernel=(rows, cols), width=fields["w"],
                      stages=fields["s"], outputs=fields.get("o", 1))


PIPELINED = ["threshold-3x3-w8-s2", "mac-1x3-w5-s3-o2"]
PIPELINED_SLOW = [f"{n}-{k}-w{w}-s{s}" for n, k, w, top in [
    ("threshold", "3x3", 8, 5), ("mac", "3x3", 8, 5), ("adder", "2x2", 6, 3),
    ("threshold", "5x5", 16, 6), ("mac", "5x5", 16, 6), ("threshold", "1x1", 4, 1)]
    for s in range(1, top + 1)] + ["threshold-3x3-w6-s4-o4", "mac-2x2-w8-s3-o3",
                                   "sam-3x3-w8-s3", "sam-1x3-w4-s2-o3"]
# mac-3x3-w8-s1 moved to the slow tier (issue 16): test_simulators.py runs a pipelined
# MAC and two streams on both simulators.
STREAM = ["threshold-2x2-w4-s2"]
STREAM_SLOW = [f"{n}-{k}-w{w}-s{s}" for n, k, w, top in [
    ("threshold", "3x3", 8, 5), ("mac", "3x3", 8, 5), ("adder", "3x3", 8, 5),
    ("threshold", "1x1", 2, 1), ("mac", "5x5", 16, 6)] for s in range(top + 1)] + [
    "threshold-3x3-w8-s3-o4", "mac-1x3-w4-s2-o3", "threshold-1x3-w4-s0-o2",
    "adder-2x2-w4-s1-o2", "sam-1x3-w4-s0-o2", "sam-2x2-w6-s2", "sam-1x3-w4-s3-o2"]


PIPELINED_SLOW = [n for n in PIPELINED_SLOW if n not in PIPELINED]
STREAM_SLOW = [n for n in STREAM_SLOW if n not in STREAM]


def _check(result, expected_tests):
    assert result.passed, f"{result.top}: {result.failed}; see {result.log}"
    assert result.mismatches == 0
    assert set(result.tests) == set(expected_tests)


@pytest.mark.parametrize("name", PIPELINED + [pytest.param(n, marks=pytest.mark.slow)
                                              for n in PIPELINED_SLOW])
def test_pipelined(name, tier, tmp_path, icarus):
    spec = _spec(name)
    vectors = TIERS[tier] if tier == "full" else QUICK_VECTORS
    design = generate(spec)
    assert design.manifest["latency"] == spec.latency == spec.stages
    assert design.manifest["clock"] and design.manifest["interface"] == "plain"
    result = run_regression(design, tmp_path, random_vectors=vectors)
    _check(result, {"directed", "seeded_random"})
    assert result.tests["seeded_random"]["vectors"] == vectors


@pytest.mark.parametrize("name", STREAM + [pytest.param(n, marks=pytest.mark.slow)
                                           for n in STREAM_SLOW])
def test_stream(name, tier, tmp_path, icarus):
    spec = _spec(name)
    vectors = TIERS[tier] if tier == "full" else QUICK_VECTORS
    design = generate(spec, stream=True)
    assert design.manifest["interface"] == "stream"
    assert design.manifest["latency"] == spec.latency
    assert bool(design.manifest["clock"]) == bool(spec.latency)
    result = run_regression(design, tmp_path, random_vectors=vectors)
    _check(result, STREAM_TESTS)
    log = result.log.read_text()
    if spec.latency:
        assert "beats in flight dropped by 3 resets" in log
    # Every random beat went through the random handshakes, and again through the resets.
    assert result.tests["random_handshake"]["vectors"] > vectors
    assert result.tests["reset_mid_stream"]["vectors"] == vectors


# -- mutation tests --------------------------------------------------------------------------

#: mutant -> the tests that must fail on it (others may fail too).
STREAM_CATCHERS = {
    "stall-ignores-ready": {"random_handshake"},
    "valid-not-reset": {"reset_mid_stream"},
    "valid-ignores-stall": {"random_handshake"},
    "stall-when-full": {"back_to_back"},
    "extra-stage": {"back_to_back", "random_handshake", "reset_mid_stream"},
}
# stall-ignores-ready: test_simulators.py catches it on Icarus and Verilator in the default
# tier (the same catcher asserted).
SLOW_MUTANTS = {("plain", "bias-skips-stage"), ("stream", "valid-ignores-stall"),
                ("stream", "extra-stage"), ("stream", "stall-ignores-ready")}


def _mutant_params(kind, names):
    return [pytest.param(n, marks=pytest.mark.slow) if (kind, n) in SLOW_MUTANTS else n
            for n in sorted(names)]


@pytest.mark.parametrize("name", _mutant_params("plain", PLAIN_MUTANTS))
def test_plain_mutant_is_caught(name, tmp_path, icarus):
    spec = KernelSpec(neuron="threshold", kernel=(2, 2), width=4, stages=2)
    result = run_regression(emit_plain_mutant(name, spec), tmp_path, random_vectors=300,
                            seed=4242)
    assert not result.passed and result.mismatches > 0
    assert "reproduce with TN_HW_SEED=4242" in result.log.read_text()


@pytest.mark.parametrize("name", _mutant_params("stream", STREAM_MUTANTS))
def test_stream_mutant_is_caught(name, tmp_path, icarus):
    spec = KernelSpec(neuron="threshold", kernel=(2, 2), width=4, stages=2)
    result = run_regression(emit_stream_mutant(name, spec), tmp_path, random_vectors=300,
                            seed=4242)
    assert not result.passed and result.mismatches > 0
    assert STREAM_CATCHERS[name] <= set(result.failed), result.failed
    assert "reproduce with TN_HW_SEED=4242" in result.log.read_text()
