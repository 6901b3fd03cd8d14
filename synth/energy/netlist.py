"""Gate netlists of the area flow, for the gate-level activity simulation.

The generic flow (``generic.ys``, exactly as the area tables run it) with :data:`NETLIST_TAIL`
appended writes the netlist that :class:`~tn_hw.synth.energy.gatesim.Netlist` simulates; the
run's ``stat`` is checked against :func:`~tn_hw.synth.area.flow.synthesize` of the same design.
Kept apart from the simulator (:mod:`.gatesim`), which needs no synthesis flow: the sky130
power model (:mod:`tn_hw.synth.sky130.power`) simulates netlists the area flow itself made.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ..area.flow import TARGETS, synthesize
from ..tools import ResultCache, SynthError, content_key, find_yosys, run_tool, yosys_version
from .gatesim import GATE_TRANSISTORS, Netlist

__all__ = ["NETLIST_TAIL", "synthesize_netlist"]

#: Lines appended to ``generic.ys`` (after its ``stat`` lines, so the figures are untouched):
#: short names for the private wires and cells, then the netlist in two forms. The text is part
#: of the netlist cache key, so it keeps the module's old name (tn_hw.synth.gatesim).
NETLIST_TAIL = """
# -- netlist for gate-level simulation (tn_hw.synth.gatesim); the stat above is unchanged --
rename -enumerate
write_verilog -noattr -noexpr netlist.v
write_json netlist.json
"""


def synthesize_netlist(verilog: str, top: str, *, signed=None, cache_dir=None, cache=True,
                       yosys=None, timeout: float = 1800) -> tuple[Netlist, dict]:
    """Run the generic flow on one design and return its gate netlist and the flow's result.

    The script is ``generic.ys`` exactly as the area tables run it, followed by
    :data:`NETLIST_TAIL`. The ``stat`` of this run is compared with
    :func:`~tn_hw.synth.area.flow.synthesize` of the same design (the area tables' cached figures),
    and the :data:`GATE_TRANSISTORS` table must add up to Yosys's transistor total.

    Returns
    -------
    (Netlist, dict)
        The netlist and the :func:`~tn_hw.synth.area.flow.synthesize` result (gates, transistors,
        cells by type).

    Raises
    ------
    SynthError
        Yosys missing or failing, or the checks above failing.
    """
    flow = TARGETS["generic"]
    area = synthesize(verilog, top, flow, cache_dir=cache_dir, cache=cache, yosys=yosys,
                      timeout=timeout)
    executable = find_yosys(yosys)
    script = flow.script_text(top=top) + NETLIST_TAIL
    key = content_key(verilog, script, yosys_version(executable))
    store = ResultCache(cache_dir, enabled=cache).sub("netlist")
    names = ("netlist.json", "netlist.v", "stat.json")
    texts = store.load_files(key, names)
    if texts is None:
        with tempfile.TemporaryDirectory(prefix="tn-hw-netlist-") as scratch:
            work = Path(scratch)
            (work / "design.v").write_text(verilog)
            (work / "run.ys").write_text(script)
            what = f"netlist synthesis of {top}"
            run_tool([executable, "-q", "-l", "run.log", "run.ys"], work, log="run.log",
                     timeout=timeout, what=what)
            missing = [name for name in names if not (work / name).exists()]
            if missing:
                raise SynthError(f"{what} wrote no {', '.join(missing)}")
            texts = {name: (work / name).read_text() for name in names}
            store.store_files(key, work, names)
    stat = json.loads(texts["stat.json"])
    design = stat.get("design") or stat["modules"][top]
    cells = dict(sorted(design.get("num_cells_by_type", {}).items()))
    if cells != area["cells_by_type"]:
        raise SynthError(f"the netlist run of {top} counts other cells than the area flow: "
                         f"{cells} vs {area['cells_by_type']}")
    netlist = Netlist.from_json(json.loads(texts["netlist.json"]), top, signed=signed,
                                verilog=texts["netlist.v"])
    netlist.json_text = texts["netlist.json"]
    counted = {}
    for kind in netlist.types:
        counted[kind] = counted.get(kind, 0) + 1
    if dict(sorted(counted.items())) != cells:
        raise SynthError(f"the netlist JSON of {top} holds other gates than its stat")
    transistors = sum(GATE_TRANSISTORS[kind] for kind in netlist.types)
    if transistors != area["metrics"]["transistors"]:
        raise SynthError(f"per-gate transistor table gives {transistors} for {top}, Yosys "
                         f"{area['metrics']['transistors']}")
    return netlist, area
