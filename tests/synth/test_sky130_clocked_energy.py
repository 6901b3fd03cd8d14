"""Energy of clocked (``--stages``) designs on the ``sky130`` target: the analysis of
``tn_hw.synth.sky130.target.Sky130Flow`` runs ``energy_figures(..., flops=True)`` as
``tn-hw explore`` does, under a cache-key part that only clocked designs get."""

from __future__ import annotations

import json

import pytest

from tn_hw.cli import main
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.synth.sky130.liberty import default_liberty
from tn_hw.synth.sky130.power import energy_figures
from tn_hw.synth.sky130.target import (
    ANALYSIS,
    CLOCKED_ENERGY,
    ENERGY_SEED,
    ENERGY_VECTORS,
    Sky130Flow,
)


def _verilog(stages):
    return generate(KernelSpec(neuron="threshold", kernel=(1, 3), width=4, stages=stages))


def test_only_clocked_designs_get_the_clocked_energy_key_part():
    flow = Sky130Flow()
    plain = flow.key_parts()
    assert plain[-1] == ANALYSIS and CLOCKED_ENERGY not in plain
    # combinational designs keep the key they had (cached and committed figures stay valid)
    assert flow.key_parts(_verilog(0).verilog) == plain
    assert flow.key_parts(_verilog(1).verilog) == [*plain, CLOCKED_ENERGY]
    # no energy analysis: nothing to re-key
    quiet = Sky130Flow(energy=False)
    assert quiet.key_parts(_verilog(1).verilog) == quiet.key_parts()


def test_clocked_design_reports_its_clocked_energy(tmp_path, capsys):
    """``tn-hw synth --stages 1 --target sky130``: the printed and JSON energy is
    ``energy_figures(..., flops=True)`` of the mapped netlist."""
    design = _verilog(1)
    keep, out = tmp_path / "keep", tmp_path / "synth.json"
    assert main(["synth", "--neuron", "threshold", "--kernel", "1x3", "--width", "4",
                 "--stages", "1", "--target", "sky130", "--keep", str(keep), "--json", str(out),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())["results"][0]
    assert result["top"] == design.top
    m = result["metrics"]
    report = json.loads((keep / "sky130" / "netlist.json").read_text())
    clocked = energy_figures(report, design.top, default_liberty(), vectors=ENERGY_VECTORS,
                             seed=ENERGY_SEED, flops=True)
    assert clocked["clock_pj"] > 0
    assert m["energy_pj"] == clocked["energy_pj"] and m["energy_unit_pj"] is None
    assert m["power_uw"] == pytest.approx(m["energy_pj"] * 50 + m["leakage_nw"] / 1e3, abs=1e-3)
    assert result["details"]["energy"] == clocked
    assert f"energy {m['energy_pj']:.3f} pJ/inference (zero delay; registers transparent" \
        in printed and "n/a" not in printed
