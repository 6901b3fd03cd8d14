"""The SAM paper's toy experiment at reduced scale, and the area of the exported layers.

Prono et al., ISCAS 2022 (papers/sum-and-max-layer-iscas2022.txt), Section III: signals of
``n`` samples from a zero-mean Gaussian with covariance ``X_ij = r**|i-j|``; 10 classes of ``r``
evenly spaced in [-0.9, 0.9]; a hidden layer (MAC + ReLU, configuration A, or SAM,
configuration B) and a 10-way dense output layer with softmax. After training, the SAM layer is
pruned by activation rate (how often each W+ / W- is the selected one) and the MAC layer by
weight magnitude, without retraining; accuracy against parameters kept is printed.

Then the pruned SAM layer and the pruned MAC layer at equal accuracy are quantized to 8 bits,
checked with the integer golden model (reference/), emitted as Verilog by the generator and
synthesized with the generic Yosys flow (trained weights baked in as constants for both, so
pruned multipliers and pruned comparator inputs both vanish).

Usage::

    python benchmarks/sam_experiment.py                  # the recorded run (docs/results/sam.md)
    python benchmarks/sam_experiment.py --quick          # a smoke run in seconds
    python benchmarks/sam_experiment.py --no-synth       # training and pruning only

Seeded: the same command prints the same figures on the same torch build (CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import time
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


def synth_constant(design, weights, seed_label):
    """Synthesize ``design`` (generic flow) with its weight ports tied to ``weights``
    (``{port name: int}``); returns the metrics."""
    from tn_hw.synth.flow import synthesize

    ports, decls, conns = [], [], []
    for port in design.manifest["ports"]:
        name, width = port["name"], port["width"]
        if name in weights:
            conns.append(f"    .{name}({width}'b{weights[name] & ((1 << width) - 1):0{width}b})")
            continue
        ports.append(name)
        signed = "signed " if port["signed"] else ""
        decls.append(f"  {port['direction']} {signed}[{width - 1}:0] {name};")
        conns.append(f"    .{name}({name})")
    top = f"{design.top}_{seed_label}"
    wrapper = "\n".join([f"module {top}({', '.join(ports)});", *decls,
                         f"  {design.top} core (", ",\n".join(conns), "  );", "endmodule"])
    return synthesize(design.verilog + "\n" + wrapper + "\n", top, "generic")


def export_and_synthesize(sam_model, sam_masks, mac_model, mac_keep, test, scale):
    from tn_hw.synth.flow import SynthError, synthesize

    from tn_hw.generate import generate
    from tn_hw.spec import KernelSpec

    report = {}
    acc, wp, wm = sam_integer_accuracy(sam_model, sam_masks, test, scale)
    n = wp.shape[1]
    spec = KernelSpec(neuron="sam", kernel=(1, 1), channels=n, outputs=wp.shape[0], width=8,
                      mask=sam_masks[0].int().tolist(), mask_min=sam_masks[1].int().tolist())
    design = generate(spec)
    weights = {f"wp__{k}": int(wp[o, i]) for k, (o, i) in enumerate(spec.connections_max)}
    weights |= {f"wm__{k}": int(wm[o, i]) for k, (o, i) in enumerate(spec.connections_min)}
    started = time.perf_counter()
    sam_const = synth_constant(design, weights, "trained")["metrics"]
    sam_prog = synthesize(design.verilog, design.top, "generic")["metrics"]
    print(f"  SAM layer {design.top}: {sam_const} (constant), {sam_prog} (programmable), "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    report["sam"] = {"top": design.top, "int8_accuracy": acc, "kept_max": len(spec.connections_max),
                     "kept_min": len(spec.connections_min), "constant": sam_const,
                     "programmable": sam_prog}

    acc, wq, bias = mac_integer_accuracy(mac_model, mac_keep, test, scale)
    spec = KernelSpec(neuron="mac", kernel=(1, 1), channels=n, outputs=wq.shape[0], width=8)
    design = generate(spec)
    weights = {f"w__{o}__{i}": int(wq[o, i]) for o in range(wq.shape[0]) for i in range(n)}
    weights |= {f"bias__{o}": int(bias[o]) for o in range(wq.shape[0])}
    # One programmable n-input MAC neuron: a quick, measured per-neuron figure.
    one = generate(KernelSpec(neuron="mac", kernel=(1, 1), channels=n, width=8))
    mac_neuron = synthesize(one.verilog, one.top, "generic")["metrics"]
    print(f"  one programmable MAC neuron {one.top}: {mac_neuron}", flush=True)
    started = time.perf_counter()
    try:
        mac_const = synth_constant(design, weights, "trained")["metrics"]
    except SynthError as error:
        # The whole constant MAC layer is one large flattened ABC run; record the failure.
        mac_const = {"error": str(error)}
    print(f"  MAC layer {design.top}: {mac_const} (constant, pruned weights are 0), "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    report["mac"] = {"top": design.top, "int8_accuracy": acc,
                     "kept_weights": int((wq != 0).sum()), "constant": mac_const,
                     "one_programmable_neuron": mac_neuron}
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="signal length n (paper: 512)")
    parser.add_argument("--mac-hidden", type=int, default=38, help="MAC hidden outputs (0.6n)")
    parser.add_argument("--sam-hidden", type=int, default=128, help="SAM hidden outputs (2n)")
    parser.add_argument("--mac-steps", type=int, default=40000, help="batch 64, lr 1e-3")
    parser.add_argument("--sam-steps", type=int, default=8000, help="batch 256, lr 8e-3")
    parser.add_argument("--test", type=int, default=20000, help="test signals")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--no-synth", action="store_true", help="skip export and synthesis")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.mac_steps = args.sam_steps = 200
        args.test = 2000
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
    sam_pick = min((r for r in sam_curve if r["accuracy"] >= target), key=lambda r: r["params"])
    mac_pick = min((r for r in mac_curve if r["accuracy"] >= target), key=lambda r: r["params"])
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
        print("\nexport at 8 bits and synthesize (generic flow, trained weights as constants):")
        result["area"] = export_and_synthesize(sam, sam_pick["masks"], mac, mac_pick["keep"],
                                               test, scale)
        a = result["area"]
        print(f"  8-bit accuracy (integer golden model): SAM {a['sam']['int8_accuracy']:.3f}, "
              f"MAC {a['mac']['int8_accuracy']:.3f}")
        for metric in ("gates", "transistors"):
            s, m = a["sam"]["constant"][metric], a["mac"]["constant"].get(metric)
            if m is not None:
                print(f"  {metric}: SAM {s}, MAC {m}, MAC / SAM {m / s:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0 if math.isfinite(mac_acc) else 1


if __name__ == "__main__":
    raise SystemExit(main())
