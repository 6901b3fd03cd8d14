"""Pipeline cut placement from delays measured with the sky130 liberty (issue 15, item 1).

The generator's default placement (:func:`tn_hw.hdl.pipeline.cut_points`) counts one unit per
adder level. Here the delay of each datapath operation comes from the library instead:

1. the kernel is built with a register at *every* boundary (``stages = max_stages``), so each
   register-to-register segment is exactly one operation, and mapped onto sky130 cells;
2. the project's static timing (:mod:`.sta`, ports registered) gives the latest arrival at the
   registers of each stage (:func:`stage_arrivals`, from the registers' names
   ``stage<j>_...`` in the netlist) and at the outputs;
3. an operation's delay is its segment's arrival less the register overhead (clock-to-Q of the
   launching flop and setup of the capturing one, :func:`register_overhead_ns`): what it adds
   to a register-to-register path (:func:`op_delays_ns`);
4. :func:`tn_hw.hdl.pipeline.best_cuts` places ``stages`` cuts on those ns delays, and the
   design is generated with the explicit ``KernelSpec.cuts``, recorded in the manifest
   (``pipeline_cuts``: model ``explicit``) and in the explore rows (cut model ``sky130``).

The sum of the operations of a segment is an upper side of its delay (ripple carries of
consecutive adders overlap), the same for every placement, so the order of the placements is
what the model gets right; the explore sweep measures each placed design again.
"""

from __future__ import annotations

import re

from .sta import INPUT_SLEW, REGISTER, lookup, read_timing
from .wheel import Sky130Error

__all__ = ["OUTPUT_STAGE", "op_delays_ns", "register_overhead_ns", "stage_arrivals"]

#: Key of the outputs in :func:`stage_arrivals` (the segment after the last register).
OUTPUT_STAGE = "out"

_STAGE = re.compile(r"(?:^|[.\\])stage(\d+)_")


def register_overhead_ns(liberty, load: float = 0.004) -> float:
    """Clock-to-Q (slower edge, at ``load`` pF and the input slew) plus setup (slower edge) of
    the register flop: what a register stage adds to a clock period."""
    timing = read_timing(str(liberty))
    cells = timing["cells"]
    flop = next((n for n in cells if n.split("__")[-1] == REGISTER), None)
    if flop is None:
        raise Sky130Error(f"the liberty has no flip-flop {REGISTER}")
    arc = next(a for a in cells[flop]["arcs"] if a["type"] == "rising_edge")
    clk_q = max(lookup(arc[f"cell_{e}"], timing["index_1"], timing["index_2"], INPUT_SLEW, load)
                for e in ("rise", "fall"))
    return clk_q + max(cells[flop]["setup"].values())


def stage_arrivals(report: dict, top: str, endpoints: dict) -> dict:
    """``{stage j (int): latest arrival ns at its registers' D, setup included,
    "out": latest arrival at an output}`` of a mapped netlist (``write_json``), from the
    ``endpoints`` of :func:`~tn_hw.synth.sky130.sta.critical_path`; a flop's stage is read from
    the name of the net its ``Q`` drives (``stage<j>_<value><k>``)."""
    module = report["modules"][top]
    stage_of_bit = {}
    for name, net in module.get("netnames", {}).items():
        match = _STAGE.search(name)
        if match:
            for bit in net["bits"]:
                stage_of_bit.setdefault(bit, int(match.group(1)))
    out: dict = {}
    outputs = {n for n, p in module["ports"].items() if p["direction"] == "output"}
    for label, time in endpoints.items():
        if label in outputs:
            key = OUTPUT_STAGE
        else:
            cell = module["cells"].get(label)
            bits = (cell or {}).get("connections", {}).get("Q", [])
            key = stage_of_bit.get(bits[0]) if bits else None
            if key is None:
                continue
        out[key] = round(max(time, out.get(key, time)), 4)
    return out


def op_delays_ns(arrivals: dict, stages: int, overhead: float) -> list[float] | None:
    """Delay (ns) of each of the ``stages + 1`` operations of a design registered at every
    boundary, from its :func:`stage_arrivals`; ``None`` when a stage has no register found."""
    keys = [*range(1, stages + 1), OUTPUT_STAGE]
    if any(k not in arrivals for k in keys):
        return None
    return [round(max(arrivals[k] - overhead, 0.0), 4) for k in keys]
