"""Generated designs equal independent behavioural specifications, for every input (Yosys SAT).

The specifications (testbench/spec/*.v) are written from docs/semantics.md without the
generator; tn_hw.testbench.spec_proof builds the miter. Small kernels of every family, with
bias, layers, a pruned SAM layer and pipelined designs (the specification delayed by the
latency, proved by temporal induction); planted bugs in the emitted Verilog are refuted with a
counterexample, and a change that does not alter the function (a tie broken the other way) is
proved equal. Sizes are kept small so that the file's CI part runs in well under a minute.
"""

import re

import pytest

from tn_hw.generate import Design, generate
from tn_hw.spec import KernelSpec
from tn_hw.testbench.spec_proof import (
    documented_bias_width,
    expected_output_width,
    kept_pairs,
    prove_against_spec,
)

PROVED = {
    "threshold-1x3-w4": KernelSpec(neuron="threshold", kernel=(1, 3), width=4),
    "threshold-2x2-w3": KernelSpec(neuron="threshold", kernel=(2, 2), width=3),
    "threshold-1x3-w5-bias3": KernelSpec(neuron="threshold", kernel=(1, 3), width=5,
                                         bias_width=3),
    "threshold-layer-1x2-o2-w3": KernelSpec(neuron="threshold", kernel=(1, 2), outputs=2,
                                            width=3),
    "mac-1x3-w4": KernelSpec(neuron="mac", kernel=(1, 3), width=4),
    "mac-2x2-w3": KernelSpec(neuron="mac", kernel=(2, 2), width=3),
    "mac-layer-1x2-o2-w3": KernelSpec(neuron="mac", kernel=(1, 2), outputs=2, width=3),
    "adder-1x3-w4": KernelSpec(neuron="adder", kernel=(1, 3), width=4),
    "adder-2x2-w3": KernelSpec(neuron="adder", kernel=(2, 2), width=3),
    "sam-2x2-w5": KernelSpec(neuron="sam", kernel=(2, 2), width=5),
    "sam-layer-1x3-o2-w4": KernelSpec(neuron="sam", kernel=(1, 3), outputs=2, width=4),
    "sam-pruned-layer-1x3-o2-w3": KernelSpec(neuron="sam", kernel=(1, 3), outputs=2, width=3,
                                             mask=((1, 0, 1), (0, 1, 1)),
                                             mask_min=((1, 1, 0), (0, 0, 1))),
    # Pipelined: the specification delayed by the latency, every cycle after the first L.
    "threshold-1x3-w3-s2": KernelSpec(neuron="threshold", kernel=(1, 3), width=3, stages=2),
    "mac-1x3-w3-s3": KernelSpec(neuron="mac", kernel=(1, 3), width=3, stages=3),
    "sam-2x2-w3-s2": KernelSpec(neuron="sam", kernel=(2, 2), width=3, stages=2),
    "adder-1x3-w3-s2": KernelSpec(neuron="adder", kernel=(1, 3), width=3, stages=2),
    "threshold-layer-1x2-o2-w3-s2": KernelSpec(neuron="threshold", kernel=(1, 2), outputs=2,
                                               width=3, stages=2),
}


#: Proved in the slow tier only: the 4-input threshold and adder kernels take 4-8 s of SAT each,
#: and their 3-input twins (1x3, widths 3-5, pipelined too) stay in the CI tier.
SLOW = {"threshold-2x2-w3", "adder-2x2-w3"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow if name in SLOW
                                               else ()) for name in PROVED])
def test_design_equals_spec(name, tmp_path):
    spec = PROVED[name]
    result = prove_against_spec(generate(spec), keep_dir=tmp_path)
    assert result["proved"], result
    assert result["width_ok"], result
    if spec.has_bias and not name.endswith("bias3"):
        bias = [p["width"] for p in generate(spec).manifest["ports"] if p["port"] == "bias"]
        assert set(bias) == {documented_bias_width(spec.neuron, spec.n_inputs, spec.width)}


def test_documented_widths():
    """The independent width formulas reproduce the examples docs/semantics.md gives."""
    assert documented_bias_width("threshold", 9, 8) == 13
    assert expected_output_width("threshold", 9, 8, 13) == 14
    assert expected_output_width("adder", 9, 8, 13) == 14
    assert expected_output_width("sam", 9, 8, None) == 10
    assert kept_pairs(((1, 0, 1), (0, 1, 1))) == [(0, 0), (0, 2), (1, 1), (1, 2)]


def _mutant(design: Design, pattern: str, replacement: str) -> Design:
    verilog, count = re.subn(pattern, replacement, design.verilog, count=1)
    assert count == 1, pattern
    return Design(design.kind, design.spec, design.top, verilog, design.manifest)


MUTANTS = {
    # max(x - w, 0) loses its clamp: a cell passes x - w also when x <= w.
    "threshold-no-clamp": (KernelSpec(neuron="threshold", kernel=(1, 3), width=3),
                           r"assign r = diff\[\d+\] \? \d+'h0 : (diff\[\d+:0\]);",
                           r"assign r = \1;"),
    # Polarity swapped in one cell: cell 0 adds +r where p says -r and the other way round.
    "threshold-polarity": (KernelSpec(neuron="threshold", kernel=(1, 3), width=3),
                           r"\.p\(p__0\)", ".p(~p__0)"),
    # The bias is zero-extended, not sign-extended.
    "mac-unsigned-bias": (KernelSpec(neuron="mac", kernel=(1, 3), width=3),
                          r"\$signed\(bias\)", "bias"),
    # The min side selects the larger sum.
    "sam-min-is-max": (KernelSpec(neuron="sam", kernel=(1, 3), width=3),
                       r"\) < \$signed\(", ") > $signed("),
    # A pipelined design whose output register is bypassed (latency one short).
    "threshold-pipelined-short": (KernelSpec(neuron="threshold", kernel=(1, 3), width=3,
                                             stages=2), None, None),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_planted_bug_is_refuted(name, tmp_path):
    spec, pattern, replacement = MUTANTS[name]
    design = generate(spec)
    if pattern is None:
        # Same Verilog one stage shorter, under the manifest that promises the longer latency.
        import dataclasses
        short = generate(dataclasses.replace(spec, stages=spec.stages - 1))
        mutant = Design(design.kind, design.spec, design.top,
                        short.verilog.replace(short.top, design.top), design.manifest)
    else:
        mutant = _mutant(design, pattern, replacement)
    result = prove_against_spec(mutant, keep_dir=tmp_path)
    assert not result["proved"] and result["refuted"], result
    assert result["counterexample"], result
    print(f"{name}: counterexample\n" + "\n".join(result["counterexample"]))


def test_tie_break_is_not_a_bug(tmp_path):
    """SAM's max with ``>=`` instead of ``>`` picks another index on a tie, not another value:
    the proof shows it equal, so the checker does not refute changes that keep the function."""
    design = generate(KernelSpec(neuron="sam", kernel=(1, 3), width=3))
    mutant = _mutant(design, r"\) > \$signed\(", ") >= $signed(")
    assert prove_against_spec(mutant, keep_dir=tmp_path)["proved"]
