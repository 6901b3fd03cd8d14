"""Bit-exact integer semantics of the Sum-and-Max (SAM) neuron (docs/semantics.md, "SAM").

Formula (5) of Prono, Mangia, Pareschi, Rovatti and Setti, "A Non-conventional Sum-and-Max based
Neural Network layer for Low Power Classification", ISCAS 2022, doi:10.1109/ISCAS48785.2022.9937576
(``papers/sum-and-max-layer-iscas2022.txt``)::

    o_j = max_{i kept} (x_i + Wp_ij) + min_{i kept} (x_i + Wm_ij)

No bias, no activation. A pruned connection is absent from its side: the max (``keep_max``) or
the min (``keep_min``); the two sides may be pruned differently, as the paper prunes ``W+`` and
``W-`` separately by activation rate.
All functions take and return ``torch.int64`` tensors and broadcast over leading batch
dimensions; they are the contract the RTL is checked against.
"""

import torch

from .integer import check_int64

__all__ = [
    "SamExtreme", "SamLayer", "dense_mask", "sam_arg", "sam_kernel", "sam_layer", "sam_sums",
]


def dense_mask(outputs, n_inputs):
    """The keep mask of an unpruned layer: all ones, ``(outputs, n_inputs)`` bool."""
    return torch.ones(outputs, n_inputs, dtype=torch.bool)


def _mask(mask, shape):
    mask = torch.as_tensor(mask).to(torch.bool)
    if mask.shape != shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match {tuple(shape)}")
    if not bool(mask.any(dim=-1).all()):
        raise ValueError("every SAM neuron needs at least one kept connection")
    return mask


def sam_sums(x, w):
    """``x + w``: exact in int64 (``W + 1`` bits in hardware)."""
    check_int64(x, w)
    return x + w


def sam_layer(x, wp, wm, keep_max=None, keep_min=None):
    """A SAM layer of ``O`` neurons sharing the input ``x``.

    Parameters
    ----------
    x : torch.Tensor
        ``(..., N)`` int64.
    wp, wm : torch.Tensor
        ``(..., O, N)`` int64: ``W+`` (max side) and ``W-`` (min side). Entries of pruned
        connections are ignored.
    keep_max, keep_min : array-like of bool, optional
        ``(O, N)`` keep masks of the max and the min side; default all kept; ``keep_min``
        defaults to ``keep_max``. Every neuron must keep at least one input on each side.

    Returns
    -------
    torch.Tensor
        ``(..., O)`` int64. The value does not depend on how ties are broken.

    Raises
    ------
    ValueError
        If a mask has the wrong shape or prunes every input of a neuron on one side.
    """
    check_int64(x, wp, wm)
    outputs, n = wp.shape[-2], wp.shape[-1]
    keep_max = _mask(dense_mask(outputs, n) if keep_max is None else keep_max, (outputs, n))
    keep_min = keep_max if keep_min is None else _mask(keep_min, (outputs, n))
    low, high = torch.iinfo(torch.int64).min, torch.iinfo(torch.int64).max
    xs = x.unsqueeze(-2)
    plus = torch.where(keep_max, sam_sums(xs, wp), torch.full_like(wp, low))
    minus = torch.where(keep_min, sam_sums(xs, wm), torch.full_like(wm, high))
    return plus.amax(dim=-1) + minus.amin(dim=-1)


def sam_kernel(x, wp, wm, keep_max=None, keep_min=None):
    """One SAM neuron: ``max_i(x_i + wp_i) + min_i(x_i + wm_i)`` over the kept inputs.

    ``x``, ``wp``, ``wm`` are ``(..., N)``; the masks ``(N,)``. Returns ``(...)``. See
    :func:`sam_layer`.
    """
    check_int64(x, wp, wm)

    def as_row(mask):
        return None if mask is None else torch.as_tensor(mask).reshape(1, -1)

    return sam_layer(x, wp.unsqueeze(-2), wm.unsqueeze(-2), as_row(keep_max),
                     as_row(keep_min)).squeeze(-1)


def sam_arg(sums, mask, *, largest):
    """Index of the selected input of each neuron (the one the gradient flows to).

    Tie rule: the lowest index among equal extreme values wins. ``sums`` is ``(..., O, N)``,
    ``mask`` ``(O, N)``. Works on integer and float tensors.
    """
    keep = torch.as_tensor(mask, device=sums.device).to(torch.bool)
    if sums.is_floating_point():
        fill = float("-inf") if largest else float("inf")
    else:
        info = torch.iinfo(sums.dtype)
        fill = info.min if largest else info.max
    masked = torch.where(keep, sums, torch.full_like(sums, fill))
    target = masked.amax(dim=-1, keepdim=True) if largest else masked.amin(dim=-1, keepdim=True)
    hit = masked == target
    # First True along the last axis: argmax of a 0/1 tensor returns the first maximum.
    return hit.to(torch.int8).argmax(dim=-1)


# -- trainable float layer ----------------------------------------------------------------------


class SamExtreme(torch.autograd.Function):
    """``max_i(x_i + w_oi)`` (or min) over the kept inputs, with the paper's gradient: 1 for the
    selected input and its weight, 0 for all others (lowest index on a tie, :func:`sam_arg`).

    ``x`` is ``(B, N)``, ``w`` ``(O, N)``, ``keep`` ``(O, N)`` bool; returns ``(B, O)``.
    """

    @staticmethod
    def forward(x, w, keep, largest):
        sums = x.unsqueeze(-2) + w
        index = sam_arg(sums, keep, largest=largest)
        return sums.gather(-1, index.unsqueeze(-1)).squeeze(-1), index

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, w, _keep, _largest = inputs
        _out, index = output
        ctx.save_for_backward(index)
        ctx.shapes = (x.shape, w.shape)
        ctx.mark_non_differentiable(index)

    @staticmethod
    def backward(ctx, grad_out, _grad_index):
        (index,) = ctx.saved_tensors
        (batch, n), (outputs, _) = ctx.shapes
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.zeros(batch, n, dtype=grad_out.dtype, device=grad_out.device)
            grad_x.scatter_add_(1, index, grad_out)
        if ctx.needs_input_grad[1]:
            flat = (torch.arange(outputs, device=index.device) * n + index).reshape(-1)
            grad_w = torch.zeros(outputs * n, dtype=grad_out.dtype, device=grad_out.device)
            grad_w.index_add_(0, flat, grad_out.reshape(-1))
            grad_w = grad_w.reshape(outputs, n)
        return grad_x, grad_w, None, None


class SamLayer(torch.nn.Module):
    """Trainable SAM layer ``n_inputs -> outputs`` (float), pruned by keep-mask buffers.

    ``forward(x)`` returns ``max_i(x_i + Wp_oi) + min_i(x_i + Wm_oi)``; with integer-valued
    inputs and weights it equals :func:`sam_layer` exactly. :meth:`selections` gives the
    selected indices, from which the activation rates used for pruning are counted.
    """

    def __init__(self, n_inputs, outputs, *, generator=None):
        super().__init__()
        self.wp = torch.nn.Parameter(torch.randn(outputs, n_inputs, generator=generator))
        self.wm = torch.nn.Parameter(torch.randn(outputs, n_inputs, generator=generator))
        self.register_buffer("keep_max", dense_mask(outputs, n_inputs))
        self.register_buffer("keep_min", dense_mask(outputs, n_inputs))

    def forward(self, x):
        high, _ = SamExtreme.apply(x, self.wp, self.keep_max, True)
        low, _ = SamExtreme.apply(x, self.wm, self.keep_min, False)
        return high + low

    @torch.no_grad()
    def selections(self, x):
        """``(argmax, argmin)`` indices, each ``(B, O)``."""
        _, high = SamExtreme.apply(x, self.wp, self.keep_max, True)
        _, low = SamExtreme.apply(x, self.wm, self.keep_min, False)
        return high, low
