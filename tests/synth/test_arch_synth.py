"""``tn-hw synth --arch``: the chosen micro-architecture is what gets synthesized."""

import json

from tn_hw.cli import main


def test_synth_builds_the_architecture(tmp_path, capsys, yosys):
    out = tmp_path / "r.json"
    assert main(["synth", "--neuron", "mac", "--kernel", "1x2", "--width", "4", "--arch",
                 "merged", "--cache-dir", str(tmp_path / "cache"), "--json", str(out)]) == 0
    assert "tn_mac_k1x2_w4_merged" in capsys.readouterr().out
    document = json.loads(out.read_text())
    assert document["top"] == "tn_mac_k1x2_w4_merged" and document["design"]["arch"] == "merged"
    assert main(["synth", "--neuron", "sam", "--arch", "merged"]) == 2
    assert "arch must be one of tree for the sam neuron" in capsys.readouterr().err
