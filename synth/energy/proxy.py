"""Switching-activity energy proxy of threshold vs MAC kernels (issue 7).

Method, in one paragraph (docs/results/energy.md says it at length): both kernels go through the
generic flow of the area tables (:func:`~tn_hw.synth.energy.netlist.synthesize_netlist`); their
gate netlists are simulated on the same input stream with thresholds/weights, polarities and bias
held constant (:meth:`~tn_hw.synth.energy.gatesim.Netlist.simulate`, zero and unit delay); every
output of every vector is compared with the golden model (``reference.integer.kernel``), and the
proxy is

    E = sum over gates g of toggles(g) x C(type or load of g)   (+ input-pin load, ``fanout``)

for each weighting of :data:`WEIGHTINGS`, divided by the transitions: energy per kernel
evaluation ("inference"). It is a count, not joules: no wire capacitance, no clock tree, no
leakage, generic gates rather than a 28 nm library.

Stimuli (:func:`make_streams`):

``random``
    ``x`` uniform over the signed ``W``-bit range, new every vector; thresholds/weights,
    polarities and bias drawn once (seeded) and held.
``digits``
    the quantized 8x8 digits test images (``digits-test``, 0..64 at ``W = 8``) through trained
    models. 3x3: the first conv layer of ``digits-tcnn`` (threshold) and ``digits-cnn`` (MAC):
    its 16 patches per image (padding 1, stride 2), one stream per output channel with that
    channel's trained thresholds/polarities/bias or weights/bias. Other square ``k x k`` (k <= 8):
    the centred ``k x k`` window of each image with the same window of each first-layer neuron
    of ``digits-tmlp`` / ``digits-mlp`` (one stream per neuron).
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...progress import as_progress
from ...spec import KernelSpec
from .gatesim import DELAY_MODELS, GATE_INPUTS, GATE_TRANSISTORS, Netlist
from .netlist import synthesize_netlist
from .options import (
    COMPARED_NEURONS,
    PAPER_FPGA_POWER,
    PAPER_POWER_BAND,
    STIMULI,
    WEIGHTINGS,
    EnergyError,
)

__all__ = [
    "COMPARED_NEURONS",
    "PAPER_POWER_BAND",
    "STIMULI",
    "WEIGHTINGS",
    "EnergyError",
    "Stream",
    "check_outputs",
    "gate_weights",
    "kernel_energy",
    "kernel_netlist",
    "make_streams",
    "proxy_energy",
    "energy_point",
    "run_energy",
    "run_sweep",
]

#: The trained models behind the digits stimulus, per (kernel kind, neuron).
DIGITS_MODELS = {
    ("conv", "threshold"): "digits-tcnn.json", ("conv", "mac"): "digits-cnn.json",
    ("window", "threshold"): "digits-tmlp.json", ("window", "mac"): "digits-mlp.json",
}


def _models_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "models"  # synth/energy/proxy.py -> repo


# -- weights ---------------------------------------------------------------------------------------


def gate_weights(netlist: Netlist, weighting: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-toggle weights of every gate output and of every primary input bit.

    Returns
    -------
    (np.ndarray, np.ndarray)
        int64 per gate (netlist order) and per primary input bit
        (:attr:`Netlist.input_bits` order); only ``fanout`` gives inputs a non-zero weight.

    Raises
    ------
    EnergyError
        If the weighting is unknown.
    """
    if weighting not in WEIGHTINGS:
        raise EnergyError(f"unknown weighting {weighting!r}; choose from {', '.join(WEIGHTINGS)}")
    inputs = np.zeros(len(netlist.input_bits), dtype=np.int64)
    if weighting == "toggles":
        gates = np.ones(len(netlist.types), dtype=np.int64)
    elif weighting == "transistors":
        gates = np.array([GATE_TRANSISTORS[t] for t in netlist.types], dtype=np.int64)
    elif weighting == "pins":
        gates = np.array([len(GATE_INPUTS[t]) for t in netlist.types], dtype=np.int64)
    else:
        load = netlist.fanout()
        gates = 1 + load[np.array(netlist.drives, dtype=np.int64)]
        inputs = load[np.array(netlist.input_bits, dtype=np.int64)]
    return gates, inputs


def proxy_energy(netlist: Netlist, toggles, input_toggles, weighting: str) -> int:
    """``sum_g toggles[g] * weight[g] + sum_i input_toggles[i] * weight_in[i]`` (an integer)."""
    gates, inputs = gate_weights(netlist, weighting)
    return int(np.dot(np.asarray(toggles, dtype=np.int64), gates)
               + np.dot(np.asarray(input_toggles, dtype=np.int64), inputs))


# -- stimuli ---------------------------------------------------------------------------------------


@dataclass
class Stream:
    """One input stream with the kernel's parameters held constant.

    Attributes
    ----------
    name : str
        E.g. ``"random"``, ``"conv1 channel 2"``.
    x : torch.Tensor
        int64 ``(n, N)``: one row of inputs per vector.
    w : torch.Tensor
        int64 ``(N,)`` thresholds or weights.
    p : torch.Tensor or None
        int64 ``(N,)`` polarities (threshold only).
    bias : int
    """

    name: str
    x: torch.Tensor
    w: torch.Tensor
    p: torch.Tensor | None
    bias: int

    def ports(self) -> dict:
        """Port name -> one value per vector (parameters repeated)."""
        n, count = self.x.shape
        ports = {f"x__{i}": self.x[:, i].numpy() for i in range(count)}
        ports |= {f"w__{i}": np.full(n, int(self.w[i])) for i in range(count)}
        if self.p is not None:
            ports |= {f"p__{i}": np.full(n, int(self.p[i])) for i in range(count)}
        ports["bias"] = np.full(n, self.bias)
        return ports

    def golden(self, neuron: str) -> np.ndarray:
        """Expected ``y`` per vector from ``reference.integer.kernel``."""
        from ...reference import integer

        n = len(self.x)
        w = self.w.expand(n, -1)
        p = None if self.p is None else self.p.expand(n, -1)
        bias = torch.full((n,), self.bias, dtype=torch.int64)
        return integer.kernel(neuron, self.x, w, p, bias).numpy()

    def zeroed(self) -> int:
        """Threshold terms with ``x <= w`` (the cell outputs 0) over all vectors."""
        return int((self.x <= self.w).sum())


def _random_streams(spec: KernelSpec, neuron: str, vectors: int, seed: int) -> list[Stream]:
    # One generator for both neurons: the same x stream feeds both; w is drawn after x, so the
    # MAC weights and the thresholds are the same numbers (each neuron uses its own meaning).
    generator = torch.Generator().manual_seed(seed)
    lo, hi = spec.input_range
    n = spec.n_inputs
    x = torch.randint(lo, hi + 1, (vectors, n), generator=generator)
    w = torch.randint(lo, hi + 1, (n,), generator=generator)
    p = torch.randint(0, 2, (n,), generator=generator)
    kernel_spec = KernelSpec(neuron=neuron, kernel=spec.kernel, width=spec.width)
    b_lo = -(1 << (kernel_spec.bias_width - 1))
    bias = int(torch.randint(b_lo, -b_lo, (1,), generator=generator))
    return [Stream("random", x, w, p if kernel_spec.family.has_polarity else None, bias)]


def _digits_images():
    from ...reference.data import load_dataset, quantize_input

    images, _ = load_dataset("digits-test")
    images = quantize_input(images.reshape(-1, 1, 8, 8), 8, 6)  # every digits model's input
    return images


def _digits_streams(spec: KernelSpec, neuron: str, vectors: int | None) -> list[Stream]:
    from ...reference.network import load_network

    rows, cols = spec.kernel
    if spec.width != 8:
        raise EnergyError(f"the digits stimulus needs --width 8 (the trained models' width), "
                          f"not {spec.width}")
    if rows != cols or rows > 8:
        raise EnergyError(f"the digits stimulus needs a square kernel of side 1 to 8, not "
                          f"{rows}x{cols}")
    kind = "conv" if rows == 3 else "window"
    path = _models_dir() / DIGITS_MODELS[(kind, neuron)]
    if not path.exists():
        raise EnergyError(f"trained model {path} not found (the digits stimulus needs models/)")
    net = load_network(path)
    images = _digits_images()
    layer = net.compute_layers[0]
    streams = []
    if kind == "conv":
        pad, stride = layer.padding, layer.stride
        blocks = F.pad(images, (pad, pad, pad, pad)).unfold(2, 3, stride).unfold(3, 3, stride)
        x = blocks.reshape(len(images), -1, 9).reshape(-1, 9)  # image by image, raster order
        for k in range(layer.w.shape[0]):
            p = layer.p[k] if layer.p is not None else None
            streams.append(Stream(f"{path.stem} conv1 channel {k}", x, layer.w[k], p,
                                  int(layer.bias[k])))
    else:
        o = (8 - rows) // 2
        x = images[:, 0, o:o + rows, o:o + rows].reshape(len(images), -1)
        for j in range(layer.w.shape[0]):
            window = layer.w[j].reshape(8, 8)[o:o + rows, o:o + rows].reshape(-1)
            p = None
            if layer.p is not None:
                p = layer.p[j].reshape(8, 8)[o:o + rows, o:o + rows].reshape(-1)
            streams.append(Stream(f"{path.stem} layer1 neuron {j} window {rows}x{rows}@{o}", x,
                                  window, p, int(layer.bias[j])))
    if vectors is not None:
        streams = [Stream(s.name, s.x[:vectors], s.w, s.p, s.bias) for s in streams]
    return streams


def make_streams(spec: KernelSpec, neuron: str, stimulus: str, *, vectors: int | None,
                 seed: int = 1) -> list[Stream]:
    """The input streams of one kernel (see the module docstring).

    Parameters
    ----------
    spec : KernelSpec
        Kernel shape and width (the neuron field is ignored).
    neuron : str
        ``"threshold"`` or ``"mac"``.
    stimulus : str
        ``"random"`` or ``"digits"``.
    vectors : int or None
        Vectors per stream (random: required; digits: a cap, default all).
    seed : int
        Random stimulus seed.

    Raises
    ------
    EnergyError
        Unknown stimulus, or digits at a width or kernel the trained models do not have.
    """
    if stimulus == "random":
        return _random_streams(spec, neuron, vectors or 10_000, seed)
    if stimulus == "digits":
        return _digits_streams(spec, neuron, vectors)
    raise EnergyError(f"stimulus must be one of {', '.join(STIMULI)}, not {stimulus!r}")


# -- one kernel ------------------------------------------------------------------------------------


def check_outputs(got: np.ndarray, expected: np.ndarray, *, what: str) -> None:
    """Raise :class:`EnergyError` naming the first vector where the integers differ."""
    got, expected = np.asarray(got), np.asarray(expected)
    bad = np.flatnonzero(got != expected)
    if len(bad):
        i = int(bad[0])
        raise EnergyError(f"{what}: gate-level output differs from the golden model on "
                          f"{len(bad)} of {len(expected)} vectors; first at vector {i}: "
                          f"expected {int(expected[i])}, got {int(got[i])}")


def _design(spec: KernelSpec, neuron: str, variant=None):
    from ...generate import emit_design, generate

    kernel_spec = KernelSpec(neuron=neuron, kernel=spec.kernel, width=spec.width)
    if variant is None:
        return generate(kernel_spec)
    component = variant(kernel_spec)
    return emit_design(component, "kernel", kernel_spec, f"{kernel_spec.top_name}_{variant.tag}")


def kernel_netlist(spec: KernelSpec, neuron: str, *, variant=None, cache_dir=None):
    """The generic-flow gate netlist of one kernel and its area figures
    (:func:`~tn_hw.synth.energy.netlist.synthesize_netlist`)."""
    design = _design(spec, neuron, variant)
    signed = {p["name"]: p["signed"] for p in design.manifest["ports"]}
    return synthesize_netlist(design.verilog, design.top, signed=signed, cache_dir=cache_dir)


def kernel_energy(spec: KernelSpec, neuron: str, streams, *, delays=DELAY_MODELS,
                  netlist: Netlist | None = None, variant=None, cache_dir=None) -> dict:
    """Simulate one kernel's netlist on ``streams``, check it, and sum toggles and energies.

    Parameters
    ----------
    netlist : Netlist, optional
        Use this netlist (tests pass mutants) instead of synthesizing the design.
    variant : class, optional
        A Kernel subclass with a ``tag`` attribute, emitted instead of the stock kernel.

    Returns
    -------
    dict
        ``top``, ``gates``, ``transistors``, ``depth``, ``streams``, ``vectors``,
        ``transitions`` and, per delay model, ``toggles`` (total), ``energy`` (per weighting,
        totals) and ``per_vector`` (per weighting, energy / transitions); ``sim_seconds``.

    Raises
    ------
    EnergyError
        If any output of any vector differs from the golden model.
    """
    area = None
    if netlist is None:
        netlist, area = kernel_netlist(spec, neuron, variant=variant, cache_dir=cache_dir)
    result = {"top": netlist.top, "gates": len(netlist.types),
              "transistors": int(sum(GATE_TRANSISTORS[t] for t in netlist.types)),
              "depth": netlist.depth, "streams": len(streams),
              "vectors": sum(len(s.x) for s in streams), "transitions": 0}
    if area is not None:
        result["transistors_yosys"] = area["metrics"]["transistors"]
    started = time.monotonic()
    for delay in delays:
        toggles = np.zeros(len(netlist.types), dtype=np.int64)
        input_toggles = np.zeros(len(netlist.input_bits), dtype=np.int64)
        transitions = 0
        for stream in streams:
            sim = netlist.simulate(stream.ports(), delay=delay)
            check_outputs(sim.outputs["y"], stream.golden(neuron),
                          what=f"{netlist.top} on {stream.name} ({delay} delay)")
            toggles += sim.toggles
            input_toggles += sim.input_toggles
            transitions += sim.transitions
        energy = {w: proxy_energy(netlist, toggles, input_toggles, w) for w in WEIGHTINGS}
        result["transitions"] = transitions
        result[delay] = {
            "toggles": int(toggles.sum()),
            "input_toggles": int(input_toggles.sum()),
            "energy": energy,
            "per_vector": {w: e / transitions for w, e in energy.items()},
        }
    result["sim_seconds"] = round(time.monotonic() - started, 3)
    return result


# -- threshold vs MAC ------------------------------------------------------------------------------


def _ratios(mac: dict, threshold: dict, delays) -> dict:
    return {d: {w: mac[d]["per_vector"][w] / threshold[d]["per_vector"][w] for w in WEIGHTINGS}
            for d in delays}


def _no_zeroing(streams, spec: KernelSpec) -> list[Stream]:
    # Thresholds at the bottom of the range: x > w for every x but the minimum, so (almost)
    # no term is zeroed; same x, polarities and bias.
    lo, _ = spec.input_range
    return [Stream(s.name + " (thresholds at minimum)", s.x, torch.full_like(s.w, lo), s.p,
                   s.bias) for s in streams]


def run_energy(kernel=(3, 3), width: int = 8, stimulus: str = "random", *,
               vectors: int | None = None, seed: int = 1, delays=DELAY_MODELS,
               isolation: bool = False, cache_dir=None) -> dict:
    """Energy proxy of the threshold and MAC kernels of one shape and width, and their ratios.

    Parameters
    ----------
    kernel : (int, int)
    width : int
    stimulus : str
        ``"random"`` or ``"digits"`` (see :func:`make_streams`).
    vectors : int, optional
        Vectors per stream (random default 10000; digits default all).
    seed : int
    delays : sequence of str
        Delay models from ``("zero", "unit")``.
    isolation : bool
        Also run the operand-isolated threshold kernel (:mod:`tn_hw.hdl.isolation`).

    Returns
    -------
    dict
        Parameters, ``threshold`` and ``mac`` (:func:`kernel_energy`), ``ratio`` (MAC /
        threshold energy per vector, per delay and weighting), ``zeroing`` (how many threshold
        terms are zeroed and the threshold kernel's energy with nothing zeroed) and, with
        ``isolation``, ``isolated``.

    Raises
    ------
    EnergyError, SpecError, SynthError
    """
    for delay in delays:
        if delay not in DELAY_MODELS:
            raise EnergyError(f"delay must be one of {', '.join(DELAY_MODELS)}, not {delay!r}")
    if vectors is not None and vectors < 2:
        raise EnergyError(f"vectors must be at least 2 (toggles need a transition), not {vectors}")
    spec = KernelSpec(neuron="threshold", kernel=tuple(kernel), width=width)
    streams = {n: make_streams(spec, n, stimulus, vectors=vectors, seed=seed)
               for n in COMPARED_NEURONS}
    result = {
        "kernel": spec.kernel_text, "width": width, "stimulus": stimulus, "seed": seed,
        "delays": list(delays), "weightings": WEIGHTINGS,
        "streams": {n: [s.name for s in streams[n]] for n in COMPARED_NEURONS},
        "paper_power_band": list(PAPER_POWER_BAND),
    }
    for neuron in COMPARED_NEURONS:
        result[neuron] = kernel_energy(spec, neuron, streams[neuron], delays=delays,
                                       cache_dir=cache_dir)
    result["ratio"] = _ratios(result["mac"], result["threshold"], delays)
    terms = sum(s.x.numel() for s in streams["threshold"])
    zeroed = sum(s.zeroed() for s in streams["threshold"])
    open_ = kernel_energy(spec, "threshold", _no_zeroing(streams["threshold"], spec),
                          delays=delays, cache_dir=cache_dir)
    result["zeroing"] = {
        "terms": terms, "zeroed": zeroed, "fraction": zeroed / terms,
        "no_zeroing": {d: open_[d] for d in delays},
        # > 1: the trained/drawn thresholds make the kernel cheaper than thresholds that
        # zero nothing.
        "saving": {d: {w: open_[d]["per_vector"][w] / result["threshold"][d]["per_vector"][w]
                       for w in WEIGHTINGS} for d in delays},
    }
    if isolation:
        from ...hdl.isolation import IsolatedKernel

        isolated = kernel_energy(spec, "threshold", streams["threshold"], delays=delays,
                                 variant=IsolatedKernel, cache_dir=cache_dir)
        isolated["vs_plain"] = {
            d: {w: isolated[d]["per_vector"][w] / result["threshold"][d]["per_vector"][w]
                for w in WEIGHTINGS} for d in delays}
        result["isolated"] = isolated
    return result


# -- reports ---------------------------------------------------------------------------------------


def render_text(result: dict) -> str:
    """Human table of one :func:`run_energy` result."""
    lines = [f"{result['kernel']} kernel, W = {result['width']}, stimulus {result['stimulus']}: "
             f"{result['threshold']['vectors']} vectors in {result['threshold']['streams']} "
             f"stream(s), every output equal to the golden model",
             f"gates: threshold {result['threshold']['gates']} "
             f"({result['threshold']['transistors']} transistors), MAC {result['mac']['gates']} "
             f"({result['mac']['transistors']} transistors)"]
    for delay in result["delays"]:
        t, m = result["threshold"][delay], result["mac"][delay]
        lines += ["", f"{delay} delay" + (" (glitches counted)" if delay == "unit" else
                                          " (no glitches)"),
                  f"  {'per vector':<14}{'threshold':>12}{'MAC':>12}{'MAC/thr':>10}"]
        tr = result["threshold"]["transitions"], result["mac"]["transitions"]
        lines.append(f"  {'gate toggles':<14}{t['toggles'] / tr[0]:>12.1f}"
                     f"{m['toggles'] / tr[1]:>12.1f}"
                     f"{(m['toggles'] / tr[1]) / (t['toggles'] / tr[0]):>9.2f}x")
        for w in WEIGHTINGS:
            if w == "toggles":
                continue
            lines.append(f"  {'E ' + w:<14}{t['per_vector'][w]:>12.1f}{m['per_vector'][w]:>12.1f}"
                         f"{result['ratio'][delay][w]:>9.2f}x")
    z = result["zeroing"]
    lines += ["", f"threshold terms zeroed (x <= w): {z['zeroed']} of {z['terms']} "
                  f"({100 * z['fraction']:.1f} %)"]
    for delay in result["delays"]:
        s = z["saving"][delay]
        lines.append(f"  {delay} delay: thresholds at the minimum (nothing zeroed) cost "
                     f"{s['transistors']:.2f}x the energy (transistor weighting)")
    if "isolated" in result:
        for delay in result["delays"]:
            v = result["isolated"]["vs_plain"][delay]
            lines.append(f"operand isolation, {delay} delay: {v['transistors']:.3f}x the plain "
                         f"threshold kernel's energy ({result['isolated']['gates']} gates)")
    lines.append(f"paper (28 nm, Synopsys): {PAPER_POWER_BAND[0]}-{PAPER_POWER_BAND[1]}x")
    return "\n".join(lines)


CSV_FIELDS = ("kernel", "width", "stimulus", "delay", "weighting", "threshold_per_vector",
              "mac_per_vector", "ratio", "threshold_gates", "mac_gates", "vectors",
              "zeroed_fraction")


def sweep_rows(results) -> list[dict]:
    rows = []
    for r in results:
        for delay in r["delays"]:
            for w in WEIGHTINGS:
                rows.append({
                    "kernel": r["kernel"], "width": r["width"], "stimulus": r["stimulus"],
                    "delay": delay, "weighting": w,
                    "threshold_per_vector": round(r["threshold"][delay]["per_vector"][w], 4),
                    "mac_per_vector": round(r["mac"][delay]["per_vector"][w], 4),
                    "ratio": round(r["ratio"][delay][w], 4),
                    "threshold_gates": r["threshold"]["gates"], "mac_gates": r["mac"]["gates"],
                    "vectors": r["threshold"]["vectors"],
                    "zeroed_fraction": round(r["zeroing"]["fraction"], 4),
                })
    return rows


def render_csv(results) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sweep_rows(results))
    return out.getvalue()


def render_plot(results) -> bytes:
    """PNG: MAC/threshold energy ratio per design, one panel per delay model, the span over
    weightings as a bar and the transistor weighting as a marker, beside the paper's band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    delays = [d for d in DELAY_MODELS if any(d in r["delays"] for r in results)]
    fig, axes = plt.subplots(1, len(delays), figsize=(6.5 * len(delays), 4.8), squeeze=False,
                             sharey=True)
    top = max([PAPER_POWER_BAND[1]] + [max(r["ratio"][d].values()) for r in results
                                         for d in r["ratio"]])
    series = sorted({(r["stimulus"], r["width"]) for r in results},
                    key=lambda s: (s[0] != "random", s[1]))
    kernels = sorted({r["kernel"] for r in results}, key=lambda k: int(k.split("x")[0]))
    for ax, delay in zip(axes[0], delays, strict=True):
        ax.axhspan(*PAPER_POWER_BAND, color="tab:red", alpha=0.15,
                   label=f"paper, 28 nm ({PAPER_POWER_BAND[0]}-{PAPER_POWER_BAND[1]}x)")
        ax.axhline(PAPER_FPGA_POWER, color="tab:red", ls=":", lw=1,
                   label=f"paper, FPGA system ({PAPER_FPGA_POWER}x)")
        for k, (stim, width) in enumerate(series):
            xs, ys, lo, hi = [], [], [], []
            for r in results:
                if (r["stimulus"], r["width"]) != (stim, width) or delay not in r["ratio"]:
                    continue
                ratios = r["ratio"][delay]
                xs.append(kernels.index(r["kernel"]) + (k - len(series) / 2) * 0.08)
                ys.append(ratios["transistors"])
                lo.append(ratios["transistors"] - min(ratios.values()))
                hi.append(max(ratios.values()) - ratios["transistors"])
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, lw=1,
                        label=f"{stim}, W = {width}")
        ax.set_xticks(range(len(kernels)), kernels)
        ax.set_xlabel("kernel")
        ax.set_title(f"{delay} delay" + (" (glitches counted)" if delay == "unit" else ""))
        ax.set_ylim(0, top * 1.08)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("MAC / threshold energy per inference")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=min(len(labels), 6))
    fig.suptitle("Switching-activity energy proxy (marker: transistor weighting; "
                 "bar: span over 4 weightings)", fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110)
    plt.close(fig)
    return out.getvalue()


def energy_point(point, *, cache=True, **options) -> dict:
    """:func:`run_energy` of one ``(kernel, width, stimulus)`` of a sweep, timed (``seconds``).

    Only parameters travel to a cluster worker: it regenerates the kernels and the stimulus
    (the same tn-hw, checked before the sweep) and its netlist cache entries come back."""
    kernel, width, stimulus = point
    started = time.monotonic()
    result = run_energy(kernel, width, stimulus, **options)
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def run_sweep(kernels, widths, stimuli, *, vectors=None, seed=1, delays=DELAY_MODELS,
              isolation=False, progress=None, cache_dir=None, executor=None) -> list[dict]:
    """:func:`run_energy` over kernels x widths x stimuli (digits only at width 8).

    ``progress`` (a :class:`tn_hw.progress.Progress`, a file, a callable taking a line, or
    ``None``; see :func:`tn_hw.progress.as_progress`) advances once per design. ``executor``
    (:func:`tn_hw.executor.make_executor`) runs the designs: default one at a time here; a
    design that fails does not stop the others, and :class:`tn_hw.executor.SweepError` names
    every failed one at the end.
    """
    points = [(kernel, width, stimulus) for stimulus in stimuli for width in widths
              if not (stimulus == "digits" and width != 8) for kernel in kernels]

    def done(index, result):
        ratio = result["ratio"][delays[0]]["transistors"]
        bar.step(f"{result['kernel']} W={result['width']} {result['stimulus']}: MAC/threshold "
                 f"{ratio:.2f}x ({delays[0]} delay, transistor weighting), "
                 f"{result['seconds']:.1f} s")

    from ...executor import LocalExecutor, run_points

    with as_progress(progress, "energy") as bar:
        bar.start(len(points))
        # The gate-level simulation is not cached, so no point is answered from the client's
        # cache (probe=False); a worker synthesizes the netlists afresh and ships them back.
        results = run_points(
            executor or LocalExecutor(1), energy_point, points,
            describe=lambda p: f"{p[0][0]}x{p[0][1]} W={p[1]} {p[2]}", on_result=done,
            options={"vectors": vectors, "seed": seed, "delays": tuple(delays),
                     "isolation": isolation, "cache_dir": cache_dir},
            kind="process", probe=False)
    if not results:
        raise EnergyError("the sweep is empty (digits runs only at width 8)")
    return results


def to_json(data) -> str:
    def default(value):
        if isinstance(value, (np.integer,)):
            return int(value)
        if isinstance(value, (np.floating,)):
            return float(value)
        raise TypeError(type(value).__name__)

    return json.dumps(data, indent=1, default=default) + "\n"


def render_markdown(results) -> str:
    """Markdown tables of a sweep: ratios per weighting and delay, energies, zeroing,
    operand isolation."""
    weightings = list(WEIGHTINGS)
    delays = [d for d in DELAY_MODELS if all(d in r["delays"] for r in results)]
    lines = ["### MAC / threshold energy per inference", "",
             "| kernel | W | stimulus | " + " | ".join(f"{d} {w}" for d in delays
                                                       for w in weightings) + " |",
             "|---|---:|---|" + "---:|" * (len(delays) * len(weightings))]
    for r in results:
        cells = [f"{r['ratio'][d][w]:.2f}x" for d in delays for w in weightings]
        lines.append(f"| {r['kernel']} | {r['width']} | {r['stimulus']} | "
                     + " | ".join(cells) + " |")
    lines += ["", "### Energy per inference (transistor weighting) and glitch factor", "",
              "| kernel | W | stimulus | vectors | thr gates | MAC gates | "
              + " | ".join(f"thr {d} | MAC {d}" for d in delays)
              + (" | glitch thr | glitch MAC |" if len(delays) == 2 else " |"),
              "|---|---:|---|---:|---:|---:|" + "---:|" * (2 * len(delays))
              + ("---:|---:|" if len(delays) == 2 else "")]
    for r in results:
        t, m = r["threshold"], r["mac"]
        cells = []
        for d in delays:
            cells += [f"{t[d]['per_vector']['transistors']:.0f}",
                      f"{m[d]['per_vector']['transistors']:.0f}"]
        if len(delays) == 2:
            cells += [f"{t['unit']['toggles'] / t['zero']['toggles']:.2f}",
                      f"{m['unit']['toggles'] / m['zero']['toggles']:.2f}"]
        lines.append(f"| {r['kernel']} | {r['width']} | {r['stimulus']} | {t['vectors']} | "
                     f"{t['gates']} | {m['gates']} | " + " | ".join(cells) + " |")
    lines += ["", "### Threshold mechanism: terms zeroed, and the cost of zeroing nothing", "",
              "Energy of the threshold kernel with every threshold at the minimum of the range "
              "(same x, polarities, bias: nothing zeroed) over its energy with the "
              "drawn/trained thresholds, transistor weighting.", "",
              "| kernel | W | stimulus | zeroed (x <= w) | "
              + " | ".join(f"no-zeroing / actual, {d}" for d in delays) + " |",
              "|---|---:|---|---:|" + "---:|" * len(delays)]
    for r in results:
        z = r["zeroing"]
        lines.append(f"| {r['kernel']} | {r['width']} | {r['stimulus']} | "
                     f"{100 * z['fraction']:.1f} % | "
                     + " | ".join(f"{z['saving'][d]['transistors']:.2f}x" for d in delays)
                     + " |")
    if all("isolated" in r for r in results):
        lines += ["", "### Operand isolation in the threshold cell", "",
                  "Isolated kernel's energy over the plain threshold kernel's (transistor "
                  "weighting; > 1 means isolation costs energy).", "",
                  "| kernel | W | stimulus | plain gates | isolated gates | "
                  + " | ".join(f"isolated / plain, {d}" for d in delays) + " |",
                  "|---|---:|---|---:|---:|" + "---:|" * len(delays)]
        for r in results:
            i = r["isolated"]
            lines.append(f"| {r['kernel']} | {r['width']} | {r['stimulus']} | "
                         f"{r['threshold']['gates']} | {i['gates']} | "
                         + " | ".join(f"{i['vs_plain'][d]['transistors']:.3f}x"
                                      for d in delays) + " |")
    return "\n".join(lines) + "\n"
