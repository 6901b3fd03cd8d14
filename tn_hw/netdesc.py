"""The tn-hw-net network description: parse and validate a network file into plain data.

Torch-free and Amaranth-free on purpose: the hardware (:mod:`tn_hw.hdl.network`) and the golden
model (:mod:`tn_hw.reference.network`, which wraps the parameters in tensors) both read a
network through :func:`read_network`, so building hardware never imports torch. The file
format is ``docs/network-format.md``; loading parses JSON only (never pickle). Every violation
of the contract raises :class:`NetworkError` with a one-line message naming the layer and field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from . import neurons
from .errors import SpecError, TnHwError
from .spec import MAX_WIDTH, MIN_WIDTH, KernelSpec

__all__ = [
    "ACTIVATIONS",
    "FORMAT",
    "MAX_SHIFT",
    "VERSION",
    "NetworkShapes",
    "ConvDesc",
    "FlattenDesc",
    "LinearDesc",
    "NetworkDesc",
    "NetworkError",
    "network_neurons",
    "parse_network",
    "read_network",
]

FORMAT = "tn-hw-net"
VERSION = 1
MAX_SHIFT = 62
#: Optional per-layer activation (absent or null: none). Threshold-Nets need none; the
#: conventional MAC baselines use "relu".
ACTIVATIONS = (None, "relu")


class NetworkError(TnHwError, ValueError):
    """A network file breaks the tn-hw-net contract; the message is meant for the user as is."""


def network_neurons() -> tuple[str, ...]:
    """Neuron families a network layer may use (registry entries with ``network``: the golden
    network forward knows them)."""
    return tuple(name for name in neurons.names() if neurons.get(name).network)


# -- layers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearDesc:
    """A fully connected layer of ``out_features`` kernels over ``in_features`` inputs.

    ``w`` and ``p`` are ``out_features`` rows of ``in_features`` ints (``p`` is ``None`` for a
    family without polarity), ``bias`` ``out_features`` ints. A Sum-and-Max layer (``neuron ==
    "sam"``) has two weight sets: ``w`` holds ``W+`` (the file's ``wp``, max side) and ``wm``
    ``W-`` (min side); its ``p`` and ``bias`` are ``None``.
    """

    neuron: str
    in_features: int
    out_features: int
    width: int
    w: tuple
    p: tuple | None
    bias: tuple
    shift: int
    out_width: int | None
    activation: str | None = None
    wm: tuple | None = None
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


@dataclass(frozen=True)
class ConvDesc:
    """A 2-D convolution of ``out_channels`` kernels of ``in_channels x kh x kw`` inputs.

    ``w`` and ``p`` are ``out_channels`` rows of ``in_channels * kh * kw`` ints in ``(c, r, k)``
    order, the :class:`~tn_hw.spec.KernelSpec` input order; ``padding`` pads with zeros. A SAM
    layer's ``w`` is ``W+`` and ``wm`` ``W-``, and its ``mask`` and ``mask_min`` rows follow
    ``w``'s input order, as in :class:`LinearDesc`.
    """

    neuron: str
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: int
    padding: int
    width: int
    w: tuple
    p: tuple | None
    bias: tuple
    shift: int
    out_width: int | None
    activation: str | None = None
    wm: tuple | None = None
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


@dataclass(frozen=True)
class FlattenDesc:
    """Flatten ``(C, H, W)`` row-major into ``C * H * W`` features, as ``torch.flatten``."""

    type = "flatten"

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(prod(in_shape),)``."""
        return (math.prod(in_shape),)


class NetworkShapes:
    """What a network says of its shape, from its ``shapes`` and ``layers`` (the description
    here and :class:`tn_hw.reference.network.Network` share it)."""

    @property
    def n_outputs(self) -> int:
        """Number of logits."""
        return math.prod(self.shapes[-1])

    @property
    def compute_layers(self) -> tuple:
        """The linear and conv layers (the ones with kernels)."""
        return tuple(layer for layer in self.layers if layer.type != "flatten")


@dataclass(frozen=True)
class NetworkDesc(NetworkShapes):
    """A validated network as plain immutable data.

    Attributes
    ----------
    name, task : str
        Free-form name and the task it was trained on (``"digits"``, ``"ball3"``, ...).
    input_shape : tuple of int
        ``(N,)`` or ``(C, H, W)``, without the batch.
    input_width, input_frac_bits : int
        The input is signed ``input_width``-bit; the integer ``q`` stands for
        ``q * 2**-input_frac_bits``.
    layers : tuple
        :class:`LinearDesc`, :class:`ConvDesc` and :class:`FlattenDesc` layers, in order.
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
    """Parse a ``rows x cols`` list of lists of ints in ``[lo, hi]`` into a tuple of tuples."""
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
    return tuple(tuple(row) for row in value)


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
    return tuple(value)


def _kernel_params(where, raw, n_out, n_in, width, spec_args):
    neuron = raw.get("neuron")
    allowed = network_neurons()
    if not isinstance(neuron, str) or neuron not in allowed:
        raise NetworkError(f"{where}: neuron must be one of {', '.join(allowed)}, "
                           f"not {neuron!r}")
    try:
        spec = KernelSpec(neuron=neuron, width=width, outputs=n_out, **spec_args)
    except SpecError as error:
        raise NetworkError(f"{where}: {error}") from None
    family = spec.family
    lo, hi = spec.input_range
    what = f"a {family.weight_noun}"
    if family.weight_sets != ("w",):
        # Two weight sets (SAM's W+ and W-): "w" would be ambiguous, so it is refused.
        if "w" in raw:
            raise NetworkError(f"{where}: a {neuron} layer has the weight sets "
                               f"{' and '.join(map(repr, family.weight_sets))}, not 'w'")
        for key in ("keep_max", "keep_min"):
            if key in raw:
                raise NetworkError(f"{where}: a {neuron} layer's connectivity masks are 'mask' "
                                   f"(both sides) and 'mask_min' (the min side), not {key!r}")
        w, wm = (_matrix(where, raw, key, n_out, n_in, lo, hi, f"{what} of width {width}")
                 for key in family.weight_sets)
    else:
        w = _matrix(where, raw, "w", n_out, n_in, lo, hi, f"{what} of width {width}")
        wm = None
    masks = []
    for key in ("mask", "mask_min"):
        if raw.get(key) is None:
            masks.append(None)
            continue
        if not family.has_mask:
            raise NetworkError(f"{where}: a {neuron} layer takes no connectivity mask; drop "
                               f"{key!r} (only a sam layer has one)")
        mask = _matrix(where, raw, key, n_out, n_in, 0, 1, "a keep flag")
        for o, row in enumerate(mask):
            if not any(row):
                side = "min" if key == "mask_min" else "max"
                raise NetworkError(f"{where}: {key}[{o}] keeps no input: output {o} would have "
                                   f"no {side} (a SAM neuron needs an input on each side)")
        masks.append(mask)
    if family.has_polarity:
        p = _matrix(where, raw, "p", n_out, n_in, 0, 1, "a polarity")
    else:
        if raw.get("p") is not None:
            raise NetworkError(f"{where}: a {neuron} layer has no polarities; drop 'p'")
        p = None
    if family.has_bias:
        blo, bhi = spec.bias_range
        bias = _vector(where, raw, "bias", n_out, blo, bhi,
                       f"a bias of width {spec.bias_width}")
    else:
        if raw.get("bias") is not None:
            raise NetworkError(f"{where}: a {neuron} layer has no bias; drop 'bias'")
        bias = None
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
    return neuron, w, p, bias, shift, out_width, activation, wm, *masks


def _parse_layer(index, raw, in_shape, in_width):
    where = f"layer {index}"
    if not isinstance(raw, dict):
        raise NetworkError(f"{where}: must be an object, not {type(raw).__name__}")
    kind = raw.get("type")
    if kind == "flatten":
        return FlattenDesc()
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
        neuron, w, p, bias, shift, out_width, activation, wm, mask, mask_min = _kernel_params(
            where, raw, n_out, n_in, width, {"kernel": (1, 1), "channels": n_in})
        return LinearDesc(neuron, n_in, n_out, width, w, p, bias, shift, out_width, activation,
                          wm, mask, mask_min)
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
        neuron, w, p, bias, shift, out_width, activation, wm, mask, mask_min = _kernel_params(
            where, raw, c_out, c_in * kh * kw, width, {"kernel": (kh, kw), "channels": c_in})
        return ConvDesc(neuron, c_in, c_out, (kh, kw), stride, padding, width, w, p, bias,
                        shift, out_width, activation, wm, mask, mask_min)
    raise NetworkError(f"{where}: unknown layer type {kind!r} (expected linear, conv2d or "
                       f"flatten)")


def parse_network(raw: dict) -> NetworkDesc:
    """Validate a parsed tn-hw-net JSON object.

    Raises
    ------
    NetworkError
        If it is not a tn-hw-net object, has another version, inconsistent shapes or widths,
        values outside their widths, or an unknown layer type.
    """
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
        if layer.type != "flatten":
            in_width, last_compute = layer.out_width, index
        layers.append(layer)
        shapes.append(out_shape)
    if last_compute is None:
        raise NetworkError("the network has no linear or conv2d layer")
    return NetworkDesc(name, task, tuple(shape), width, frac_bits, tuple(layers), tuple(shapes))


def read_network(source) -> NetworkDesc:
    """Read and validate a tn-hw-net network from a path or an already parsed dict.

    Parameters
    ----------
    source : str, os.PathLike or dict
        A JSON file path, or the parsed JSON object.

    Raises
    ------
    NetworkError
        If the file cannot be read, is not JSON (or nests too deeply to parse), or breaks the
        contract (:func:`parse_network`); file errors name the file.
    """
    if isinstance(source, dict):
        return parse_network(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkError(f"no such network file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise NetworkError(f"cannot read {str(path)!r}: {error}") from None
    try:
        raw = json.loads(text)
    except ValueError as error:
        # JSONDecodeError, or an integer of over 4300 digits.
        raise NetworkError(f"{str(path)!r} is not a {FORMAT} file (not JSON: {error})") from None
    except RecursionError:
        raise NetworkError(f"{str(path)!r} is not a {FORMAT} file (JSON nested too deeply "
                           f"to read)") from None
    try:
        return parse_network(raw)
    except NetworkError as error:
        raise NetworkError(f"{path.name}: {error}") from None
