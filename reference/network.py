"""Integer networks: load and validate a tn-hw-net file, and run it bit-exactly.

The file format is the contract between training (``tn-hw train``) and hardware
(``tn-hw export``/``verify``); ``docs/network-format.md`` describes it. Loading parses JSON only
(never pickle), so a model file cannot run code. Every violation of the contract raises
:class:`NetworkError` with a one-line message naming the layer and field.

The forward pass uses the kernels of :mod:`.integer` on int64 tensors:
each layer computes ``y = bias + sum_i cell(x_i, w_i, p_i)``, then
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

from ..errors import TnHwError
from ..spec import MAX_WIDTH, MIN_WIDTH, KernelSpec, SpecError
from . import integer

__all__ = [
    "ACTIVATIONS",
    "FORMAT",
    "VERSION",
    "Conv2d",
    "Flatten",
    "Linear",
    "Network",
    "NetworkError",
    "conv2d",
    "forward",
    "load_network",
    "network_to_dict",
    "predict",
    "predict_logits",
    "save_network",
]

FORMAT = "tn-hw-net"
VERSION = 1
MAX_SHIFT = 62
#: Optional per-layer activation (absent or null: none). Threshold-Nets need none; the
#: conventional MAC baselines use "relu".
ACTIVATIONS = (None, "relu")

#: Neuron families a network layer may use (the golden network forward knows these).
NETWORK_NEURONS = ("threshold", "mac")


class NetworkError(TnHwError, ValueError):
    """A network file breaks the tn-hw-net contract; the message is meant for the user as is."""


# -- layers -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Linear:
    """A fully connected layer of ``out_features`` kernels over ``in_features`` inputs.

    ``w`` and ``p`` are int64 ``(out_features, in_features)`` (``p`` is ``None`` for
    ``neuron == "mac"``), ``bias`` int64 ``(out_features,)``.
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

    type = "linear"

    @property
    def spec(self) -> KernelSpec:
        """The kernel design of this layer: ``1x1`` over ``in_features`` channels."""
        return KernelSpec(neuron=self.neuron, kernel=(1, 1), channels=self.in_features,
                          outputs=self.out_features, width=self.width)

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Output shape for an input of shape ``in_shape`` (without the batch)."""
        return (self.out_features,)


@dataclass(frozen=True, eq=False)
class Conv2d:
    """A 2-D convolution of ``out_channels`` kernels of ``in_channels x kh x kw`` inputs.

    ``w`` and ``p`` are int64 ``(out_channels, in_channels * kh * kw)`` in ``(c, r, k)`` order,
    the :class:`~tn_hw.spec.KernelSpec` input order; ``padding`` pads with zeros.
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

    type = "conv2d"

    @property
    def spec(self) -> KernelSpec:
        """The kernel design of one output position (all ``out_channels`` kernels)."""
        return KernelSpec(neuron=self.neuron, kernel=self.kernel, channels=self.in_channels,
                          outputs=self.out_channels, width=self.width)

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
class Network:
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

    @property
    def n_outputs(self) -> int:
        """Number of logits."""
        return math.prod(self.shapes[-1])

    @property
    def compute_layers(self) -> tuple:
        """The :class:`Linear` and :class:`Conv2d` layers (the ones with kernels)."""
        return tuple(layer for layer in self.layers if not isinstance(layer, Flatten))


# -- validation -------------------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_field(where, raw, key, lo, hi):
    if key not in raw:
        raise NetworkError(f"{where}: missing field {key!r}")
    value = raw[key]
    if not _is_int(value) or not lo <= value <= hi:
        raise NetworkError(f"{where}: {key} must be an integer from {lo} to {hi}, not {value!r}")
    return value


def _matrix(where, raw, key, rows, cols, lo, hi, what):
    """Parse a ``rows x cols`` list of lists of ints in ``[lo, hi]`` into an int64 tensor."""
    if key not in raw:
        raise NetworkError(f"{where}: missing field {key!r}")
    value = raw[key]
    if not isinstance(value, list) or len(value) != rows:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise NetworkError(f"{where}: {key} must be a list of {rows} rows, not {got}")
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != cols:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise NetworkError(f"{where}: {key}[{r}] must hold {cols} values, not {got}")
        for c, item in enumerate(row):
            if not _is_int(item) or not lo <= item <= hi:
                raise NetworkError(f"{where}: {key}[{r}][{c}] = {item!r} is not {what} "
                                   f"(an integer from {lo} to {hi})")
    return torch.tensor(value, dtype=torch.int64).reshape(rows, cols)


def _vector(where, raw, key, n, lo, hi, what):
    if key not in raw:
        raise NetworkError(f"{where}: missing field {key!r}")
    value = raw[key]
    if not isinstance(value, list) or len(value) != n:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise NetworkError(f"{where}: {key} must be a list of {n} values, not {got}")
    for i, item in enumerate(value):
        if not _is_int(item) or not lo <= item <= hi:
            raise NetworkError(f"{where}: {key}[{i}] = {item!r} is not {what} "
                               f"(an integer from {lo} to {hi})")
    return torch.tensor(value, dtype=torch.int64).reshape(n)


def _kernel_params(where, raw, n_out, n_in, width, spec_args):
    neuron = raw.get("neuron")
    if neuron not in NETWORK_NEURONS:
        raise NetworkError(f"{where}: neuron must be one of {', '.join(NETWORK_NEURONS)}, "
                           f"not {neuron!r}")
    try:
        spec = KernelSpec(neuron=neuron, width=width, outputs=n_out, **spec_args)
    except SpecError as error:
        raise NetworkError(f"{where}: {error}") from None
    lo, hi = spec.input_range
    what = "a threshold" if neuron == "threshold" else "a weight"
    w = _matrix(where, raw, "w", n_out, n_in, lo, hi, f"{what} of width {width}")
    if neuron == "threshold":
        p = _matrix(where, raw, "p", n_out, n_in, 0, 1, "a polarity")
    else:
        if raw.get("p") is not None:
            raise NetworkError(f"{where}: a mac layer has no polarities; drop 'p'")
        p = None
    blo, bhi = spec.bias_range
    bias = _vector(where, raw, "bias", n_out, blo, bhi, f"a bias of width {spec.bias_width}")
    shift = _int_field(where, raw, "shift", 0, MAX_SHIFT)
    if "out_width" not in raw:
        raise NetworkError(f"{where}: missing field 'out_width' (null for full precision)")
    out_width = raw["out_width"]
    if out_width is not None and (not _is_int(out_width)
                                  or not MIN_WIDTH <= out_width <= MAX_WIDTH):
        raise NetworkError(f"{where}: out_width must be an integer from {MIN_WIDTH} to "
                           f"{MAX_WIDTH} or null, not {out_width!r}")
    activation = raw.get("activation")
    if activation not in ACTIVATIONS:
        raise NetworkError(f"{where}: activation must be null or \"relu\", not {activation!r}")
    return neuron, w, p, bias, shift, out_width, activation


def _parse_layer(index, raw, in_shape, in_width):
    where = f"layer {index}"
    if not isinstance(raw, dict):
        raise NetworkError(f"{where}: must be an object, not {type(raw).__name__}")
    kind = raw.get("type")
    if kind == "flatten":
        return Flatten()
    if kind == "linear":
        where = f"layer {index} (linear)"
        n_in = _int_field(where, raw, "in_features", 1, 1 << 20)
        n_out = _int_field(where, raw, "out_features", 1, 1 << 20)
        if in_shape != (n_in,):
            raise NetworkError(f"{where}: in_features is {n_in} but its input has shape "
                               f"{list(in_shape)}")
        width = _int_field(where, raw, "width", MIN_WIDTH, MAX_WIDTH)
        if width != in_width:
            raise NetworkError(f"{where}: width is {width} but its input is {in_width} bits wide")
        neuron, w, p, bias, shift, out_width, activation = _kernel_params(
            where, raw, n_out, n_in, width, {"kernel": (1, 1), "channels": n_in})
        return Linear(neuron, n_in, n_out, width, w, p, bias, shift, out_width, activation)
    if kind == "conv2d":
        where = f"layer {index} (conv2d)"
        c_in = _int_field(where, raw, "in_channels", 1, 1 << 20)
        c_out = _int_field(where, raw, "out_channels", 1, 1 << 20)
        kernel = raw.get("kernel")
        if (not isinstance(kernel, list) or len(kernel) != 2
                or not all(_is_int(k) and k >= 1 for k in kernel)):
            raise NetworkError(f"{where}: kernel must be [rows, cols] of positive integers, "
                               f"not {kernel!r}")
        stride = _int_field(where, raw, "stride", 1, 2)
        padding = _int_field(where, raw, "padding", 0, 16)
        if len(in_shape) != 3 or in_shape[0] != c_in:
            raise NetworkError(f"{where}: in_channels is {c_in} but its input has shape "
                               f"{list(in_shape)} (needs [{c_in}, H, W])")
        kh, kw = kernel
        if in_shape[1] + 2 * padding < kh or in_shape[2] + 2 * padding < kw:
            raise NetworkError(f"{where}: kernel {kh}x{kw} does not fit the padded input "
                               f"{list(in_shape)} (padding {padding})")
        width = _int_field(where, raw, "width", MIN_WIDTH, MAX_WIDTH)
        if width != in_width:
            raise NetworkError(f"{where}: width is {width} but its input is {in_width} bits wide")
        neuron, w, p, bias, shift, out_width, activation = _kernel_params(
            where, raw, c_out, c_in * kh * kw, width, {"kernel": (kh, kw), "channels": c_in})
        return Conv2d(neuron, c_in, c_out, (kh, kw), stride, padding, width, w, p, bias,
                      shift, out_width, activation)
    raise NetworkError(f"{where}: unknown layer type {kind!r} (expected linear, conv2d or "
                       f"flatten)")


def _parse(raw: dict) -> Network:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise NetworkError(f"not a {FORMAT} file (the top level needs \"format\": \"{FORMAT}\")")
    if raw.get("version") != VERSION:
        raise NetworkError(f"unsupported {FORMAT} version {raw.get('version')!r} "
                           f"(this tn-hw reads version {VERSION})")
    name, task = raw.get("name"), raw.get("task")
    for key, value in (("name", name), ("task", task)):
        if not isinstance(value, str) or not value:
            raise NetworkError(f"{key} must be a non-empty string, not {value!r}")
    spec_in = raw.get("input")
    if not isinstance(spec_in, dict):
        raise NetworkError("missing object 'input' (shape, width, frac_bits)")
    shape = spec_in.get("shape")
    if (not isinstance(shape, list) or len(shape) not in (1, 3)
            or not all(_is_int(s) and s >= 1 for s in shape)):
        raise NetworkError(f"input: shape must be [N] or [C, H, W] of positive integers, "
                           f"not {shape!r}")
    width = _int_field("input", spec_in, "width", MIN_WIDTH, MAX_WIDTH)
    frac_bits = _int_field("input", spec_in, "frac_bits", -MAX_SHIFT, MAX_SHIFT)
    layers_raw = raw.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise NetworkError("layers must be a non-empty list")
    shapes = [tuple(shape)]
    in_width = width
    layers = []
    last_compute = None
    for index, layer_raw in enumerate(layers_raw):
        is_flatten = isinstance(layer_raw, dict) and layer_raw.get("type") == "flatten"
        if in_width is None and not is_flatten:
            raise NetworkError(f"layer {last_compute}: out_width is null (full precision), "
                               f"which only the last linear or conv2d layer may have")
        layer = _parse_layer(index, layer_raw, shapes[-1], in_width)
        out_shape = layer.out_shape(shapes[-1])
        if min(out_shape) < 1:
            raise NetworkError(f"layer {index}: output shape {list(out_shape)} is empty")
        if not isinstance(layer, Flatten):
            in_width, last_compute = layer.out_width, index
        layers.append(layer)
        shapes.append(out_shape)
    if last_compute is None:
        raise NetworkError("the network has no linear or conv2d layer")
    return Network(name, task, tuple(shape), width, frac_bits, tuple(layers), tuple(shapes))


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
        inconsistent shapes or widths, values outside their widths, or an unknown layer type.
    """
    if isinstance(source, dict):
        return _parse(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkError(f"no such network file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise NetworkError(f"cannot read {str(path)!r}: {error}") from None
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as error:
        # JSONDecodeError, an integer of over 4300 digits, or nesting deeper than the stack.
        raise NetworkError(f"{str(path)!r} is not a {FORMAT} file (not JSON: {error})") from None
    try:
        return _parse(raw)
    except NetworkError as error:
        raise NetworkError(f"{path.name}: {error}") from None


def network_to_dict(net: Network) -> dict:
    """The tn-hw-net JSON object of ``net`` (inverse of :func:`load_network`)."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, Flatten):
            layers.append({"type": "flatten"})
            continue
        entry = {"type": layer.type, "neuron": layer.neuron, "width": layer.width,
                 "w": layer.w.tolist(), "bias": layer.bias.tolist(), "shift": layer.shift,
                 "out_width": layer.out_width}
        if layer.p is not None:
            entry["p"] = layer.p.tolist()
        if layer.activation is not None:
            entry["activation"] = layer.activation
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


def conv2d(neuron, x, w, p, bias, *, kernel, stride=1, padding=0):
    """Raw integer convolution: ``y = bias + sum cell(x, w, p)`` over every window.

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
    y = integer.layer(neuron, patches, w, p, bias)  # (B, L, C_out)
    return y.transpose(1, 2).reshape(len(x), len(bias), ho, wo)


def _apply(layer, x):
    if isinstance(layer, Flatten):
        return x.flatten(1)
    if isinstance(layer, Linear):
        y = integer.layer(layer.neuron, x, layer.w, layer.p, layer.bias)
    else:
        y = conv2d(layer.neuron, x, layer.w, layer.p, layer.bias, kernel=layer.kernel,
                   stride=layer.stride, padding=layer.padding)
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
