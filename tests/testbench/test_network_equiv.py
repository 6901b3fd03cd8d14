# amaranth: UnusedElaboratable=no
"""Formal check of the clocked network (tn_hw.testbench.net_equiv): every registered layer
stage equals its combinational layer delayed by one cycle, proven by SAT with temporal
induction for the ball3 network; a stage skipped or registered twice is refuted."""

import json
from pathlib import Path

import pytest

from helpers.net_mutants import STAGE_MUTANTS, tiny_net
from tn_hw.netdesc import read_network
from tn_hw.synth.tools import SynthError
from tn_hw.testbench.net_equiv import check_network_stages, layer_networks

ROOT = Path(__file__).resolve().parents[2]
BALL3 = ROOT / "models" / "ball3-tn4.json"


def test_layer_networks_cut_each_layer_with_its_input():
    parts = layer_networks(tiny_net(seed=1))
    assert [index for index, _ in parts] == [0, 2]
    conv, linear = (read_network(sub) for _, sub in parts)
    assert (conv.input_shape, conv.input_width) == ((2, 4, 4), 6)
    # The flatten goes with the linear layer; its input is the conv's 5-bit (3, 2, 2) output.
    assert [layer.type for layer in linear.layers] == ["flatten", "linear"]
    assert (linear.input_shape, linear.input_width) == ((3, 2, 2), 5)
    ball3 = json.loads(BALL3.read_text())
    assert [read_network(sub).input_shape for _, sub in layer_networks(ball3)] == \
        [(3,), (5,), (3,), (1,)]


def test_ball3_clocked_network_proved(yosys):
    report = check_network_stages(BALL3)
    assert report["proved"], report
    assert report["latency"] == 4 and len(report["stages"]) == 4
    for stage in report["stages"]:
        assert stage["proved"] and not stage["counterexample"]
        assert "Induction step proven: SUCCESS!" in stage["summary"]


@pytest.mark.parametrize("name", sorted(STAGE_MUTANTS))
def test_planted_stage_bug_is_refuted(name, yosys):
    report = check_network_stages(BALL3, core_class=STAGE_MUTANTS[name], layers=[2])
    assert not report["proved"], f"{name} was proven"
    assert report["stages"][0]["counterexample"]


def test_no_layer_selected():
    with pytest.raises(SynthError, match="no linear or conv layer"):
        check_network_stages(BALL3, layers=[7])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["baked", "ports"])
def test_conv_network_proved(mode, yosys):
    report = check_network_stages(tiny_net(seed=2), mode=mode)
    assert report["proved"], report
