"""Shared checks of the sky130 cell-map recipes' netlists (tests/synth/test_system_cell_map.py,
tests/synth/test_system_buffered.py): the same checks on the netlist of each recipe."""

from types import SimpleNamespace

from tn_hw.synth.sky130.recipes import recipe_description
from tn_hw.synth.system import (
    netlist_logits,
    netlist_regression,
    plant_netlist_bug,
    run_system,
    task_test_data,
)

#: The gate occurrence both recipes' swap checks plant their bug at (ball3-test reaches it).
SWAP_AT = 150


def code_lines(script: str) -> list[str]:
    """The lines of a Yosys script that do something (no blanks, no comments)."""
    return [line for line in script.splitlines() if line and not line.startswith("#")]


def check_logits_and_swap(net, design, netlist, swap: str) -> None:
    """Zero-delay gate simulation of the mapped cells on 20 test samples gives the golden
    logits, integers compared; the same check fails once gate ``SWAP_AT`` is swapped (``swap``
    names the swap, e.g. ``"and2_1 -> or2_1"``)."""
    _, x, golden = task_test_data(net, 20)
    assert (netlist_logits(design, netlist, x) == golden.numpy()).all()
    mutant, what = plant_netlist_bug(netlist, SWAP_AT)
    assert what.endswith(swap)
    assert (netlist_logits(design, mutant, x) != golden.numpy()).any(axis=1).sum() > 0


def check_stream_regression(net, netlist, tmp_path) -> None:
    """cocotb + Icarus with the cells' functional models, gaps and back-pressure: 0 mismatches
    on 50 samples, and the swap at ``SWAP_AT`` caught."""
    report = netlist_regression(net, tmp_path / "gate", samples=50, netlist=netlist)
    assert report["mismatch_count"] == 0, report["mismatches"]
    assert report["passed"], report["reason"]
    report = netlist_regression(net, tmp_path / "mutant", samples=20, netlist=netlist,
                                mutate=SWAP_AT)
    assert not report["passed"] and report["mismatch_count"] > 0


def run_system_recorded(monkeypatch, model, cell_map):
    """``run_system(model, "sky130", cell_map=...)`` with the sky130 figures and the clocked
    export stubbed (neither is under test): the ``(network, cell_map)`` pairs the figures were
    asked for, and the result."""
    import tn_hw.synth.system as system

    seen = []

    def figures(net, *, cell_map, **_):
        seen.append((net.name, cell_map))
        return {"cell_map": cell_map, "synthesis": recipe_description(cell_map),
                "fmax_mhz": 100.0, "area_um2": 1.0, "energy_pj": 1.0, "energy_unit_pj": 1.0,
                "power_uw_50mhz": 50.0, "leakage_nw": 1.0, "proxy": None}

    def clocked(net):  # the export's manifest figures only
        return SimpleNamespace(top=f"t_{net.name}", manifest={
            "cells": 1, "latency": 4, "initiation_interval": 1})

    monkeypatch.setattr(system, "sky130_network", figures)
    monkeypatch.setattr(system, "_clocked", clocked)
    return seen, run_system(model, "sky130", cell_map=cell_map)
