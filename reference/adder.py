"""Bit-exact integer semantics of the AdderNet-style (L1) neuron (docs/semantics.md, "Adder").

The neuron of Chen et al., "AdderNet: Do We Really Need Multiplications in Deep Learning?"
(CVPR 2020), used here as a further multiplier-free comparison point::

    y = bias - sum_i |x_i - w_i|

AdderNet follows the layer with batch normalisation; the integer ``bias`` stands for its
additive part, so the adder kernel keeps the threshold kernel's ports (``x``, ``w``, ``bias``,
``y``). All functions take and return ``torch.int64`` tensors.
"""


from .integer import check_int64

__all__ = ["adder_cell", "adder_kernel", "adder_layer", "adder_magnitude"]


def adder_magnitude(x, w):
    """``|x - w|`` (``W`` bits unsigned in hardware)."""
    check_int64(x, w)
    return (x - w).abs()


def adder_cell(x, w):
    """One cell's contribution ``-|x - w|``."""
    return -adder_magnitude(x, w)


def adder_kernel(x, w, bias):
    """``y = bias - sum_i |x_i - w_i|``; ``x``, ``w`` are ``(..., N)``, ``bias`` ``(...)``."""
    check_int64(bias)
    return bias + adder_cell(x, w).sum(dim=-1)


def adder_layer(x, w, bias):
    """``O`` adder neurons sharing ``x`` ``(..., N)``; ``w`` ``(..., O, N)``, ``bias``
    ``(..., O)``; returns ``(..., O)``."""
    return adder_kernel(x.unsqueeze(-2), w, bias)
