"""Fmax, utilization, latency and throughput of threshold vs MAC kernels (``tn-hw timing``).

:func:`run_timing` places and routes every (target, kernel, width, stages, neuron) point with
:func:`~tn_hw.synth.timing.pnr.place_and_route` over several placement seeds, keeps the median
Fmax and its spread, and pairs threshold with MAC rows into ratios; :func:`render_table` and
:func:`write_csv` turn the data into text. The command is :mod:`tn_hw.commands.timing`.
"""

from __future__ import annotations

import csv
import io
import time

from ...executor import LocalExecutor, run_points
from ...progress import as_progress
from ...spec import KernelSpec
from ..tools import short_version
from .pnr import (
    DEFAULT_FREQ,
    DEFAULT_TIMEOUT,
    DoesNotFit,
    place_and_route,
    summarize_seeds,
)

__all__ = ["best_ratios", "route_point", "run_timing", "render_table", "sweep_specs",
           "write_csv"]


def route_point(point, **options) -> dict:
    """Place and route one ``(design, target)`` of a sweep (the design carries its Verilog);
    ``options`` go to :func:`~tn_hw.synth.timing.pnr.place_and_route`."""
    design, target = point
    return place_and_route(design, target, **options)


def sweep_specs(neurons, kernels, widths, stages, archs=None):
    """Every design of the sweep, validated before any tool runs.

    ``archs`` maps a neuron to the micro-architectures to route (``KernelSpec.arch``); a
    neuron it leaves out, or ``archs=None``, gets its default architecture only.
    """
    from ... import neurons as registry

    specs = []
    for kernel in kernels:
        for width in widths:
            for stage in stages:
                for neuron in neurons:
                    for arch in (archs or {}).get(neuron) or [registry.DEFAULT_ARCH]:
                        depth = stage
                        if depth == "max":
                            depth = KernelSpec(neuron=neuron, arch=arch, kernel=kernel,
                                               width=width).max_stages
                        spec = KernelSpec(neuron=neuron, arch=arch, kernel=kernel, width=width,
                                          stages=depth)
                        if spec not in specs:
                            specs.append(spec)
    return specs


def run_timing(*, neurons, kernels, widths, stages, targets, seeds, freq=DEFAULT_FREQ,
               cache_dir=None, cache=True, timeout=DEFAULT_TIMEOUT, skip_unfit=False,
               progress=None, executor=None, archs=None) -> dict:
    """Place and route every design on every target; return rows, ratios and the raw results.

    Parameters
    ----------
    neurons, kernels, widths, stages : lists
        The sweep; ``stages`` may hold ``"max"``.
    targets : list of PnrTarget
    seeds : list of int
        nextpnr placement seeds; the median Fmax over them is reported.
    skip_unfit : bool
        Record a design too big for a device as a row with ``fits: false`` instead of raising.
    progress : tn_hw.progress.Progress, file or callable, optional
        Advanced once per finished (design, target); see :func:`tn_hw.progress.as_progress`.
    executor : tn_hw.executor.LocalExecutor or DaskExecutor, optional
        Where each (design, target) is placed and routed (:func:`tn_hw.executor.run_points`;
        the design's Verilog travels with the task); default one at a time here.
    archs : dict, optional
        ``{neuron: [arch, ...]}``, the micro-architectures of each neuron to route (see
        :func:`sweep_specs`); default each neuron's default architecture.

    Returns
    -------
    dict
        ``rows`` (one per design and target), ``ratios`` (threshold vs MAC pairs, every
        threshold architecture against every MAC one), ``best`` (best against best, see
        :func:`best_ratios`), ``results`` (the full
        :func:`~tn_hw.synth.timing.pnr.place_and_route` dicts), ``meta``.

    Raises
    ------
    SpecError
        Before any tool runs.
    tn_hw.executor.SweepError
        After the sweep, naming every (design, target) whose place and route failed.
    """
    from ...generate import generate

    specs = sweep_specs(neurons, kernels, widths, stages, archs)
    started = time.monotonic()
    rows, results = [], []
    progress = as_progress(progress, "timing")
    points = [(generate(spec), target) for target in targets for spec in specs]
    progress.start(len(points))

    def unfit(error):
        return skip_unfit and isinstance(error, DoesNotFit)

    def done(index, result):
        design, target = points[index]
        if isinstance(result, Exception):
            progress.step(f"{target.name} {design.top}: does not fit")
            return
        summary = summarize_seeds(result)
        seconds = sum(s["seconds"] for s in result["seeds"] if not s["cached"])
        cached = " (cached)" if all(s["cached"] for s in result["seeds"]) else ""
        progress.step(f"{target.name} {design.top}: {summary['fmax_mhz']} MHz, "
                      f"{summary['logic_cells']} LC, {seconds:.1f} s{cached}")

    with progress:
        outcome = run_points(
            executor or LocalExecutor(1), route_point, points,
            describe=lambda point: f"{point[1].name} {point[0].top}", on_result=done,
            options={"seeds": list(seeds), "freq": freq, "cache_dir": cache_dir,
                     "cache": cache, "timeout": timeout},
            keep_going=unfit)
    for (design, target), result in zip(points, outcome, strict=True):
        spec = design.spec
        base = {"target": target.name, "device": target.device, "neuron": spec.neuron,
                "arch": spec.arch, "kernel": spec.kernel_text, "width": spec.width,
                "stages": spec.stages}
        if isinstance(result, Exception):
            rows.append(base | {"fits": False, "note": str(result)})
            continue
        summary = summarize_seeds(result)
        rows.append(base | {
            "fits": True,
            "top": result["top"],
            "fmax_mhz": summary["fmax_mhz"],
            "fmax_min": summary["fmax_min"],
            "fmax_max": summary["fmax_max"],
            "fmax_seeds": [round(s["fmax_mhz"], 2) for s in result["seeds"]],
            "lut4": result["synth"]["lut4"],
            "carry": result["synth"]["carry"],
            "ffs": result["synth"]["ffs"],
            "dsp": result["synth"]["dsp"],
            "logic_cells": summary["logic_cells"],
            "latency_cycles": result["latency_cycles"],
            "latency_ns": summary["latency_ns"],
            "throughput": summary["throughput"],
            "cached": all(s["cached"] for s in result["seeds"]),
        })
        results.append(result)
    tools = {}
    for result in results:
        tools.setdefault(result["target"], result["tools"])
    return {
        "meta": {"seeds": list(seeds), "freq_mhz": freq, "tools": tools,
                 "devices": {t.name: t.device for t in targets},
                 "wall_seconds": round(time.monotonic() - started, 1)},
        "rows": rows,
        "ratios": _ratios(rows),
        "best": best_ratios(rows),
        "results": results,
    }


def _ratio(thr, mac) -> dict:
    return {
        "fmax_threshold_over_mac": round(thr["fmax_mhz"] / mac["fmax_mhz"], 3),
        "lc_mac_over_threshold": round(mac["logic_cells"] / thr["logic_cells"], 3),
        "lut4_mac_over_threshold": round(mac["lut4"] / thr["lut4"], 3),
        "latency_ns_mac_over_threshold": round(mac["latency_ns"] / thr["latency_ns"], 3),
    }


def _ratios(rows) -> list:
    """Every threshold row against every MAC row of the same target, kernel, width, stages."""
    by_key = {(r["target"], r["kernel"], r["width"], r["stages"], r["neuron"],
               r.get("arch", "tree")): r for r in rows if r["fits"]}
    ratios = []
    for (target, kernel, width, stages, neuron, arch), thr in by_key.items():
        if neuron != "threshold":
            continue
        for (t, k, w, s, n, mac_arch), mac in by_key.items():
            if (t, k, w, s, n) != (target, kernel, width, stages, "mac"):
                continue
            ratios.append({"target": target, "kernel": kernel, "width": width,
                           "stages": stages, "threshold_arch": arch, "mac_arch": mac_arch}
                          | _ratio(thr, mac))
    return ratios


def best_ratios(rows) -> list:
    """Best against best per target, kernel, width and stage count.

    Two pairings, each over every architecture routed of each neuron: ``fastest`` pairs the
    threshold row with the highest median Fmax with the MAC row with the highest, ``smallest``
    the threshold row with the fewest logic cells with the MAC row with the fewest (equal
    counts: the faster). Rows that do not fit take no part.
    """
    groups = {}
    for r in rows:
        if r["fits"] and r["neuron"] in ("threshold", "mac"):
            key = (r["target"], r["kernel"], r["width"], r["stages"])
            groups.setdefault(key, {}).setdefault(r["neuron"], []).append(r)
    best = []
    for (target, kernel, width, stages), sides in groups.items():
        if len(sides) < 2:
            continue
        for pick, order in (("fastest", lambda r: (-r["fmax_mhz"], r["logic_cells"])),
                            ("smallest", lambda r: (r["logic_cells"], -r["fmax_mhz"]))):
            thr, mac = (min(sides[n], key=order) for n in ("threshold", "mac"))
            best.append({"target": target, "kernel": kernel, "width": width, "stages": stages,
                         "pick": pick, "threshold_arch": thr.get("arch", "tree"),
                         "mac_arch": mac.get("arch", "tree"),
                         "threshold_fmax_mhz": thr["fmax_mhz"], "mac_fmax_mhz": mac["fmax_mhz"],
                         "threshold_lc": thr["logic_cells"], "mac_lc": mac["logic_cells"]}
                        | _ratio(thr, mac))
    return best


def render_table(sweep: dict) -> str:
    """The rows and the ratios as fixed-width text (an ``arch`` column and the best-vs-best
    pairs when a row has a non-default architecture)."""
    out = io.StringIO()
    with_arch = any(r.get("arch", "tree") != "tree" for r in sweep["rows"])
    arch_head = f"{'arch':<8}" if with_arch else ""
    head = (f"{'target':<11}{'neuron':<10}{arch_head}{'kernel':>6}{'W':>4}{'st':>3}"
            f"{'Fmax MHz':>10}{'(min-max)':>16}{'LUT4':>7}{'carry':>6}{'FF':>6}{'DSP':>5}"
            f"{'LC':>7}{'cyc':>5}{'lat ns':>8}{'Mout/s':>8}")
    print(head, file=out)
    for r in sweep["rows"]:
        arch = f"{r.get('arch', 'tree'):<8}" if with_arch else ""
        lead = (f"{r['target']:<11}{r['neuron']:<10}{arch}{r['kernel']:>6}{r['width']:>4}"
                f"{r['stages']:>3}")
        if not r["fits"]:
            print(f"{lead}  does not fit the {r['device']}", file=out)
            continue
        spread = f"({r['fmax_min']:.1f}-{r['fmax_max']:.1f})"
        print(f"{lead}{r['fmax_mhz']:>10.1f}{spread:>16}{r['lut4']:>7}{r['carry']:>6}"
              f"{r['ffs']:>6}{r['dsp']:>5}{r['logic_cells']:>7}{r['latency_cycles']:>5}"
              f"{r['latency_ns']:>8.1f}{r['throughput'] / 1e6:>8.1f}", file=out)
    if sweep["ratios"]:
        print("\nthreshold vs MAC (same target, kernel, width, stages)", file=out)
        pair_head = f" {'thr/MAC arch':<17}" if with_arch else ""
        print(f"{'target':<11}{'kernel':>6}{'W':>4}{'st':>3}{pair_head}{'Fmax thr/MAC':>14}"
              f"{'LC MAC/thr':>12}{'LUT4 MAC/thr':>14}{'lat ns MAC/thr':>16}", file=out)
        for q in sweep["ratios"]:
            names = f"{q.get('threshold_arch', 'tree')}/{q.get('mac_arch', 'tree')}"
            pair = f" {names:<17}" if with_arch else ""
            print(f"{q['target']:<11}{q['kernel']:>6}{q['width']:>4}{q['stages']:>3}{pair}"
                  f"{q['fmax_threshold_over_mac']:>14.2f}{q['lc_mac_over_threshold']:>12.2f}"
                  f"{q['lut4_mac_over_threshold']:>14.2f}"
                  f"{q['latency_ns_mac_over_threshold']:>16.2f}", file=out)
    if with_arch and sweep.get("best"):
        print("\nbest vs best (fastest: highest Fmax of each neuron; smallest: fewest LC)",
              file=out)
        print(f"{'target':<11}{'kernel':>6}{'W':>4}{'st':>3} {'pick':<9}{'thr arch':<9}"
              f"{'MHz':>7}{'LC':>6} {'MAC arch':<9}{'MHz':>7}{'LC':>6}{'Fmax thr/MAC':>14}"
              f"{'LC MAC/thr':>12}", file=out)
        for q in sweep["best"]:
            print(f"{q['target']:<11}{q['kernel']:>6}{q['width']:>4}{q['stages']:>3} "
                  f"{q['pick']:<9}{q['threshold_arch']:<9}{q['threshold_fmax_mhz']:>7.1f}"
                  f"{q['threshold_lc']:>6} {q['mac_arch']:<9}{q['mac_fmax_mhz']:>7.1f}"
                  f"{q['mac_lc']:>6}{q['fmax_threshold_over_mac']:>14.2f}"
                  f"{q['lc_mac_over_threshold']:>12.2f}", file=out)
    meta = sweep["meta"]
    seeds = ",".join(map(str, meta["seeds"]))
    print(f"\nnextpnr seeds {seeds} (median reported), target clock {meta['freq_mhz']:g} MHz",
          file=out)
    for target, tools in meta["tools"].items():
        print(f"{target}: {short_version(tools['yosys'])}; {tools['nextpnr']}", file=out)
    return out.getvalue()


_CSV_FIELDS = ("target", "device", "neuron", "kernel", "width", "stages", "fits", "fmax_mhz",
               "fmax_min", "fmax_max", "lut4", "carry", "ffs", "dsp", "logic_cells",
               "latency_cycles", "latency_ns", "throughput", "arch")


def write_csv(sweep: dict) -> str:
    """One CSV line per row (``fits`` false rows have empty figures)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(sweep["rows"])
    return out.getvalue()
