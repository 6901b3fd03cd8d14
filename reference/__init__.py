"""PyTorch golden model: bit-exact integer semantics (no Amaranth or cocotb imports)."""

from .integer import (
    cell,
    kernel,
    layer,
    mac_cell,
    requantize,
    threshold_cell,
    threshold_magnitude,
)

__all__ = [
    "cell",
    "kernel",
    "layer",
    "mac_cell",
    "requantize",
    "threshold_cell",
    "threshold_magnitude",
]
