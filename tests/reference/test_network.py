"""Integer networks: requantization, known answers computed by hand, loader errors, data sets."""

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tn_hw.errors import TnHwError
from tn_hw.reference import data, integer, network
from tn_hw.reference.network import NetworkError, forward, load_network, predict


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small tensors: extra threads only contend with the other xdist worker."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def t(values):
    return torch.tensor(values, dtype=torch.int64)


# -- requantize -------------------------------------------------------------------------------


def test_requantize_rounds_half_up_and_saturates():
    # (y + 1) >> 1: -5/2 = -2.5 -> -2, -6/2 -> -3, 5/2 = 2.5 -> 3, -3/2 = -1.5 -> -1.
    assert integer.requantize(t([-5, -6, 5, -3, 4]), 1, None).tolist() == [-2, -3, 3, -1, 2]
    # (1000 + 2) >> 2 = 250 -> 127; (-1000 + 2) >> 2 = -250 -> -128; 6/4 = 1.5 -> 2.
    assert integer.requantize(t([1000, -1000, 6, -6]), 2, 8).tolist() == [127, -128, 2, -1]
    assert integer.requantize(t([9, -9, 3]), 0, 4).tolist() == [7, -8, 3]
    assert integer.requantize(t([9, -9]), 0, None).tolist() == [9, -9]


def test_requantize_matches_exact_rational_rounding():
    y = torch.arange(-300, 301, dtype=torch.int64)
    for shift in range(6):
        got = integer.requantize(y, shift, 6).tolist()
        want = []
        for v in y.tolist():
            # floor(v / 2**s + 1/2) with exact integer arithmetic, then clamp.
            q = (2 * v + (1 << shift)) // (2 << shift) if shift else v
            want.append(max(-32, min(31, q)))
        assert got == want, shift


@pytest.mark.parametrize("shift,width", [(-1, 8), (63, 8), (1.0, 8), (True, 8), (1, 1), (1, 33)])
def test_requantize_rejects_bad_parameters(shift, width):
    with pytest.raises(ValueError):
        integer.requantize(t([1]), shift, width)


# -- known answers ----------------------------------------------------------------------------


def mlp_dict():
    """3 -> 2 threshold (shift 1, 4 bits) -> 2 MAC (full precision); logits worked by hand."""
    return {
        "format": "tn-hw-net", "version": 1, "name": "hand-mlp", "task": "test",
        "input": {"shape": [3], "width": 4, "frac_bits": 0},
        "layers": [
            {"type": "linear", "neuron": "threshold", "in_features": 3, "out_features": 2,
             "width": 4, "w": [[1, -2, 0], [3, 3, -8]], "p": [[0, 1, 0], [1, 0, 0]],
             "bias": [2, 4], "shift": 1, "out_width": 4},
            {"type": "linear", "neuron": "mac", "in_features": 2, "out_features": 2,
             "width": 4, "w": [[1, 2], [-3, 1]], "bias": [0, 5], "shift": 0,
             "out_width": None},
        ],
    }


def cnn_dict():
    """1x3x3 -> conv 2x2 stride 1 (shift 1, 4 bits) -> flatten -> MAC 4 -> 2."""
    return {
        "format": "tn-hw-net", "version": 1, "name": "hand-cnn", "task": "test",
        "input": {"shape": [1, 3, 3], "width": 4, "frac_bits": 0},
        "layers": [
            {"type": "conv2d", "neuron": "threshold", "in_channels": 1, "out_channels": 1,
             "kernel": [2, 2], "stride": 1, "padding": 0, "width": 4,
             "w": [[0, 1, 2, 3]], "p": [[0, 0, 1, 0]], "bias": [1], "shift": 1,
             "out_width": 4},
            {"type": "flatten"},
            {"type": "linear", "neuron": "mac", "in_features": 4, "out_features": 2,
             "width": 4, "w": [[1, 0, 0, 0], [0, 1, -1, 1]], "bias": [0, 0], "shift": 0,
             "out_width": None},
        ],
    }


def test_known_answer_mlp():
    net = load_network(mlp_dict())
    # x = [5, -1, 7]: neuron 0: +relu(5-1) - relu(-1+2) + relu(7-0) + 2 = 12 -> (12+1)>>1 = 6;
    # neuron 1: -relu(5-3) + relu(-1-3) + relu(7+8) + 4 = 17 -> 9 -> saturates to 7.
    # MAC: [6 + 14, -18 + 7 + 5] = [20, -6].
    # x = [-8, -8, -8]: all cells 0 (the last is a tie, -8 == -8): [2 -> 1, 4 -> 2];
    # MAC: [1 + 4, -3 + 2 + 5] = [5, 4].
    x = t([[5, -1, 7], [-8, -8, -8]])
    logits, stages = forward(net, x, return_all=True)
    assert stages[1].tolist() == [[6, 7], [1, 2]]
    assert logits.tolist() == [[20, -6], [5, 4]]
    assert predict(net, x).tolist() == [0, 0]


def test_known_answer_cnn():
    net = load_network(cnn_dict())
    assert net.shapes == ((1, 3, 3), (1, 2, 2), (4,), (2,))
    x = t([[[[1, 2, 3], [4, 5, 6], [7, -8, 0]]]])
    # patches [1,2,4,5] [2,3,5,6] [4,5,7,-8] [5,6,-8,0], w [0,1,2,3], p [+,+,-,+]:
    # 1+1-2+2 = 2, 2+2-3+3 = 4, 4+4-5+0 = 3, 5+5-0+0 = 10; +1 -> 3 5 4 11; >>1 -> 2 3 2 6.
    logits, stages = forward(net, x, return_all=True)
    assert stages[1].tolist() == [[[[2, 3], [2, 6]]]]
    assert logits.tolist() == [[2, 7]]
    assert predict(net, x).tolist() == [1]


def test_known_answer_conv_stride2_padding():
    raw = cnn_dict()
    raw["layers"] = [dict(raw["layers"][0], stride=2, padding=1, w=[[-1, 0, 1, -2]],
                          p=[[1, 0, 0, 0]], bias=[0], shift=0, out_width=None)]
    net = load_network(raw)
    x = t([[[[1, 2, 3], [4, 5, 6], [7, -8, 0]]]])
    # zero-padded 5x5, 2x2 windows at (0,0) (0,2) (2,0) (2,2):
    # [0,0,0,1] -> -1+0+0+3 = 2; [0,0,2,3] -> -1+0+1+5 = 5; [0,4,0,7] -> -1+4+0+9 = 12;
    # [5,6,-8,0] -> -6+6+0+2 = 2.
    assert forward(net, x).tolist() == [[[[2, 5], [12, 2]]]]


def test_relu_activation_after_requantize():
    raw = mlp_dict()
    raw["layers"][1]["activation"] = "relu"
    net = load_network(raw)
    assert forward(net, t([[5, -1, 7], [-8, -8, -8]])).tolist() == [[20, 0], [5, 4]]
    assert network.network_to_dict(net)["layers"][1]["activation"] == "relu"
    assert "activation" not in network.network_to_dict(load_network(mlp_dict()))["layers"][1]


def test_predict_ties_go_to_lowest_index_and_single_logit_is_sign():
    assert network.predict_logits(t([[3, 7, 7], [1, 1, 1], [-2, -5, -2]])).tolist() == [1, 0, 0]
    assert network.predict_logits(t([[1], [0], [-4]])).tolist() == [1, 0, 0]


def _loop_conv(x, w, p, bias, kernel, stride, padding, neuron):
    """A slow, obviously correct convolution (an independent second model)."""
    kh, kw = kernel
    b, c, h, wd = x.shape
    xp = torch.zeros(b, c, h + 2 * padding, wd + 2 * padding, dtype=torch.int64)
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = torch.zeros(b, w.shape[0], ho, wo, dtype=torch.int64)
    for o in range(w.shape[0]):
        for i in range(ho):
            for j in range(wo):
                acc = bias[o].repeat(b)
                for ch in range(c):
                    for r in range(kh):
                        for k in range(kw):
                            n = (ch * kh + r) * kw + k
                            xv = xp[:, ch, i * stride + r, j * stride + k]
                            if neuron == "mac":
                                acc = acc + xv * w[o, n]
                            else:
                                rv = torch.clamp(xv - w[o, n], min=0)
                                acc = acc + (-rv if p[o, n] else rv)
                out[:, o, i, j] = acc
    return out


def _random_conv(seed, neuron, stride, padding, width=6):
    gen = torch.Generator().manual_seed(seed)
    c_in, c_out, kernel = 2, 3, (3, 2)
    n = c_in * kernel[0] * kernel[1]
    lo, hi = -(1 << (width - 1)), (1 << (width - 1))
    w = torch.randint(lo, hi, (c_out, n), generator=gen)
    p = torch.randint(0, 2, (c_out, n), generator=gen)
    bias = torch.randint(-50, 50, (c_out,), generator=gen)
    layer = {"type": "conv2d", "neuron": neuron, "in_channels": c_in, "out_channels": c_out,
             "kernel": list(kernel), "stride": stride, "padding": padding, "width": width,
             "w": w.tolist(), "bias": bias.tolist(), "shift": 0, "out_width": None}
    if neuron == "threshold":
        layer["p"] = p.tolist()
    raw = {"format": "tn-hw-net", "version": 1, "name": "r", "task": "test",
           "input": {"shape": [c_in, 5, 6], "width": width, "frac_bits": 0},
           "layers": [layer]}
    x = torch.randint(lo, hi, (4, c_in, 5, 6), generator=gen)
    return load_network(raw), x, (w, p, bias, kernel, stride, padding, neuron)


@pytest.mark.parametrize("neuron", ["threshold", "mac"])
@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 0), (1, 1), (2, 1)])
def test_conv_matches_loop_model(neuron, stride, padding):
    net, x, args = _random_conv(stride * 10 + padding, neuron, stride, padding)
    assert torch.equal(forward(net, x), _loop_conv(x, *args))


def test_mac_conv_matches_torch_conv2d():
    net, x, (w, _, bias, kernel, stride, padding, _) = _random_conv(3, "mac", 2, 1)
    want = F.conv2d(x.double(), w.double().reshape(3, 2, *kernel), bias.double(),
                    stride=stride, padding=padding)
    assert torch.equal(forward(net, x), want.to(torch.int64))


def test_forward_is_batch_and_chunk_independent():
    net, x, _ = _random_conv(5, "threshold", 2, 1)
    full = forward(net, x)
    assert torch.equal(forward(net, x, chunk=1), full)
    assert torch.equal(forward(net, x[2:3]), full[2:3])


# -- planted bugs: the known-answer tests must catch each ---------------------------------


ORIGINAL_REQUANTIZE = integer.requantize


def _floor_requantize(y, shift, out_width):
    y = torch.bitwise_right_shift(y, shift)
    return y if out_width is None else torch.clamp(y, -(1 << (out_width - 1)),
                                                    (1 << (out_width - 1)) - 1)


def _wrapping_requantize(y, shift, out_width):
    y = ORIGINAL_REQUANTIZE(y, shift, None)
    if out_width is None:
        return y
    m = 1 << out_width
    return (y + m // 2) % m - m // 2


def _swapped_patches(x, kernel, stride, padding):
    patches, ho, wo = ORIGINAL_PATCHES(x, kernel, stride, padding)
    kh, kw = kernel
    b, n_pos, _ = patches.shape
    swapped = patches.reshape(b, n_pos, -1, kh, kw).transpose(-1, -2).reshape(b, n_pos, -1)
    return swapped, ho, wo


ORIGINAL_PATCHES = network._patches

MUTANTS = {
    "requantize-floor": ("integer", "requantize", _floor_requantize),
    "requantize-wraps": ("integer", "requantize", _wrapping_requantize),
    "patch-order-transposed": ("network", "_patches", _swapped_patches),
}


def _known_answers_hold():
    try:
        test_known_answer_mlp()
        test_known_answer_cnn()
        test_known_answer_conv_stride2_padding()
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_known_answers_catch_planted_bug(name, monkeypatch):
    assert _known_answers_hold()
    module, attr, mutant = MUTANTS[name]
    monkeypatch.setattr(integer if module == "integer" else network, attr, mutant)
    assert not _known_answers_hold(), f"mutant {name} survived the known-answer tests"


def test_known_answers_catch_a_tie_bug(monkeypatch):
    # x == w must give 0 (formula 2); a cell that counts the tie as 1 must fail.
    def mutant(neuron, x, w, p, bias):
        xw = x.unsqueeze(-2)
        r = torch.where(xw >= w, xw - w + (xw == w).to(torch.int64), 0)
        if neuron == "mac":
            return bias + (xw * w).sum(-1)
        return bias + torch.where(p != 0, -r, r).sum(-1)

    monkeypatch.setattr(integer, "layer", mutant)
    assert not _known_answers_hold()


# -- loader errors ----------------------------------------------------------------------------


def _broken(edit):
    raw = copy.deepcopy(cnn_dict())
    edit(raw)
    return raw


BROKEN = {
    "not a tn-hw-net": (lambda r: r.update(format="onnx"), "not a tn-hw-net file"),
    "version": (lambda r: r.update(version=2), "unsupported tn-hw-net version 2"),
    "unknown type": (lambda r: r["layers"][1].update(type="maxpool"),
                     "unknown layer type 'maxpool'"),
    "neuron": (lambda r: r["layers"][0].update(neuron="xnor"), "neuron must be one of"),
    "w out of width": (lambda r: r["layers"][0]["w"][0].__setitem__(2, 8),
                       "w[0][2] = 8 is not a threshold of width 4"),
    "w shape": (lambda r: r["layers"][0]["w"][0].pop(), "w[0] must hold 4 values, not 3"),
    "p value": (lambda r: r["layers"][0]["p"][0].__setitem__(0, 2),
                "p[0][0] = 2 is not a polarity"),
    "bias width": (lambda r: r["layers"][2]["bias"].__setitem__(0, 1 << 20),
                   "bias[0] = 1048576 is not a bias of width"),
    "in_features": (lambda r: r["layers"][2].update(in_features=5),
                    "in_features is 5 but its input has shape [4]"),
    "in_channels": (lambda r: r["layers"][0].update(in_channels=2),
                    "in_channels is 2 but its input has shape [1, 3, 3]"),
    "missing flatten": (lambda r: r["layers"].pop(1),
                        "in_features is 4 but its input has shape [1, 2, 2]"),
    "width chain": (lambda r: r["layers"][0].update(out_width=8),
                    "width is 4 but its input is 8 bits wide"),
    "null in the middle": (lambda r: r["layers"][0].update(out_width=None),
                           "layer 0: out_width is null"),
    "shift": (lambda r: r["layers"][0].update(shift=-1), "shift must be an integer from 0"),
    "bool": (lambda r: r["layers"][0].update(stride=True), "stride must be an integer"),
    "mac with p": (lambda r: r["layers"][2].update(p=[[0] * 4] * 2), "a mac layer has no"),
    "input shape": (lambda r: r["input"].update(shape=[9, 9]), "input: shape must be"),
    "kernel too big": (lambda r: r["input"].update(shape=[1, 1, 3]), "does not fit"),
    "no layers": (lambda r: r.update(layers=[]), "layers must be a non-empty list"),
    "missing field": (lambda r: r["layers"][0].pop("bias"), "missing field 'bias'"),
    "activation": (lambda r: r["layers"][0].update(activation="tanh"),
                   "activation must be null or \"relu\", not 'tanh'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_loader_rejects_broken_networks(case):
    edit, message = BROKEN[case]
    with pytest.raises(NetworkError) as info:
        load_network(_broken(edit))
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert isinstance(info.value, TnHwError)


def test_loader_file_errors(tmp_path):
    with pytest.raises(NetworkError, match="no such network file"):
        load_network(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(NetworkError, match="is not a tn-hw-net file"):
        load_network(bad)
    pickled = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, pickled)
    with pytest.raises(NetworkError, match="cannot read|not a tn-hw-net file"):
        load_network(pickled)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "tn-hw-net", "version": 1}))
    with pytest.raises(NetworkError, match="other.json: name must be a non-empty string"):
        load_network(other)


def test_forward_rejects_bad_inputs():
    net = load_network(mlp_dict())
    with pytest.raises(NetworkError, match="torch.int64"):
        forward(net, torch.zeros(1, 3))
    with pytest.raises(NetworkError, match=r"shape \[B, 3\]"):
        forward(net, torch.zeros(1, 4, dtype=torch.int64))
    with pytest.raises(NetworkError, match=r"lie in \[-8, 7\]"):
        forward(net, t([[8, 0, 0]]))


def test_save_and_reload_round_trip(tmp_path):
    net = load_network(cnn_dict())
    path = network.save_network(net, tmp_path / "sub" / "net.json")
    text = path.read_text()
    assert json.loads(text) == json.loads(json.dumps(cnn_dict(), sort_keys=True))
    again = load_network(path)
    x = torch.randint(-8, 8, (7, 1, 3, 3))
    assert torch.equal(forward(again, x), forward(net, x))
    assert [p.name for p in path.parent.iterdir()] == ["net.json"]


def test_save_refuses_invalid_network_and_writes_nothing(tmp_path):
    with pytest.raises(NetworkError):
        network.save_network(_broken(lambda r: r.update(version=3)), tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


# -- data -------------------------------------------------------------------------------------


def test_digits_split_is_deterministic_and_stratified():
    a, b = data.load_split("digits"), data.load_split("digits")
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    assert len(a.x_train) + len(a.x_test) == 1797
    assert len(a.x_test) == 450
    counts = torch.bincount(a.y_test, minlength=10)
    assert int(counts.min()) >= 44 and int(counts.max()) <= 46
    assert float(a.x_train.min()) == 0.0 and float(a.x_train.max()) == 1.0
    other = data.load_split("digits", seed=1)
    assert not torch.equal(other.y_test, a.y_test) or not torch.equal(other.x_test, a.x_test)


def test_digits_arrays_are_scikit_learns_load_digits():
    """Read without importing scikit-learn, the digits equal ``load_digits`` value for value."""
    from sklearn.datasets import load_digits

    pixels, labels = data.digits_arrays()
    digits = load_digits()
    assert pixels.shape == (1797, 64) and labels.dtype == np.int64
    assert np.array_equal(pixels, digits.data) and np.array_equal(labels, digits.target)


def test_ball3_is_balanced_and_labelled_by_radius():
    split = data.load_split("ball3")
    assert split.x_train.shape == (2000, 3) and split.x_test.shape == (1000, 3)
    assert 0.45 < float(split.y_train.float().mean()) < 0.55
    inside = split.x_test.double().norm(dim=1) < (3 / torch.pi) ** (1 / 3)
    assert torch.equal(inside.to(torch.int64), split.y_test)


def test_quantize_input_maps_pixels_exactly():
    pixels = torch.arange(17, dtype=torch.float32)
    assert data.quantize_input(pixels / 16, 8, 6).tolist() == [4 * v for v in range(17)]
    # 16 * 8 = 128 saturates at 127; -0.5 * 2 = -1; 0.25 * 2 = 0.5 rounds half up to 1.
    assert data.quantize_input(torch.tensor([1.0, -0.5, 0.25]), 8, 7).tolist() == [127, -64, 32]
    assert data.quantize_input(torch.tensor([0.25, -0.25]), 4, 1).tolist() == [1, 0]


def test_network_dataset_shapes_and_errors():
    net = load_network(cnn_dict())
    with pytest.raises(data.DataError, match="has 64 features"):
        data.network_dataset(net, "digits-test")
    with pytest.raises(data.DataError, match="unknown data set"):
        data.load_dataset("mnist-test")
    raw = cnn_dict()
    raw["input"] = {"shape": [1, 8, 8], "width": 8, "frac_bits": 6}
    raw["layers"][0].update(width=8, w=[[0, 1, 2, 3]], out_width=8)
    raw["layers"][2].update(in_features=49, width=8, w=[[0] * 49] * 2)
    x, y = data.network_dataset(load_network(raw), "digits-test")
    assert x.shape == (450, 1, 8, 8) and x.dtype == torch.int64 and len(y) == 450
    assert int(x.min()) == 0 and int(x.max()) == 64


def test_save_reports_unwritable_paths_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(NetworkError, match="cannot write") as info:
        network.save_network(load_network(mlp_dict()), blocker / "net.json")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
