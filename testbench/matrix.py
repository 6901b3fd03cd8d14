"""The regression matrix: which designs the regression covers.

One list, read by the pytest suite (``tests/testbench/test_regression.py``) and by
``tn-hw regress --matrix``, so that both always check the same configurations.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import KernelSpec

__all__ = ["Config", "regress_point", "regression_matrix", "run_matrix", "seeded_mask"]


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
        sparse = "-sparse" if s.is_sparse else ""
        arch = f"-{s.arch}" if s.arch != "tree" else ""
        return f"{s.neuron}-{shape}{outputs}-w{s.width}{sparse}{arch}"

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
    configs += _sam_adder_configs()
    configs += _arch_configs()
    return configs


def _arch_configs() -> list[Config]:
    """Every micro-architecture other than ``tree`` (``KernelSpec.arch``) as a 3x3 8-bit kernel;
    smaller kernels, layers and the planted bugs: tests/testbench/test_arch_regression.py."""
    from .. import neurons

    return [Config("kernel", KernelSpec(neuron=neuron, kernel=(3, 3), width=8, arch=arch))
            for neuron in ("threshold", "mac", "adder")
            for arch in list(neurons.get(neuron).architectures)[1:]]


def seeded_mask(outputs: int, n_inputs: int, keep: float, seed: int) -> tuple:
    """A reproducible sparse keep mask (about ``keep`` of the connections, at least one per row).

    Pure Python (no numpy), so the same seed gives the same mask, and top name, everywhere.
    """
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(outputs):
        row = [1 if rng.random() < keep else 0 for _ in range(n_inputs)]
        row[rng.randrange(n_inputs)] = 1
        rows.append(tuple(row))
    return tuple(rows)


def _sam_adder_configs() -> list[Config]:
    """SAM and adder kernels 3x3/5x5/7x7 at widths 4, 8, 16; SAM also with sparse masks (max
    and min sides pruned differently) and as a sparse layer; an adder cell and layer."""
    configs = []
    for width in (4, 8, 16):
        for side in (3, 5, 7):
            for neuron in ("sam", "adder"):
                configs.append(Config("kernel", KernelSpec(neuron=neuron, kernel=(side, side),
                                                           width=width)))
    for side in (3, 5, 7):
        n = side * side
        configs.append(Config("kernel", KernelSpec(
            neuron="sam", kernel=(side, side), width=8, mask=seeded_mask(1, n, 0.4, side),
            mask_min=seeded_mask(1, n, 0.4, 100 + side))))
    configs.append(Config("layer", KernelSpec(
        neuron="sam", kernel=(3, 3), outputs=4, width=8, mask=seeded_mask(4, 9, 0.3, 1),
        mask_min=seeded_mask(4, 9, 0.3, 2))))
    configs.append(Config("cell", KernelSpec(neuron="adder", kernel=(1, 1), width=4)))
    configs.append(Config("layer", KernelSpec(neuron="adder", kernel=(3, 3), outputs=4,
                                              width=8)))
    return configs


def regress_point(point, *, build_root=None, cache_dir=None, cache=True, **options):
    """The regression of one ``(label, design)`` of the matrix (the design carries its
    Verilog, so it travels to a cluster worker whole), in ``build_root/label`` or, without
    ``build_root`` (on a worker), a temporary folder. ``options`` go to
    :func:`~tn_hw.testbench.runner.run_regression`; nothing is cached."""
    import tempfile
    from pathlib import Path

    from .runner import run_regression

    label, design = point
    if build_root is not None:
        return run_regression(design, Path(build_root) / label, **options)
    with tempfile.TemporaryDirectory(prefix="tn-hw-regress-") as scratch:
        return run_regression(design, Path(scratch) / label, **options)


def run_matrix(configs, *, executor=None, build_root=None, on_result=None, **options) -> list:
    """The regression of every :class:`Config`, on this machine or a cluster.

    Parameters
    ----------
    configs : list of Config
    executor : tn_hw.executor.LocalExecutor or DaskExecutor, optional
        Default: one design at a time here. Local pools of several jobs use processes.
    build_root : path-like, optional
        Build folders ``build_root/<config id>`` here (on a cluster, each worker builds in a
        temporary folder of its own instead).
    on_result : callable, optional
        ``on_result(index, result)`` as each design finishes.
    **options
        :func:`~tn_hw.testbench.runner.run_regression` options (``tier``,
        ``random_vectors``, ``seed``...).

    Returns
    -------
    list of RegressionResult
        In the order of ``configs``.
    """
    from ..executor import LocalExecutor, run_points

    points = [(config.id, config.generate()) for config in configs]
    return run_points(executor or LocalExecutor(1), regress_point, points,
                      describe=lambda point: point[0], on_result=on_result,
                      options=options | {"build_root": build_root}, kind="process",
                      probe=False)
