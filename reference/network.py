"""Integer networks: load a tn-hw-net file into tensors, and run it bit-exactly.

The file format is the contract between training (``tn-hw train``) and hardware
(``tn-hw export``/``verify``); ``docs/network-format.md`` describes it. Parsing and validation
live in the torch-free :mod:`tn_hw.netdesc` (which the hardware reads too); this module wraps
the validated parameters in int64 tensors. Every violation of the contract raises
:class:`NetworkError` with a one-line message naming the layer and field.

The forward pass uses the kernels of :mod:`.integer` on int64 tensors:
each layer computes ``y = bias + sum_i cell(x_i, w_i, p_i)`` (a Sum-and-Max layer
``y = max_i(x_i + W+_i) + min_i(x_i + W-_i)``, :func:`.sam.sam_layer`), then
``requantize(y, shift, out_width)`` and, if the layer says ``"activation": "relu"``,
``max(q, 0)``; a convolution is the same layer applied to every patch
(``unfold``), with patches flattened in ``(channel, row, column)`` order.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..netdesc import (
    ACTIVATIONS,
    FORMAT,
    MAX_SHIFT,
    VERSION,
    NetworkDesc,
    NetworkError,
    NetworkShapes,
    network_neurons,
    read_network,
)
from ..spec import KernelSpec
from . import integer
from .sam import sam_layer

__all__ = [
    "ACTIVATIONS",
    "FORMAT",
    "MAX_SHIFT",
    "VERSION",
    "Conv2d",
    "Flatten",
    "Linear",
    "Network",
    "NetworkError",
    "conv2d",
    "forward",
    "linear",
    "load_network",
    "network_to_dict",
    "predict",
    "predict_logits",
    "save_network",
]

#: Built-in neuron families a network layer may use (:func:`tn_hw.netdesc.network_neurons`).
NETWORK_NEURONS = network_neurons()


# -- layers -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Linear:
    """A fully connected layer of ``out_features`` kernels over ``in_features`` inputs.

    ``w`` and ``p`` are int64 ``(out_features, in_features)`` (``p`` is ``None`` for
    ``neuron == "mac"``), ``bias`` int64 ``(out_features,)``. A Sum-and-Max layer
    (``neuron == "sam"``): ``w`` is ``W+`` (max side), ``wm`` ``W-`` (min side), both
    ``(out_features, in_features)``; ``p`` and ``bias`` are ``None``; ``mask`` and
    ``mask_min`` (tuples of 0/1 rows, or ``None``) are its connectivity masks
    (:class:`tn_hw.netdesc.LinearDesc`).
    """

    neuron: str
    in_features: int
    out_features: int
    width: int
    w: torch.Tensor
    p: torch.Tensor | None
    bias: torch.Tensor
    shift: int
    out_width: int | None
    activation: str | None = None
    wm: torch.Tensor | None = None
    mask: tuple | None = None
    mask_min: tuple | None = None

    type = "linear"

    @property
    def spec(self) -> KernelSpec:
        """The kernel design of this layer: ``1x1`` over ``in_features`` channels."""
        return KernelSpec(neuron=self.neuron, kernel=(1, 1), channels=self.in_features,
                          outputs=self.out_features, width=self.width, mask=self.mask,
                          mask_min=self.mask_min)

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Output shape for an input of shape ``in_shape`` (without the batch)."""
        return (self.out_features,)


@dataclass(frozen=True, eq=False)
class Conv2d:
    """A 2-D convolution of ``out_channels`` kernels of ``in_channels x kh x kw`` inputs.

    ``w`` and ``p`` are int64 ``(out_channels, in_channels * kh * kw)`` in ``(c, r, k)`` order,
    the :class:`~tn_hw.spec.KernelSpec` input order; ``padding`` pads with zeros. A SAM layer's
    ``w`` and ``wm`` are ``W+`` and ``W-`` (``p`` and ``bias`` ``None``), as in :class:`Linear`.
    """

    neuron: str
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: int
    padding: int
    width: int
    w: torch.Tensor
    p: torch.Tensor | None
    bias: torch.Tensor
    shift: int
    out_width: int | None
    activation: str | None = None
    wm: torch.Tensor | None = None
    mask: tuple | None = None
    mask_min: tuple | None = None

    type = "conv2d"

    @property
    def spec(self) -> KernelSpec:
        """The kernel design of one output position (all ``out_channels`` kernels)."""
        return KernelSpec(neuron=self.neuron, kernel=self.kernel, channels=self.in_channels,
                          outputs=self.out_channels, width=self.width, mask=self.mask,
                          mask_min=self.mask_min)

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Output shape ``(out_channels, H_out, W_out)`` for an input ``(C, H, W)``."""
        _, h, w = in_shape
        (kh, kw), s, pad = self.kernel, self.stride, self.padding
        return (self.out_channels, (h + 2 * pad - kh) // s + 1, (w + 2 * pad - kw) // s + 1)


@dataclass(frozen=True, eq=False)
class Flatten:
    """Flatten ``(C, H, W)`` row-major into ``C * H * W`` features, as ``torch.flatten``."""

    type = "flatten"

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(prod(in_shape),)``."""
        return (math.prod(in_shape),)


@dataclass(frozen=True, eq=False)
class Network(NetworkShapes):
    """A validated integer network.

    Attributes
    ----------
    name, task : str
        Free-form name and the task it was trained on (``"digits"``, ``"ball3"``, ...).
    input_shape : tuple of int
        ``(N,)`` or ``(C, H, W)``, without the batch.
    input_width, input_frac_bits : int
        The input is signed ``input_width``-bit; the integer ``q`` stands for
        ``q * 2**-input_frac_bits`` (see :func:`tn_hw.reference.data.quantize_input`).
    layers : tuple
        :class:`Linear`, :class:`Conv2d` and :class:`Flatten` layers, in order.
    shapes : tuple of tuple of int
        ``shapes[i]`` is the input shape of layer ``i``; ``shapes[-1]`` the logits' shape.
    """

    name: str
    task: str
    input_shape: tuple[int, ...]
    input_width: int
    input_frac_bits: int
    layers: tuple
    shapes: tuple


# -- from the description ---------------------------------------------------------------------


def _tensor(rows, shape):
    return torch.tensor(rows, dtype=torch.int64).reshape(shape)


def _wrap(desc: NetworkDesc) -> Network:
    """The tensor form of a validated :class:`~tn_hw.netdesc.NetworkDesc`."""
    layers = []
    for layer in desc.layers:
        if layer.type == "flatten":
            layers.append(Flatten())
            continue
        n_out, n_in = len(layer.w), len(layer.w[0])
        w = _tensor(layer.w, (n_out, n_in))
        p = None if layer.p is None else _tensor(layer.p, (n_out, n_in))
        wm = None if layer.wm is None else _tensor(layer.wm, (n_out, n_in))
        bias = None if layer.bias is None else _tensor(layer.bias, (n_out,))
        if layer.type == "linear":
            layers.append(Linear(layer.neuron, layer.in_features, layer.out_features,
                                 layer.width, w, p, bias, layer.shift, layer.out_width,
                                 layer.activation, wm, layer.mask, layer.mask_min))
        else:
            layers.append(Conv2d(layer.neuron, layer.in_channels, layer.out_channels,
                                 layer.kernel, layer.stride, layer.padding, layer.width, w, p,
                                 bias, layer.shift, layer.out_width, layer.activation, wm,
                                 layer.mask, layer.mask_min))
    return Network(desc.name, desc.task, desc.input_shape, desc.input_width,
                   desc.input_frac_bits, tuple(layers), desc.shapes)


def load_network(source) -> Network:
    """Load and validate a tn-hw-net network from a path or an already parsed dict.

    Parameters
    ----------
    source : str, os.PathLike or dict
        A JSON file path, or the parsed JSON object.

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        If the file cannot be read, is not JSON, is not a tn-hw-net file, has another version,
        inconsistent shapes or widths, values outside their widths, or an unknown layer type
        (:func:`tn_hw.netdesc.read_network` checks it).
    """
    return _wrap(read_network(source))


def network_to_dict(net: Network) -> dict:
    """The tn-hw-net JSON object of ``net`` (inverse of :func:`load_network`)."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, Flatten):
            layers.append({"type": "flatten"})
            continue
        entry = {"type": layer.type, "neuron": layer.neuron, "width": layer.width,
                 "shift": layer.shift, "out_width": layer.out_width}
        if layer.wm is not None:
            entry.update(wp=layer.w.tolist(), wm=layer.wm.tolist())
        else:
            entry["w"] = layer.w.tolist()
        if layer.bias is not None:
            entry["bias"] = layer.bias.tolist()
        if layer.p is not None:
            entry["p"] = layer.p.tolist()
        if layer.activation is not None:
            entry["activation"] = layer.activation
        for key in ("mask", "mask_min"):
            if getattr(layer, key, None) is not None:
                entry[key] = [list(row) for row in getattr(layer, key)]
        if isinstance(layer, Linear):
            entry.update(in_features=layer.in_features, out_features=layer.out_features)
        else:
            entry.update(in_channels=layer.in_channels, out_channels=layer.out_channels,
                         kernel=list(layer.kernel), stride=layer.stride, padding=layer.padding)
        layers.append(entry)
    return {"format": FORMAT, "version": VERSION, "name": net.name, "task": net.task,
            "input": {"shape": list(net.input_shape), "width": net.input_width,
                      "frac_bits": net.input_frac_bits},
            "layers": layers}


def save_network(net, path) -> Path:
    """Validate and write a network (a :class:`Network` or its dict) as sorted-key JSON.

    The file is written beside ``path`` under a temporary name and renamed into place, so a
    failure never leaves a half-written file.

    Raises
    ------
    NetworkError
        If the network is invalid or the file cannot be written.
    """
    raw = network_to_dict(net) if isinstance(net, Network) else net
    load_network(raw)
    path = Path(path)
    text = json.dumps(raw, sort_keys=True, separators=(",", ":")) + "\n"
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staged, 0o666 & ~umask)  # mkstemp makes 0600; a model file is not secret
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(staged, path)
        except BaseException:
            Path(staged).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise NetworkError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    return path


# -- integer forward --------------------------------------------------------------------------


def _patches(x, kernel, s, pad):
    """``(B, C, H, W)`` -> ``(B, H_out * W_out, C * kh * kw)`` in ``(c, r, k)`` order."""
    kh, kw = kernel
    if pad:
        x = F.pad(x, (pad, pad, pad, pad))
    blocks = x.unfold(2, kh, s).unfold(3, kw, s)  # (B, C, Ho, Wo, kh, kw)
    b, c, ho, wo = blocks.shape[:4]
    return blocks.permute(0, 2, 3, 1, 4, 5).reshape(b, ho * wo, c * kh * kw), ho, wo


def conv2d(neuron, x, w, p, bias, *, kernel, stride=1, padding=0, wm=None, mask=None,
           mask_min=None):
    """Raw integer convolution: ``y = bias + sum cell(x, w, p)`` over every window (a SAM
    layer: ``max(x + w) + min(x + wm)``, :func:`linear`).

    The layer's accumulator before requantization, as :class:`~tn_hw.hdl.layer.Layer` and the
    streaming :class:`~tn_hw.hdl.conv.ConvLayer` output it.

    Parameters
    ----------
    neuron : str
        ``"threshold"`` or ``"mac"``.
    x : torch.Tensor
        int64 ``(B, C, H, W)``.
    w, p : torch.Tensor
        int64 ``(C_out, C * kh * kw)`` in ``(c, r, k)`` order (``p`` None for mac).
    bias : torch.Tensor
        int64 ``(C_out,)``.
    kernel : tuple of int
        ``(kh, kw)``.
    stride, padding : int
        Window step, and zero rows/columns added on every side.

    Returns
    -------
    torch.Tensor
        int64 ``(B, C_out, H_out, W_out)`` with ``H_out = (H + 2 padding - kh) // stride + 1``.
    """
    patches, ho, wo = _patches(x, kernel, stride, padding)
    y = linear(neuron, patches, w, p, bias, wm=wm, mask=mask,
               mask_min=mask_min)  # (B, L, C_out)
    return y.transpose(1, 2).reshape(len(x), len(w), ho, wo)


def linear(neuron, x, w, p, bias, *, wm=None, mask=None, mask_min=None):
    """Raw integer layer of any network family over the last axis of ``x``.

    ``y = bias + sum_i cell(x_i, w_i, p_i)`` (:func:`tn_hw.reference.integer.layer`); for
    ``neuron == "sam"``, ``y = max_i(x_i + w_i) + min_i(x_i + wm_i)``
    (:func:`tn_hw.reference.sam.sam_layer`, dense: no bias, no polarity).

    Parameters
    ----------
    neuron : str
    x : torch.Tensor
        int64 ``(..., N)``.
    w, p, wm : torch.Tensor
        int64 ``(O, N)`` (``p`` None without polarity, ``wm`` None but for SAM).
    bias : torch.Tensor or None
        int64 ``(O,)``; ``None`` for SAM.
    mask, mask_min : array-like of 0/1, optional
        SAM only: ``(O, N)`` connectivity masks of the max side and the min side (``None``:
        every input kept; ``mask_min`` ``None``: as ``mask``); a 0 leaves the input out of
        that side's max or min.

    Returns
    -------
    torch.Tensor
        int64 ``(..., O)``.
    """
    if neuron == "sam":
        if wm is None:
            raise ValueError("a SAM layer needs both W+ (w) and W- (wm)")
        return sam_layer(x, w, wm, keep_max=mask,
                         keep_min=mask if mask_min is None else mask_min)
    return integer.layer(neuron, x, w, p, bias)


def _apply(layer, x):
    if isinstance(layer, Flatten):
        return x.flatten(1)
    if isinstance(layer, Linear):
        y = linear(layer.neuron, x, layer.w, layer.p, layer.bias, wm=layer.wm,
                   mask=layer.mask, mask_min=layer.mask_min)
    else:
        y = conv2d(layer.neuron, x, layer.w, layer.p, layer.bias, kernel=layer.kernel,
                   stride=layer.stride, padding=layer.padding, wm=layer.wm, mask=layer.mask,
                   mask_min=layer.mask_min)
    q = integer.requantize(y, layer.shift, layer.out_width)
    # relu after requantization equals relu before it: requantize is monotone and maps 0 to 0.
    return q.clamp(min=0) if layer.activation == "relu" else q


def forward(net: Network, x: torch.Tensor, *, chunk: int = 256,
            return_all: bool = False):
    """Integer forward pass: int64 logits of a batch.

    Parameters
    ----------
    net : Network
    x : torch.Tensor
        int64 ``(B, *net.input_shape)``, every value a signed ``net.input_width``-bit integer.
    chunk : int
        Batch rows per step (bounds the memory of the broadcast cell tensors).
    return_all : bool
        Also return every layer's output (``[x, out_0, out_1, ...]``), for debugging the RTL
        stage by stage.

    Returns
    -------
    torch.Tensor or (torch.Tensor, list of torch.Tensor)
        int64 ``(B, *net.shapes[-1])`` logits (and the per-layer outputs).

    Raises
    ------
    NetworkError
        If ``x`` has the wrong dtype, shape or values outside the input width.
    """
    if not isinstance(x, torch.Tensor) or x.dtype != torch.int64:
        raise NetworkError(f"network input must be a torch.int64 tensor, not "
                           f"{getattr(x, 'dtype', type(x).__name__)}")
    if tuple(x.shape[1:]) != net.input_shape or x.dim() != len(net.input_shape) + 1:
        shape = ", ".join(map(str, net.input_shape))
        raise NetworkError(f"network input must have shape [B, {shape}], not {list(x.shape)}")
    lo, hi = -(1 << (net.input_width - 1)), (1 << (net.input_width - 1)) - 1
    if x.numel() and (int(x.min()) < lo or int(x.max()) > hi):
        raise NetworkError(f"network input values must lie in [{lo}, {hi}] "
                           f"({net.input_width} bits), got [{int(x.min())}, {int(x.max())}]")
    outputs = [[x[i:i + chunk]] for i in range(0, max(len(x), 1), chunk)]
    for part in outputs:
        for layer in net.layers:
            part.append(_apply(layer, part[-1]))
    stages = [torch.cat([part[i] for part in outputs]) for i in range(len(net.layers) + 1)]
    return (stages[-1], stages) if return_all else stages[-1]


def predict_logits(logits: torch.Tensor) -> torch.Tensor:
    """Class predictions from logits ``(B, M)``.

    ``M > 1``: the argmax, ties going to the lowest index. ``M == 1`` (a binary task such as
    ball3): class 1 when the logit is > 0, else class 0.
    """
    logits = logits.reshape(len(logits), -1)
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).to(torch.int64)
    top = logits.max(dim=1, keepdim=True).values
    is_top = (logits == top).to(torch.int64)
    # argmax of a 0/1 row is not documented to pick the first 1, so weight by position.
    index = torch.arange(logits.shape[1], dtype=torch.int64)
    return torch.where(is_top.bool(), index, logits.shape[1]).min(dim=1).values


def predict(net: Network, x: torch.Tensor) -> torch.Tensor:
    """int64 class predictions of the integer network (see :func:`predict_logits`)."""
    return predict_logits(forward(net, x))
