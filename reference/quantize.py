"""Multiplier-free 8-bit quantization of Threshold-Nets (and their MAC baselines).

Scheme (section 5.2.3 of arXiv 2412.13902, made shift-only):

- Symmetric, per-tensor, signed ``width``-bit (default 8) integers with power-of-two scales: a
  tensor with ``frac`` fractional bits stores ``v`` as ``q = clamp(floor(v * 2**frac + 1/2))``.
- The network input uses ``input_frac_bits`` (digits: 6, so pixel ``k`` becomes ``4 k``).
- A threshold layer's thresholds share its input's scale (``x - w`` needs no rescaling), so its
  accumulator ``y = bias + sum +-relu(x - w)`` is at the input scale ``2**-frac_in``. Thresholds
  above the input range are clamped to its top (the cell is 0 either way); thresholds below it are
  clamped to its bottom and the constant difference ``s * (lo - w)`` moves into the bias (the cell
  is ``x - w`` for every input either way), so clamping changes no output.
- A Sum-and-Max layer (:class:`~tn_hw.reference.sam.SamLayer`, dense) is quantized like a
  threshold layer: ``W+`` and ``W-`` share its input's scale (``x + w`` needs no rescaling), so
  its output ``max + min`` is at the input scale; weights outside the ``width``-bit range are
  saturated (the fake-quantized forward saturates them the same way). It has no bias.
- A MAC layer's weights get their own scale ``frac_w`` (the largest that holds ``max |w|``); its
  accumulator is at ``2**-(frac_in + frac_w)``.
- The output scale ``frac_out`` of every layer but the last is calibrated: the largest that holds
  the largest ``|y|`` seen on calibration data, and never above the accumulator's, so the
  requantization is ``requantize(y, shift = frac_acc - frac_out, width)``: add half, arithmetic
  shift right, saturate. No multiplier anywhere. The last layer keeps full precision (logits).
- Biases are rounded to the accumulator scale.

:func:`fake_quant_forward` runs exactly this arithmetic in floating point (with straight-through
rounding for quantization-aware training); in float64 every value is a short dyadic fraction, so
it reproduces the integer network of :func:`to_network` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..spec import KernelSpec
from .network import FORMAT, VERSION
from .sam import SamExtreme, SamLayer
from .tnet import TConv2d, TLinear, threshold_conv2d, threshold_linear

__all__ = [
    "LayerQuant",
    "QuantPlan",
    "calibrate",
    "fake_quant_forward",
    "layer_groups",
    "to_network",
]


@dataclass(frozen=True)
class LayerQuant:
    """Fixed-point formats of one compute layer.

    Attributes
    ----------
    in_frac : int
        Fractional bits of the layer's input (and of its thresholds).
    w_frac : int or None
        Fractional bits of a MAC layer's weights; ``None`` for threshold layers.
    out_frac : int or None
        Fractional bits of the requantized output; ``None`` for the last layer.
    """

    in_frac: int
    w_frac: int | None
    out_frac: int | None

    @property
    def acc_frac(self) -> int:
        """Fractional bits of the accumulator ``y``."""
        return self.in_frac + (self.w_frac or 0)

    @property
    def shift(self) -> int:
        """Right shift of the requantization (0 for the last layer)."""
        return 0 if self.out_frac is None else self.acc_frac - self.out_frac


@dataclass(frozen=True)
class QuantPlan:
    """Formats of a whole network: the input and every compute layer."""

    width: int
    input_frac: int
    layers: tuple[LayerQuant, ...]


def layer_groups(model: nn.Sequential):
    """Split a sequential model into ``(module, relu)`` steps.

    Compute modules are :class:`TLinear`, :class:`TConv2d`, :class:`SamLayer`, ``nn.Linear``
    and ``nn.Conv2d``;
    ``nn.Flatten`` is a step of its own; an ``nn.ReLU`` marks the compute step before it.

    Raises
    ------
    TypeError
        On any other module.
    ValueError
        On a ReLU that does not follow a compute module.
    """
    steps = []
    for module in model:
        if isinstance(module, nn.ReLU):
            if not steps or steps[-1][0] is None or isinstance(steps[-1][0], nn.Flatten):
                raise ValueError("a ReLU must follow a linear or conv layer")
            steps[-1] = (steps[-1][0], True)
        elif isinstance(module, (TLinear, TConv2d, SamLayer, nn.Linear, nn.Conv2d, nn.Flatten)):
            steps.append((module, False))
        else:
            raise TypeError(f"cannot quantize a {type(module).__name__} layer")
    return steps


def _is_threshold(module) -> bool:
    return isinstance(module, (TLinear, TConv2d))


def _shares_input_scale(module) -> bool:
    """Threshold and SAM layers: weights at the input's scale, no weight scale of their own."""
    return _is_threshold(module) or isinstance(module, SamLayer)


def _round(v, frac: int, ste: bool):
    """``floor(v * 2**frac + 1/2) * 2**-frac`` (straight-through gradient if ``ste``)."""
    q = torch.floor(v * (2.0 ** frac) + 0.5) * (2.0 ** -frac)
    return v + (q - v).detach() if ste else q


def _quant(v, frac: int, width: int, ste: bool):
    """Round to ``frac`` bits and saturate to ``width`` bits (zero gradient when saturated)."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return torch.clamp(_round(v, frac, ste), lo * 2.0 ** -frac, hi * 2.0 ** -frac)


def _best_frac(max_abs: float, width: int) -> int:
    """Largest ``frac`` with ``max_abs * 2**frac <= 2**(width-1) - 1`` (power-of-two scale)."""
    if max_abs <= 0:
        return 0
    return math.floor(math.log2(((1 << (width - 1)) - 1) / max_abs))


def _apply(module, relu, lq: LayerQuant | None, h, width, ste):
    """One step of the fake-quantized network (``lq`` None: flatten)."""
    if isinstance(module, nn.Flatten):
        return h.flatten(1)
    if isinstance(module, SamLayer):
        wp = _quant(module.wp.to(h.dtype), lq.in_frac, width, ste)
        wm = _quant(module.wm.to(h.dtype), lq.in_frac, width, ste)
        high, _ = SamExtreme.apply(h, wp, module.keep_max, True)
        low, _ = SamExtreme.apply(h, wm, module.keep_min, False)
        y = high + low
        if lq.out_frac is not None:
            y = _quant(y, lq.out_frac, width, ste)
        return torch.relu(y) if relu else y
    bias = module.bias if module.bias is not None else None
    if _is_threshold(module):
        w = _round(module.weight.to(h.dtype), lq.in_frac, ste)
        b = None if bias is None else _round(bias.to(h.dtype), lq.acc_frac, ste)
        sign = module.sign.to(h.dtype)
        if isinstance(module, TLinear):
            y = threshold_linear(h, w, sign, b)
        else:
            y = threshold_conv2d(h, w, sign, b, stride=module.stride, padding=module.padding)
    else:
        w = _quant(module.weight.to(h.dtype), lq.w_frac, width, ste)
        b = None if bias is None else _round(bias.to(h.dtype), lq.acc_frac, ste)
        if isinstance(module, nn.Linear):
            y = F.linear(h, w, b)
        else:
            y = F.conv2d(h, w, b, stride=module.stride, padding=module.padding)
    if lq.out_frac is not None:
        y = _quant(y, lq.out_frac, width, ste)
    return torch.relu(y) if relu else y


def fake_quant_forward(model: nn.Sequential, plan: QuantPlan, x, *, ste: bool = False):
    """Forward pass with every tensor rounded and saturated as the integer network does.

    Parameters
    ----------
    model : nn.Sequential
    plan : QuantPlan
    x : torch.Tensor
        Float input (any float dtype; float64 reproduces the integer network exactly).
    ste : bool
        Straight-through rounding, for quantization-aware training.

    Returns
    -------
    torch.Tensor
        Logits, ``integer logits * 2**-plan.layers[-1].acc_frac``.
    """
    h = _quant(x, plan.input_frac, plan.width, ste)
    layer_index = 0
    for module, relu in layer_groups(model):
        lq = None
        if not isinstance(module, nn.Flatten):
            lq = plan.layers[layer_index]
            layer_index += 1
        h = _apply(module, relu, lq, h, plan.width, ste)
    return h


@torch.no_grad()
def calibrate(model: nn.Sequential, x, *, width: int = 8, input_frac: int) -> QuantPlan:
    """Choose every power-of-two scale from calibration inputs ``x`` (float).

    Each layer is calibrated on the fake-quantized output of the layers before it, with the
    largest ``|value|`` (no clipping), in float64.
    """
    steps = layer_groups(model)
    n_compute = sum(1 for m, _ in steps if not isinstance(m, nn.Flatten))
    h = _quant(x.to(torch.float64), input_frac, width, False)
    frac, layers = input_frac, []
    for module, relu in steps:
        if isinstance(module, nn.Flatten):
            h = h.flatten(1)
            continue
        w_frac = None
        if not _shares_input_scale(module):
            w_frac = _best_frac(float(module.weight.abs().max()), width)
        is_last = len(layers) == n_compute - 1
        lq = LayerQuant(frac, w_frac, None)
        y = _apply(module, False, lq, h, width, False)
        if not is_last:
            out_frac = min(lq.acc_frac, _best_frac(float(y.abs().max()), width))
            lq = LayerQuant(frac, w_frac, out_frac)
            frac = out_frac
        layers.append(lq)
        h = _apply(module, relu, lq, h, width, False)
    return QuantPlan(width, input_frac, tuple(layers))


def _to_int(v: torch.Tensor, frac: int) -> torch.Tensor:
    return torch.floor(v.detach().to(torch.float64) * (2.0 ** frac) + 0.5).to(torch.int64)


def _sam_entry(module, lq: LayerQuant, width: int, relu: bool) -> dict:
    """The tn-hw-net linear layer of a dense :class:`SamLayer` (``wp``/``wm`` at the input
    scale, saturated to ``width`` bits; docs/network-format.md)."""
    if not (bool(module.keep_max.all()) and bool(module.keep_min.all())):
        raise ValueError("a pruned SAM layer cannot be written: the network format's SAM "
                         "layers are dense")
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    n_out, n_in = module.wp.shape
    entry = {"type": "linear", "neuron": "sam", "in_features": n_in, "out_features": n_out,
             "width": width, "wp": _to_int(module.wp, lq.in_frac).clamp(lo, hi).tolist(),
             "wm": _to_int(module.wm, lq.in_frac).clamp(lo, hi).tolist(), "shift": lq.shift,
             "out_width": None if lq.out_frac is None else width}
    if relu:
        entry["activation"] = "relu"
    return entry


@torch.no_grad()
def to_network(model: nn.Sequential, plan: QuantPlan, *, name: str, task: str,
               input_shape, extra: dict | None = None) -> dict:
    """The tn-hw-net JSON object of a model quantized with ``plan``.

    Parameters
    ----------
    model : nn.Sequential
    plan : QuantPlan
    name, task : str
    input_shape : sequence of int
        Without the batch: ``[64]`` or ``[1, 8, 8]``.
    extra : dict or None
        Extra top-level keys (e.g. ``"training"`` provenance).

    Returns
    -------
    dict
        Validate and save it with :func:`tn_hw.reference.network.save_network`.
    """
    width = plan.width
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    layers, index = [], 0
    steps = layer_groups(model)
    for module, relu in steps:
        if isinstance(module, nn.Flatten):
            layers.append({"type": "flatten"})
            continue
        lq = plan.layers[index]
        index += 1
        if isinstance(module, SamLayer):
            layers.append(_sam_entry(module, lq, width, relu))
            continue
        n_out = module.weight.shape[0]
        if module.bias is not None:
            bias = _to_int(module.bias, lq.acc_frac)
        else:
            bias = torch.zeros(n_out, dtype=torch.int64)
        entry = {"neuron": "threshold" if _is_threshold(module) else "mac", "width": width,
                 "shift": lq.shift, "out_width": None if lq.out_frac is None else width}
        if _is_threshold(module):
            w = _to_int(module.weight, lq.in_frac).reshape(n_out, -1)
            sign = module.sign.reshape(n_out, -1)
            # Thresholds below the input range: the cell is x - w = (x - lo) + (lo - w).
            below = w < lo
            bias = bias + (sign * (lo - w) * below).sum(1)
            w = w.clamp(lo, hi)
            entry["p"] = module.polarity.reshape(n_out, -1).tolist()
        else:
            w = _to_int(module.weight, lq.w_frac).clamp(lo, hi).reshape(n_out, -1)
        if isinstance(module, (TConv2d, nn.Conv2d)):
            kh, kw = module.kernel_size
            stride = module.stride if isinstance(module.stride, int) else module.stride[0]
            padding = module.padding if isinstance(module.padding, int) else module.padding[0]
            spec = KernelSpec(neuron=entry["neuron"], kernel=(kh, kw),
                              channels=module.in_channels, width=width)
            entry.update(type="conv2d", in_channels=module.in_channels,
                         out_channels=module.out_channels, kernel=[kh, kw], stride=stride,
                         padding=padding)
        else:
            spec = KernelSpec(neuron=entry["neuron"], kernel=(1, 1),
                              channels=module.in_features, width=width)
            entry.update(type="linear", in_features=module.in_features, out_features=n_out)
        bias = bias.clamp(*spec.bias_range)
        entry.update(w=w.tolist(), bias=bias.tolist())
        if relu:
            entry["activation"] = "relu"
        layers.append(entry)
    raw = {"format": FORMAT, "version": VERSION, "name": name, "task": task,
           "input": {"shape": list(input_shape), "width": width, "frac_bits": plan.input_frac},
           "layers": layers}
    if extra:
        raw.update(extra)
    return raw
