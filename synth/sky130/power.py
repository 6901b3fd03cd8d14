"""Leakage and dynamic energy of a mapped sky130 netlist from the liberty (um^2, ns, pJ).

The gate-level activity simulation of the energy proxy
(:class:`~tn_hw.synth.energy.gatesim.Netlist`, bit-parallel, zero and unit delay) runs on the
sky130 netlist: each output pin of each cell is one evaluator gate whose function is the liberty
``function`` (the one validated against the wheel's functional models). Every toggle of a net
driven by cell output ``o`` costs

    E = (rise_power + fall_power) / 2  (internal energy of ``o``, averaged over its related pins)
        + C_load x VDD^2 / 2           (the net's load: fanout input pin capacitances)

with the internal-energy tables interpolated at the net's load and the input slew
:data:`~tn_hw.synth.sky130.sta.INPUT_SLEW`; a toggle of a primary input costs its load term only
(the driver is outside the design). ``rise_power + fall_power`` is the cell's own energy per
output cycle (the liberty removes the load's ``C V^2``, docs/results/sky130.md), hence the half
per toggle. Leakage is the sum of ``cell_leakage_power`` over the instances (state-averaged).

Not modelled: wire capacitance, glitch energy beyond what unit delay counts, the input slew of
each net (one slew for all), flip-flops (clocked netlists get no energy figure here).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np

from .liberty import group_body, parse_function
from .sta import INPUT_SLEW, OUTPUT_LOAD, lookup, read_timing
from .wheel import Sky130Error

__all__ = ["VDD", "CLOCK_MHZ", "read_power", "cell_gates", "build_netlist", "energy_figures",
           "leakage_nw", "random_stimulus"]

#: Supply voltage of the characterized corner (V).
VDD = 1.8
#: The paper's clock for power figures (MHz).
CLOCK_MHZ = 50.0


def _floats(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text)]


@cache
def read_power(path: str) -> dict:
    """``{cell: {"leakage_nw": float, "functions": {out: expr}, "inputs": [pin...],
    "internal": {out: [(related, rise_table, fall_table), ...]}}}`` from a tn-hw liberty
    (energy tables in pJ on the ``energy_template`` grid, which is the delay grid)."""
    text = Path(path).read_text()
    cells = {}
    for match in re.finditer(r"\bcell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{", text):
        body = group_body(text, match.end())
        leak = re.search(r"\bcell_leakage_power\s*:\s*([\d.eE+-]+)", body)
        functions, inputs, internal = {}, [], {}
        for pin in re.finditer(r"\bpin\s*\(\s*\"?(\w+)\"?\s*\)\s*\{", body):
            name, pin_body = pin.group(1), group_body(body, pin.end())
            direction = re.search(r"\bdirection\s*:\s*(\w+)", pin_body)
            if direction and direction.group(1) == "input":
                inputs.append(name)
                continue
            function = re.search(r"\bfunction\s*:\s*\"([^\"]*)\"", pin_body)
            if function:
                functions[name] = function.group(1)
            arcs = []
            for group in re.finditer(r"\binternal_power\s*\(\s*\)\s*\{", pin_body):
                gb = group_body(pin_body, group.end())
                related = re.search(r"related_pin\s*:\s*\"(\w+)\"", gb)
                tables = []
                for key in ("rise_power", "fall_power"):
                    found = re.search(rf"{key}\s*\(\w*\)\s*\{{\s*values\s*\((.*?)\);", gb,
                                      re.DOTALL)
                    tables.append(_floats(found.group(1)) if found else None)
                if related and None not in tables:
                    arcs.append((related.group(1), *tables))
            internal[name] = arcs
        cells[match.group(1)] = {"leakage_nw": float(leak.group(1)) if leak else 0.0,
                                 "functions": functions, "inputs": inputs,
                                 "internal": internal}
    return cells


def _compile(tree, pins):
    """A function of packed uint64 words (in ``pins`` order) from a parsed liberty expression."""
    kind = tree[0]
    if kind == "pin":
        index = pins.index(tree[1])
        return lambda values: values[index]
    if kind == "const":
        value = ~np.uint64(0) if tree[1] else np.uint64(0)
        return lambda values: np.full_like(values[0], value)
    if kind == "!":
        inner = _compile(tree[1], pins)
        return lambda values: ~inner(values)
    left, right = _compile(tree[1], pins), _compile(tree[2], pins)
    if kind == "&":
        return lambda values: left(values) & right(values)
    if kind == "|":
        return lambda values: left(values) | right(values)
    return lambda values: left(values) ^ right(values)


def cell_gates(liberty, *, flops: bool = False) -> dict:
    """``{"<cell>:<out>": (input pins, evaluator)}`` for every combinational output of the
    liberty; register them with :func:`tn_hw.synth.energy.gatesim.register_cells`.

    ``flops``: a flip-flop's ``Q`` becomes a gate passing ``D`` through (``<cell>:<out>:ff``),
    the zero-delay view of a pipeline in steady state (each register's output toggles as its
    input did one vector earlier, so the toggles per vector are the same)."""
    gates = {}
    for cell, info in read_power(str(liberty)).items():
        for out, expr in info["functions"].items():
            if re.search(r"\bIQ|\bCLK\b", expr):
                if flops and "D" in info["inputs"]:
                    index = info["inputs"].index("D")
                    gates[f"{cell}:{out}:ff"] = (tuple(info["inputs"]),
                                                 lambda *values, i=index: values[i].copy())
                continue
            pins = tuple(info["inputs"])
            function = _compile(parse_function(expr), list(pins))
            gates[f"{cell}:{out}"] = (pins, lambda *values, f=function: f(values))
    return gates


def build_netlist(report: dict, top: str, liberty, *, flops: bool = False):
    """A :class:`~tn_hw.synth.energy.gatesim.Netlist` of a sky130 ``write_json`` netlist: one
    evaluator gate per cell output pin (named ``<instance>:<pin>``, typed ``<cell>:<pin>``).

    Returns
    -------
    (Netlist, list, dict)
        The netlist, the cell type of each gate, and the load (pF) per net number.

    Raises
    ------
    Sky130Error
        A flip-flop (unless ``flops``: then it passes ``D`` to ``Q``, see :func:`cell_gates`)
        or a cell outside the liberty, or a net with two drivers.
    """
    from ..energy.gatesim import Netlist, register_cells

    power = read_power(str(liberty))
    caps = read_timing(str(liberty))["cells"]
    gates = cell_gates(liberty, flops=flops)
    register_cells(gates)
    module = report.get("modules", {}).get(top)
    if module is None:
        raise Sky130Error(f"netlist JSON holds no module {top!r}")
    numbering = {"0": 0, "1": 1}

    def net(bit):
        bit = str(bit)
        if bit in ("x", "z"):
            return 0
        if bit not in numbering:
            numbering[bit] = len(numbering)
        return numbering[bit]

    inputs, outputs = {}, {}
    for name, port in module["ports"].items():
        if port["direction"] == "input":
            inputs[name] = [net(b) for b in port["bits"]]
    names, types, pins, driven, cells = [], [], [], [], []
    loads: dict = {}
    for name, inst in module["cells"].items():
        kind = inst["type"]
        info = power.get(kind)
        if info is None:
            raise Sky130Error(f"netlist cell {kind} is not in the liberty")
        conn = inst["connections"]
        outs = [p for p in conn if p not in info["inputs"]]
        for out in outs:
            key = f"{kind}:{out}"
            if key not in gates and f"{key}:ff" in gates:
                key = f"{key}:ff"
            if key not in gates:
                raise Sky130Error(f"{top}: {kind} ({out}) is sequential; the activity "
                                  "simulation takes combinational netlists only")
            names.append(f"{name}:{out}")
            types.append(key)
            cells.append(kind)
            pins.append(tuple(net(conn[p][0]) if p in conn else 0 for p in info["inputs"]))
            driven.append(str(conn[out][0]))
        for pin in info["inputs"]:
            if pin in conn:
                bit = net(conn[pin][0])
                loads[bit] = loads.get(bit, 0.0) + caps[kind]["caps"].get(pin, 0.0)
    input_nets = {n for bits in inputs.values() for n in bits}
    if len(set(driven)) != len(driven) or any(numbering.get(b) in input_nets for b in driven):
        raise Sky130Error(f"a net of {top} has more than one driver")
    drives = [net(b) for b in driven]
    for name, port in module["ports"].items():
        if port["direction"] == "output":
            outputs[name] = [net(b) for b in port["bits"]]
            for bit in outputs[name]:
                loads[bit] = loads.get(bit, 0.0) + OUTPUT_LOAD
    netlist = Netlist(top=top, inputs=inputs, outputs=outputs,
                      signed={p: False for p in (*inputs, *outputs)}, names=names,
                      types=types, pins=pins, drives=drives)
    if netlist.n_nets != len(numbering):
        raise Sky130Error(f"netlist of {top} reads undriven nets")
    netlist._levelize()
    return netlist, cells, loads


def leakage_nw(cells_by_type: dict, liberty) -> float:
    """Sum of ``cell_leakage_power`` (nW) over the instances."""
    power = read_power(str(liberty))
    return sum(n * power[c]["leakage_nw"] for c, n in cells_by_type.items())


def toggle_energy_fj(netlist, cells, loads, liberty) -> tuple[np.ndarray, np.ndarray]:
    """Energy (fJ) of one toggle of each gate output and of each primary input bit."""
    timing = read_timing(str(liberty))
    index1, index2 = timing["index_1"], timing["index_2"]
    power = read_power(str(liberty))
    shape = (len(index1), len(index2))
    per_gate = np.zeros(len(netlist.types))
    for g, (kind, out_net) in enumerate(zip(netlist.types, netlist.drives, strict=True)):
        cell, pin = kind.split(":")[:2]
        load = loads.get(out_net, 0.0)
        arcs = power[cell]["internal"].get(pin, [])
        internal = 0.0
        for _, rise, fall in arcs:
            r = np.reshape(rise, shape).tolist()
            f = np.reshape(fall, shape).tolist()
            internal += (lookup(r, index1, index2, INPUT_SLEW, load)
                         + lookup(f, index1, index2, INPUT_SLEW, load)) / 2
        internal = internal / len(arcs) if arcs else 0.0
        per_gate[g] = (internal + load * VDD ** 2 / 2) * 1e3  # pJ -> fJ
    per_input = np.array([loads.get(b, 0.0) * VDD ** 2 / 2 * 1e3 for b in netlist.input_bits])
    return per_gate, per_input


def random_stimulus(netlist, vectors: int, seed: int) -> dict:
    """Seeded random vectors: ``x`` ports uniform and new every vector; every other input
    (thresholds/weights ``w``, polarities ``p``, ``bias``) drawn once and held, as the energy
    proxy's ``random`` stimulus does (bit patterns uniform = values uniform over the range)."""
    rng = np.random.default_rng(seed)
    stimulus = {}
    for name, bits in netlist.inputs.items():
        width = len(bits)
        draw = rng.integers(0, 1 << width, size=vectors if name.startswith("x") else 1,
                            dtype=np.int64)
        stimulus[name] = np.resize(draw, vectors)
    return stimulus


def clock_energy_pj(cell: str, liberty) -> float:
    """Energy (pJ) one clock cycle costs a flip-flop: its clock pin's internal energy (rise +
    fall at :data:`~tn_hw.synth.sky130.sta.INPUT_SLEW`) plus ``C_clk x VDD^2`` (the clock pin
    charged and discharged once; no clock tree)."""
    text = Path(str(liberty)).read_text()
    match = re.search(rf"\bcell\s*\(\s*\"?{re.escape(cell)}\"?\s*\)\s*\{{", text)
    if match is None:
        raise Sky130Error(f"{cell} is not in the liberty")
    body = group_body(text, match.end())
    pin = re.search(r"\bpin\s*\(\s*\"?CLK\"?\s*\)\s*\{", body)
    if pin is None:
        raise Sky130Error(f"{cell} has no CLK pin")
    pin_body = group_body(body, pin.end())
    index = _floats(re.search(r"index_1\s*\(([^)]*)\)", text[text.find(
        "clock_energy_template"):]).group(1))
    energy = 0.0
    for key in ("rise_power", "fall_power"):
        found = re.search(rf"{key}\s*\(\w*\)\s*\{{\s*values\s*\((.*?)\);", pin_body, re.DOTALL)
        values = _floats(found.group(1)) if found else [0.0] * len(index)
        energy += float(np.interp(INPUT_SLEW, index, values))
    cap = read_timing(str(liberty))["cells"][cell]["caps"].get("CLK", 0.0)
    return energy + cap * VDD ** 2


def energy_figures(report: dict, top: str, liberty, *, vectors: int = 1000,
                   seed: int = 1, flops: bool = False) -> dict:
    """Dynamic energy per inference (pJ) of a sky130 netlist.

    ``flops``: a clocked netlist too, at one inference per clock cycle in steady state: the
    registers pass ``D`` to ``Q`` in the zero-delay simulation (:func:`cell_gates`), each ``Q``
    toggle costs the flop's ``Q`` internal energy plus its load, and every flop adds
    :func:`clock_energy_pj` per inference (``clock_pj``). The unit-delay figure is then
    ``None``: registers stop glitches, which a transparent flop would pass on.

    Returns
    -------
    dict
        ``energy_pj`` (zero delay), ``energy_unit_pj`` (unit delay, glitches counted),
        ``internal_pj`` and ``load_pj`` (zero-delay split: cells' own energy vs net loads),
        ``input_pj`` (primary input nets), ``clock_pj`` (with ``flops``: the clock pins),
        ``vectors``, ``seed``, ``toggles``.
    """
    netlist, cells, loads = build_netlist(report, top, liberty, flops=flops)
    clocked = [c for c, k in zip(cells, netlist.types, strict=True) if k.endswith(":ff")]
    clock_pj = sum(clock_energy_pj(c, liberty) for c in clocked)
    per_gate, per_input = toggle_energy_fj(netlist, cells, loads, liberty)
    load_only = np.array([loads.get(n, 0.0) * VDD ** 2 / 2 * 1e3 for n in netlist.drives])
    stimulus = random_stimulus(netlist, vectors, seed)
    out = {"vectors": vectors, "seed": seed}
    for delay in ("zero", "unit"):
        if delay == "unit" and clocked:
            out["energy_unit_pj"] = None
            continue
        sim = netlist.simulate(stimulus, delay=delay)
        gates_fj = float(sim.toggles @ per_gate)
        inputs_fj = float(sim.input_toggles @ per_input)
        per = (gates_fj + inputs_fj) / sim.transitions / 1e3 + clock_pj
        if delay == "zero" and flops:
            out["clock_pj"] = round(clock_pj, 4)
        if delay == "zero":
            out["energy_pj"] = round(per, 4)
            load_fj = float(sim.toggles @ load_only)
            out["internal_pj"] = round((gates_fj - load_fj) / sim.transitions / 1e3, 4)
            out["load_pj"] = round(load_fj / sim.transitions / 1e3, 4)
            out["input_pj"] = round(inputs_fj / sim.transitions / 1e3, 4)
            out["toggles"] = round(float(sim.toggles.sum()) / sim.transitions, 2)
        else:
            out["energy_unit_pj"] = round(per, 4)
    return out
