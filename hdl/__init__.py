"""Amaranth hardware: the cells, and the kernels and layers built from them."""

from .cell import ThresholdCell
from .kernel import Kernel
from .layer import Layer
from .mac import MacCell

__all__ = ["ThresholdCell", "MacCell", "Kernel", "Layer"]
