"""Known answers for the golden model, worked out by hand from formulas (2)-(5)."""

import pytest
import torch

from tn_hw import reference


def t(*values):
    return torch.tensor(values, dtype=torch.int64)


def test_magnitude_by_hand():
    # x > w: the difference; x == w (tie) and x < w: 0.
    assert reference.threshold_magnitude(t(5, 3, 2, -128), t(3, 3, 7, 127)).tolist() == [2, 0, 0, 0]
    # Extremes of 8 bits: 127 - (-128) = 255 does not wrap.
    assert reference.threshold_magnitude(t(127), t(-128)).tolist() == [255]


def test_polarity_by_hand():
    x, w = t(10, 10, 4, 4), t(3, 3, 4, 4)
    p = t(0, 1, 0, 1)
    assert reference.threshold_cell(x, w, p).tolist() == [7, -7, 0, 0]
    # One's complement: -r - 1 for inhibitory cells, so a tie with p = 1 gives -1.
    assert reference.threshold_ones_complement(x, w, p).tolist() == [7, -8, 0, -1]


def test_kernel_by_hand():
    # y = 5 + (9 - 2) - (1 - (-3)) + 0 (tie) + 0 (below) = 5 + 7 - 4 = 8
    x = t(9, 1, 6, -5).reshape(1, 4)
    w = t(2, -3, 6, 0).reshape(1, 4)
    p = t(0, 1, 1, 0).reshape(1, 4)
    assert reference.kernel("threshold", x, w, p, t(5)).tolist() == [8]


def test_kernel_extremes_8bit_3x3():
    # All x = 127 over all w = -128: each cell 255; nine cells.
    x = torch.full((2, 9), 127, dtype=torch.int64)
    w = torch.full((2, 9), -128, dtype=torch.int64)
    p = torch.stack([torch.zeros(9, dtype=torch.int64), torch.ones(9, dtype=torch.int64)])
    assert reference.kernel("threshold", x, w, p, t(0, 0)).tolist() == [2295, -2295]
    # Ties everywhere give only the bias.
    assert reference.kernel("threshold", x, x, p, t(-4096, 4095)).tolist() == [-4096, 4095]


def test_mac_by_hand():
    x = t(3, -2, -128).reshape(1, 3)
    w = t(4, 5, -128).reshape(1, 3)
    # 12 - 10 + 16384 + 1
    assert reference.kernel("mac", x, w, None, t(1)).tolist() == [16387]


def test_layer_by_hand():
    x = t(4, -1)                       # shared by both outputs
    w = t(1, -3, 4, 2).reshape(2, 2)   # output 0: (1, -3); output 1: (4, 2)
    p = t(0, 1, 1, 0).reshape(2, 2)
    bias = t(10, -10)
    # output 0: 10 + (4-1) - (-1-(-3)) = 10 + 3 - 2 = 11; output 1: -10 + 0 (tie) + 0 = -10
    assert reference.layer("threshold", x, w, p, bias).tolist() == [11, -10]
    assert reference.layer("mac", x, w, None, bias).tolist() == [10 + 4 + 3, -10 + 16 - 2]


def test_batch_broadcast():
    x = torch.arange(-4, 4, dtype=torch.int64).reshape(8, 1).expand(8, 3)
    w = torch.zeros(3, dtype=torch.int64)
    p = t(0, 0, 1)
    y = reference.kernel("threshold", x, w, p, torch.zeros(8, dtype=torch.int64))
    assert y.tolist() == [0, 0, 0, 0, 0, 1, 2, 3]


def test_rejects_float():
    with pytest.raises(TypeError, match="int64"):
        reference.threshold_magnitude(torch.tensor([1.0]), torch.tensor([0.0]))


def test_unknown_neuron():
    with pytest.raises(ValueError, match="unknown neuron"):
        reference.cell("sam", t(1), t(0))
