"""Every micro-architecture equals the independent behavioural specification, for every input.

The same Yosys SAT miter as tests/testbench/test_spec_proof.py (testbench/spec/*.v, written
from docs/semantics.md), on the compressor-tree architectures at sizes that prove in seconds
(SAT time grows fast with the XOR-heavy trees: a 2x2 3-bit cmp-csa takes minutes); a broken
full adder in the emitted Verilog is refuted with a counterexample.
"""

import re

import pytest

from tn_hw.generate import Design, generate
from tn_hw.spec import KernelSpec
from tn_hw.testbench.spec_proof import prove_against_spec

PROVED = {
    "threshold-csa-2x2-w3": KernelSpec(neuron="threshold", kernel=(2, 2), width=3, arch="csa"),
    "threshold-csa-1x3-w4": KernelSpec(neuron="threshold", kernel=(1, 3), width=4, arch="csa"),
    "threshold-cmp-csa-1x2-w3": KernelSpec(neuron="threshold", kernel=(1, 2), width=3,
                                           arch="cmp-csa"),
    "mac-csa-1x2-w3": KernelSpec(neuron="mac", kernel=(1, 2), width=3, arch="csa"),
    "mac-merged-1x2-w3": KernelSpec(neuron="mac", kernel=(1, 2), width=3, arch="merged"),
    "adder-csa-1x2-w3": KernelSpec(neuron="adder", kernel=(1, 2), width=3, arch="csa"),
    # Pipelined: the specification delayed by the latency (temporal induction).
    "threshold-csa-1x2-w3-s2": KernelSpec(neuron="threshold", kernel=(1, 2), width=3,
                                          arch="csa", stages=2),
    "mac-merged-1x2-w3-s2": KernelSpec(neuron="mac", kernel=(1, 2), width=3, arch="merged",
                                       stages=2),
}


@pytest.mark.parametrize("name", PROVED)
def test_architecture_equals_spec(name, tmp_path):
    result = prove_against_spec(generate(PROVED[name]), keep_dir=tmp_path)
    assert result["proved"], result
    assert result["width_ok"], result


def test_broken_full_adder_is_refuted(tmp_path):
    """One full adder's carry loses a term of its majority: the proof finds an input."""
    design = generate(PROVED["threshold-csa-2x2-w3"])
    verilog, count = re.subn(r"assign (csa_l\d+_k\d+_fa0_c) = (\\\$\d+) +\| \\\$\d+ ;",
                             r"assign \1 = \2 ;", design.verilog, count=1)
    assert count == 1
    mutant = Design(design.kind, design.spec, design.top, verilog, design.manifest)
    result = prove_against_spec(mutant, keep_dir=tmp_path)
    assert not result["proved"] and result["refuted"], result
    assert result["counterexample"], result
