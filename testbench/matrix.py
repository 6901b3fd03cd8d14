"""The regression matrix: which designs the regression covers.

One list, read by the pytest suite (``tests/test_regression.py``) and by
``tn-hw regress --matrix``, so that both always check the same configurations.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import KernelSpec

__all__ = ["Config", "regression_matrix"]


@dataclass(frozen=True)
class Config:
    """One design of the matrix: ``kind`` is ``"cell"``, ``"kernel"`` or ``"layer"``."""

    kind: str
    spec: KernelSpec

    @property
    def id(self) -> str:
        s = self.spec
        if self.kind == "cell":
            return f"{s.neuron}-cell-w{s.width}"
        shape = s.kernel_text + (f"x{s.channels}" if s.channels > 1 else "")
        outputs = f"-o{s.outputs}" if s.outputs > 1 else ""
        return f"{s.neuron}-{shape}{outputs}-w{s.width}"

    def generate(self):
        from ..generate import generate, generate_cell

        if self.kind == "cell":
            return generate_cell(neuron=self.spec.neuron, width=self.spec.width)
        return generate(self.spec)


def regression_matrix() -> list[Config]:
    """Cells at widths 2..32 (exhaustive at <= 6), kernels 1x1..7x7 and 3x3x3 at widths 4, 8,
    16, and a layer with several outputs, for both the threshold neuron and the MAC baseline."""
    configs = []
    for neuron in ("threshold", "mac"):
        for width in (2, 4, 6, 8, 16, 32):
            configs.append(Config("cell", KernelSpec(neuron=neuron, kernel=(1, 1), width=width)))
        for width in (4, 8, 16):
            for side in (1, 3, 5, 7):
                configs.append(Config("kernel", KernelSpec(neuron=neuron, kernel=(side, side),
                                                           width=width)))
            configs.append(Config("kernel", KernelSpec(neuron=neuron, kernel=(3, 3), channels=3,
                                                       width=width)))
        configs.append(Config("layer", KernelSpec(neuron=neuron, kernel=(3, 3), outputs=4,
                                                  width=8)))
    return configs
