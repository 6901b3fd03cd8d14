"""The cocotb regression on emitted Verilog (Icarus), and the mutation tests of its checker."""

import pytest

from helpers.mutants import MUTANTS, emit_mutant
from tn_hw.spec import KernelSpec
from tn_hw.testbench.matrix import regression_matrix
from tn_hw.testbench.runner import TIERS, run_regression

MATRIX = regression_matrix()


def in_ci_tier(config) -> bool:
    """Whether a matrix configuration runs in the CI tier (``-m "not slow"``).

    The checker is the same for every configuration; the CI tier keeps every cell, every 3x3
    kernel and layer (each family, width, architecture and sparse mask), the largest kernel
    (7x7) at 16 bit, and one 1x1 and one 3x3x3 kernel per family. The 5x5 kernels and the other
    widths of 1x1, 7x7 and 3x3x3 run in the slow tier (``pytest -m slow``), which keeps the
    whole matrix.
    """
    shape = config.id.split("-")[1]
    width = config.spec.width
    if config.kind == "cell" or shape == "3x3":
        return True
    return {"1x1": 4, "7x7": 16, "3x3x3": 8}.get(shape) == width


@pytest.mark.parametrize("config", [
    pytest.param(c, id=c.id, marks=() if in_ci_tier(c) else pytest.mark.slow) for c in MATRIX])
def test_matrix(config, tier, tmp_path, icarus):
    result = run_regression(config.generate(), tmp_path, tier=tier)
    assert result.passed, f"{config.id}: {result.failed}; see {result.log}"
    assert result.mismatches == 0
    expected_tests = {"directed", "seeded_random"}
    if config.kind == "cell" and config.spec.width <= 6:
        expected_tests.add("exhaustive")
        lo, hi = config.spec.input_range
        want = (hi - lo + 1) ** 2 * (2 if config.spec.neuron == "threshold" else 1)
        assert result.tests["exhaustive"]["vectors"] == want
    assert set(result.tests) == expected_tests
    assert result.tests["seeded_random"]["vectors"] == TIERS[tier]


def test_matrix_covers_the_issue():
    ids = {c.id for c in MATRIX}
    for neuron in ("threshold", "mac"):
        for width in (4, 8, 16):
            for shape in ("1x1", "3x3", "5x5", "7x7", "3x3x3"):
                assert f"{neuron}-{shape}-w{width}" in ids
        for width in (2, 32):
            assert f"{neuron}-cell-w{width}" in ids
    assert any(c.kind == "layer" and c.spec.outputs > 1 for c in MATRIX)


def test_ci_tier_keeps_every_family_and_architecture():
    ci = [c for c in MATRIX if in_ci_tier(c)]
    families = {(c.spec.neuron, c.spec.arch) for c in MATRIX}
    assert {(c.spec.neuron, c.spec.arch) for c in ci} == families
    assert {c.spec.width for c in ci} == {c.spec.width for c in MATRIX}
    assert any(c.spec.n_inputs == 49 for c in ci) and len(ci) < len(MATRIX)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught(name, tmp_path, icarus):
    """Plant a bug; the regression must fail on it, name the seed and show the vector."""
    _kernel, detectable = MUTANTS[name]
    spec = KernelSpec(neuron="threshold", kernel=(3, 3), width=8)
    result = run_regression(emit_mutant(name, spec), tmp_path, random_vectors=500, seed=12345)
    log = result.log.read_text()
    if detectable:
        assert not result.passed
        assert result.mismatches > 0
        assert "reproduce with TN_HW_SEED=12345" in log
        assert "expected" in log and "got" in log and "x=[" in log
    else:
        # x == w gives x - w == 0, so "x >= w" and "x > w" agree: no test can tell them apart.
        assert result.passed and result.mismatches == 0


def test_seed_changes_vectors(tmp_path, icarus):
    from tn_hw.generate import generate

    design = generate(KernelSpec(kernel=(1, 1), width=4))
    a = run_regression(design, tmp_path / "a", random_vectors=10, seed=1)
    b = run_regression(design, tmp_path / "b", random_vectors=10, seed=2)
    assert a.passed and b.passed and (a.seed, b.seed) == (1, 2)
