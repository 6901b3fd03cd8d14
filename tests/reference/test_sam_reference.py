"""Known answers of the SAM and adder golden models, computed by hand."""

import pytest
import torch

from tn_hw.reference.adder import adder_cell, adder_kernel, adder_layer, adder_magnitude
from tn_hw.reference.sam import sam_arg, sam_kernel, sam_layer


def t(values):
    return torch.tensor(values, dtype=torch.int64)


def test_sam_kernel_known_answer():
    # x + wp = [3, 7, -1]  -> max 7;  x + wm = [2, -4, 5] -> min -4;  o = 3
    x, wp, wm = t([1, 2, -3]), t([2, 5, 2]), t([1, -6, 8])
    assert sam_kernel(x, wp, wm).item() == 3


def test_sam_kernel_pruning_changes_the_answer():
    x, wp, wm = t([1, 2, -3]), t([2, 5, 2]), t([1, -6, 8])
    # max over {3, -1} = 3 (input 1 pruned on the max side); min over {2, -4, 5} = -4
    assert sam_kernel(x, wp, wm, keep_max=[1, 0, 1], keep_min=[1, 1, 1]).item() == -1
    # both sides keep only input 2: (-3 + 2) + (-3 + 8) = 4
    assert sam_kernel(x, wp, wm, keep_max=[0, 0, 1]).item() == 4


def test_sam_extremes_and_ties():
    lo, hi = -128, 127
    n = 9
    assert sam_kernel(t([hi] * n), t([hi] * n), t([hi] * n)).item() == 4 * hi
    assert sam_kernel(t([lo] * n), t([lo] * n), t([lo] * n)).item() == 4 * lo
    # all sums equal: max == min == 5
    assert sam_kernel(t([1, 2, 3]), t([4, 3, 2]), t([4, 3, 2])).item() == 10


def test_sam_layer_batch():
    x = t([[0, 10], [5, -5]])                       # batch 2, N = 2
    wp = t([[1, 2], [-1, 0]])                       # O = 2
    wm = t([[0, 0], [3, 3]])
    # batch 0: o0 = max(1, 12) + min(0, 10) = 12; o1 = max(-1, 10) + min(3, 13) = 13
    # batch 1: o0 = max(6, -3) + min(5, -5) = 1;  o1 = max(4, -5) + min(8, -2) = 2
    assert sam_layer(x, wp, wm).tolist() == [[12, 13], [1, 2]]
    keep = [[1, 0], [0, 1]]
    # batch 0: o0 = 1 + 0 = 1; o1 = 10 + 13 = 23.  batch 1: o0 = 6 + 5 = 11; o1 = -5 - 2 = -7
    assert sam_layer(x, wp, wm, keep, keep).tolist() == [[1, 23], [11, -7]]


def test_sam_all_pruned_is_an_error():
    x = t([1, 2])
    with pytest.raises(ValueError, match="at least one kept connection"):
        sam_kernel(x, x, x, keep_max=[0, 0])
    with pytest.raises(ValueError, match="does not match"):
        sam_kernel(x, x, x, keep_max=[1, 1, 1])


def test_sam_arg_lowest_index_wins_ties():
    sums = t([[3, 7, 7, 1]])
    assert sam_arg(sums, [[1, 1, 1, 1]], largest=True).tolist() == [1]
    assert sam_arg(sums, [[1, 0, 1, 1]], largest=True).tolist() == [2]
    assert sam_arg(sums, [[1, 1, 1, 1]], largest=False).tolist() == [3]
    assert sam_arg(sums.float(), [[1, 1, 1, 0]], largest=False).tolist() == [0]


def test_adder_known_answers():
    x, w = t([3, -2, 0]), t([1, 4, 0])
    assert adder_magnitude(x, w).tolist() == [2, 6, 0]
    assert adder_cell(x, w).tolist() == [-2, -6, 0]
    assert adder_kernel(x, w, t(5)).item() == 5 - 8
    # extremes at W = 8: |-128 - 127| = 255
    assert adder_kernel(t([-128] * 9), t([127] * 9), t(0)).item() == -9 * 255
    assert adder_layer(x, torch.stack([w, x]), t([0, 1])).tolist() == [-8, 1]


def test_int64_only():
    with pytest.raises(TypeError):
        sam_kernel(torch.zeros(3), torch.zeros(3), torch.zeros(3))
    with pytest.raises(TypeError):
        adder_kernel(torch.zeros(3, dtype=torch.int32), t([0, 0, 0]), t(0))


def test_sam_extreme_gradcheck():
    from tn_hw.reference.sam import SamExtreme

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(3, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    keep = torch.tensor([[1, 1, 0, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]], dtype=torch.bool)
    for largest in (True, False):
        assert torch.autograd.gradcheck(lambda a, b, s=largest: SamExtreme.apply(a, b, keep, s)[0],
                                        (x, w))


def test_sam_gradient_goes_to_the_selected_input_only():
    from tn_hw.reference.sam import SamExtreme

    x = torch.tensor([[1.0, 5.0, 5.0, 0.0]], requires_grad=True)
    w = torch.zeros(1, 4, requires_grad=True)
    out, index = SamExtreme.apply(x, w, torch.ones(1, 4, dtype=torch.bool), True)
    out.sum().backward()
    assert index.tolist() == [[1]]                      # tie 5 == 5: lowest index
    assert x.grad.tolist() == [[0.0, 1.0, 0.0, 0.0]]
    assert w.grad.tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_float_layer_matches_the_integer_model():
    from tn_hw.reference.sam import SamLayer

    gen = torch.Generator().manual_seed(1)
    layer = SamLayer(6, 3, generator=gen)
    with torch.no_grad():
        layer.wp.copy_(torch.randint(-20, 20, (3, 6), generator=gen).float())
        layer.wm.copy_(torch.randint(-20, 20, (3, 6), generator=gen).float())
        layer.keep_max[0, :3] = False
        layer.keep_min[2, 1:] = False
    x = torch.randint(-20, 20, (8, 6), generator=gen)
    want = sam_layer(x, layer.wp.long(), layer.wm.long(), layer.keep_max, layer.keep_min)
    assert torch.equal(layer(x.float()).long(), want)
