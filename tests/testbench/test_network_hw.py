# amaranth: UnusedElaboratable=no
"""Network hardware: the requantization stage, the network builder, export and verify.

Amaranth-simulator tests check the Python design in seconds; the cocotb tests check the emitted
Verilog of whole networks; the mutation tests plant bugs the checkers must catch.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from amaranth.sim import Simulator

from helpers.net_mutants import (
    NET_MUTANTS,
    NoSaturationRequant,
    RoundHalfDownRequant,
    micro_net,
    tiny_net,
)
from tn_hw.cli import main
from tn_hw.errors import TnHwError
from tn_hw.export import export_network, verify_network, write_network_design
from tn_hw.hdl.network import Network
from tn_hw.hdl.requant import Requant
from tn_hw.reference import requantize
from tn_hw.reference.network import forward, load_network
from tn_hw.spec import SpecError

ROOT = Path(__file__).resolve().parents[2]

# -- requantization stage (Amaranth simulator, exhaustive) -----------------------------------

REQUANT_CASES = [(in_width, shift, out_width, relu)
                 for in_width in (2, 3, 5)
                 for shift in range(in_width + 2)
                 for out_width in (None, 2, 3)
                 for relu in (False, True)
                 if not (relu and out_width == 2)]


def requant_mismatches(cls, in_width, shift, out_width, relu):
    """Every input of a requantization stage ``cls`` against the golden ``requantize``."""
    dut = cls(in_width=in_width, shift=shift, out_width=out_width, relu=relu)
    values = list(range(-(1 << (in_width - 1)), 1 << (in_width - 1)))
    want = requantize(torch.tensor(values, dtype=torch.int64), shift, out_width)
    if relu:
        want = want.clamp(min=0)
    got = []

    async def testbench(ctx):
        for value in values:
            ctx.set(dut.x, value)
            got.append(ctx.get(dut.y))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return [(v, w, g) for v, w, g in zip(values, want.tolist(), got, strict=True) if w != g]


def test_requant_exhaustive():
    failures = {case: bad for case in REQUANT_CASES
                if (bad := requant_mismatches(Requant, *case))}
    assert failures == {}


def test_requant_widths_and_errors():
    assert Requant(in_width=14, shift=4, out_width=8).output_width == 8
    # [-8192, 8191] >> 4 with rounding: [-512, 512] needs 11 bits.
    stage = Requant(in_width=14, shift=4)
    assert stage.rounded_range == (-512, 512) and stage.output_width == 11
    with pytest.raises(SpecError, match="shift must be an integer from 0 to 128, not -1"):
        Requant(in_width=8, shift=-1)
    with pytest.raises(SpecError, match="output width must be an integer from 2 to 32, not 1"):
        Requant(in_width=8, shift=0, out_width=1)


@pytest.mark.parametrize("cls", [RoundHalfDownRequant, NoSaturationRequant])
def test_requant_checker_catches_mutant(cls):
    caught = [case for case in REQUANT_CASES if requant_mismatches(cls, *case)]
    assert caught, f"{cls.__name__} passed every exhaustive case"


# -- network builder (Amaranth simulator) ------------------------------------------------------


def _random_inputs(net, count, seed):
    lo, hi = -(1 << (net.input_width - 1)), (1 << (net.input_width - 1)) - 1
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(lo, hi, size=(count, *net.input_shape), endpoint=True))


def _simulate(dut, x):
    got = []

    async def testbench(ctx):
        if dut.mode == "ports":
            for family, values in dut.parameter_values().items():
                array = np.asarray(values)
                for index in np.ndindex(array.shape):
                    port = getattr(dut, family)
                    for i in index:
                        port = port[i]
                    ctx.set(port, int(array[index]))
        for sample in x.reshape(len(x), -1).tolist():
            for i, value in enumerate(sample):
                ctx.set(dut.x[i], value)
            got.append([ctx.get(y) for y in dut.y])

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return torch.tensor(got, dtype=torch.int64)


@pytest.mark.parametrize("neuron,relu,mode", [
    ("threshold", False, "baked"), ("threshold", False, "ports"), ("mac", True, "baked"),
])
def test_network_matches_golden(neuron, relu, mode):
    net = load_network(tiny_net(1, neuron, relu))
    dut = Network(net, mode=mode)
    x = _random_inputs(net, 40, seed=2)
    assert torch.equal(_simulate(dut, x), forward(net, x).reshape(len(x), -1))
    assert dut.output_shape == (4,) and dut.input_shape == (2, 4, 4)
    assert [s.out_shape for s in dut.stages] == [(3, 2, 2), (12,), (4,)]


def test_network_ports_and_modes():
    net = load_network(tiny_net())
    baked, ports = Network(net, mode="baked"), Network(net, mode="ports")
    assert "l0_w" not in baked.signature.members
    assert set(ports.signature.members) == {"x", "l0_w", "l0_p", "l0_bias", "l2_w", "l2_p",
                                            "l2_bias", "y"}
    with pytest.raises(SpecError, match="mode must be one of baked, ports, not 'fixed'"):
        Network(net, mode="fixed")


# -- export and verify (cocotb + Icarus) ---------------------------------------------------------


@pytest.fixture
def tiny_model(tmp_path):
    """A model file of the CLI tests: micro_net (the export and verify commands are what they
    test, not the network's size)."""
    path = tmp_path / "micro.json"
    path.write_text(json.dumps(micro_net(3)))
    return path


@pytest.mark.parametrize("mode", ["baked", "ports"])
def test_cli_export_verify_random(mode, tiny_model, tmp_path, icarus, capsys):
    out = tmp_path / "out"
    assert main(["export", str(tiny_model), "-o", str(out), "--thresholds", mode]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "network" and manifest["mode"] == mode
    assert (out / manifest["verilog"]).exists() and (out / "network.json").exists()
    report_file = tmp_path / "verify.json"
    code = main(["verify", str(out), "--data", "random", "--samples", "400", "--seed", "5",
                 "--json", str(report_file)])
    printed = capsys.readouterr().out
    report = json.loads(report_file.read_text())
    assert code == 0, printed
    assert report["passed"] and report["mismatch_count"] == 0 and report["samples"] == 400
    assert "PASS" in printed and "0 mismatches" in printed


def test_verify_digits_slice_on_the_whole_test_split(tmp_path, icarus):
    """The digits data path in the CI tier: a slice of the committed digits Threshold-MLP (its
    first 4 hidden neurons, 64 -> 4 -> 10, a quarter of the export's elaboration) verified on all
    450 digits-test inputs: zero mismatches, RTL accuracy equal to the golden accuracy. The whole
    model runs in the slow tier (below)."""
    raw = json.loads((ROOT / "models" / "digits-tmlp.json").read_text())
    hidden, out = raw["layers"]
    keep = 4
    hidden.update(out_features=keep, **{k: hidden[k][:keep] for k in ("w", "p", "bias")})
    out.update(in_features=keep, **{k: [row[:keep] for row in out[k]] for k in ("w", "p")})
    del raw["training"]
    net = load_network(raw)
    write_network_design(export_network(net), tmp_path / "slice")
    report = verify_network(tmp_path / "slice", data="digits-test")
    assert report["passed"] and report["mismatch_count"] == 0 and report["samples"] == 450
    assert report["rtl_accuracy"] == report["golden_accuracy"]
    # four hidden neurons still classify (20 %, chance is 10 %): the inputs reach the logits
    assert report["golden_accuracy"] > 0.15


@pytest.mark.slow
def test_verify_digits_tmlp_matches_golden_accuracy(tmp_path, icarus):
    """The committed digits Threshold-MLP: zero mismatches over the whole test split, and the
    RTL accuracy equals the golden accuracy the model file records."""
    model = ROOT / "models" / "digits-tmlp.json"
    net = load_network(model)
    write_network_design(export_network(net), tmp_path / "tmlp")
    report = verify_network(tmp_path / "tmlp", data="digits-test")
    assert report["passed"] and report["mismatch_count"] == 0 and report["samples"] == 450
    assert report["rtl_accuracy"] == report["golden_accuracy"]
    recorded = json.loads(model.read_text())["training"]["accuracy"]["integer"]
    assert round(100 * report["rtl_accuracy"], 2) == recorded


@pytest.mark.parametrize("name", sorted(NET_MUTANTS))
def test_network_mutant_is_caught(name, tmp_path, icarus, capsys):
    """Plant a bug in the exported network; tn-hw verify (the cocotb checker) must exit 1 and
    print mismatching logits with the sample index, expected and got. (The smallest network
    with every part each bug needs; the slow tier catches each on tiny_net, on both
    simulators, in test_simulators.py.)"""
    net = load_network(micro_net(3))
    design = export_network(net, component=NET_MUTANTS[name](net, mode="baked"))
    write_network_design(design, tmp_path / "bad")
    report_file = tmp_path / "verify.json"
    code = main(["verify", str(tmp_path / "bad"), "--data", "random", "--samples", "300",
                 "--build-dir", str(tmp_path / "sim"), "--json", str(report_file)])
    printed = capsys.readouterr().out
    assert code == 1, printed
    assert "MISMATCH sample" in printed and "expected" in printed and "FAIL" in printed
    report = json.loads(report_file.read_text())
    assert not report["passed"] and report["mismatch_count"] > 0
    log = (tmp_path / "sim" / "sim.log").read_text()
    assert "mismatching logits" in log


def test_export_errors_leave_nothing(tmp_path, capsys):
    not_a_net = tmp_path / "model.json"
    not_a_net.write_text(json.dumps({"format": "something-else"}))
    out = tmp_path / "out"
    assert main(["export", str(not_a_net), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tn-hw: error: ") and "not a tn-hw-net" in err and "\n" not in err
    assert not out.exists()
    pickle_like = tmp_path / "model.pt"
    pickle_like.write_bytes(b"\x80\x04\x95 not json")
    assert main(["export", str(pickle_like), "-o", str(out)]) == 2
    assert not out.exists()
    bad_shape = tiny_net()
    bad_shape["layers"][2]["in_features"] = 11
    (tmp_path / "bad.json").write_text(json.dumps(bad_shape))
    assert main(["export", str(tmp_path / "bad.json"), "-o", str(out)]) == 2
    assert "in_features is 11" in capsys.readouterr().err and not out.exists()


def test_verify_refuses_foreign_or_tampered_folders(tmp_path, capsys):
    assert main(["generate", "--kernel", "1x1", "-o", str(tmp_path / "kernel")]) == 0
    with pytest.raises(TnHwError, match="not a network"):
        verify_network(tmp_path / "kernel", data="random", samples=1)
    write_network_design(export_network(load_network(micro_net())), tmp_path / "net")
    (tmp_path / "net" / "network.json").write_text(json.dumps(micro_net(9)))
    with pytest.raises(TnHwError, match="does not match the manifest's checksum"):
        verify_network(tmp_path / "net", data="random", samples=1)
    with pytest.raises(TnHwError, match="holds no manifest.json"):
        verify_network(tmp_path / "nothing", data="random", samples=1)


# -- baked parameters fold in synthesis -----------------------------------------------------------


def _small_linear(w, p, bias):
    return {"format": "tn-hw-net", "version": 1, "name": "fold", "task": "random",
            "input": {"shape": [3], "width": 4, "frac_bits": 0},
            "layers": [{"type": "linear", "neuron": "threshold", "in_features": 3,
                        "out_features": 2, "width": 4, "w": w, "p": p, "bias": bias,
                        "shift": 1, "out_width": None}]}


def test_baked_parameters_fold_in_yosys(tmp_path):
    """Thresholds at the maximum make every cell 0 (x > 7 never holds at 4 bits): once Yosys
    folds the constants the logits are constants and no gate is left. Ordinary baked values
    leave less logic than the same network with programmable ports."""
    from tn_hw.synth.area.flow import synthesize

    dead = load_network(_small_linear([[7] * 3] * 2, [[0, 1, 0], [1, 1, 0]], [5, -6]))
    live = load_network(_small_linear([[-3, 2, 0], [5, -8, 1]], [[0, 1, 0], [1, 1, 0]], [5, -6]))
    designs = {"dead": export_network(dead), "baked": export_network(live),
               "ports": export_network(live, mode="ports")}
    gates = {name: synthesize(d.verilog, d.top, "generic", cache_dir=tmp_path)["metrics"]
             for name, d in designs.items()}
    assert gates["dead"]["gates"] == 0
    assert 0 < gates["baked"]["transistors"] < gates["ports"]["transistors"]


def test_cli_choices_match_the_library():
    from tn_hw.export import CLI_DATA, CLI_MODES, MANIFEST_NAME
    from tn_hw.generate import MANIFEST_NAME as GENERATE_MANIFEST
    from tn_hw.hdl.network import MODES
    from tn_hw.reference.data import DATASETS

    assert CLI_MODES == MODES and CLI_DATA == (*DATASETS, "random")
    assert MANIFEST_NAME == GENERATE_MANIFEST
