"""Formal check (Yosys miter + temporal induction): every legal ``stages`` of small kernels and
layers equals the combinational design delayed by ``latency`` cycles; planted bugs are refuted.
The check itself is described in testbench/equiv.py and docs/semantics.md."""

import dataclasses

import pytest

from helpers.pipe_mutants import PLAIN_MUTANTS, emit_plain_mutant
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.testbench.equiv import check_pipeline

QUICK = [KernelSpec(neuron="threshold", kernel=(2, 2), width=3),
         KernelSpec(neuron="mac", kernel=(1, 3), width=4)]
SLOW = [KernelSpec(neuron="threshold", kernel=(1, 3), width=4),
        KernelSpec(neuron="threshold", kernel=(2, 2), width=4),
        KernelSpec(neuron="mac", kernel=(2, 2), width=3),
        KernelSpec(neuron="mac", kernel=(1, 3), width=3),
        KernelSpec(neuron="adder", kernel=(2, 2), width=4),
        KernelSpec(neuron="sam", kernel=(1, 3), width=4),
        KernelSpec(neuron="sam", kernel=(1, 3), outputs=2, width=3,
                   mask=[[1, 0, 1], [1, 1, 1]], mask_min=[[0, 1, 0], [1, 1, 0]]),
        KernelSpec(neuron="threshold", kernel=(1, 2), outputs=2, width=3),
        KernelSpec(neuron="mac", kernel=(1, 2), outputs=2, width=3)]


def _every_stage(bases, marks=()):
    return [pytest.param(dataclasses.replace(b, stages=s), marks=marks,
                         id=dataclasses.replace(b, stages=s).top_name)
            for b in bases for s in range(1, b.max_stages + 1)]


@pytest.mark.parametrize("spec", _every_stage(QUICK) + _every_stage(SLOW, pytest.mark.slow))
def test_pipelined_equals_delayed_combinational(spec, yosys, tmp_path):
    result = check_pipeline(generate(spec), generate(dataclasses.replace(spec, stages=0)),
                            yosys=yosys, keep_dir=tmp_path)
    assert result["proved"], result["summary"]
    assert result["latency"] == spec.latency
    assert (tmp_path / "equiv.ys").exists()


@pytest.mark.parametrize("name", sorted(PLAIN_MUTANTS))
def test_planted_bug_is_refuted(name, yosys):
    spec = KernelSpec(neuron="threshold", kernel=(2, 2), width=3, stages=2)
    result = check_pipeline(emit_plain_mutant(name, spec),
                            generate(dataclasses.replace(spec, stages=0)), yosys=yosys)
    assert not result["proved"]
    assert result["counterexample"], result["summary"]
