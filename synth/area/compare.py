"""Sweep threshold vs MAC kernels over kernel sizes, widths and targets; tables and plots.

The designs come from the project's generator (:func:`tn_hw.generate.generate`), so the figures
describe exactly the Verilog that the testbenches verify. Both neurons go through the same flow at
the same widths; the MAC baseline is a strong one (:data:`BASELINE`: Booth-encoded multipliers, or
DSP48E1 blocks where the 7-series flow may use them). Two weight modes are never mixed in one ratio:

``programmable``
    thresholds/weights, polarities and bias are input ports (as in the paper's FPGA design);
``constant``
    they are baked in from a seeded random draw (a wrapper module ties the ports to constants),
    so Yosys folds them: constant compare-subtract and constant multiplication fold differently.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ... import neurons
from ...executor import LocalExecutor, run_points
from ...progress import as_progress
from ...spec import KernelSpec, parse_kernel
from ..tools import SynthError, find_yosys, short_version, yosys_version
from .flow import TARGETS, synthesize

__all__ = [
    "BASELINE",
    "METRIC_COLUMNS",
    "PAPER_BAND",
    "PRIMARY_METRIC",
    "WEIGHT_MODES",
    "build_design",
    "constant_wrapper",
    "tie_ports",
    "neuron_ratios",
    "ratios",
    "render_markdown",
    "render_neuron_table",
    "run_sweep",
    "short_version",
    "synthesize_point",
    "write_csv",
    "write_outputs",
    "write_plots",
]

WEIGHT_MODES = ("programmable", "constant")

#: The paper's kernel-level area savings (Fig. 10a, Synopsys DC, TSMC 28 nm).
PAPER_BAND = (3.89, 4.33)

#: The one figure per target that a MAC/threshold ratio is taken of. ``xc7`` has none: its MAC
#: uses DSP48E1 blocks, and DSPs and LUTs are not one currency.
PRIMARY_METRIC = {"generic": "transistors", "xc7-nodsp": "luts", "ice40": "lut4",
                  **{t: "area_um2" for t in TARGETS if t.startswith("sky130")}}

#: Every metric column, in CSV order.
METRIC_COLUMNS = (
    "gates", "transistors", "luts", "carry4", "ffs", "dsp48e1", "muxf7", "muxf8", "lut4", "carry",
    "cells", "area_um2", "delay_ns", "leakage_nw", "energy_pj", "energy_unit_pj", "power_uw",
)

_PARAMETER_PORTS = ("w", "p", "bias", "wp", "wm")

#: The MAC baseline, stated in every report.
BASELINE = ("MAC kernel with Booth-encoded multipliers (`synth -booth` in generic, the `booth` "
            "pass before `synth_xilinx -nodsp` and `synth_ice40`; DSP48E1 blocks in xc7), "
            "same flow and widths as the threshold kernel")


def tie_ports(design, values: dict, top: str) -> tuple[str, str]:
    """Verilog of a wrapper ``top`` around a generated design that ties the ports named in
    ``values`` (``{port name: int}``, e.g. ``"w__0"``) to those constants; every other port stays
    a port of the wrapper.

    Returns
    -------
    (str, str)
        Verilog (the generated design followed by the wrapper) and ``top``.

    Raises
    ------
    ValueError
        If a value does not fit its port (signed or unsigned, as the manifest says).
    """
    ports, declarations, connections = [], [], []
    for port in design.manifest["ports"]:
        name, width = port["name"], port["width"]
        if name in values:
            value = int(values[name])
            lo = -(1 << (width - 1)) if port["signed"] else 0
            if not lo <= value < lo + (1 << width):
                raise ValueError(f"{value} does not fit the {width}-bit port {name} of "
                                 f"{design.top}")
            connections.append(f"    .{name}({width}'b{value & ((1 << width) - 1):0{width}b})")
            continue
        ports.append(name)
        signed = "signed " if port["signed"] else ""
        declarations.append(f"  {port['direction']} {signed}[{width - 1}:0] {name};")
        connections.append(f"    .{name}({name})")
    wrapper = "\n".join([
        f"module {top}({', '.join(ports)});",
        *declarations,
        f"  {design.top} core (",
        ",\n".join(connections),
        "  );",
        "endmodule",
    ])
    return design.verilog + "\n" + wrapper + "\n", top


def constant_wrapper(design, seed: int) -> tuple[str, str]:
    """Verilog of a wrapper that ties the parameter ports (``w``, ``p``, ``bias``) of a
    generated design to seeded random constants; ``x`` inputs and ``y`` outputs stay ports.

    Every bit pattern is drawn uniformly, i.e. values are uniform over each port's signed range.

    Returns
    -------
    (str, str)
        Verilog (the generated design followed by the wrapper) and the wrapper's name.
    """
    rng = random.Random(f"{seed}:{design.top}")
    values = {}
    for port in design.manifest["ports"]:
        if port["port"] in _PARAMETER_PORTS and port["direction"] == "input":
            width, bits = port["width"], rng.getrandbits(port["width"])
            signed_top = port["signed"] and bits >> (width - 1)
            values[port["name"]] = bits - (1 << width) if signed_top else bits
    return tie_ports(design, values, f"{design.top}_const{seed}")


def build_design(neuron: str, kernel, width: int, weights: str = "programmable",
                 seed: int = 0, arch: str = "tree", stages: int = 0) -> dict:
    """Generate one kernel (micro-architecture ``arch``, ``stages`` register stages) and return
    ``{"verilog", "top", "spec"}`` ready for synthesis.

    Raises
    ------
    SynthError
        If ``weights`` is not a known mode.
    """
    from ...generate import generate  # Amaranth elaboration, only when a design is built

    if weights not in WEIGHT_MODES:
        raise SynthError(f"weights must be one of {', '.join(WEIGHT_MODES)}, not {weights!r}")
    if isinstance(kernel, str):
        kernel = parse_kernel(kernel)
    spec = KernelSpec(neuron=neuron, kernel=tuple(kernel), width=width, arch=arch,
                      stages=stages)
    design = generate(spec)
    verilog, top = design.verilog, design.top
    if weights == "constant":
        verilog, top = constant_wrapper(design, seed)
    return {"verilog": verilog, "top": top, "spec": spec.describe()}


def synthesize_point(task, **options) -> dict:
    """One synthesis run of a sweep: ``task`` is ``(point, design, target)`` with the design's
    Verilog and top (what travels to a cluster worker); ``options`` go to
    :func:`~tn_hw.synth.area.flow.synthesize`."""
    _, design, target = task
    return synthesize(design["verilog"], design["top"], target, **options)


def _build(args):
    return args, build_design(*args)


def _cost(item) -> int:
    (neuron, kernel, width, _, _), _ = item
    return kernel[0] * kernel[1] * width * neurons.get(neuron).cost_weight(width)


def run_sweep(
    *,
    neurons=("threshold", "mac"),
    kernels=((3, 3), (5, 5), (7, 7)),
    widths=(4, 8, 16),
    targets=("generic",),
    weights: str = "programmable",
    seed: int = 0,
    jobs: int = 1,
    progress=sys.stderr,
    executor=None,
    **synth_options,
) -> dict:
    """Synthesize every (neuron, kernel, width) on every target.

    Designs are generated in ``jobs`` processes, then each (design, target) pair runs Yosys as
    its own process, ``jobs`` at a time, largest first. Each finished run advances ``progress``
    (a :class:`tn_hw.progress.Progress`, a file, a callable taking a line, or ``None`` for
    silence; see :func:`tn_hw.progress.as_progress`).

    Parameters
    ----------
    neurons, kernels, widths, targets
        What to sweep; kernels as ``(rows, cols)`` or ``"3x3"``, targets as flow names.
    weights : str
        ``"programmable"`` or ``"constant"`` (see the module docstring).
    seed : int
        Seed of the constant weights.
    jobs : int
        Parallel processes (design generation, and the synthesis runs without ``executor``).
    executor : tn_hw.executor.LocalExecutor or DaskExecutor, optional
        Where the synthesis runs go (:func:`tn_hw.executor.run_points`); default ``jobs``
        threads here.
    **synth_options
        Passed to :func:`~tn_hw.synth.area.flow.synthesize` (``cache_dir``, ``cache``, ``yosys``).

    Returns
    -------
    dict
        ``meta`` (Yosys version, flows, weights mode, seed, parameters, wall time) and ``rows``,
        one per run: ``neuron``, ``kernel``, ``width``, ``weights``, ``target``, ``top``,
        ``metrics``, ``seconds``, ``cached``.

    Raises
    ------
    SynthError
        A bad target; :class:`tn_hw.executor.SweepError` after the sweep if runs failed (each
        named with its parameters; the others finish and are cached).
    """
    started = time.monotonic()
    kernels = [parse_kernel(k) if isinstance(k, str) else tuple(k) for k in kernels]
    for target in targets:
        if target not in TARGETS:
            raise SynthError(f"unknown synthesis target {target!r}; known: {', '.join(TARGETS)}")
    jobs = max(1, int(jobs))
    executor = executor or LocalExecutor(jobs)
    version = yosys_version(find_yosys(synth_options.get("yosys")))

    progress = as_progress(progress, "compare")
    points = [(n, k, w, weights, seed) for k in kernels for w in widths for n in neurons]
    progress.note(f"generating {len(points)} designs ({jobs} processes)")
    if jobs > 1 and len(points) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            built = list(pool.map(_build, points))
    else:
        built = [_build(point) for point in points]
    designs = dict(built)

    tasks = [(point, target) for point, _ in sorted(built, key=_cost, reverse=True)
             for target in targets]
    rows = []
    progress.note(f"{len(tasks)} synthesis runs on {', '.join(targets)} "
                  f"({executor.describe()})")
    progress.start(len(tasks))

    def done(index, result):
        point, target = tasks[index]
        (neuron, kernel, width, mode, _) = point
        rows.append({
            "neuron": neuron,
            "kernel": f"{kernel[0]}x{kernel[1]}",
            "width": width,
            "weights": mode,
            "target": target,
            "top": result["top"],
            "metrics": result["metrics"],
            "seconds": result["seconds"],
            "cached": result["cached"],
        })
        state = "cached" if result["cached"] else f"{result['seconds']:.1f} s"
        progress.step(f"{result['top']:<28} {target:<10} {state:>8}")

    def describe(task):
        (neuron, kernel, width, mode, _), target = task[0], task[2]
        return f"{neuron} {kernel[0]}x{kernel[1]} W={width} {mode} on {target}"

    with progress:
        run_points(executor, synthesize_point,
                   [(point, designs[point], target) for point, target in tasks],
                   describe=describe, on_result=done, options=synth_options)

    order = {(n, k, w, t): i for i, (n, k, w, t) in enumerate(
        (n, f"{k[0]}x{k[1]}", w, t) for k in kernels for w in widths for n in neurons
        for t in targets)}
    rows.sort(key=lambda r: order[(r["neuron"], r["kernel"], r["width"], r["target"])])
    return {
        "meta": {
            "yosys": version,
            "flows": {t: TARGETS[t].description for t in targets},
            "weights": weights,
            "seed": seed if weights == "constant" else None,
            "neurons": list(neurons),
            "kernels": [f"{k[0]}x{k[1]}" for k in kernels],
            "widths": list(widths),
            "targets": list(targets),
            "baseline": BASELINE,
            "wall_seconds": round(time.monotonic() - started, 2),
        },
        "rows": rows,
    }


def ratios(sweep: dict) -> list[dict]:
    """MAC/threshold ratio of each target's primary metric, per (kernel, width, target)."""
    by_key = {(r["neuron"], r["kernel"], r["width"], r["target"]): r for r in sweep["rows"]}
    out = []
    for (neuron, kernel, width, target), row in by_key.items():
        metric = PRIMARY_METRIC.get(target)
        mac = by_key.get(("mac", kernel, width, target))
        if neuron != "threshold" or metric is None or mac is None:
            continue
        threshold_value, mac_value = row["metrics"][metric], mac["metrics"][metric]
        out.append({
            "kernel": kernel, "width": width, "target": target, "metric": metric,
            "threshold": threshold_value, "mac": mac_value,
            "ratio": mac_value / threshold_value if threshold_value else None,
        })
    return out


def neuron_ratios(sweep: dict) -> list[dict]:
    """MAC/neuron ratio of each target's primary metric for every non-MAC neuron of the sweep,
    per (neuron, kernel, width, target): how many times smaller than the Booth MAC it is."""
    by_key = {(r["neuron"], r["kernel"], r["width"], r["target"]): r for r in sweep["rows"]}
    out = []
    for (neuron, kernel, width, target), row in by_key.items():
        metric = PRIMARY_METRIC.get(target)
        mac = by_key.get(("mac", kernel, width, target))
        if neuron == "mac" or metric is None or mac is None:
            continue
        value, mac_value = row["metrics"][metric], mac["metrics"][metric]
        out.append({
            "neuron": neuron, "kernel": kernel, "width": width, "target": target,
            "metric": metric, "value": value, "mac": mac_value,
            "ratio": mac_value / value if value else None,
        })
    return out


def render_neuron_table(sweep: dict) -> str:
    """Markdown: per target, each neuron's primary metric and its MAC/neuron ratio."""
    meta = sweep["meta"]
    neurons = [n for n in meta["neurons"] if n != "mac"]
    ratio = {(r["neuron"], r["kernel"], r["width"], r["target"]): r
             for r in neuron_ratios(sweep)}
    lines = []
    for target in meta["targets"]:
        metric = PRIMARY_METRIC.get(target)
        if metric is None:
            continue
        lines += [f"### {target}: {metric}, every neuron against the Booth MAC", ""]
        header = ["kernel", "W", "MAC"] + [f"{n} (MAC / {n})" for n in neurons]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|---|---:|" + "---:|" * (len(header) - 2))
        for kernel in meta["kernels"]:
            for width in meta["widths"]:
                found = [ratio.get((n, kernel, width, target)) for n in neurons]
                if not any(found):
                    continue
                mac = next(r["mac"] for r in found if r)
                cells = [f"{r['value']} ({_fmt_ratio(r['ratio'])})" if r else "n/a"
                         for r in found]
                lines.append(f"| {kernel} | {width} | {mac} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_csv(sweep: dict, path) -> None:
    """One row per run, one column per metric (empty where a target has no such figure)."""
    buffer = io.StringIO()
    fields = ["neuron", "kernel", "width", "weights", "target", "top", *METRIC_COLUMNS]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in sweep["rows"]:
        flat = {k: v for k, v in row.items() if k in fields}
        flat.update(row["metrics"])
        writer.writerow(flat)
    Path(path).write_text(buffer.getvalue())


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _fmt_ratio(value) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def render_markdown(sweep: dict, *, command: str | None = None) -> str:
    """Markdown tables: per target, threshold vs MAC figures and the MAC/threshold ratio."""
    meta = sweep["meta"]
    seed = f" (seed {meta['seed']})" if meta["seed"] is not None else ""
    lines = []
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    lines += [
        f"- Neurons: {', '.join(meta.get('neurons', ('threshold', 'mac')))}",
        f"- Yosys: {short_version(meta['yosys'])}",
        f"- Weights: {meta['weights']}{seed}",
        f"- Baseline: {meta['baseline']}",
        (f"- Paper's kernel-level area saving: {PAPER_BAND[0]}-{PAPER_BAND[1]}x "
         "(Synopsys DC, TSMC 28 nm, Fig. 10a)"),
        "",
    ]
    rows = {(r["neuron"], r["kernel"], r["width"], r["target"]): r["metrics"]
            for r in sweep["rows"]}
    ratio = {(r["kernel"], r["width"], r["target"]): r["ratio"] for r in ratios(sweep)}
    for target in meta["targets"]:
        lines += [f"### {target}: `{meta['flows'][target]}`", ""]
        if target == "generic":
            header = ["kernel", "W", "threshold gates", "MAC gates", "threshold transistors",
                      "MAC transistors", "MAC / threshold (transistors)"]
            def cells(t, m, k):
                return [t["gates"], m["gates"], t["transistors"],
                        m["transistors"], _fmt_ratio(ratio.get(k))]
        elif target == "xc7":
            header = ["kernel", "W", "threshold LUTs", "threshold CARRY4", "MAC LUTs",
                      "MAC CARRY4", "MAC DSP48E1"]
            def cells(t, m, k):
                return [t["luts"], t["carry4"], m["luts"],
                        m["carry4"], m["dsp48e1"]]
        elif target == "xc7-nodsp":
            header = ["kernel", "W", "threshold LUTs", "MAC LUTs", "threshold CARRY4",
                      "MAC CARRY4", "MAC / threshold (LUTs)"]
            def cells(t, m, k):
                return [t["luts"], m["luts"], t["carry4"],
                        m["carry4"], _fmt_ratio(ratio.get(k))]
        elif target.startswith("sky130"):
            header = ["kernel", "W", "threshold um^2", "MAC um^2", "MAC / threshold (area)",
                      "threshold ns", "MAC ns", "threshold pJ", "MAC pJ",
                      "MAC / threshold (pJ)", "threshold uW @50 MHz", "MAC uW @50 MHz"]
            def cells(t, m, k):
                energy = (m["energy_pj"] / t["energy_pj"]
                          if t.get("energy_pj") and m.get("energy_pj") else None)
                return [f"{t['area_um2']:.1f}", f"{m['area_um2']:.1f}", _fmt_ratio(ratio.get(k)),
                        f"{t['delay_ns']:.3f}", f"{m['delay_ns']:.3f}",
                        _fmt(t.get("energy_pj")), _fmt(m.get("energy_pj")), _fmt_ratio(energy),
                        _fmt(t.get("power_uw"), 1), _fmt(m.get("power_uw"), 1)]
        else:
            header = ["kernel", "W", "threshold SB_LUT4", "MAC SB_LUT4", "threshold SB_CARRY",
                      "MAC SB_CARRY", "MAC / threshold (SB_LUT4)"]
            def cells(t, m, k):
                return [t["lut4"], m["lut4"], t["carry"],
                        m["carry"], _fmt_ratio(ratio.get(k))]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|---|---:|" + "---:|" * (len(header) - 2))
        for kernel in meta["kernels"]:
            for width in meta["widths"]:
                t = rows.get(("threshold", kernel, width, target))
                m = rows.get(("mac", kernel, width, target))
                if t is None or m is None:
                    continue
                values = cells(t, m, (kernel, width, target))
                lines.append(f"| {kernel} | {width} | " + " | ".join(map(str, values)) + " |")
        if target == "xc7":
            lines += ["", ("No ratio here: the MAC uses DSP48E1 blocks, the threshold kernel "
                           "LUTs and carry chains, and the two are not one currency.")]
        if target.startswith("sky130"):
            lines += ["", ("sky130_fd_sc_hd (130 nm, the project's liberty, tt 25 C 1.8 V): "
                           "cell area without placement or wiring; delay from "
                           "tn_hw.synth.sky130.sta over the liberty; energy per inference from "
                           "the gate-level activity on 1000 random vectors (zero delay), power "
                           "at 50 MHz with leakage. The paper: 3.89-4.33x area, 7.51-8.19x "
                           "power (Synopsys DC, TSMC 28 nm): a different node and flow.")]
        lines.append("")
    if set(meta.get("neurons", ())) - {"threshold", "mac"}:
        lines += ["## All neurons", "", render_neuron_table(sweep)]
    return "\n".join(lines)


_METRIC_LABEL = {
    "transistors": "CMOS transistors (stat -tech cmos)",
    "luts": "7-series LUTs (-nodsp)",
    "lut4": "iCE40 SB_LUT4",
    "area_um2": "sky130_fd_sc_hd cell area (um^2)",
}


def write_plots(sweep: dict, out_dir) -> list[Path]:
    """One PNG per target with a primary metric: area vs kernel size per width (left) and the
    MAC/threshold ratio with the paper's band (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = sweep["meta"]
    out_dir = Path(out_dir)
    rows = {(r["neuron"], r["kernel"], r["width"], r["target"]): r["metrics"]
            for r in sweep["rows"]}
    ratio = {(r["kernel"], r["width"], r["target"]): r["ratio"] for r in ratios(sweep)}
    kernels = meta["kernels"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    written = []
    for target in meta["targets"]:
        metric = PRIMARY_METRIC.get(target)
        if metric is None:
            continue
        fig, (area_ax, ratio_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
        xs = range(len(kernels))
        for i, width in enumerate(meta["widths"]):
            color = colors[i % len(colors)]
            for neuron, style, marker in (("mac", "-", "s"), ("threshold", "--", "o")):
                ys = [rows.get((neuron, k, width, target), {}).get(metric) for k in kernels]
                label = f"{'MAC' if neuron == 'mac' else 'threshold'}, W={width}"
                area_ax.plot(xs, ys, style, marker=marker, color=color, label=label)
            rs = [ratio.get((k, width, target)) for k in kernels]
            ratio_ax.plot(xs, rs, "-", marker="o", color=color, label=f"W={width}")
        for ax in (area_ax, ratio_ax):
            ax.set_xticks(list(xs), kernels)
            ax.set_xlabel("kernel size")
            ax.grid(True, alpha=0.3)
        area_ax.set_yscale("log")
        area_ax.set_ylabel(_METRIC_LABEL[metric])
        area_ax.set_title(f"{target}: area per kernel ({meta['weights']} weights)")
        area_ax.legend(fontsize=7, ncol=2)
        ratio_ax.axhspan(*PAPER_BAND, color="gray", alpha=0.25,
                         label=f"paper {PAPER_BAND[0]}-{PAPER_BAND[1]}x (DC, 28 nm)")
        ratio_ax.set_ylabel("MAC / threshold area")
        ratio_ax.set_ylim(bottom=0)
        ratio_ax.set_title("area saving vs the Booth MAC baseline")
        ratio_ax.set_ylim(top=max([r for r in ratio.values() if r] + [PAPER_BAND[1]]) * 1.35)
        ratio_ax.legend(fontsize=8, loc="upper center", ncol=2)
        written.append(_save_figure(fig, plt, meta, out_dir / f"area_{target}.png"))
    neurons = [n for n in meta.get("neurons", ("threshold", "mac")) if n != "mac"]
    if len(neurons) > 1:
        written += _write_neuron_plots(sweep, out_dir, neurons, plt)
    return written


def _save_figure(fig, plt, meta, path) -> Path:
    """Lay out ``fig`` with the tool version and baseline in its corner, save it, close it."""
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.text(0.99, 0.01,
             f"{short_version(meta['yosys'])}; baseline: Booth MAC, same flow and widths",
             fontsize=8, ha="right", va="bottom", color="dimgray")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _write_neuron_plots(sweep, out_dir, neurons, plt) -> list[Path]:
    """One PNG per target: the MAC/neuron ratio of every neuron vs kernel size, a panel per
    width, with the paper's band."""
    meta = sweep["meta"]
    ratio = {(r["neuron"], r["kernel"], r["width"], r["target"]): r["ratio"]
             for r in neuron_ratios(sweep)}
    kernels, widths = meta["kernels"], meta["widths"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    written = []
    for target in meta["targets"]:
        metric = PRIMARY_METRIC.get(target)
        if metric is None:
            continue
        fig, axes = plt.subplots(1, len(widths), figsize=(4 * len(widths), 3.8), squeeze=False)
        xs = range(len(kernels))
        top = max([r for (_, _, _, t), r in ratio.items() if t == target and r]
                  + [PAPER_BAND[1]]) * 1.25
        for ax, width in zip(axes[0], widths, strict=True):
            ax.axhspan(*PAPER_BAND, color="gray", alpha=0.25, label="paper (threshold)")
            for i, neuron in enumerate(neurons):
                ys = [ratio.get((neuron, k, width, target)) for k in kernels]
                ax.plot(xs, ys, "-", marker="o", color=colors[i % len(colors)], label=neuron)
            ax.set_xticks(list(xs), kernels)
            ax.set_xlabel("kernel size")
            ax.set_ylim(0, top)
            ax.grid(True, alpha=0.3)
            ax.set_title(f"W = {width}")
        axes[0][0].set_ylabel(f"MAC / neuron ({_METRIC_LABEL[metric]})")
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"{target}: area saving of each neuron vs the Booth MAC "
                     f"({meta['weights']} weights)")
        written.append(_save_figure(fig, plt, meta, out_dir / f"neurons_{target}.png"))
    return written


def write_outputs(sweep: dict, out_dir, *, command: str | None = None) -> list[Path]:
    """Write ``area.json``, ``area.csv``, ``area.md`` and the PNGs into ``out_dir``."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SynthError(f"cannot create {str(out_dir)!r}: {error.strerror or error}") from None
    json_path, csv_path, md_path = (out_dir / f"area.{ext}" for ext in ("json", "csv", "md"))
    # Wall time and cache hits vary between runs; the committed data should not.
    stable = {
        "meta": {k: v for k, v in sweep["meta"].items() if k != "wall_seconds"},
        "ratios": ratios(sweep),
        "neuron_ratios": neuron_ratios(sweep),
        "rows": [{k: v for k, v in r.items() if k not in ("seconds", "cached")}
                 for r in sweep["rows"]],
    }
    json_path.write_text(json.dumps(stable, indent=1) + "\n")
    write_csv({"rows": stable["rows"]}, csv_path)
    md_path.write_text(render_markdown(sweep, command=command))
    return [json_path, csv_path, md_path, *write_plots(sweep, out_dir)]
