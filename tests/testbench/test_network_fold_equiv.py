# amaranth: UnusedElaboratable=no
"""Formal check of the folded network (``--reuse``, tn_hw.testbench.net_equiv): the datapath of
every layer in every phase (phase tied, structural) and the control of the stream (free valid,
ready, payload and reset, a scoreboard and tags), proven by SAT with temporal induction for
ball3-tn4 with reuse 2; planted bugs in either part are refuted."""

import json
from pathlib import Path

import pytest

from helpers.fold_mutants import FOLD_CONTROL_MUTANTS, FOLD_DATAPATH_MUTANTS
from helpers.net_mutants import FOLDED_MUTANTS, WrongSelectNetwork, tiny_net
from tn_hw.errors import SpecError
from tn_hw.synth.tools import SynthError
from tn_hw.testbench.net_equiv import (
    check_folded_datapath,
    check_folded_network,
    check_folded_stream,
    fold_phase_outputs,
    main,
)

ROOT = Path(__file__).resolve().parents[2]
BALL3 = ROOT / "models" / "ball3-tn4.json"

#: Datapath bugs (a FoldedNetwork subclass each) and the layer whose proof shows each.
DATAPATH_BUGS = {"wrong_select": (WrongSelectNetwork, 0),
                 **{name: (cls, 3) for name, cls in FOLD_DATAPATH_MUTANTS.items()}}
#: Control bugs (a NetworkStream subclass each).
CONTROL_BUGS = {"valid_kept_on_take": FOLDED_MUTANTS["valid_kept_on_take"],
                **FOLD_CONTROL_MUTANTS}


def test_fold_phase_outputs():
    # 5 outputs on 3 kernels (ball3 layer 0, reuse 2); 1 output with reuse 2 idles phase 1.
    assert [fold_phase_outputs(5, 2, p) for p in range(2)] == [[0, 1, 2], [3, 4]]
    assert [fold_phase_outputs(1, 2, p) for p in range(2)] == [[0], []]
    assert [fold_phase_outputs(5, 3, p) for p in range(3)] == [[0, 1], [2, 3], [4]]


def test_ball3_folded_network_proved(yosys, tmp_path):
    report = check_folded_network(BALL3, 2, keep_dir=tmp_path)
    assert report["proved"], report
    proofs = report["datapath"]["proofs"]
    # Layers 2 and 3 have one output: their phase 1 computes nothing and has nothing to prove.
    assert [(p["layer"], p["phase"]) for p in proofs] == [(0, 0), (0, 1), (1, 0), (1, 1),
                                                          (2, 0), (3, 0)]
    assert [p["outputs"] for p in proofs[:2]] == [[0, 1, 2], [3, 4]]
    for proof in proofs + [report["stream"]]:
        assert proof["proved"] and not proof["counterexample"]
        assert "Induction step proven: SUCCESS!" in proof["summary"]
    assert report["stream"]["layers"] == 4
    # The files of every proof are kept, to be rerun by hand.
    assert (tmp_path / "datapath" / "layer0" / "phase1" / "fold.ys").is_file()
    assert (tmp_path / "stream" / "stream.ys").is_file()


@pytest.mark.parametrize("name", sorted(DATAPATH_BUGS))
def test_planted_datapath_bug_is_refuted(name, yosys):
    core_class, layer = DATAPATH_BUGS[name]
    report = check_folded_datapath(BALL3, 2, core_class=core_class, layers=[layer])
    assert not report["proved"], f"{name} was proven"
    assert any(p["counterexample"] for p in report["proofs"])
    if name == "wrong_select":
        # The neuron select is one off in phase 1 only: phase 0 of the layer is proven.
        assert [(p["phase"], p["proved"]) for p in report["proofs"]] == [(0, True), (1, False)]


@pytest.mark.parametrize("name", sorted(CONTROL_BUGS))
def test_planted_control_bug_is_refuted(name, yosys):
    report = check_folded_stream(BALL3, 2, stream_class=CONTROL_BUGS[name])
    assert not report["proved"], f"{name} was proven"
    assert report["counterexample"]


@pytest.mark.parametrize("reuse, error", [(1, SynthError), (6, SpecError), (True, SynthError)])
def test_bad_reuse(reuse, error):
    with pytest.raises(error, match="reuse"):
        check_folded_datapath(BALL3, reuse)
    with pytest.raises(error, match="reuse"):
        check_folded_stream(BALL3, reuse)


def test_cli(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main([str(bad), "--reuse", "2"]) == 2
    assert main([str(BALL3), "--reuse", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("net_equiv: error: ") for line in err)
    assert "is not a JSON file" in err[0] and "reuse must be an integer" in err[1]


@pytest.mark.slow
def test_cli_proves_ball3(yosys, capsys):
    assert main([str(BALL3), "--reuse", "2"]) == 0
    out = capsys.readouterr().out
    assert "stream control (4 layers, reuse 2): proved" in out and "PROVED" in out


@pytest.mark.slow
@pytest.mark.parametrize("reuse, mode", [(3, "ports"), (5, "baked")])
def test_ball3_folded_network_proved_more(reuse, mode, yosys):
    report = check_folded_network(BALL3, reuse, mode=mode)
    assert report["proved"], json.dumps(report)[:2000]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["baked", "ports"])
def test_folded_conv_network_proved(mode, yosys):
    """Strided, padded conv (3 channels on 2 kernels per position), flatten, linear 12 -> 4."""
    report = check_folded_network(tiny_net(seed=4), 2, mode=mode)
    assert report["proved"], json.dumps(report)[:2000]
