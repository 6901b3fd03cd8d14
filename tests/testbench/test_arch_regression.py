"""The compressor-tree architectures (``--arch``) under the cocotb regression, and their planted
bugs caught by it (tests/helpers/arch_mutants.py).

Small designs with the full-width bias and random polarities (both signs of every threshold
cell); the 3x3 8-bit kernels of every architecture also run in the regression matrix
(testbench/matrix.py).
"""

import pytest

from helpers.arch_mutants import ARCH_MUTANTS, emit_arch_mutant
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.testbench.runner import run_regression

VARIANTS = [("threshold", "csa"), ("threshold", "cmp-csa"), ("mac", "csa"), ("mac", "merged"),
            ("adder", "csa")]

# Every architecture's 3x3 8-bit kernel runs in the regression matrix (test_regression.py), so
# the CI tier here runs the layers of the strongest of each side and two pipelined kernels;
# the other small shapes are marked slow.
CI_LAYERS = {("threshold", "csa"), ("mac", "merged")}
DESIGNS = [
    pytest.param(KernelSpec(neuron=neuron, arch=arch, kernel=kernel, width=width,
                            outputs=outputs),
                 id=f"{neuron}-{arch}-{kernel[0]}x{kernel[1]}-w{width}"
                    f"{'-o2' if outputs > 1 else ''}",
                 marks=() if outputs > 1 and (neuron, arch) in CI_LAYERS else pytest.mark.slow)
    for neuron, arch in VARIANTS
    for kernel, width, outputs in [((2, 2), 3, 1), ((1, 3), 5, 1), ((1, 2), 4, 2)]
] + [
    # Pipelined: registers between compressor levels, checked at the manifest's latency.
    pytest.param(KernelSpec(arch="csa", kernel=(2, 2), width=4, stages=2), id="threshold-csa-s2"),
    pytest.param(KernelSpec(neuron="mac", arch="merged", kernel=(1, 3), width=4, stages=3),
                 id="mac-merged-s3"),
    pytest.param(KernelSpec(arch="cmp-csa", kernel=(1, 3), width=4, stages=1), id="cmp-csa-s1",
                 marks=pytest.mark.slow),
    pytest.param(KernelSpec(neuron="adder", arch="csa", kernel=(2, 2), width=4, stages=2),
                 id="adder-csa-s2", marks=pytest.mark.slow),
    pytest.param(KernelSpec(neuron="mac", arch="csa", kernel=(1, 2), width=4, stages=2),
                 id="mac-csa-s2", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("spec", DESIGNS)
def test_variant_is_bit_exact(spec, tmp_path, icarus):
    name = spec.top_name
    design = generate(spec)
    assert design.manifest["parameters"]["arch"] == spec.arch
    assert design.manifest["latency"] == spec.stages
    assert design.top.endswith("_" + spec.arch.replace("-", "_"))
    result = run_regression(design, tmp_path, random_vectors=1000, seed=7)
    assert result.passed, f"{name}: {result.failed}; see {result.log}"
    assert result.mismatches == 0
    assert result.tests["seeded_random"]["vectors"] == 1000


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=() if ARCH_MUTANTS[name][3] else pytest.mark.slow)
    for name in sorted(ARCH_MUTANTS)])
def test_arch_mutant_is_caught(name, tmp_path, icarus):
    _kernel, neuron, arch, detectable = ARCH_MUTANTS[name]
    spec = KernelSpec(neuron=neuron, arch=arch, kernel=(2, 2), width=4)
    result = run_regression(emit_arch_mutant(name, spec), tmp_path, random_vectors=300,
                            seed=12345)
    if detectable:
        assert not result.passed and result.mismatches > 0
        log = result.log.read_text()
        assert "reproduce with TN_HW_SEED=12345" in log and "x=[" in log
    else:
        # At a tie the masked operands give x - w = 0: the mutant computes the same integers.
        assert result.passed and result.mismatches == 0
