"""Quantization: the fake-quantized float model and the converted integer network agree exactly."""

import pytest
import torch
from torch import nn

from tn_hw.reference import data, network, quantize
from tn_hw.reference.tnet import TConv2d, TLinear


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small tensors: extra threads only contend with the other xdist worker."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _models():
    torch.manual_seed(0)
    return {
        "tmlp": (nn.Sequential(TLinear(64, 12, seed=1, init_range=(0.0, 1.0)),
                               TLinear(12, 10, seed=2)), (64,)),
        "tcnn": (nn.Sequential(TConv2d(1, 3, 3, stride=2, padding=1, seed=3,
                                       init_range=(0.0, 1.0)),
                               TConv2d(3, 4, 3, stride=2, padding=1, seed=4), nn.Flatten(),
                               TLinear(16, 10, seed=5)), (1, 8, 8)),
        "cnn-relu": (nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.ReLU(),
                                   nn.Flatten(), nn.Linear(48, 10)), (1, 8, 8)),
        "mixed": (nn.Sequential(TConv2d(1, 3, 3, stride=2, padding=1, seed=6), nn.Flatten(),
                                nn.Linear(48, 16), TLinear(16, 10, seed=7)), (1, 8, 8)),
    }


def _random_biases(model):
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for module in model:
            if getattr(module, "bias", None) is not None:
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 2)


def _check_exact(model, shape, x):
    plan = quantize.calibrate(model, x, input_frac=6)
    raw = quantize.to_network(model, plan, name="q", task="digits", input_shape=shape)
    net = network.load_network(raw)
    fq = quantize.fake_quant_forward(model, plan, x.double())
    scaled = fq * 2.0 ** plan.layers[-1].acc_frac
    assert torch.equal(scaled, torch.round(scaled)), "fake-quant logits are not on the grid"
    got = network.forward(net, data.quantize_input(x, 8, 6))
    return plan, net, scaled.to(torch.int64), got


@pytest.mark.parametrize("name", ["tmlp", "tcnn", "cnn-relu", "mixed"])
def test_integer_network_equals_fake_quant_exactly(name):
    model, shape = _models()[name]
    _random_biases(model)
    x = data.load_split("digits").x_test[:200].reshape(200, *shape)
    plan, net, want, got = _check_exact(model, shape, x)
    assert torch.equal(got, want)
    assert all(lq.shift >= 0 for lq in plan.layers)
    assert plan.layers[-1].out_frac is None and net.compute_layers[-1].out_width is None


def test_thresholds_outside_the_input_range_are_folded_exactly():
    lin = TLinear(3, 2, seed=0)
    with torch.no_grad():
        # At 6 fractional bits the 8-bit range is [-2, 1.984]: -5 and 3 lie outside it.
        lin.weight.copy_(torch.tensor([[-5.0, 3.0, 0.5], [-2.5, -0.25, 7.0]]))
        lin.bias.copy_(torch.tensor([0.3, -0.7]))
    model = nn.Sequential(lin)
    x = torch.rand(50, 3) * 3.9 - 1.95
    _, net, want, got = _check_exact(model, (3,), x)
    assert torch.equal(got, want)
    w = net.layers[0].w
    assert int(w.min()) >= -128 and int(w.max()) <= 127


def test_dropping_the_bias_fold_is_caught():
    """Planted bug: clamp low thresholds without moving the difference into the bias."""
    lin = TLinear(3, 2, seed=0)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-5.0, 3.0, 0.5], [-2.5, -0.25, 7.0]]))
    model = nn.Sequential(lin)
    x = torch.rand(50, 3) * 3.9 - 1.95
    plan = quantize.calibrate(model, x, input_frac=6)
    raw = quantize.to_network(model, plan, name="q", task="t", input_shape=(3,))
    raw["layers"][0]["bias"] = [0, 0]
    fq = quantize.fake_quant_forward(model, plan, x.double()) * 2.0 ** plan.layers[-1].acc_frac
    got = network.forward(network.load_network(raw), data.quantize_input(x, 8, 6))
    assert not torch.equal(got, fq.to(torch.int64))


def test_truncating_conversion_is_caught(monkeypatch):
    """Planted bug: the converter truncates instead of rounding half up."""
    model, shape = _models()["tmlp"]
    _random_biases(model)
    x = data.load_split("digits").x_test[:200]
    monkeypatch.setattr(quantize, "_to_int", lambda v, frac: torch.floor(
        v.detach().double() * 2.0 ** frac).to(torch.int64))
    _, _, want, got = _check_exact(model, shape, x)
    assert not torch.equal(got, want)


def test_calibrated_scales_are_tight_powers_of_two():
    model, shape = _models()["tcnn"]
    x = data.load_split("digits").x_train[:300].reshape(300, *shape)
    plan, net, _, _ = _check_exact(model, shape, x)
    _, stages = network.forward(net, data.quantize_input(x, 8, 6), return_all=True)
    compute = [i for i, layer in enumerate(net.layers) if not isinstance(layer, network.Flatten)]
    for lq, index in zip(plan.layers[:-1], compute, strict=False):
        peak = int(stages[index + 1].abs().max())
        assert peak <= 127  # max-calibrated: nothing saturates on the calibration data
        if lq.shift > 0:
            assert peak >= 32  # one more fractional bit would (nearly) overflow


def test_layer_groups_rejects_unknown_layers():
    with pytest.raises(TypeError, match="cannot quantize a MaxPool2d"):
        quantize.layer_groups(nn.Sequential(nn.MaxPool2d(2)))
    with pytest.raises(ValueError, match="ReLU must follow"):
        quantize.layer_groups(nn.Sequential(nn.ReLU(), nn.Linear(2, 2)))
    steps = quantize.layer_groups(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
    assert [relu for _, relu in steps] == [True, False]
