# amaranth: UnusedElaboratable=no
"""Sum-and-Max networks: the format's ``wp``/``wm`` layer, its golden model, export and
verification (combinational, clocked with gaps and back-pressure, folded), and planted SAM bugs.

The golden network layer is the SAM kernel's own golden function (``tn_hw.neurons.sam.golden``,
the one the kernel regression judges the SAM RTL with) and a hand computation; the planted bugs
(max and min swapped, ``W+`` and ``W-`` swapped) run on the smallest SAM network,
``tiny_sam_net`` (linear 4 -> 3 -> 2).
"""

import json

import pytest
import torch

from helpers.net_mutants import SAM_NET_MUTANTS, SwappedWeightSetsStream, tiny_net, tiny_sam_net
from tn_hw.cli import main
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.hdl.network import Network, parameter_values, plan_network
from tn_hw.hdl.sam import SamLayer
from tn_hw.netdesc import NetworkError, read_network
from tn_hw.neurons import sam as sam_family
from tn_hw.reference.network import forward, load_network, network_to_dict, save_network


def _inputs(net, n, seed):
    lo, hi = -(1 << (net.input_width - 1)), (1 << (net.input_width - 1)) - 1
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(lo, hi + 1, (n, *net.input_shape), generator=generator)


# -- golden model ---------------------------------------------------------------------------------


def test_sam_layer_by_hand():
    """Layer 0 of tiny_sam_net on one sample: max(x + W+) + min(x + W-), rounded half up by
    the shift of 1, saturated to 5 bits; layer 1 in full precision."""
    raw = tiny_sam_net()
    net = load_network(raw)
    x = [7, -16, 0, 15]
    _, acts = forward(net, torch.tensor([x]), return_all=True)
    first, second = raw["layers"]
    q = []
    for wp, wm in zip(first["wp"], first["wm"], strict=True):
        y = max(a + b for a, b in zip(x, wp, strict=True)) \
            + min(a + b for a, b in zip(x, wm, strict=True))
        q.append(max(-16, min(15, (y + 1) >> 1)))
    assert acts[1][0].tolist() == q
    logits = [max(a + b for a, b in zip(q, wp, strict=True))
              + min(a + b for a, b in zip(q, wm, strict=True))
              for wp, wm in zip(second["wp"], second["wm"], strict=True)]
    assert acts[2][0].tolist() == logits


@pytest.mark.parametrize("raw", [tiny_sam_net(1), tiny_net(2, neuron="sam")],
                         ids=["linear", "conv"])
def test_sam_network_layers_are_the_sam_kernel_golden(raw):
    """Every SAM layer's accumulator (before requantization) is the SAM family's golden layer,
    the function the SAM kernel RTL is judged by; conv windows include the zero padding."""
    net = load_network(raw)
    x = _inputs(net, 64, seed=3)
    _, acts = forward(net, x, return_all=True)
    checked = 0
    for index, layer in enumerate(net.layers):
        if layer.type != "linear":
            continue
        spec = layer.spec
        n = len(acts[index])
        tensors = {"x": acts[index], "wp": layer.w.reshape(1, -1).expand(n, -1),
                   "wm": layer.wm.reshape(1, -1).expand(n, -1)}
        y = sam_family.golden(spec, "layer", tensors)["y"]
        from tn_hw.reference.integer import requantize

        assert torch.equal(requantize(y, layer.shift, layer.out_width), acts[index + 1])
        checked += 1
    assert checked >= 1


@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_sam_round_trip_and_ports():
    raw = tiny_sam_net()
    net = load_network(raw)
    again = network_to_dict(net)
    assert again["layers"] == raw["layers"]
    assert "w" not in again["layers"][0] and "bias" not in again["layers"][0]
    stages = plan_network(net)
    assert [s.parameter_families for s in stages] == [("wp", "wm"), ("wp", "wm")]
    values = parameter_values(stages)
    assert values["l0_wp"] == raw["layers"][0]["wp"] and values["l1_wm"] == raw["layers"][1]["wm"]
    ports = Network(net, mode="ports")
    assert set(ports.signature.members) == {"x", "l0_wp", "l0_wm", "l1_wp", "l1_wm", "y"}
    # Layer widths: 5-bit inputs give W + 2 = 7-bit SAM outputs, full precision at the end.
    assert [s.spec.output_width for s in stages] == [7, 7] and ports.output_width == 7
    assert isinstance(Network(net).make_layer(stages[0], stages[0].spec), SamLayer)


# -- the format's validator ---------------------------------------------------------------------


def _broken(change):
    raw = tiny_sam_net()
    change(raw["layers"][0])
    return raw


BROKEN = {
    "w instead of wp": (lambda layer: layer.update(w=layer.pop("wp")),
                        r"layer 0 \(linear\): a sam layer has the weight sets 'wp' and 'wm', "
                        r"not 'w'"),
    "no wm": (lambda layer: layer.pop("wm"), r"layer 0 \(linear\): missing field 'wm'"),
    "short wp": (lambda layer: layer["wp"].pop(),
                 r"layer 0 \(linear\): wp must be a list of 3 rows, not 2"),
    "wm out of range": (lambda layer: layer["wm"][2].__setitem__(1, 16),
                        r"layer 0 \(linear\): wm\[2\]\[1\] = 16 is not a weight of width 5 "
                        r"\(an integer from -16 to 15\)"),
    "bias": (lambda layer: layer.update(bias=[0, 0, 0]),
             r"layer 0 \(linear\): a sam layer has no bias; drop 'bias'"),
    "polarity": (lambda layer: layer.update(p=[[0] * 4] * 3),
                 r"layer 0 \(linear\): a sam layer has no polarities; drop 'p'"),
    "mask": (lambda layer: layer.update(keep_max=[[1] * 4] * 3),
             r"layer 0 \(linear\): a sam layer's connectivity masks are 'mask' \(both sides\) "
             r"and 'mask_min' \(the min side\), not 'keep_max'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_sam_layer_is_one_error(case):
    change, message = BROKEN[case]
    with pytest.raises(NetworkError, match=f"^{message}$"):
        read_network(_broken(change))


def test_cli_refuses_a_malformed_sam_model(tmp_path, capsys):
    model = tmp_path / "bad.json"
    model.write_text(json.dumps(_broken(BROKEN["bias"][0])))
    out = tmp_path / "out"
    assert main(["export", str(model), "-o", str(out), "--clocked"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tn-hw: error: ") and "no bias" in err and "\n" not in err
    assert not out.exists()
    with pytest.raises(NetworkError):
        save_network(_broken(BROKEN["no wm"][0]), tmp_path / "saved.json")
    assert not (tmp_path / "saved.json").exists()


# -- export and the cocotb regression ----------------------------------------------------------


def _verify(design, folder, samples=150, seed=4):
    write_network_design(design, folder)
    return verify_network(folder, data="random", samples=samples, seed=seed)


@pytest.mark.parametrize("raw, mode, clocked, reuse", [
    (tiny_sam_net(2), "ports", False, 1),
    pytest.param(tiny_net(2, neuron="sam"), "baked", False, 1, marks=pytest.mark.slow),
    (tiny_sam_net(2), "baked", True, 1),
    (tiny_sam_net(2), "ports", True, 2),
], ids=["linear-ports", "conv-baked", "clocked-baked", "folded-ports"])
def test_sam_network_verify(raw, mode, clocked, reuse, tmp_path, icarus):
    """0 mismatches: combinational (packed batches), clocked (random gaps, back-pressure,
    back to back with the beat timing, resets in flight) and folded."""
    net = load_network(raw)
    design = export_network(net, mode=mode, clocked=clocked, reuse=reuse)
    stages = [s for s in design.manifest["stages"] if "neuron" in s]
    assert {s["neuron"] for s in stages} == {"sam"} and all(s["bias_width"] is None
                                                            for s in stages)
    if mode == "ports":
        assert {p["port"] for p in design.manifest["ports"]} >= {"l0_wp", "l0_wm"}
    if clocked:
        assert design.manifest["latency"] == 2 * reuse
        assert design.manifest["initiation_interval"] == reuse
    report = _verify(design, tmp_path / "net")
    assert report["passed"], report["reason"]
    assert report["mismatch_count"] == 0 and report["samples"] == 150


# W+/W- swapped in the combinational network is slow-tier: the CI tier catches the same bug in
# the folded stream network (test_folded_sam_swapped_weight_sets_is_caught).
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name == "swapped_weight_sets" else name
    for name in sorted(SAM_NET_MUTANTS)])
def test_sam_network_mutant_is_caught(name, tmp_path, icarus):
    net = load_network(tiny_sam_net(2))
    report = _verify(export_network(net, component=SAM_NET_MUTANTS[name](net, mode="baked")),
                     tmp_path / "bad", samples=100)
    assert not report["passed"] and report["mismatch_count"] > 0


def test_folded_sam_swapped_weight_sets_is_caught(tmp_path, icarus):
    """The stream regression of a folded ports-mode SAM network catches W+/W- confused."""
    net = load_network(tiny_sam_net(2))
    dut = SwappedWeightSetsStream(net, mode="ports", reuse=2)
    report = _verify(export_network(net, component=dut), tmp_path / "bad", samples=60)
    assert not report["passed"] and report["mismatch_count"] > 0


# -- the trained SAM model (models/ball3-sam4.json) ---------------------------------------------


def test_sam_training_converts_exactly():
    """tn-hw train's SAM path (a float SamLayer network, power-of-two quantization, conversion
    to wp/wm): the integer network reproduces the fake-quantized logits exactly."""
    from tn_hw.train import train_model

    result = train_model("ball3-sam4", epochs=1, qat_epochs=1)
    assert result.metrics["logits_equal"] == 100.0 and result.metrics["agreement"] == 100.0
    assert {layer["neuron"] for layer in result.network["layers"]} == {"sam"}
    load_network(result.network)


def test_committed_ball3_sam4_accuracy():
    """The golden model's accuracy on ball3-test is the integer accuracy the file records."""
    from pathlib import Path

    from tn_hw.reference.data import network_dataset
    from tn_hw.reference.network import predict

    model = Path(__file__).resolve().parents[2] / "models" / "ball3-sam4.json"
    net = load_network(model)
    x, labels = network_dataset(net, "ball3-test")
    accuracy = round(100 * float((predict(net, x) == labels).double().mean()), 2)
    assert accuracy == json.loads(model.read_text())["training"]["accuracy"]["integer"] == 63.0


@pytest.mark.slow
@pytest.mark.parametrize("clocked, reuse, mode", [(False, 1, "baked"), (True, 1, "baked"),
                                                  (True, 5, "ports")])
def test_ball3_sam4_rtl_on_ball3_test(clocked, reuse, mode, tmp_path, icarus):
    """The committed SAM model's RTL on the whole ball3 test set: 0 mismatches, RTL accuracy =
    golden accuracy (63.0 %)."""
    from pathlib import Path

    model = Path(__file__).resolve().parents[2] / "models" / "ball3-sam4.json"
    out = tmp_path / "sam4"
    write_network_design(export_network(load_network(model), mode=mode, clocked=clocked,
                                        reuse=reuse), out)
    report = verify_network(out, data="ball3-test")
    assert report["passed"] and report["mismatch_count"] == 0 and report["samples"] == 1000
    assert report["rtl_accuracy"] == report["golden_accuracy"] == 0.63


@pytest.mark.slow  # the checker runs in the CI tier on ball3-tn4 (test_network_equiv.py)
def test_ball3_sam4_clocked_network_proved(yosys):
    """Formal check (tn_hw.testbench.net_equiv): every registered SAM stage of the clocked
    ball3-sam4 equals its combinational stage delayed by one cycle, for every input sequence."""
    from pathlib import Path

    from tn_hw.testbench.net_equiv import check_network_stages

    report = check_network_stages(Path(__file__).resolve().parents[2] / "models"
                                  / "ball3-sam4.json")
    assert report["proved"], report
    assert report["latency"] == 4 and len(report["stages"]) == 4
    for stage in report["stages"]:
        assert "Induction step proven: SUCCESS!" in stage["summary"]
