# amaranth: UnusedElaboratable=no
"""Clocked networks of every family the network format supports (threshold, MAC, SAM, adder),
baked or ports, unfolded or folded: exported, and run through the stream regression of
tb_network.py with every logit compared with the golden model.

The network format takes a family whose layer is ``bias + sum cell`` (registry entries with
``network``: the golden cell of :func:`tn_hw.reference.integer.cell`, the family's own layer
in hardware, :func:`tn_hw.hdl.network.network_layer`), and the dense Sum-and-Max layer (two
weight sets ``wp``/``wm``, no bias; its own tests: tests/testbench/test_network_sam.py).
"""

import pytest

from helpers.net_mutants import tiny_net
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.hdl.adder import AdderLayer
from tn_hw.hdl.network import Network, network_layer
from tn_hw.netdesc import network_neurons
from tn_hw.reference.network import forward, load_network

FAMILIES = ("threshold", "mac", "sam", "adder")


def test_network_families():
    assert network_neurons() == FAMILIES


@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_adder_network_golden_and_hardware():
    """The golden adder layer is bias - sum |x - w| (by hand on one sample), and the network
    builds the family's own layer."""
    import torch

    raw = tiny_net(seed=3, neuron="adder")
    net = load_network(raw)
    x = (torch.arange(32, dtype=torch.int64).reshape(1, 2, 4, 4) * 3) % 64 - 32
    _, acts = forward(net, x, return_all=True)
    conv = raw["layers"][0]
    # Output channel 0 at position (0, 0): the 3x3 window at rows/cols -1..1, zero padded.
    window = [0 if not (0 <= r < 4 and 0 <= c < 4) else int(x[0, ch, r, c])
              for ch in range(2) for r in (-1, 0, 1) for c in (-1, 0, 1)]
    y = conv["bias"][0] - sum(abs(v - w) for v, w in zip(window, conv["w"][0], strict=True))
    q = max(-16, min(15, (y + 4) >> 3))
    assert -16 < q < 15  # not saturated: the sum itself is checked
    assert int(acts[1][0, 0, 0, 0]) == q
    stage = Network(net).stages[0]
    assert isinstance(network_layer(stage.spec), AdderLayer)


@pytest.mark.parametrize("neuron, mode, reuse", [("mac", "baked", 1), ("adder", "ports", 2)])
def test_clocked_family_verify(neuron, mode, reuse, tmp_path, icarus):
    net = load_network(tiny_net(seed=3, neuron=neuron, relu=neuron == "mac"))
    out = tmp_path / "net"
    write_network_design(export_network(net, mode=mode, clocked=True, reuse=reuse), out)
    report = verify_network(out, data="random", samples=150, seed=4)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 150


@pytest.mark.slow
@pytest.mark.parametrize("neuron", FAMILIES)
@pytest.mark.parametrize("mode", ["baked", "ports"])
@pytest.mark.parametrize("reuse", [1, 3])
def test_clocked_family_matrix(neuron, mode, reuse, tmp_path, icarus):
    net = load_network(tiny_net(seed=5, neuron=neuron, relu=neuron != "threshold"))
    out = tmp_path / "net"
    write_network_design(export_network(net, mode=mode, clocked=True, reuse=reuse), out)
    report = verify_network(out, data="random", samples=300, seed=6)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0
