"""SAM and adder: generation, masks, CLI errors, and mutation tests of their regression.

The regression configs themselves run in test_regression.py (testbench/matrix.py lists them).
"""

import json

import pytest

from helpers.mutants_sam import ADDER_MUTANTS, SAM_MUTANTS, emit_adder_mutant, emit_sam_mutant
from tn_hw.cli import main
from tn_hw.generate import generate
from tn_hw.spec import KernelSpec, SpecError
from tn_hw.testbench.matrix import regression_matrix, seeded_mask
from tn_hw.testbench.runner import run_regression

SPARSE = KernelSpec(neuron="sam", kernel=(3, 3), width=8, mask=seeded_mask(1, 9, 0.4, 3),
                    mask_min=seeded_mask(1, 9, 0.4, 103))


def test_matrix_covers_sam_and_adder():
    ids = {c.id for c in regression_matrix()}
    for neuron in ("sam", "adder"):
        for width in (4, 8, 16):
            for shape in ("3x3", "5x5", "7x7"):
                assert f"{neuron}-{shape}-w{width}" in ids
    for shape in ("3x3", "5x5", "7x7"):
        assert f"sam-{shape}-w8-sparse" in ids
    assert "sam-3x3-o4-w8-sparse" in ids


def test_pruned_connections_are_not_built():
    dense = generate(KernelSpec(neuron="sam", kernel=(3, 3), width=8))
    sparse = generate(SPARSE)
    kept = len(SPARSE.connections_max) + len(SPARSE.connections_min)
    assert kept < 18
    assert dense.verilog.count("cellp") > sparse.verilog.count("cellp") > 0
    cells = {p["name"] for p in sparse.manifest["ports"] if p["port"] in ("wp", "wm")}
    assert len(cells) == kept
    pairs = [p["connection"] for p in sparse.manifest["ports"] if p["port"] == "wp"]
    assert [(c["output"], c["input"]) for c in pairs] == list(SPARSE.connections_max)
    assert SPARSE.top_name.startswith("tn_sam_k3x3_w8_m") and SPARSE.top_name != dense.top


def test_mask_is_hashable_and_dense_mask_normalizes():
    a = KernelSpec(neuron="sam", kernel=(1, 2), mask=[[1, 1]])
    assert a == KernelSpec(neuron="sam", kernel=(1, 2)) and a.mask is None
    assert hash(SPARSE) == hash(KernelSpec.from_description(SPARSE.describe()))


@pytest.mark.parametrize("kwargs, message", [
    ({"mask": [[0, 0, 0]]}, "output 0 keeps no input on the max side"),
    ({"mask": [[1, 1, 1]], "mask_min": [[0, 0, 0]]}, "output 0 keeps no input on the min side"),
    ({"mask": [[1, 2, 1]]}, "mask entries must be 0 or 1, not 2"),
    ({"mask": [[1, 1]]}, "mask must have 1 rows of 3 entries"),
    ({"bias_width": 8}, "the sam neuron has no bias"),
    ({"neuron": "adder", "mask": [[1, 0, 1]]}, "only supported by the sam neuron"),
])
def test_spec_errors(kwargs, message):
    with pytest.raises(SpecError, match=message):
        KernelSpec(**({"neuron": "sam", "kernel": (1, 3)} | kwargs))


def test_cli_mask(tmp_path, capsys):
    mask = tmp_path / "m.json"
    mask.write_text(json.dumps({"max": [[1, 0, 1, 1], [0, 1, 1, 0]], "min": [[1, 1, 0, 0],
                                                                          [0, 0, 0, 1]]}))
    args = ["generate", "--neuron", "sam", "--kernel", "1x1", "--channels", "4", "--outputs",
            "2", "--mask", str(mask), "-o", str(tmp_path / "ok")]
    assert main(args) == 0
    manifest = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    assert manifest["parameters"]["kept_max"] == 5 and manifest["parameters"]["kept_min"] == 3
    mask.write_text("[[1, 0, 1, 1]]")
    assert main(args[:-1] + [str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mask must have 2 rows of 4 entries" in err
    assert not (tmp_path / "bad").exists()
    mask.write_text("not json")
    assert main(args[:-1] + [str(tmp_path / "bad")]) == 2
    assert "is not JSON" in capsys.readouterr().err


def test_regress_from_folder_keeps_the_mask(tmp_path, icarus):
    from tn_hw.commands.regress import design_from_folder
    from tn_hw.generate import write_design

    write_design(generate(SPARSE), tmp_path / "d")
    design = design_from_folder(tmp_path / "d")
    assert design.spec == SPARSE
    assert run_regression(design, tmp_path / "b", random_vectors=200).passed


@pytest.mark.parametrize("name", sorted(SAM_MUTANTS))
def test_sam_mutant_is_caught(name, tmp_path, icarus):
    _kernel, detectable = SAM_MUTANTS[name]
    result = run_regression(emit_sam_mutant(name, SPARSE), tmp_path, random_vectors=500,
                            seed=12345)
    if detectable:
        assert not result.passed and result.mismatches > 0
        log = result.log.read_text()
        assert "reproduce with TN_HW_SEED=12345" in log and "wp=[" in log
    else:
        # A tie selects the other operand, which holds the same value: nothing can differ.
        assert result.passed and result.mismatches == 0


@pytest.mark.parametrize("name", sorted(ADDER_MUTANTS))
def test_adder_mutant_is_caught(name, tmp_path, icarus):
    spec = KernelSpec(neuron="adder", kernel=(3, 3), width=8)
    result = run_regression(emit_adder_mutant(name, spec), tmp_path, random_vectors=500,
                            seed=12345)
    assert not result.passed and result.mismatches > 0
