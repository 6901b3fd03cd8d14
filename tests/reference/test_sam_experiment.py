"""benchmarks/sam_experiment.py: a smoke run, and the per-neuron parts it synthesizes."""

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import torch

from tn_hw.reference.integer import kernel as int_kernel
from tn_hw.reference.integer import layer as int_layer
from tn_hw.reference.sam import sam_kernel, sam_layer
from tn_hw.spec import KernelSpec

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sam_experiment.py"


@pytest.fixture(scope="module")
def sam_experiment():
    spec = importlib.util.spec_from_file_location("sam_experiment", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tied(part):
    """``{port: value}`` of the constants a wrapper ties in, decoded as signed integers."""
    values = {}
    for name, width, bits in re.findall(r"\.(\w+)\((\d+)'b([01]+)\)", part.verilog):
        value = int(bits, 2)
        values[name] = value - (1 << int(width)) if bits[0] == "1" else value
    return values


def mac_top(channels):
    return KernelSpec(neuron="mac", kernel=(1, 1), channels=channels, width=8).top_name


def pruned_mac(seed=0, outputs=7, n=12):
    gen = torch.Generator().manual_seed(seed)
    wq = torch.randint(-128, 128, (outputs, n), generator=gen)
    wq[torch.rand(outputs, n, generator=gen) < 0.4] = 0
    wq[2] = 0  # a neuron with every weight pruned
    wq[4, :] = 0
    wq[4, 5] = -128  # a neuron with one kept weight, the most negative one
    bias = torch.randint(-5000, 5000, (outputs,), generator=gen)
    return wq, bias


def test_quick_run(sam_experiment, tmp_path):
    out = tmp_path / "sam.json"
    assert sam_experiment.main(["--quick", "--no-synth", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert "area" not in result
    dense = result["dense"]
    for name in ("mac", "sam"):
        assert 0.0 <= dense[name]["accuracy"] <= 1.0
    assert dense["mac"]["params"] == 64 * 38 + 38
    assert dense["sam"]["params"] == 2 * 64 * 128
    sam_params = [row["params"] for row in result["sam_curve"]]
    mac_params = [row["params"] for row in result["mac_curve"]]
    # Higher rate thresholds and smaller kept fractions never keep more.
    assert sam_params == sorted(sam_params, reverse=True) and sam_params[0] <= 2 * 64 * 128
    assert mac_params == sorted(mac_params, reverse=True) and mac_params[0] == 64 * 38 + 38
    # Every SAM neuron keeps at least one input per side.
    assert sam_params[-1] >= 2 * 128
    assert result["mac_curve"][0]["accuracy"] == dense["mac"]["accuracy"]
    for row in result["sam_curve"] + result["mac_curve"]:
        assert 0.0 <= row["accuracy"] <= 1.0
    target = result["target_accuracy"]
    assert target == pytest.approx(min(dense["mac"]["accuracy"], dense["sam"]["accuracy"]) - 0.05)
    for name, curve in (("sam", result["sam_curve"]), ("mac", result["mac_curve"])):
        picked = result["picked"][name]
        assert picked in curve
        if picked["accuracy"] >= target:
            assert picked["params"] == min(r["params"] for r in curve if r["accuracy"] >= target)


def test_mac_parts_programmable(sam_experiment):
    wq, bias = pruned_mac()
    kept = [int((row != 0).sum()) for row in wq]
    parts = sam_experiment.mac_parts(wq, bias, constant=False)
    # One part per distinct kept count, counted; the all-pruned neuron builds nothing.
    assert sum(part.count for part in parts) == sum(1 for k in kept if k) == len(kept) - 1
    by_channels = Counter()
    tops = {mac_top(k): k for k in kept if k}
    for part in parts:
        k = tops[part.top]
        by_channels[k] += part.count
        assert f"module {part.top}(" in part.verilog
        assert len(re.findall(r"input \[7:0\] w__\d+;", part.verilog)) == k
    assert by_channels == Counter(k for k in kept if k)


def test_mac_parts_constant_match_the_masked_layer(sam_experiment):
    """Each constant part ties exactly its neuron's nonzero weights and bias, and its kept-input
    MAC equals the full masked layer's output, bit for bit (integer golden model)."""
    wq, bias = pruned_mac()
    parts = sam_experiment.mac_parts(wq, bias, constant=True)
    kept = sam_experiment.mac_kept_inputs(wq)
    assert [part.name for part in parts] == [f"mac o{o} k{len(k)}" for o, k in enumerate(kept)
                                             if k]
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(-128, 128, (500, wq.shape[1]), generator=gen)
    x[0] = -128  # the extreme corner: -128 * -128 products
    full = int_layer("mac", x, wq, None, bias)
    for o in range(wq.shape[0]):
        if not kept[o]:
            assert torch.equal(full[:, o], bias[o].expand(len(x)))
    for part in parts:
        o = int(re.match(r"mac o(\d+) ", part.name).group(1))
        constants = tied(part)
        inputs = kept[o]
        assert part.top == f"{mac_top(len(inputs))}_o{o}"
        assert set(constants) == {f"w__{j}" for j in range(len(inputs))} | {"bias"}
        weights = torch.tensor([constants[f"w__{j}"] for j in range(len(inputs))])
        assert torch.equal(weights, wq[o, inputs]) and bool((weights != 0).all())
        assert constants["bias"] == int(bias[o])
        narrow = int_kernel("mac", x[:, inputs], weights, None, torch.tensor(constants["bias"]))
        assert torch.equal(narrow, full[:, o])


def test_wrap_constant_rejects_a_value_that_does_not_fit(sam_experiment):
    wq, bias = pruned_mac()
    bias[0] = 1 << 20  # the bias port of a k-input 8-bit MAC is far narrower
    with pytest.raises(ValueError, match="does not fit"):
        sam_experiment.mac_parts(wq, bias, constant=True)


def test_sam_parts(sam_experiment):
    gen = torch.Generator().manual_seed(2)
    outputs, n = 6, 10
    wp = torch.randint(-128, 128, (outputs, n), generator=gen)
    wm = torch.randint(-128, 128, (outputs, n), generator=gen)
    keep_max = torch.rand(outputs, n, generator=gen) < 0.3
    keep_min = torch.rand(outputs, n, generator=gen) < 0.3
    keep_max[:, 0] = keep_min[:, 1] = True
    keep_max[3], keep_min[3] = keep_max[1], keep_min[1]  # two neurons with one circuit shape
    masks = keep_max, keep_min
    programmable = sam_experiment.sam_parts(wp, wm, masks, constant=False)
    shapes = Counter(zip(keep_max.sum(-1).tolist(), keep_min.sum(-1).tolist(), strict=True))
    assert {part.name: part.count for part in programmable} == {
        f"sam max{a} min{b}": count for (a, b), count in shapes.items()}
    assert len(programmable) < outputs
    constant = sam_experiment.sam_parts(wp, wm, masks, constant=True)
    assert len(constant) == outputs and all(part.count == 1 for part in constant)
    x = torch.randint(-128, 128, (300, n), generator=gen)
    full = sam_layer(x, wp, wm, keep_max, keep_min)
    for o, part in enumerate(constant):
        constants = tied(part)
        inputs = torch.nonzero(keep_max[o] | keep_min[o]).flatten().tolist()
        # Connections are numbered in input order within each side.
        plus = [constants[f"wp__{k}"] for k in range(int(keep_max[o].sum()))]
        minus = [constants[f"wm__{k}"] for k in range(int(keep_min[o].sum()))]
        assert plus == wp[o, keep_max[o]].tolist() and minus == wm[o, keep_min[o]].tolist()
        wp_row = torch.zeros(len(inputs), dtype=torch.int64)
        wm_row = torch.zeros(len(inputs), dtype=torch.int64)
        wp_row[keep_max[o, inputs]] = torch.tensor(plus)
        wm_row[keep_min[o, inputs]] = torch.tensor(minus)
        narrow = sam_kernel(x[:, inputs], wp_row, wm_row, keep_max[o, inputs],
                            keep_min[o, inputs])
        assert torch.equal(narrow, full[:, o])


def test_mac_constant_split_parts(sam_experiment):
    """Multipliers + trees: one multiplier part per distinct nonzero weight, counted by its
    uses, one tree per neuron with a kept weight, its bias tied in. A 5 x 6 layer: every part
    is a module to elaborate, so the matrix is kept small (still with both pruned rows)."""
    wq, bias = pruned_mac(outputs=5, n=6)
    parts = sam_experiment.mac_constant_split_parts(wq, bias)
    products = {part.name: part.count for part in parts if part.name.startswith("mul ")}
    used = Counter(int(v) for v in wq.flatten() if v)
    assert products == {f"mul c{c}": count for c, count in used.items()}
    assert sum(products.values()) == int((wq != 0).sum())
    kept = sam_experiment.mac_kept_inputs(wq)
    trees = [part for part in parts if part.name.startswith("tree ")]
    assert [part.name for part in trees] == [f"tree o{o} k{len(k)}" for o, k in enumerate(kept)
                                             if k]
    for part in trees:
        k = int(part.name.split("k")[-1])
        assert len(re.findall(r"input \[15:0\] p__\d+;", part.verilog)) == k
        assert f"module {part.top}(" in part.verilog
