"""Data sets for the Threshold-Nets, and the float-to-integer input mapping.

Two tasks, both deterministic (no download, no global random state):

``digits``
    scikit-learn's shipped 8x8 handwritten digits (1797 images, 10 classes, pixels 0..16), split
    75/25 per class with a seeded permutation (``numpy.random.RandomState``, whose stream is
    frozen across numpy releases). Float features are ``pixel / 16`` in ``[0, 1]``.
``ball3``
    The paper's 4-layer FPGA network N3(5)-N5(3)-N3(1)-N1(1) (Table 2) has 3 inputs and one
    output, so it gets a 3-D binary task: points uniform in the cube ``[-1, 1]**3``, class 1 when
    the point lies inside the ball of radius ``(3 / pi) ** (1/3)`` around the origin (that ball
    fills half the cube, so the classes are balanced). 2000 training and 1000 test points.

Input quantization (the ``"input"`` entry of a tn-hw-net file): a float feature ``v`` becomes the
signed ``width``-bit integer ``clamp(round_half_up(v * 2**frac_bits))``. For digits with
``frac_bits >= 4`` this is exact: ``pixel * 2**(frac_bits - 4)`` (e.g. width 8, frac_bits 6 maps
0..16 to 0..64).
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import TnHwError

__all__ = [
    "DATASETS",
    "DataError",
    "Split",
    "load_dataset",
    "load_split",
    "network_dataset",
    "quantize_input",
]

#: ``name-part`` names accepted by :func:`load_dataset` (and ``tn-hw verify --data``).
DATASETS = ("digits-train", "digits-test", "ball3-train", "ball3-test")

#: Seed of the fixed splits; every reported accuracy uses it.
DEFAULT_SEED = 0

_BALL_RADIUS = (3.0 / math.pi) ** (1.0 / 3.0)


class DataError(TnHwError, ValueError):
    """An unknown data set, or data that does not fit a network's input."""


@dataclass(frozen=True)
class Split:
    """A train/test split of one task.

    Attributes
    ----------
    task : str
        ``"digits"`` or ``"ball3"``.
    x_train, x_test : torch.Tensor
        float32 features, ``(N, 64)`` for digits (``pixel / 16``), ``(N, 3)`` for ball3.
    y_train, y_test : torch.Tensor
        int64 class labels.
    n_classes : int
        10 for digits, 2 for ball3.
    """

    task: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8x8 digits of scikit-learn as ``(pixels (1797, 64) float64, labels int64)``.

    Read from the CSV file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``) the way
    ``sklearn.datasets.load_digits`` reads it, without importing scikit-learn (and SciPy
    behind it: 1.5-3 s idle, 20 s on a loaded machine, for one small file).
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the digits data set needs scikit-learn (pip install scikit-learn)")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise DataError(f"the digits data set is missing from scikit-learn: no {path}")
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1], data[:, -1].astype(np.int64)


def _digits_split(seed: int, test_fraction: float) -> Split:
    pixels, labels = digits_arrays()
    pixels = pixels.astype(np.float32)
    rng = np.random.RandomState(seed)
    train, test = [], []
    for label in range(10):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test = round(len(members) * test_fraction)
        test.extend(members[:n_test].tolist())
        train.extend(members[n_test:].tolist())
    train, test = np.sort(np.array(train)), np.sort(np.array(test))
    x = torch.from_numpy(pixels / 16.0)
    y = torch.from_numpy(labels)
    return Split("digits", x[train], y[train], x[test], y[test], 10)


def _ball3_split(seed: int) -> Split:
    rng = np.random.RandomState(seed + 1000)
    x = rng.uniform(-1.0, 1.0, size=(3000, 3)).astype(np.float32)
    y = (np.sqrt((x.astype(np.float64) ** 2).sum(axis=1)) < _BALL_RADIUS).astype(np.int64)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    return Split("ball3", x[:2000], y[:2000], x[2000:], y[2000:], 2)


def load_split(task: str, *, seed: int = DEFAULT_SEED, test_fraction: float = 0.25) -> Split:
    """The seeded train/test split of ``task`` (``"digits"`` or ``"ball3"``).

    Parameters
    ----------
    task : str
        ``"digits"`` or ``"ball3"``.
    seed : int
        Split seed; the documented figures use :data:`DEFAULT_SEED`.
    test_fraction : float
        Share of each digit class held out for testing (digits only; ball3 is 2000/1000).

    Returns
    -------
    Split

    Raises
    ------
    DataError
        If the task is unknown.
    """
    if task == "digits":
        return _digits_split(seed, test_fraction)
    if task == "ball3":
        return _ball3_split(seed)
    raise DataError(f"unknown task {task!r}; known tasks: digits, ball3")


def load_dataset(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Float features and labels of a named part, e.g. ``"digits-test"``.

    Raises
    ------
    DataError
        If ``name`` is not one of :data:`DATASETS`.
    """
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    task, part = name.split("-")
    split = load_split(task)
    return (split.x_train, split.y_train) if part == "train" else (split.x_test, split.y_test)


def quantize_input(x: torch.Tensor, width: int, frac_bits: int) -> torch.Tensor:
    """Map float features to signed ``width``-bit integers: ``clamp(floor(x * 2**F + 1/2))``.

    Rounding is half up (toward +infinity), as in the requantization between layers. The scale
    is a power of two, so the integer ``q`` stands for the float ``q * 2**-frac_bits``.

    Returns
    -------
    torch.Tensor
        int64, the shape of ``x``.
    """
    scaled = torch.floor(x.to(torch.float64) * (2.0 ** frac_bits) + 0.5)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return torch.clamp(scaled, lo, hi).to(torch.int64)


def network_dataset(net, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer inputs shaped for ``net`` (a loaded :class:`~tn_hw.reference.network.Network`)
    and labels, for the named data set part.

    The features are reshaped to ``(N, *net.input_shape)`` and quantized with the network's
    input ``width`` and ``frac_bits``.

    Raises
    ------
    DataError
        If the data set is unknown, or its feature count does not match the network's input.
    """
    x, y = load_dataset(name)
    n_features = math.prod(net.input_shape)
    if x.shape[1] != n_features:
        raise DataError(f"data set {name!r} has {x.shape[1]} features, but network "
                        f"{net.name!r} takes {n_features} (input shape {list(net.input_shape)})")
    x = x.reshape(len(x), *net.input_shape)
    return quantize_input(x, net.input_width, net.input_frac_bits), y
