"""PyTorch golden model: bit-exact integer semantics (no Amaranth or cocotb imports)."""

from .integer import (
    cell,
    kernel,
    layer,
    mac_cell,
    requantize,
    threshold_cell,
    threshold_magnitude,
    threshold_ones_complement,
)

__all__ = [
    "cell",
    "kernel",
    "layer",
    "mac_cell",
    "requantize",
    "threshold_cell",
    "threshold_magnitude",
    "threshold_ones_complement",
]
