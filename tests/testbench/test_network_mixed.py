# amaranth: UnusedElaboratable=no
"""Mixed networks: a threshold or MAC layer followed by a Sum-and-Max layer in one tn-hw-net
file. The format, the golden model and every export take them as they are (no change was
needed); checked here end to end on small hand-written networks: the golden model equals the
layers applied one by one, the RTL equals the golden model (combinational, clocked, folded)
with 0 mismatches, the folded network is proven, and a planted SAM bug behind the first layer
is caught. The CI tier keeps the golden model and one regression (the checkers themselves are
exercised in CI by test_network_sam.py and test_network_fold_equiv.py); the rest is slow."""

import json
import random

import pytest
import torch

from helpers.net_mutants import SwappedWeightSetsNetwork
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.reference import integer
from tn_hw.reference.network import forward, load_network
from tn_hw.reference.sam import sam_layer
from tn_hw.testbench.net_equiv import check_folded_network


def mixed_net(first="threshold", seed=0, mask=False):
    """linear 4 -> 5 of ``first`` neurons (``"threshold"`` or ``"mac"`` with ReLU; shift 2,
    saturated to 5 bits), then SAM linear 5 -> 3 (full precision), 5-bit inputs; ``mask``
    masks the SAM layer."""
    rng = random.Random(seed)

    def matrix(rows, cols, lo, hi):
        return [[rng.randint(lo, hi) for _ in range(cols)] for _ in range(rows)]

    head = {"type": "linear", "neuron": first, "in_features": 4, "out_features": 5,
            "width": 5, "shift": 2, "out_width": 5}
    if first == "threshold":
        head.update(w=matrix(5, 4, -16, 15), p=matrix(5, 4, 0, 1),
                    bias=[rng.randint(-20, 20) for _ in range(5)])
    else:
        head.update(w=matrix(5, 4, -8, 7), bias=[rng.randint(-8, 24) for _ in range(5)],
                    activation="relu")
    sam = {"type": "linear", "neuron": "sam", "in_features": 5, "out_features": 3, "width": 5,
           "wp": matrix(3, 5, -16, 15), "wm": matrix(3, 5, -16, 15), "shift": 0,
           "out_width": None}
    if mask:
        sam["mask"] = [[int((o + i) % 3 != 0) for i in range(5)] for o in range(3)]
    return {"format": "tn-hw-net", "version": 1, "name": f"mixed-{first}-sam", "task": "random",
            "input": {"shape": [4], "width": 5, "frac_bits": 0}, "layers": [head, sam]}


@pytest.mark.parametrize("first", ["threshold", "mac"])
def test_golden_model_is_the_layers_one_by_one(first):
    net = load_network(mixed_net(first, seed=1, mask=True))
    x = torch.randint(-16, 16, (400, 4), generator=torch.Generator().manual_seed(1))
    head, sam = net.layers
    hidden = integer.requantize(integer.layer(first, x, head.w, head.p, head.bias), 2, 5)
    if first == "mac":
        hidden = hidden.clamp(min=0)
    expected = sam_layer(hidden, sam.w, sam.wm, keep_max=sam.mask)
    logits, acts = forward(net, x, return_all=True)
    # [x, out_0, out_1]: the first layer's requantized output is what the SAM layer reads.
    assert torch.equal(acts[0], x) and torch.equal(acts[1], hidden)
    assert torch.equal(logits, expected) and torch.equal(acts[2], expected)
    # The SAM layer sees varied activations (not a saturated constant).
    assert len(torch.unique(hidden)) >= 6


@pytest.mark.parametrize("first, kwargs", [
    ("threshold", {"mode": "ports"}),
    pytest.param("mac", {"mode": "baked", "clocked": True, "reuse": 2},
                 marks=pytest.mark.slow),
])
def test_mixed_network_rtl(first, kwargs, tmp_path, icarus):
    out = tmp_path / "net"
    write_network_design(export_network(load_network(mixed_net(first, seed=2)), **kwargs), out)
    report = verify_network(out, data="random", samples=200, seed=3)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 200


@pytest.mark.slow
def test_mixed_network_sam_bug_is_caught(tmp_path, icarus):
    net = load_network(mixed_net("threshold", seed=2))
    out = tmp_path / "net"
    write_network_design(export_network(net, component=SwappedWeightSetsNetwork(net)), out)
    report = verify_network(out, data="random", samples=60, seed=3)
    assert not report["passed"] and report["mismatch_count"] > 0


@pytest.mark.slow
def test_mixed_folded_network_proved(yosys):
    report = check_folded_network(mixed_net("mac", seed=2, mask=True), 2)
    assert report["proved"], json.dumps(report)[:2000]


@pytest.mark.slow
@pytest.mark.parametrize("first", ["threshold", "mac"])
@pytest.mark.parametrize("kwargs", [{"mode": "baked"}, {"mode": "ports", "clocked": True},
                                    {"mode": "ports", "clocked": True, "reuse": 3}])
def test_mixed_network_rtl_all(first, kwargs, tmp_path, icarus):
    net = load_network(mixed_net(first, seed=4, mask=True))
    out = tmp_path / "net"
    write_network_design(export_network(net, **kwargs), out)
    report = verify_network(out, data="random", samples=200, seed=5)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0
