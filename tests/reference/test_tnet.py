"""Trainable threshold layers: gradients (gradcheck, formulas 8-10), chunking, conv layout."""

import pytest
import torch
from torch import nn
from torch.autograd.gradcheck import GradcheckError

from tn_hw.reference import integer
from tn_hw.reference.tnet import (
    TConv2d,
    TLinear,
    make_conv2d,
    make_linear,
    naive_tconv2d,
    threshold_conv2d,
    threshold_sum,
)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small tensors: extra threads only contend with the other xdist worker."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _away_from_ties(x, w, gap=0.05):
    """Move x so that no |x - w| is below ``gap`` (finite differences must not cross a kink)."""
    d = x.unsqueeze(-2) - w
    while bool((d.abs() < gap).any()):
        x = x + gap * 0.37
        d = x.unsqueeze(-2) - w
    return x


@pytest.mark.parametrize("max_elements", [1, 7, 1 << 20])
def test_gradcheck_threshold_sum(max_elements):
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(4, 5, dtype=torch.float64, generator=gen)
    x = torch.randn(6, 5, dtype=torch.float64, generator=gen)
    x = _away_from_ties(x, w).requires_grad_()
    w.requires_grad_()
    s = 1 - 2 * torch.randint(0, 2, (4, 5), generator=gen)
    assert torch.autograd.gradcheck(lambda a, b: threshold_sum(a, b, s, max_elements), (x, w))


def test_gradcheck_tconv2d():
    gen = torch.Generator().manual_seed(1)
    # Inputs on the grid 0.2 k + 0.15, thresholds on 0.2 k + 0.05: every |x - w| >= 0.1, and
    # every |0 - w| >= 0.05 for the zero padding, so no finite difference crosses a kink.
    x = (torch.randint(-8, 8, (2, 2, 5, 5), generator=gen) * 0.2 + 0.15).double()
    w = (torch.randint(-8, 8, (3, 2, 3, 3), generator=gen) * 0.2 + 0.05).double()
    b = torch.randn(3, generator=gen, dtype=torch.float64)
    sign = 1 - 2 * torch.randint(0, 2, (3, 2, 3, 3), generator=gen)
    x.requires_grad_()
    w.requires_grad_()
    b.requires_grad_()

    def conv(a, wt, bias):
        return threshold_conv2d(a, wt, sign, bias, stride=2, padding=1, max_elements=50)

    assert torch.autograd.gradcheck(conv, (x, w, b))


def test_gradient_at_a_tie_is_zero_and_follows_formulas_9_10():
    x = torch.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
    w = torch.tensor([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0]], requires_grad=True)
    s = torch.tensor([[1, -1, 1], [-1, 1, 1]])
    y = threshold_sum(x, w, s)
    assert y.tolist() == [[0.0 - 1.0 + 0.0, -1.0 + 0.0 + 0.5]]
    y.sum().backward()
    # mask x > w: row 0 [tie, yes, no], row 1 [yes, no, yes].
    assert w.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, -1.0]]
    assert x.grad.tolist() == [[-1.0, -1.0, 1.0]]


def test_chunked_equals_unchunked_values_and_gradients():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(37, 11, generator=gen, requires_grad=True)
    w = torch.randn(5, 11, generator=gen, requires_grad=True)
    s = 1 - 2 * torch.randint(0, 2, (5, 11), generator=gen)
    g = torch.randn(37, 5, generator=gen)
    grads = []
    for budget in (1, 60, 1 << 24):
        y = threshold_sum(x, w, s, budget)
        gx, gw = torch.autograd.grad(y, (x, w), g)
        grads.append((y, gx, gw))
    for other in grads[1:]:
        for a, b in zip(grads[0], other, strict=True):
            assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 1)])
def test_tconv_matches_naive_broadcast(stride, padding):
    torch.manual_seed(3)
    conv = TConv2d(3, 4, (3, 2), stride=stride, padding=padding, max_elements=100)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 3, 6, 7, requires_grad=True)
    got = conv(x)
    want = naive_tconv2d(x, conv.weight, conv.polarity, conv.bias, stride=stride,
                         padding=padding)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-5)
    g = torch.randn_like(got)
    a = torch.autograd.grad(got, (x, conv.weight), g)
    b = torch.autograd.grad(want, (x, conv.weight), g)
    for u, v in zip(a, b, strict=True):
        assert torch.allclose(u, v, atol=1e-4)


def test_tconv_on_integers_matches_the_integer_kernel():
    """Same patch order as the golden model: float layer on integer values == integer layer."""
    torch.manual_seed(4)
    conv = TConv2d(2, 3, 3, stride=2, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.randint(-20, 20, conv.weight.shape).float())
        conv.bias.copy_(torch.randint(-50, 50, (3,)).float())
    x = torch.randint(-20, 20, (2, 2, 5, 5))
    y = conv(x.float())
    patches = torch.nn.functional.unfold(x.double(), 3, padding=1, stride=2).to(torch.int64)
    want = integer.layer("threshold", patches.transpose(1, 2), conv.weight.reshape(3, -1).long(),
                         conv.polarity.reshape(3, -1), conv.bias.long())
    assert torch.equal(y.round().long(), want.transpose(1, 2).reshape(2, 3, 3, 3))


def test_tlinear_polarity_is_seeded_frozen_and_balanced():
    a, b = TLinear(64, 32, seed=5), TLinear(64, 32, seed=5)
    assert torch.equal(a.polarity, b.polarity) and torch.equal(a.weight, b.weight)
    assert not torch.equal(TLinear(64, 32, seed=6).polarity, a.polarity)
    assert "polarity" in dict(a.named_buffers())
    assert "polarity" not in dict(a.named_parameters())
    assert 0.4 < float(a.polarity.float().mean()) < 0.6
    opt = torch.optim.SGD(a.parameters(), lr=0.1)
    before = a.polarity.clone()
    a(torch.rand(8, 64)).sum().backward()
    opt.step()
    assert torch.equal(a.polarity, before)


def test_tlinear_keeps_leading_dims_and_matches_integer_layer():
    lin = TLinear(4, 3, seed=0)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 1, 2, 3], [-1, 0, 1, 2], [3, 3, 3, 3]]))
        lin.bias.copy_(torch.tensor([1.0, -2.0, 0.0]))
    x = torch.tensor([[[4.0, 0, 2, 5]]])
    want = integer.layer("threshold", x.long(), lin.weight.long(), lin.polarity, lin.bias.long())
    assert torch.equal(lin(x).long(), want)


def test_multiplication_injection_builders():
    assert isinstance(make_linear("threshold", 4, 2, seed=0), TLinear)
    assert isinstance(make_linear("mac", 4, 2), nn.Linear)
    assert isinstance(make_conv2d("threshold", 1, 2, 3, stride=2), TConv2d)
    conv = make_conv2d("mac", 1, 2, 3, stride=2, padding=1)
    assert isinstance(conv, nn.Conv2d) and conv.stride == (2, 2)
    with pytest.raises(ValueError, match="threshold or mac"):
        make_linear("sam", 4, 2)
    mixed = nn.Sequential(make_conv2d("threshold", 1, 2, 3, stride=2, padding=1, seed=0),
                          nn.Flatten(), make_linear("mac", 32, 10))
    out = mixed(torch.rand(5, 1, 8, 8))
    out.sum().backward()
    assert out.shape == (5, 10) and mixed[0].weight.grad is not None


# -- planted bugs: the gradient checks must catch each ------------------------------------


def _mutant_backward(kind):
    from tn_hw.reference.tnet import ThresholdSum

    original = ThresholdSum.backward

    def backward(ctx, grad_out):
        grad_x, grad_w, a, b = original(ctx, grad_out)
        x, w, s = ctx.saved_tensors
        if kind == "tie-counts":
            tie = (x.unsqueeze(1) == w).to(x.dtype)
            g = grad_out.unsqueeze(-1) * s * tie
            grad_x, grad_w = grad_x + g.sum(1), grad_w - g.sum(0)
        elif kind == "w-sign-flipped":
            grad_w = -grad_w
        elif kind == "polarity-ignored":
            mask = (x.unsqueeze(1) > w).to(x.dtype)
            g = grad_out.unsqueeze(-1) * mask
            grad_x, grad_w = g.sum(1), -g.sum(0)
        return grad_x, grad_w, a, b

    return staticmethod(backward)


@pytest.mark.parametrize("kind", ["tie-counts", "w-sign-flipped", "polarity-ignored"])
def test_gradient_checks_catch_planted_bug(kind, monkeypatch):
    from tn_hw.reference.tnet import ThresholdSum

    monkeypatch.setattr(ThresholdSum, "backward", _mutant_backward(kind))
    caught = False
    try:
        test_gradient_at_a_tie_is_zero_and_follows_formulas_9_10()
    except AssertionError:
        caught = True
    if kind != "tie-counts":
        try:
            test_gradcheck_threshold_sum(1 << 20)
        except (AssertionError, GradcheckError):
            caught = True
    assert caught, f"mutant {kind} survived the gradient tests"
