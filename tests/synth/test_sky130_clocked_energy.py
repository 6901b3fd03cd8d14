"""Energy of clocked (``--stages``) designs on the ``sky130`` target: the analysis of
``tn_hw.synth.sky130.target.Sky130Flow`` runs ``energy_figures(..., flops=True)`` as
``tn-hw explore`` does, under a cache-key part that only clocked designs get."""

from __future__ import annotations

import json

import pytest

from tn_hw.generate import generate
from tn_hw.spec import KernelSpec
from tn_hw.synth.area.flow import synthesize
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


def test_clocked_design_reports_its_clocked_energy(tmp_path):
    design = _verilog(1)
    keep = tmp_path / "run"
    result = synthesize(design.verilog, design.top, "sky130", keep_dir=keep,
                        cache_dir=tmp_path / "cache")
    m = result["metrics"]
    report = json.loads((keep / "netlist.json").read_text())
    clocked = energy_figures(report, design.top, default_liberty(), vectors=ENERGY_VECTORS,
                             seed=ENERGY_SEED, flops=True)
    assert clocked["clock_pj"] > 0
    assert m["energy_pj"] == clocked["energy_pj"] and m["energy_unit_pj"] is None
    assert m["power_uw"] == pytest.approx(m["energy_pj"] * 50 + m["leakage_nw"] / 1e3, abs=1e-3)
    assert result["details"]["energy"] == clocked

    from tn_hw.commands.synth import _sky130_text

    text = _sky130_text(result)
    assert f"energy {m['energy_pj']:.3f} pJ/inference" in text and "n/a" not in text
