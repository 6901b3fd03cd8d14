"""The neuron-family registry (issue 13): a family defined in this file alone, outside every
project module, is generated, regressed bit-exactly under cocotb and Icarus, caught when its
hardware is wrong, and synthesized.

The family is ``y = bias + sum_i (x_i AND w_i)`` (bitwise AND of the two's-complement inputs:
the AND of two sign-extended numbers is the sign extension of their ``W``-bit AND, so the cell
output lies in the input range). The cocotb simulator is a fresh Python process: it finds the
family through ``TN_HW_FAMILIES``, which names this file.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tn_hw import neurons

THIS_FILE = str(Path(__file__).resolve())


def _cell_class():
    # Amaranth is imported when a cell is built, not when the family is registered (importing
    # the registry, and this file inside the simulator, stays light).
    from amaranth.hdl import Module, signed
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    class AndCell(wiring.Component):
        """``y = x & w``, ``W`` bits signed."""

        def __init__(self, *, width):
            self.width = width
            super().__init__({"x": In(signed(width)), "w": In(signed(width)),
                              "y": Out(signed(width))})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.y.eq(self.make_y())
            return m

        def make_y(self):
            return self.x & self.w

    return AndCell


def _golden_cell(x, w, p=None):
    import torch

    return torch.bitwise_and(x, w)


FAMILY = neurons.register(neurons.NeuronFamily(
    name="andsum",
    summary="test family: bias + sum of x AND w",
    cell_range=lambda lo, hi: (lo, hi),
    make_cell=lambda width: _cell_class()(width=width),
    golden_cell=_golden_cell,
    meanings={"w": "mask, signed two's complement",
              "y": "output: bias + sum of (x AND w), signed, exact",
              "cell_y": "cell output x AND w, signed"},
))


@pytest.fixture
def families_env(monkeypatch):
    """Let the simulator process register the family by loading this file."""
    monkeypatch.setenv(neurons.FAMILIES_VARIABLE, THIS_FILE)


def _spec(**kwargs):
    from tn_hw.spec import KernelSpec

    return KernelSpec(**({"neuron": "andsum", "kernel": (3, 3), "width": 6} | kwargs))


def test_builtin_families_and_lookup():
    from tn_hw.spec import NEURONS

    assert NEURONS == ("threshold", "mac", "sam", "adder")
    assert neurons.names()[:4] == NEURONS and "andsum" in neurons.names()
    assert neurons.get("andsum") is FAMILY
    with pytest.raises(KeyError):
        neurons.get("no-such-family")
    with pytest.raises(ValueError, match="already registered"):
        neurons.register(neurons.NeuronFamily(
            name="mac", cell_range=lambda lo, hi: (lo, hi), make_cell=None,
            golden_cell=_golden_cell, meanings=FAMILY.meanings))


def test_spec_reads_the_family():
    from tn_hw.errors import SpecError
    from tn_hw.hdl.pipeline import op_delays

    spec = _spec(outputs=2, stages=2)
    assert spec.cell_range == spec.input_range == (-32, 31)
    assert spec.sum_range == (-288, 279) and spec.has_bias
    assert spec.bias_width == spec.sum_width == 10
    assert spec.output_range == (-800, 790) and spec.output_width == 11
    assert op_delays(spec) == [1, 1, 1, 1, 1, 1]
    with pytest.raises(SpecError, match="only supported by the sam neuron, not 'andsum'"):
        _spec(mask=[[1] * 9])
    with pytest.raises(SpecError, match="neuron must be one of threshold, mac, sam, adder, "):
        _spec(neuron="nope")


def test_generate_writes_verilog_and_manifest(tmp_path):
    from tn_hw.generate import generate, generate_cell
    from tn_hw.manifest import load_manifest, write_design

    design = generate(_spec(outputs=3))
    assert "module tn_andsum_k3x3_o3_w6" in design.verilog
    write_design(design, tmp_path)
    manifest = load_manifest(tmp_path)
    assert manifest["parameters"]["neuron"] == "andsum"
    meanings = {p["port"]: p["meaning"] for p in manifest["ports"]}
    assert meanings["w"] == "mask, signed two's complement"
    assert meanings["y"].startswith("output vector: ") is False
    assert meanings["y"] == FAMILY.meanings["y"]
    assert "p" not in meanings and meanings["bias"] == "bias, signed two's complement"
    cell = generate_cell(neuron="andsum", width=4)
    assert {p["port"]: p["meaning"] for p in cell.manifest["ports"]}["y"] == \
        "cell output x AND w, signed"


def test_the_simulator_finds_the_family_through_the_environment(tmp_path):
    """What the cocotb process does: rebuild the spec from a manifest, in a fresh Python."""
    code = ("from tn_hw.spec import KernelSpec; "
            "print(KernelSpec.from_description({'neuron': 'andsum', 'kernel': [3, 3], "
            "'channels': 1, 'outputs': 1, 'width': 6, 'bias_width': None}).output_width)")
    env = dict(os.environ, **{neurons.FAMILIES_VARIABLE: THIS_FILE})
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "11"
    env.pop(neurons.FAMILIES_VARIABLE)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=False)
    assert "neuron must be one of" in done.stderr


@pytest.mark.parametrize("kwargs", [{}, {"outputs": 2, "stages": 2}], ids=["kernel", "layer-s2"])
def test_regression_passes(kwargs, tmp_path, icarus, families_env):
    from tn_hw.generate import generate
    from tn_hw.testbench.runner import run_regression

    design = generate(_spec(**kwargs))
    result = run_regression(design, tmp_path, random_vectors=500, seed=3)
    assert result.passed, f"{result.failed}; see {result.log}"
    assert result.mismatches == 0
    assert result.tests["seeded_random"]["vectors"] == 500
    assert result.tests["directed"]["vectors"] > 0


def test_planted_bug_is_caught(tmp_path, icarus, families_env):
    """The cell of input 4 computes ``x | w``: the regression must report mismatches."""
    from tn_hw.generate import emit_design
    from tn_hw.hdl.kernel import Kernel
    from tn_hw.testbench.runner import run_regression

    class OrCell(_cell_class()):
        def make_y(self):
            return self.x | self.w

    class MutantKernel(Kernel):
        def make_cell(self, index):
            if index == 4:
                return OrCell(width=self.spec.width)
            return super().make_cell(index)

    spec = _spec()
    design = emit_design(MutantKernel(spec), "kernel", spec, spec.top_name)
    result = run_regression(design, tmp_path, random_vectors=500, seed=3)
    assert not result.passed
    assert result.mismatches > 0
    assert set(result.failed) == {"directed", "seeded_random"}


def test_synthesizes_with_the_generic_flow(tmp_path, yosys):
    from tn_hw.generate import generate
    from tn_hw.synth.area import flow

    design = generate(_spec())
    result = flow.synthesize(design.verilog, design.top, "generic", cache_dir=tmp_path)
    assert result["metrics"]["transistors"] > 0 and result["metrics"]["gates"] > 0


def test_a_missing_plugin_is_one_clear_error(monkeypatch):
    from tn_hw.errors import TnHwError

    monkeypatch.setenv(neurons.FAMILIES_VARIABLE, "/no/such/family.py")
    with pytest.raises(TnHwError, match="TN_HW_FAMILIES: no such file '/no/such/family.py'"):
        neurons.get("unknown-family")
    monkeypatch.setenv(neurons.FAMILIES_VARIABLE, "no_such_module_xyz")
    with pytest.raises(TnHwError, match="cannot import 'no_such_module_xyz'"):
        neurons.get("unknown-family")


def test_architectures_are_part_of_the_spec():
    from tn_hw.errors import SpecError
    from tn_hw.spec import KernelSpec

    for name in neurons.names():
        assert next(iter(neurons.get(name).architectures)) == neurons.DEFAULT_ARCH
    spec = KernelSpec()
    assert spec.arch == "tree" and spec.describe()["arch"] == "tree"
    assert KernelSpec.from_description(spec.describe()) == spec
    with pytest.raises(SpecError, match="arch must be one of"):
        KernelSpec(arch="no-such-arch")
    with pytest.raises(ValueError, match="must start with"):
        neurons.NeuronFamily(name="bad_arch", cell_range=lambda lo, hi: (lo, hi),
                             make_cell=None, golden_cell=lambda x, w, p: x,
                             meanings={"w": "", "y": "", "cell_y": ""},
                             architectures={"csa": "no tree first"})
