"""Trainable Threshold-Net layers (float): ``TLinear`` and ``TConv2d``.

A threshold layer computes ``y_o = bias_o + sum_n s_on * relu(x_n - w_on)`` with learnable
thresholds ``w`` and a frozen random polarity ``p`` (``s = +1`` for ``p = 0``, excitatory;
``s = -1`` for ``p = 1``, inhibitory), as the integer kernels of :mod:`.integer` do. There is no
normalization, activation or pooling (section 3.3.3 of arXiv 2412.13902): a stride-2 convolution
downsamples.

Gradients follow formulas 8-10: with the mask ``m = [x > w]`` (a tie gives derivative 0),
``dy_o/dx_n = s_on * m`` and ``dy_o/dw_on = -s_on * m``. :class:`ThresholdSum` implements them as a
custom autograd function that never holds the whole ``(rows, outputs, inputs)`` broadcast: it walks
over row chunks in the forward pass and recomputes the mask chunk by chunk in the backward pass,
saving only ``x``, ``w`` and ``s``. A convolution unfolds its input into patches
(``(batch * positions, C_in * kh * kw)``, ``(c, r, k)`` order) and runs the same function, so its
peak memory is bounded by the chunk budget instead of ``batch * C_out * C_in*k*k * H*W``.

Multiplication injection (section 3.3.4): :func:`make_linear` and :func:`make_conv2d` build either a
threshold layer or an ordinary ``nn.Linear``/``nn.Conv2d`` of the same shape, so a network can mix
both per layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "DEFAULT_CHUNK_ELEMENTS",
    "TConv2d",
    "TLinear",
    "ThresholdSum",
    "make_conv2d",
    "make_linear",
    "naive_tconv2d",
    "random_polarity",
    "threshold_conv2d",
    "threshold_linear",
    "threshold_sum",
]

#: Elements of the ``(rows, outputs, inputs)`` broadcast held at once (4 MiB of float32).
DEFAULT_CHUNK_ELEMENTS = 1 << 20


def _rows_per_chunk(n_out: int, n_in: int, max_elements: int) -> int:
    return max(1, max_elements // max(1, n_out * n_in))


class ThresholdSum(torch.autograd.Function):
    """``y[m, o] = sum_n s[o, n] * relu(x[m, n] - w[o, n])``, chunked over the rows ``m``.

    Inputs: ``x`` ``(M, N)``, ``w`` ``(O, N)``, ``s`` ``(O, N)`` of +-1 (not differentiated),
    ``max_elements`` (int). Output ``(M, O)``.
    """

    @staticmethod
    def forward(x, w, s, max_elements):
        rows = _rows_per_chunk(w.shape[0], w.shape[1], max_elements)
        out = x.new_empty(x.shape[0], w.shape[0])
        for start in range(0, x.shape[0], rows):
            part = x[start:start + rows]
            r = (part.unsqueeze(1) - w).relu_().mul_(s)  # (rows, O, N), in place
            out[start:start + rows] = r.sum(-1)
        return out

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, w, s, max_elements = inputs
        ctx.save_for_backward(x, w, s)
        ctx.max_elements = max_elements

    @staticmethod
    def backward(ctx, grad_out):
        x, w, s = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_x = torch.zeros_like(x) if need_x else None
        grad_w = torch.zeros_like(w) if need_w else None
        rows = _rows_per_chunk(w.shape[0], w.shape[1], ctx.max_elements)
        for start in range(0, x.shape[0], rows):
            part = x[start:start + rows]
            # Formulas 9 and 10: the derivative is s where x > w, and 0 otherwise (tie included).
            mask = part.unsqueeze(1) > w  # (rows, O, N) bool
            g = (grad_out[start:start + rows].unsqueeze(-1) * s).mul_(mask)
            if need_x:
                grad_x[start:start + rows] = g.sum(1)
            if need_w:
                grad_w -= g.sum(0)
        return grad_x, grad_w, None, None


def threshold_sum(x, w, s, max_elements: int = DEFAULT_CHUNK_ELEMENTS):
    """Differentiable ``sum_n s[o, n] * relu(x[m, n] - w[o, n])`` (see :class:`ThresholdSum`).

    Parameters
    ----------
    x : torch.Tensor
        ``(M, N)`` float.
    w : torch.Tensor
        ``(O, N)`` float thresholds.
    s : torch.Tensor
        ``(O, N)`` signs, +1 (excitatory) or -1 (inhibitory), same dtype as ``x``.
    max_elements : int
        Budget for the ``(rows, O, N)`` temporaries; the rows are processed in chunks.

    Returns
    -------
    torch.Tensor
        ``(M, O)``.
    """
    return ThresholdSum.apply(x, w, s.to(x.dtype), max_elements)


def threshold_linear(x, weight, sign, bias=None, *, max_elements=DEFAULT_CHUNK_ELEMENTS):
    """Functional :class:`TLinear`: ``x`` ``(..., N)``, ``weight``/``sign`` ``(O, N)``."""
    lead = x.shape[:-1]
    y = threshold_sum(x.reshape(-1, weight.shape[1]), weight, sign, max_elements)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, weight.shape[0])


def threshold_conv2d(x, weight, sign, bias=None, *, stride=1, padding=0,
                     max_elements=DEFAULT_CHUNK_ELEMENTS):
    """Functional :class:`TConv2d`: ``x`` ``(B, C, H, W)``, ``weight``/``sign``
    ``(O, C, kh, kw)``; zero padding."""
    b, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    # (B, C*kh*kw, L) in (c, r, k) order, the order of the integer kernels.
    patches = F.unfold(x, (kh, kw), padding=padding, stride=stride)
    rows = patches.transpose(1, 2).reshape(b * ho * wo, -1)
    y = threshold_sum(rows, weight.reshape(o, -1), sign.reshape(o, -1), max_elements)
    if bias is not None:
        y = y + bias
    return y.reshape(b, ho * wo, o).transpose(1, 2).reshape(b, o, ho, wo)


def random_polarity(shape, generator: torch.Generator | None = None) -> torch.Tensor:
    """0/1 int64 polarities, each 1 (inhibitory) with probability 1/2."""
    return torch.randint(0, 2, tuple(shape), generator=generator, dtype=torch.int64)


def _generator(seed):
    return None if seed is None else torch.Generator().manual_seed(seed)


class _ThresholdBase(nn.Module):
    def _init_parameters(self, shape, out_features, bias, init_range, seed):
        gen = _generator(seed)
        lo, hi = init_range
        self.weight = nn.Parameter(torch.rand(shape, generator=gen) * (hi - lo) + lo)
        # A buffer, not a parameter: the polarity is drawn once and never trained.
        self.register_buffer("polarity", random_polarity(shape, gen))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    @property
    def sign(self) -> torch.Tensor:
        """+1 where the polarity is 0 (excitatory), -1 where it is 1 (inhibitory)."""
        return 1 - 2 * self.polarity


class TLinear(_ThresholdBase):
    """Fully connected threshold layer: ``y_o = bias_o + sum_n s_on * relu(x_n - w_on)``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learnable bias (initialized to 0).
    init_range : (float, float)
        Thresholds start uniform in this range.
    seed : int or None
        Seed of the thresholds and polarities; ``None`` uses the global torch generator.
    max_elements : int
        Chunk budget of :func:`threshold_sum`.

    Attributes
    ----------
    weight : nn.Parameter
        ``(out_features, in_features)`` thresholds.
    polarity : torch.Tensor
        ``(out_features, in_features)`` int64 buffer of 0/1.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 init_range=(-1.0, 1.0), seed: int | None = None,
                 max_elements: int = DEFAULT_CHUNK_ELEMENTS):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.max_elements = max_elements
        self._init_parameters((out_features, in_features), out_features, bias, init_range, seed)

    def forward(self, x):
        return threshold_linear(x, self.weight, self.sign, self.bias,
                                max_elements=self.max_elements)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class TConv2d(_ThresholdBase):
    """2-D threshold convolution (zero padding), unfolded and chunked.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding : int
        ``stride=2`` is the pooling replacement of section 3.3.3.
    bias, init_range, seed, max_elements
        As for :class:`TLinear`.

    Attributes
    ----------
    weight : nn.Parameter
        ``(out_channels, in_channels, kh, kw)`` thresholds.
    polarity : torch.Tensor
        int64 0/1 buffer of the same shape.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, stride: int = 1,
                 padding: int = 0, bias: bool = True, init_range=(-1.0, 1.0),
                 seed: int | None = None, max_elements: int = DEFAULT_CHUNK_ELEMENTS):
        super().__init__()
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = tuple(kernel_size), stride, padding
        self.max_elements = max_elements
        shape = (out_channels, in_channels, *self.kernel_size)
        self._init_parameters(shape, out_channels, bias, init_range, seed)

    def forward(self, x):
        return threshold_conv2d(x, self.weight, self.sign, self.bias, stride=self.stride,
                                padding=self.padding, max_elements=self.max_elements)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


def naive_tconv2d(x, weight, polarity, bias, *, stride: int = 1, padding: int = 0):
    """Threshold convolution by plain autograd on the full broadcast (the memory baseline).

    Materializes ``(B, C_out, C_in*kh*kw, H_out*W_out)`` and lets autograd keep it for the
    backward pass; :class:`TConv2d` computes the same values without it.
    """
    o = weight.shape[0]
    b, _, h, w = x.shape
    kh, kw = weight.shape[2:]
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    patches = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (B, N, L)
    sign = (1 - 2 * polarity).reshape(o, -1, 1).to(x.dtype)
    r = torch.relu(patches.unsqueeze(1) - weight.reshape(o, -1, 1))  # (B, O, N, L)
    y = (r * sign).sum(2) + bias.reshape(1, o, 1)
    return y.reshape(b, o, ho, wo)


def make_linear(neuron: str, in_features: int, out_features: int, **kwargs) -> nn.Module:
    """A :class:`TLinear` (``neuron="threshold"``) or an ``nn.Linear`` (``"mac"``), same shape.

    ``kwargs`` go to :class:`TLinear` only (``seed``, ``init_range``, ...).
    """
    if neuron == "threshold":
        return TLinear(in_features, out_features, **kwargs)
    if neuron == "mac":
        return nn.Linear(in_features, out_features)
    raise ValueError(f"neuron must be threshold or mac, not {neuron!r}")


def make_conv2d(neuron: str, in_channels: int, out_channels: int, kernel_size, *,
                stride: int = 1, padding: int = 0, **kwargs) -> nn.Module:
    """A :class:`TConv2d` or an ``nn.Conv2d`` of the same shape (multiplication injection)."""
    if neuron == "threshold":
        return TConv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                       **kwargs)
    if neuron == "mac":
        return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
    raise ValueError(f"neuron must be threshold or mac, not {neuron!r}")

