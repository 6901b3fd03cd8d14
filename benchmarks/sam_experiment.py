"""The SAM paper's toy experiment at reduced scale, and the area of the exported layers.

Prono et al., ISCAS 2022 (papers/sum-and-max-layer-iscas2022.txt), Section III: signals of
``n`` samples from a zero-mean Gaussian with covariance ``X_ij = r**|i-j|``; 10 classes of ``r``
evenly spaced in [-0.9, 0.9]; a hidden layer (MAC + ReLU, configuration A, or SAM,
configuration B) and a 10-way dense output layer with softmax. After training, the SAM layer is
pruned by activation rate (how often each W+ / W- is the selected one) and the MAC layer by
weight magnitude, without retraining; accuracy against parameters kept is printed.

Then the pruned SAM layer and the pruned MAC layer at equal accuracy are quantized to 8 bits,
checked with the integer golden model (reference/), emitted as Verilog by the generator and
synthesized with the generic Yosys flow neuron by neuron (tn_hw.synth.area.split: every distinct
neuron once, figures summed times count), each layer twice:

* constant: the trained 8-bit weights tied in, so pruned connections are simply not built
  (SAM: one part per neuron over its kept inputs; MAC: the kept weights' constant multipliers,
  one part per distinct weight, plus one adder tree with its bias per neuron, because a whole
  trained 40-input MAC neuron can keep ABC busy for minutes; ``--flat-timeout`` also tries the
  whole neurons);
* programmable: weights as ports; a MAC neuron with ``k`` kept inputs is
  ``KernelSpec(neuron="mac", kernel=(1, 1), channels=k)``, so equal ``k`` is one circuit (SAM:
  equal numbers of kept ``W+`` and ``W-``).

``--whole-sam`` also synthesizes the SAM layer whole (one run each), a check on the per-neuron
sum.

Usage::

    python benchmarks/sam_experiment.py                  # the recorded run (docs/results/sam.md)
    python benchmarks/sam_experiment.py --sam-steps 8000 --mac-steps 40000   # the longer run
    python benchmarks/sam_experiment.py --quick          # a smoke run in seconds
    python benchmarks/sam_experiment.py --no-synth       # training and pruning only

Seeded: the same command prints the same figures on the same torch build (CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from pathlib import Path

import torch

from tn_hw.reference.integer import layer as int_layer
from tn_hw.reference.sam import SamLayer, sam_layer

CLASSES = torch.linspace(-0.9, 0.9, 10)


def make_sampler(n):
    """Cholesky factors of the 10 covariance matrices ``X_ij = r**|i-j|``."""
    lag = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).abs().double()
    factors = torch.stack([torch.linalg.cholesky(r.double() ** lag) for r in CLASSES]).float()

    def sample(batch, generator):
        labels = torch.randint(0, len(CLASSES), (batch,), generator=generator)
        z = torch.randn(batch, n, generator=generator)
        return torch.einsum("bij,bj->bi", factors[labels], z), labels

    return sample


class MacNet(torch.nn.Module):
    """Configuration A: MAC hidden layer with ReLU, then the output layer."""

    def __init__(self, n, hidden):
        super().__init__()
        self.hidden = torch.nn.Linear(n, hidden)
        self.out = torch.nn.Linear(hidden, len(CLASSES))

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


class SamNet(torch.nn.Module):
    """Configuration B: SAM hidden layer (no activation), then the output layer."""

    def __init__(self, n, hidden, generator):
        super().__init__()
        self.hidden = SamLayer(n, hidden, generator=generator)
        self.out = torch.nn.Linear(hidden, len(CLASSES))

    def forward(self, x):
        return self.out(self.hidden(x))


def train(model, sample, *, steps, batch, lr, generator, label):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    started = time.perf_counter()
    for step in range(steps):
        x, y = sample(batch, generator)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % max(1, steps // 5) == 0:
            print(f"  [{label}] step {step + 1}/{steps} loss {loss.item():.3f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    return time.perf_counter() - started


@torch.no_grad()
def accuracy(model, test):
    x, y = test
    return (model(x).argmax(-1) == y).float().mean().item()


@torch.no_grad()
def sam_activation_counts(layer, x):
    """How many times each W+ (argmax) and W- (argmin) is selected over the signals ``x``."""
    high, low = layer.selections(x)
    outputs, n = layer.wp.shape
    counts = []
    for index in (high, low):
        flat = (torch.arange(outputs) * n + index).reshape(-1)
        counts.append(torch.bincount(flat, minlength=outputs * n).reshape(outputs, n))
    return counts


def keep_at_least_one(keep, counts):
    """A SAM neuron needs one input per side: keep its most-activated one if all fell below."""
    empty = ~keep.any(-1)
    keep = keep.clone()
    keep[empty, counts[empty].argmax(-1)] = True
    return keep


@torch.no_grad()
def prune_sam(model, counts, threshold, test):
    layer = model.hidden
    saved = layer.keep_max.clone(), layer.keep_min.clone()
    layer.keep_max.copy_(keep_at_least_one(counts[0] > threshold, counts[0]))
    layer.keep_min.copy_(keep_at_least_one(counts[1] > threshold, counts[1]))
    result = accuracy(model, test), int(layer.keep_max.sum() + layer.keep_min.sum())
    masks = layer.keep_max.clone(), layer.keep_min.clone()
    layer.keep_max.copy_(saved[0])
    layer.keep_min.copy_(saved[1])
    return (*result, masks)


@torch.no_grad()
def prune_mac(model, fraction, test):
    """Keep the ``fraction`` largest-magnitude hidden weights (biases always kept)."""
    weight = model.hidden.weight
    saved = weight.clone()
    k = max(1, round(fraction * weight.numel()))
    cut = weight.abs().reshape(-1).kthvalue(weight.numel() - k + 1).values
    keep = weight.abs() >= cut
    weight.mul_(keep)
    result = accuracy(model, test), int(keep.sum()) + model.hidden.bias.numel()
    weight.copy_(saved)
    return (*result, keep)


# -- 8-bit export ---------------------------------------------------------------------------------


def quantize(values, scale, width=8):
    hi = (1 << (width - 1)) - 1
    return torch.clamp(torch.round(values * scale), -hi - 1, hi).long()


@torch.no_grad()
def sam_integer_accuracy(model, masks, test, scale):
    """Accuracy with the hidden layer computed by the int64 golden model at 8 bits.

    x and W share one scale, so ``max(x + W+) + min(x + W-)`` scales with it exactly.
    """
    x, y = test
    xq = quantize(x, scale)
    wp, wm = quantize(model.hidden.wp, scale), quantize(model.hidden.wm, scale)
    hidden = sam_layer(xq, wp, wm, masks[0], masks[1]).float() / scale
    return (model.out(hidden).argmax(-1) == y).float().mean().item(), wp, wm


@torch.no_grad()
def mac_integer_accuracy(model, keep, test, x_scale):
    """Accuracy with the pruned hidden layer computed by the int64 golden MAC model at 8 bits."""
    x, y = test
    weight = model.hidden.weight * keep
    w_scale = 127 / weight.abs().max().item()
    xq, wq = quantize(x, x_scale), quantize(weight, w_scale)
    bias = torch.round(model.hidden.bias * x_scale * w_scale).long()
    acc_int = int_layer("mac", xq, wq, None, bias).float() / (x_scale * w_scale)
    return (model.out(torch.relu(acc_int)).argmax(-1) == y).float().mean().item(), wq, bias


def wrap_constant(design, constants, label):
    """Verilog and top of ``design`` with the ports named in ``constants`` (``{port: int}``)
    tied to those values; the other ports stay ports of the wrapper ``<top>_<label>``.

    Raises ``ValueError`` if a value does not fit its signed port.
    """
    from tn_hw.synth.area.compare import tie_ports

    return tie_ports(design, constants, f"{design.top}_{label}")


def mac_kept_inputs(wq):
    """Per output neuron, the indices of its nonzero quantized weights (its kept inputs)."""
    return [torch.nonzero(row).flatten().tolist() for row in wq]


def mac_parts(wq, bias, *, constant, width=8):
    """The pruned MAC layer as synthesis parts, one neuron each over only its kept inputs.

    ``wq`` ``(O, N)`` and ``bias`` ``(O,)`` are the quantized integers; neuron ``o`` is
    ``KernelSpec(neuron="mac", kernel=(1, 1), channels=k_o)`` with ``k_o`` its nonzero weights.
    ``constant``: one part per neuron with its weights and bias tied in. Otherwise weights and
    bias are ports, so neurons with equal ``k_o`` are one circuit: one part per distinct
    ``k_o``, counted. A neuron with no kept weight is the constant ``bias``: no hardware, no
    part.
    """
    from tn_hw.generate import generate
    from tn_hw.spec import KernelSpec
    from tn_hw.synth.area.split import Part

    kept = mac_kept_inputs(wq)
    if not constant:
        counts = Counter(len(inputs) for inputs in kept if inputs)
        parts = []
        for k, count in sorted(counts.items()):
            design = generate(KernelSpec(neuron="mac", kernel=(1, 1), channels=k, width=width))
            parts.append(Part(f"mac k{k}", design.verilog, design.top, count))
        return parts
    parts = []
    for o, inputs in enumerate(kept):
        if not inputs:
            continue
        design = generate(KernelSpec(neuron="mac", kernel=(1, 1), channels=len(inputs),
                                     width=width))
        constants = {f"w__{j}": int(wq[o, i]) for j, i in enumerate(inputs)}
        constants["bias"] = int(bias[o])
        verilog, top = wrap_constant(design, constants, f"o{o}")
        parts.append(Part(f"mac o{o} k{len(inputs)}", verilog, top))
    return parts


def _convert(component, top):
    from tn_hw.emit import convert

    return convert(component, name=top)


def mac_constant_split_parts(wq, bias, *, width=8):
    """The constant-weight pruned MAC layer in two kinds of small parts, each fast to synthesize:
    every kept weight's constant multiplier ``x * c`` (the MAC cell, ``tn_hw.hdl.mac``, with
    ``w`` fixed; one part per distinct ``c``, counted) and every neuron's adder tree
    ``bias + balanced_sum(products)`` (the MAC kernel's tree, ``tn_hw.hdl.kernel``, with its
    constant bias; one part per neuron).

    Together they are exactly the circuit of :func:`mac_parts` with ``constant=True``; only the
    cut between multipliers and tree stops Yosys from optimizing across it, so the sum is an
    upper bound on the per-neuron figure (a flat run of some trained neurons keeps ABC busy for
    minutes; ``--flat-timeout`` measures those that finish).
    """
    from amaranth.hdl import Const, Module, signed
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from tn_hw.hdl.kernel import balanced_sum
    from tn_hw.spec import KernelSpec
    from tn_hw.synth.area.split import Part

    class ConstantProduct(wiring.Component):
        def __init__(self, c):
            self.c = c
            super().__init__({"x": In(signed(width)), "y": Out(signed(2 * width))})

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.y.eq(self.x * Const(self.c, signed(width)))
            return m

    class Tree(wiring.Component):
        def __init__(self, spec, bias):
            self.spec, self.bias = spec, bias
            super().__init__({"p": In(signed(2 * width)).array(spec.n_inputs),
                              "y": Out(signed(spec.output_width))})

        def elaborate(self, platform):
            m = Module()
            bias = Const(self.bias, signed(self.spec.bias_width))
            m.d.comb += self.y.eq(bias + balanced_sum(list(self.p)))
            return m

    kept = mac_kept_inputs(wq)
    values = Counter(int(wq[o, i]) for o, inputs in enumerate(kept) for i in inputs)
    parts = []
    for c, count in sorted(values.items()):
        top = f"tn_mul_w{width}_c{'m' if c < 0 else ''}{abs(c)}"
        parts.append(Part(f"mul c{c}", _convert(ConstantProduct(c), top), top, count))
    for o, inputs in enumerate(kept):
        if not inputs:
            continue
        spec = KernelSpec(neuron="mac", kernel=(1, 1), channels=len(inputs), width=width)
        value = int(bias[o])
        if not -(1 << (spec.bias_width - 1)) <= value < (1 << (spec.bias_width - 1)):
            raise ValueError(f"bias {value} does not fit the {spec.bias_width}-bit bias of "
                             f"{spec.top_name}")
        top = f"tn_mac_tree_k{len(inputs)}_o{o}"
        parts.append(Part(f"tree o{o} k{len(inputs)}", _convert(Tree(spec, value), top), top))
    return parts


def sam_parts(wp, wm, masks, *, constant, width=8):
    """The pruned SAM layer as synthesis parts, one neuron each (the counterpart of
    :func:`mac_parts`).

    Neuron ``o`` is a one-output SAM kernel over the union of its kept inputs, with its max-side
    and min-side masks. ``constant``: one part per neuron, ``W+``/``W-`` tied in. Otherwise the
    circuit depends only on how many inputs each side keeps (every kept connection has its own
    adder), so one part per distinct ``(kept max, kept min)``, counted.
    """
    from tn_hw.generate import generate
    from tn_hw.spec import KernelSpec
    from tn_hw.synth.area.split import Part

    keep_max, keep_min = (torch.as_tensor(m).bool() for m in masks)
    if not constant:
        counts = Counter(zip(keep_max.sum(-1).tolist(), keep_min.sum(-1).tolist(), strict=True))
        parts = []
        for (a, b), count in sorted(counts.items()):
            n = max(a, b)
            spec = KernelSpec(neuron="sam", kernel=(1, 1), channels=n, outputs=1, width=width,
                              mask=[[int(i < a) for i in range(n)]],
                              mask_min=[[int(i < b) for i in range(n)]])
            design = generate(spec)
            parts.append(Part(f"sam max{a} min{b}", design.verilog, design.top, count))
        return parts
    parts = []
    for o in range(keep_max.shape[0]):
        inputs = torch.nonzero(keep_max[o] | keep_min[o]).flatten().tolist()
        spec = KernelSpec(neuron="sam", kernel=(1, 1), channels=len(inputs), outputs=1,
                          width=width, mask=[keep_max[o, inputs].int().tolist()],
                          mask_min=[keep_min[o, inputs].int().tolist()])
        design = generate(spec)
        constants = {f"wp__{k}": int(wp[o, inputs[i]])
                     for k, (_, i) in enumerate(spec.connections_max)}
        constants |= {f"wm__{k}": int(wm[o, inputs[i]])
                      for k, (_, i) in enumerate(spec.connections_min)}
        verilog, top = wrap_constant(design, constants, f"o{o}")
        parts.append(Part(f"sam o{o} max{int(keep_max[o].sum())} min{int(keep_min[o].sum())}",
                          verilog, top))
    return parts


def synthesize_group(label, parts, jobs):
    """Synthesize ``parts`` (generic flow) with a progress line every 16 parts; the summed
    figures and the per-part rows (:func:`tn_hw.synth.area.split.synthesize_parts`)."""
    from tn_hw.synth.area.split import synthesize_parts

    parts = list(parts)
    started = time.perf_counter()
    done = []

    def progress(part, result):
        done.append(result["cached"])
        if len(done) % 16 == 0 and len(done) < len(parts):
            print(f"    [{label}] {len(done)}/{len(parts)} parts "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)

    result = synthesize_parts(parts, "generic", jobs=jobs, progress=progress)
    cached = sum(done)
    print(f"  {label}: {result['metrics']} over {result['instances']} instances, {len(parts)} "
          f"distinct parts ({cached} from the cache), {result['wall_seconds']:.0f} s",
          flush=True)
    result["cached_parts"] = cached
    return result


def export_and_synthesize(sam_model, sam_masks, mac_model, mac_keep, test, scale, *, jobs=1,
                          whole_sam=False, flat_timeout=0):
    """8-bit accuracies of both pruned layers and their areas, neuron by neuron (constant and
    programmable weights); with ``whole_sam`` the SAM layer also as one run each."""
    from tn_hw.generate import generate
    from tn_hw.spec import KernelSpec
    from tn_hw.synth.area.flow import synthesize

    report = {}
    # x and the SAM weights share one scale; it also covers the largest kept weight, so that no
    # weight saturates (clamping trained weights at +-4 cost 6 points of accuracy).
    layer = sam_model.hidden
    largest = max(layer.wp[sam_masks[0]].abs().max().item(),
                  layer.wm[sam_masks[1]].abs().max().item())
    sam_scale = 127 / max(127 / scale, largest)
    acc, wp, wm = sam_integer_accuracy(sam_model, sam_masks, test, sam_scale)
    sam = {"int8_accuracy": acc, "scale": sam_scale, "kept_max": int(sam_masks[0].sum()),
           "kept_min": int(sam_masks[1].sum()), "neurons": wp.shape[0]}
    print(f"  SAM 8-bit scale 127 / {127 / sam_scale:.2f} (x and kept weights), "
          f"MAC x scale 127 / {127 / scale:.2f}", flush=True)
    for mode in ("constant", "programmable"):
        sam[mode] = synthesize_group(f"SAM {mode}, per neuron", sam_parts(
            wp, wm, sam_masks, constant=mode == "constant"), jobs)
    if whole_sam:
        n = wp.shape[1]
        spec = KernelSpec(neuron="sam", kernel=(1, 1), channels=n, outputs=wp.shape[0],
                          width=8, mask=sam_masks[0].int().tolist(),
                          mask_min=sam_masks[1].int().tolist())
        design = generate(spec)
        weights = {f"wp__{k}": int(wp[o, i]) for k, (o, i) in enumerate(spec.connections_max)}
        weights |= {f"wm__{k}": int(wm[o, i]) for k, (o, i) in enumerate(spec.connections_min)}
        started = time.perf_counter()
        verilog, top = wrap_constant(design, weights, "trained")
        whole = {"top": design.top,
                 "constant": synthesize(verilog, top, "generic")["metrics"],
                 "programmable": synthesize(design.verilog, design.top, "generic")["metrics"]}
        print(f"  SAM whole layer {design.top}: {whole['constant']} (constant), "
              f"{whole['programmable']} (programmable), {time.perf_counter() - started:.0f} s",
              flush=True)
        sam["whole_layer"] = whole
    report["sam"] = sam

    acc, wq, bias = mac_integer_accuracy(mac_model, mac_keep, test, scale)
    kept = [len(inputs) for inputs in mac_kept_inputs(wq)]
    mac = {"int8_accuracy": acc, "kept_weights": sum(kept), "kept_per_neuron": kept,
           "neurons": wq.shape[0]}
    mac["constant"] = synthesize_group("MAC constant, multipliers + trees",
                                       mac_constant_split_parts(wq, bias), jobs)
    mac["programmable"] = synthesize_group("MAC programmable, per neuron",
                                           mac_parts(wq, bias, constant=False), jobs)
    if flat_timeout:
        mac["constant_flat"] = flat_check(wq, bias, mac["constant"], flat_timeout)
    report["mac"] = mac
    return report


def flat_check(wq, bias, split, timeout):
    """Each constant MAC neuron synthesized whole (:func:`mac_parts`), within ``timeout``
    seconds each; on the neurons that finish, their sum against the split figure."""
    from tn_hw.synth.area.flow import SynthError, synthesize

    per_part = {row["name"]: row["metrics"] for row in split["parts"]}
    products = {int(row["name"].split("c")[1]): row["metrics"] for row in split["parts"]
                if row["name"].startswith("mul ")}
    rows, flat_sum, split_sum = [], Counter(), Counter()
    started = time.perf_counter()
    for part in mac_parts(wq, bias, constant=True):
        o, k = (int(v[1:]) for v in part.name.split()[1:])
        try:
            result = synthesize(part.verilog, part.top, "generic", timeout=timeout)
        except SynthError as error:
            if "longer than" not in str(error):
                raise
            rows.append({"neuron": o, "kept": k, "flat": None})
            continue
        neuron_split = Counter(per_part[f"tree o{o} k{k}"])
        for i in torch.nonzero(wq[o]).flatten().tolist():
            neuron_split.update(products[int(wq[o, i])])
        rows.append({"neuron": o, "kept": k, "flat": result["metrics"],
                     "split": dict(neuron_split), "seconds": result["seconds"]})
        flat_sum.update(result["metrics"])
        split_sum.update(neuron_split)
    done = [row for row in rows if row["flat"]]
    print(f"  MAC constant, whole neurons (timeout {timeout:.0f} s each): {len(done)} of "
          f"{len(rows)} finished, {time.perf_counter() - started:.0f} s", flush=True)
    if done:
        print(f"    on those: flat {dict(flat_sum)}, split {dict(split_sum)}, split / flat "
              f"{split_sum['transistors'] / flat_sum['transistors']:.3f} (transistors)")
    return {"timeout": timeout, "neurons": rows, "flat_sum": dict(flat_sum),
            "split_sum": dict(split_sum)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="signal length n (paper: 512)")
    parser.add_argument("--mac-hidden", type=int, default=38, help="MAC hidden outputs (0.6n)")
    parser.add_argument("--sam-hidden", type=int, default=128, help="SAM hidden outputs (2n)")
    parser.add_argument("--mac-steps", type=int, default=20000, help="batch 64, lr 1e-3")
    parser.add_argument("--sam-steps", type=int, default=2000, help="batch 256, lr 8e-3")
    parser.add_argument("--test", type=int, default=20000, help="test signals")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--no-synth", action="store_true", help="skip export and synthesis")
    parser.add_argument("--whole-sam", action="store_true",
                        help="also synthesize the SAM layer whole (a check on the per-neuron sum)")
    parser.add_argument("--jobs", type=int, default=1, help="Yosys runs at once")
    parser.add_argument("--flat-timeout", type=float, default=0, metavar="S",
                        help="also synthesize each constant MAC neuron whole, S seconds each")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.quick:
        args.mac_steps, args.sam_steps = 200, 50
        args.test = 500
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    sample = make_sampler(args.n)
    test = sample(args.test, torch.Generator().manual_seed(args.seed + 1000))
    calib = sample(args.test, torch.Generator().manual_seed(args.seed + 2000))[0]
    print(f"n = {args.n}, 10 classes, MAC hidden {args.mac_hidden}, SAM hidden "
          f"{args.sam_hidden}, seed {args.seed}")

    mac = MacNet(args.n, args.mac_hidden)
    mac_seconds = train(mac, sample, steps=args.mac_steps, batch=64, lr=1e-3, generator=gen,
                        label="MAC")
    sam = SamNet(args.n, args.sam_hidden, gen)
    sam_seconds = train(sam, sample, steps=args.sam_steps, batch=256, lr=8e-3, generator=gen,
                        label="SAM")
    mac_acc, sam_acc = accuracy(mac, test), accuracy(sam, test)
    mac_params = mac.hidden.weight.numel() + mac.hidden.bias.numel()
    sam_params = 2 * sam.hidden.wp.numel()
    print(f"dense: MAC accuracy {mac_acc:.3f} with {mac_params} hidden parameters "
          f"({mac_seconds:.0f} s); SAM accuracy {sam_acc:.3f} with {sam_params} "
          f"({sam_seconds:.0f} s)")

    counts = sam_activation_counts(sam.hidden, calib)
    sam_curve = []
    for rate in [0, 1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32]:
        acc, kept, masks = prune_sam(sam, counts, rate * len(calib), test)
        sam_curve.append({"rate": rate, "accuracy": acc, "params": kept, "masks": masks})
    mac_curve = []
    for fraction in [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]:
        acc, kept, keep = prune_mac(mac, fraction, test)
        mac_curve.append({"fraction": fraction, "accuracy": acc, "params": kept, "keep": keep})
    print("\nSAM pruned by activation rate (share of "
          f"{len(calib)} calibration signals that select it > rate; W+ and W- separately):")
    for row in sam_curve:
        print(f"  rate > {row['rate']:<6}: {row['params']:>6} params, "
              f"accuracy {row['accuracy']:.3f}")
    print("MAC pruned by magnitude (weights kept, biases always kept):")
    for row in mac_curve:
        print(f"  keep {row['fraction']:.2f}: {row['params']:>6} params, "
              f"accuracy {row['accuracy']:.3f}")

    # Equal accuracy: the lower dense accuracy minus 0.05 (the paper's "lose 0.05" point).
    target = min(mac_acc, sam_acc) - 0.05
    sam_pick, mac_pick = (
        min((r for r in curve if r["accuracy"] >= target), key=lambda r: r["params"],
            default=max(curve, key=lambda r: r["accuracy"]))
        for curve in (sam_curve, mac_curve))
    print(f"\nat accuracy >= {target:.3f}: SAM {sam_pick['params']} params "
          f"(accuracy {sam_pick['accuracy']:.3f}), MAC {mac_pick['params']} params "
          f"(accuracy {mac_pick['accuracy']:.3f}); MAC / SAM = "
          f"{mac_pick['params'] / sam_pick['params']:.1f}x")
    result = {
        "args": {k: v for k, v in vars(args).items() if k != "json"},
        "dense": {"mac": {"accuracy": mac_acc, "params": mac_params, "seconds": mac_seconds},
                  "sam": {"accuracy": sam_acc, "params": sam_params, "seconds": sam_seconds}},
        "sam_curve": [{k: v for k, v in r.items() if k != "masks"} for r in sam_curve],
        "mac_curve": [{k: v for k, v in r.items() if k != "keep"} for r in mac_curve],
        "target_accuracy": target,
        "picked": {"sam": {k: v for k, v in sam_pick.items() if k != "masks"},
                   "mac": {k: v for k, v in mac_pick.items() if k != "keep"}},
    }
    if not args.no_synth:
        # x ~ N(0, 1): 8-bit inputs cover +-4 standard deviations.
        scale = 127 / 4
        print("\nexport at 8 bits and synthesize (generic flow), neuron by neuron:", flush=True)
        synth_started = time.perf_counter()
        result["area"] = a = export_and_synthesize(
            sam, sam_pick["masks"], mac, mac_pick["keep"], test, scale, jobs=args.jobs,
            whole_sam=args.whole_sam, flat_timeout=args.flat_timeout)
        result["synth_seconds"] = time.perf_counter() - synth_started
        print(f"\n8-bit accuracy (integer golden model): SAM {a['sam']['int8_accuracy']:.3f}, "
              f"MAC {a['mac']['int8_accuracy']:.3f} (float: SAM {sam_pick['accuracy']:.3f}, "
              f"MAC {mac_pick['accuracy']:.3f})")
        print(f"kept: SAM {a['sam']['kept_max']} W+ and {a['sam']['kept_min']} W- over "
              f"{a['sam']['neurons']} neurons; MAC {a['mac']['kept_weights']} nonzero 8-bit "
              f"weights over {a['mac']['neurons']} neurons (+{a['mac']['neurons']} biases)")
        print(f"{'layer (sum of neurons)':<28} {'gates':>9} {'transistors':>12}")
        ratios = {}
        for mode in ("constant", "programmable"):
            for name in ("sam", "mac"):
                m = a[name][mode]["metrics"]
                print(f"{name.upper() + ', ' + mode:<28} {m['gates']:>9} {m['transistors']:>12}")
            ratios[mode] = {metric: a["mac"][mode]["metrics"][metric]
                            / a["sam"][mode]["metrics"][metric]
                            for metric in ("gates", "transistors")}
            print(f"{'MAC / SAM, ' + mode:<28} {ratios[mode]['gates']:>8.2f}x "
                  f"{ratios[mode]['transistors']:>11.2f}x")
        result["ratios"] = ratios
        whole = a["sam"].get("whole_layer")
        if whole:
            for mode in ("constant", "programmable"):
                m, w = a["sam"][mode]["metrics"], whole[mode]
                print(f"SAM {mode}: whole layer {w['gates']} gates, {w['transistors']} "
                      f"transistors; per-neuron sum / whole layer "
                      f"{m['gates'] / w['gates']:.3f} (gates), "
                      f"{m['transistors'] / w['transistors']:.3f} (transistors)")
    result["total_seconds"] = time.perf_counter() - started
    print(f"\ntotal {result['total_seconds']:.0f} s (training MAC {mac_seconds:.0f} s, "
          f"SAM {sam_seconds:.0f} s" + (f", synthesis {result['synth_seconds']:.0f} s)"
                                        if "synth_seconds" in result else ")"))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0 if math.isfinite(mac_acc) else 1


if __name__ == "__main__":
    raise SystemExit(main())
