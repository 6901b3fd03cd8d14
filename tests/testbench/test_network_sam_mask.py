# amaranth: UnusedElaboratable=no
"""Masked Sum-and-Max layers in the tn-hw-net format (``"mask"``, ``"mask_min"``;
docs/network-format.md): validation (one NetworkError line, exit 2, nothing written), the
golden model against a hand computation, the exported RTL against the golden model
(combinational, clocked, folded) with 0 mismatches, the folded network proven formally, and
planted bugs (the mask ignored, a folded kernel gated by the wrong phase's mask) caught."""

import copy
import json
from pathlib import Path

import pytest
import torch

from helpers.masked_sam import (
    MASK_STREAM_MUTANTS,
    GateStuckFolded,
    MaskIgnoredNetwork,
    tiny_masked_sam_conv,
    tiny_masked_sam_net,
)
from helpers.net_mutants import tiny_sam_net
from tn_hw.cli import main
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.netdesc import NetworkError, read_network
from tn_hw.reference.network import forward, load_network, network_to_dict
from tn_hw.testbench.net_equiv import check_folded_datapath, check_folded_network

ROOT = Path(__file__).resolve().parents[2]
BALL3_SAM = ROOT / "models" / "ball3-sam4.json"


def _layer0(**fields):
    net = tiny_sam_net(seed=1)
    net["layers"][0].update(fields)
    return net


# -- format ------------------------------------------------------------------------------------


def test_masks_parse_into_the_spec():
    mask = [[1, 0, 1, 1], [0, 1, 0, 0], [1, 1, 1, 1]]
    mask_min = [[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 1]]
    desc = read_network(_layer0(mask=mask, mask_min=mask_min))
    layer = desc.layers[0]
    assert layer.mask == tuple(map(tuple, mask)) and layer.mask_min == tuple(map(tuple, mask_min))
    assert layer.spec.keep_max == layer.mask and layer.spec.keep_min == layer.mask_min
    assert desc.layers[1].mask is None and not desc.layers[1].spec.is_sparse
    # mask alone prunes both sides alike; mask_min alone the min side only.
    assert read_network(_layer0(mask=mask)).layers[0].spec.keep_min == tuple(map(tuple, mask))
    only_min = read_network(_layer0(mask_min=mask_min)).layers[0].spec
    assert only_min.keep_max == ((1,) * 4,) * 3 and only_min.keep_min == tuple(map(tuple,
                                                                                    mask_min))


@pytest.mark.parametrize("fields, message", [
    ({"mask": [[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]},
     r"mask\[1\] keeps no input: output 1 would have no max"),
    ({"mask_min": [[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]]},
     r"mask_min\[2\] keeps no input: output 2 would have no min"),
    ({"mask": [[1, 1, 1, 2], [1, 1, 1, 1], [1, 1, 1, 1]]}, r"mask\[0\]\[3\] = 2 is not a keep"),
    ({"mask": [[True, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]}, r"mask\[0\]\[0\] = True"),
    ({"mask": [[1, 1, 1, 1], [1, 1, 1, 1]]}, "mask must be a list of 3 rows, not 2"),
    ({"mask": [[1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]}, r"mask\[0\] must hold 4 values"),
    ({"keep_max": [[1, 1, 1, 1]] * 3}, "connectivity masks are 'mask'.*not 'keep_max'"),
])
def test_bad_masks(fields, message):
    with pytest.raises(NetworkError, match=message) as caught:
        read_network(_layer0(**fields))
    assert str(caught.value).startswith("layer 0 (linear): ")
    assert "\n" not in str(caught.value)


def test_mask_on_another_family_is_refused():
    raw = json.loads((ROOT / "models" / "ball3-tn4.json").read_text())
    raw["layers"][1]["mask"] = [[1] * 5] * 3
    with pytest.raises(NetworkError, match="a threshold layer takes no connectivity mask"):
        read_network(raw)


def test_cli_bad_mask_exit_2_nothing_written(tmp_path, capsys):
    model = tmp_path / "bad.json"
    model.write_text(json.dumps(_layer0(mask=[[0, 0, 0, 0], [1] * 4, [1] * 4])))
    out = tmp_path / "out"
    assert main(["export", str(model), "--clocked", "--reuse", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mask[0] keeps no input" in err[0]
    assert not out.exists()


def test_round_trip_keeps_the_masks():
    net = load_network(tiny_masked_sam_net(seed=3))
    again = load_network(network_to_dict(net))
    assert [(a.mask, a.mask_min) for a in net.layers] == \
        [(b.mask, b.mask_min) for b in again.layers]
    assert "mask" not in network_to_dict(load_network(tiny_sam_net(seed=3)))["layers"][0]


def test_all_ones_mask_is_the_dense_design():
    """No mask or an all-ones one: the same Verilog (the dense layer, as before masks)."""
    dense = tiny_sam_net(seed=2)
    ones = copy.deepcopy(dense)
    for layer in ones["layers"]:
        layer["mask"] = [[1] * len(layer["wp"][0]) for _ in layer["wp"]]
    for kwargs in ({"mode": "baked"}, {"mode": "ports", "clocked": True, "reuse": 2}):
        assert export_network(load_network(ones), **kwargs).verilog == \
            export_network(load_network(dense), **kwargs).verilog


# -- golden model ------------------------------------------------------------------------------


def test_golden_model_by_hand():
    """One output, inputs (3, -5, 7, 0): W+ (1, 2, -4, 0), W- (0, 0, 0, -1); the max side
    keeps inputs 1 and 3, the min side (mask_min) inputs 0 and 2."""
    net = {"format": "tn-hw-net", "version": 1, "name": "hand", "task": "random",
           "input": {"shape": [4], "width": 5, "frac_bits": 0},
           "layers": [{"type": "linear", "neuron": "sam", "in_features": 4, "out_features": 1,
                       "width": 5, "wp": [[1, 2, -4, 0]], "wm": [[0, 0, 0, -1]],
                       "mask": [[0, 1, 0, 1]], "mask_min": [[1, 0, 1, 0]],
                       "shift": 0, "out_width": None}]}
    x = torch.tensor([[3, -5, 7, 0]])
    # max(-5 + 2, 0 + 0) + min(3 + 0, 7 + 0) = 0 + 3; dense would be max(4, -3, 3, 0) +
    # min(3, -5, 7, -1) = 4 - 5.
    assert forward(load_network(net), x).tolist() == [[3]]
    for layer in net["layers"]:
        del layer["mask"], layer["mask_min"]
    assert forward(load_network(net), x).tolist() == [[-1]]


# -- RTL against the golden model ---------------------------------------------------------------


def _verify(net, tmp_path, samples, component=None, **kwargs):
    out = tmp_path / "net"
    loaded = load_network(net)
    design = export_network(loaded, component=component(loaded, **kwargs)) if component \
        else export_network(loaded, **kwargs)
    write_network_design(design, out)
    return verify_network(out, data="random", samples=samples, seed=4,
                          build_dir=tmp_path / "build")


def test_masked_network_combinational(tmp_path, icarus):
    report = _verify(tiny_masked_sam_net(seed=3), tmp_path, 200, mode="ports")
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 200


def test_masked_network_folded(tmp_path, icarus):
    """Reuse 2: kernel 0 of the first layer serves outputs 0 and 2, whose masks differ, so its
    gates switch with the phase."""
    net = tiny_masked_sam_net(seed=3)
    layer = read_network(net).layers[0]
    assert layer.spec.keep_max[0] != layer.spec.keep_max[2]
    report = _verify(net, tmp_path, 150, mode="baked", clocked=True, reuse=2)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0


def test_masked_network_mask_ignored_is_caught(tmp_path, icarus):
    report = _verify(tiny_masked_sam_net(seed=3), tmp_path, 60, component=MaskIgnoredNetwork,
                     mode="ports")
    assert not report["passed"] and report["mismatch_count"] > 0


@pytest.mark.slow
def test_masked_folded_network_proved(yosys):
    report = check_folded_network(tiny_masked_sam_net(seed=3), 2)
    assert report["proved"], json.dumps(report)[:2000]


def test_gate_stuck_is_refuted(yosys):
    """The formal check refutes a folded kernel gated by its phase-0 output's mask."""
    report = check_folded_datapath(tiny_masked_sam_net(seed=3), 2, core_class=GateStuckFolded)
    assert not report["proved"]
    assert [(p["layer"], p["phase"]) for p in report["proofs"] if not p["proved"]] == \
        [(0, 1), (1, 1)]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MASK_STREAM_MUTANTS))
def test_masked_stream_bug_is_caught(name, tmp_path, icarus):
    report = _verify(tiny_masked_sam_net(seed=3), tmp_path, 60,
                     component=MASK_STREAM_MUTANTS[name], reuse=2)
    assert not report["passed"]


@pytest.mark.slow
@pytest.mark.parametrize("mode, clocked, reuse", [("baked", False, 1), ("ports", True, 1),
                                                  ("ports", True, 3)])
def test_masked_network_all_exports(mode, clocked, reuse, tmp_path, icarus):
    report = _verify(tiny_masked_sam_net(seed=5), tmp_path, 200, mode=mode, clocked=clocked,
                     reuse=reuse)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("mode, clocked, reuse", [("ports", False, 1), ("baked", True, 2)])
def test_masked_conv_network(mode, clocked, reuse, tmp_path, icarus):
    """Strided, zero-padded SAM conv (kept padded positions enter as 0), flatten, linear."""
    report = _verify(tiny_masked_sam_conv(seed=6), tmp_path, 120, mode=mode, clocked=clocked,
                     reuse=reuse)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0


@pytest.mark.slow
def test_masked_ball3_sam(tmp_path, icarus):
    """ball3-sam4 with a third of its connections masked out, folded with reuse 5, on
    ball3-test: RTL = golden model on every sample."""
    raw = json.loads(BALL3_SAM.read_text())
    for layer in raw["layers"]:
        cols = len(layer["wp"][0])
        layer["mask"] = [[int(cols == 1 or (o + i) % 3 != 1) for i in range(cols)]
                         for o in range(len(layer["wp"]))]
    out = tmp_path / "net"
    write_network_design(export_network(load_network(raw), clocked=True, reuse=5), out)
    report = verify_network(out, data="ball3-test", samples=300, seed=1)
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0


def test_split_neurons_of_a_masked_layer():
    """Split synthesis's neurons (hdl.network.neuron_parts): a masked SAM layer's outputs
    differ in their connections even in ports mode, so each is its own part, pruned as in
    the network."""
    from amaranth.back import verilog

    from tn_hw.hdl.network import NetworkNeuron, neuron_parts, plan_network

    net = load_network(tiny_masked_sam_net(seed=3))
    parts = neuron_parts(net, "ports")
    assert [(stage.index, o, count) for stage, o, _, count in parts] == \
        [(0, 0, 1), (0, 1, 1), (0, 2, 1), (1, 0, 1), (1, 1, 1)]
    dense = neuron_parts(load_network(tiny_sam_net(seed=3)), "ports")
    assert [(stage.index, o, count) for stage, o, _, count in dense] == [(0, 0, 3), (1, 0, 2)]
    stage = plan_network(net)[0]
    kept = sum(stage.spec.keep_max[1]) + sum(stage.spec.keep_min[1])
    text = verilog.convert(NetworkNeuron(stage, 1, (True,) * 4, mode="baked"), name="n1",
                           emit_src=False)
    assert text.count("cellp") + text.count("cellm") > 0
    assert len({line for line in text.splitlines() if "module" in line and "cell" in line}) \
        == kept
