"""tn-hw compare --neurons: ratios of every neuron against the MAC, tables, bad input."""

import pytest

from tn_hw.cli import main
from tn_hw.synth.area.compare import neuron_ratios, render_markdown, write_plots


def _sweep():
    rows = []
    for neuron, transistors in (("threshold", 100), ("sam", 200), ("adder", 50), ("mac", 400)):
        rows.append({"neuron": neuron, "kernel": "3x3", "width": 8, "target": "generic",
                     "metrics": {"gates": transistors // 4, "transistors": transistors}})
    meta = {"yosys": "Yosys 0.70 (git sha1 x)", "flows": {"generic": "synth"},
            "weights": "programmable", "seed": None,
            "neurons": ["threshold", "sam", "adder", "mac"],
            "kernels": ["3x3"], "widths": [8], "targets": ["generic"], "baseline": "Booth MAC"}
    return {"meta": meta, "rows": rows}


def test_neuron_ratios_are_mac_over_neuron():
    got = {r["neuron"]: r["ratio"] for r in neuron_ratios(_sweep())}
    assert got == {"threshold": 4.0, "sam": 2.0, "adder": 8.0}


def test_plots_include_every_neuron(tmp_path):
    written = {p.name for p in write_plots(_sweep(), tmp_path)}
    assert written == {"area_generic.png", "neurons_generic.png"}
    assert (tmp_path / "neurons_generic.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    two_neurons = _sweep()
    two_neurons["meta"]["neurons"] = ["threshold", "mac"]
    (tmp_path / "two").mkdir()
    assert {p.name for p in write_plots(two_neurons, tmp_path / "two")} == {"area_generic.png"}


def test_markdown_has_the_neuron_table():
    text = render_markdown(_sweep())
    assert "| 3x3 | 8 | 400 | 100 (4.00x) | 200 (2.00x) | 50 (8.00x) |" in text


def test_unknown_neuron_is_one_line_error(tmp_path, capsys):
    assert main(["compare", "--neurons", "threshold,foo", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--neurons must list neurons from" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("neuron", ["sam", "adder"])
def test_constant_weights_tie_every_weight_port(neuron):
    from tn_hw.synth.area.compare import build_design

    design = build_design(neuron, (1, 2), 4, weights="constant", seed=1)
    header = next(line for line in design["verilog"].splitlines()
                  if line.startswith(f"module {design['top']}("))
    ports = header.split("(", 1)[1].rstrip(");").split(", ")
    assert ports == ["x__0", "x__1", "y"]
