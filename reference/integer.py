"""Bit-exact integer semantics of every neuron family (docs/semantics.md is the prose version).

All functions take and return ``torch.int64`` tensors and broadcast over any leading batch
dimensions. They are the contract the RTL is checked against, so they are written straight from
the formulas, with no shared tricks from the hardware.
"""

import torch

__all__ = [
    "check_int64",
    "cell",
    "kernel",
    "layer",
    "mac_cell",
    "requantize",
    "threshold_cell",
    "threshold_magnitude",
    "threshold_ones_complement",
]


def check_int64(*tensors):
    """Raise ``TypeError`` unless every argument is a ``torch.int64`` tensor."""
    for t in tensors:
        if not isinstance(t, torch.Tensor) or t.dtype != torch.int64:
            raise TypeError(f"expected a torch.int64 tensor, not {type(t).__name__} "
                            f"{getattr(t, 'dtype', '')}")


def threshold_magnitude(x, w):
    """``r = x - w`` if ``x > w`` else 0 (formula 2; a tie gives 0)."""
    check_int64(x, w)
    return torch.where(x > w, x - w, torch.zeros_like(x - w))


def threshold_cell(x, w, p):
    """Signed contribution of one threshold cell: ``+r`` if ``p == 0``, ``-r`` if ``p == 1``.

    Formulas (4) and (5): polarity 0 is the positive (excitatory) neuron, 1 the negative
    (inhibitory) one.
    """
    check_int64(p)
    r = threshold_magnitude(x, w)
    return torch.where(p != 0, -r, r)


def threshold_ones_complement(x, w, p):
    """The cell's contribution in one's complement: ``r`` if ``p == 0``, ``-r - 1`` if ``p == 1``.

    It equals ``threshold_cell(x, w, p) - p``; a kernel that sums these adds the number of
    inhibitory cells once to get the exact sum.
    """
    check_int64(p)
    r = threshold_magnitude(x, w)
    return torch.where(p != 0, -r - 1, r)


def mac_cell(x, w):
    """Product ``x * w`` of one multiply-accumulate cell."""
    check_int64(x, w)
    return x * w


def cell(neuron, x, w, p=None):
    """One cell of family ``neuron`` (``"threshold"`` needs ``p``; ``"mac"`` ignores it).

    Other families whose kernel is ``bias + sum cell`` (the adder neuron's ``-|x - w|``)
    come from their registry entry's ``golden_cell`` (:mod:`tn_hw.neurons`).
    """
    if neuron == "threshold":
        if p is None:
            raise ValueError("the threshold cell needs polarities p")
        return threshold_cell(x, w, p)
    if neuron == "mac":
        return mac_cell(x, w)
    from .. import neurons

    # A family with other weight sets than ``w`` (SAM's W+ and W-) is not ``bias + sum cell``.
    if (not neurons.is_family(neuron) or not neurons.get(neuron).network
            or neurons.get(neuron).weight_sets != ("w",)):
        raise ValueError(f"unknown neuron {neuron!r}")
    return neurons.get(neuron).golden_cell(x, w, p)


def kernel(neuron, x, w, p, bias):
    """One kernel: ``y = bias + sum_i cell(x[..., i], w[..., i], p[..., i])``.

    Parameters
    ----------
    neuron : str
        ``"threshold"`` or ``"mac"``.
    x, w : torch.Tensor
        ``(..., N)`` int64.
    p : torch.Tensor or None
        ``(..., N)`` int64 of 0/1, threshold only.
    bias : torch.Tensor
        ``(...)`` int64.

    Returns
    -------
    torch.Tensor
        ``(...)`` int64.
    """
    check_int64(bias)
    return bias + cell(neuron, x, w, p).sum(dim=-1)


def layer(neuron, x, w, p, bias):
    """A layer of ``O`` kernels that share the input ``x``.

    ``x`` is ``(..., N)``; ``w`` and ``p`` are ``(..., O, N)``; ``bias`` is ``(..., O)``.
    Returns ``(..., O)``.
    """
    return kernel(neuron, x.unsqueeze(-2), w, p, bias)


def requantize(y, shift, out_width):
    """Requantize an accumulator ``y`` to the next layer's width: shift right, round, saturate.

    For ``shift > 0``: ``q = saturate((y + 2**(shift - 1)) >> shift)``, the arithmetic (floor)
    shift of ``y`` plus one half, i.e. round to nearest with ties toward +infinity
    (``5 / 2 -> 3``, ``-5 / 2 -> -2``). For ``shift == 0``: ``q = saturate(y)``. Saturation
    clamps to ``[-2**(out_width - 1), 2**(out_width - 1) - 1]``; ``out_width=None`` skips it
    (the last layer's full-precision logits). Only adders, shifts and comparators: the hardware
    needs no multiplier.

    Parameters
    ----------
    y : torch.Tensor
        int64 accumulator values, any shape.
    shift : int
        Right shift ``s >= 0``.
    out_width : int or None
        Signed output width (2 to 32), or ``None`` for no saturation.

    Returns
    -------
    torch.Tensor
        int64, the shape of ``y``.
    """
    check_int64(y)
    if isinstance(shift, bool) or not isinstance(shift, int) or not 0 <= shift <= 62:
        raise ValueError(f"shift must be an integer from 0 to 62, not {shift!r}")
    if shift > 0:
        y = torch.bitwise_right_shift(y + (1 << (shift - 1)), shift)
    if out_width is None:
        return y
    if isinstance(out_width, bool) or not isinstance(out_width, int) or not 2 <= out_width <= 32:
        raise ValueError(f"out_width must be an integer from 2 to 32 or None, not {out_width!r}")
    return torch.clamp(y, -(1 << (out_width - 1)), (1 << (out_width - 1)) - 1)
