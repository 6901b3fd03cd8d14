"""benchmarks/csd_neuron.py: the CSD digits are exact, and the emitted Verilog computes the MAC
neuron of the golden model bit for bit (Icarus, a self-checking bench)."""

import importlib.util
import random
import subprocess
from pathlib import Path

import torch

from tn_hw.reference.integer import layer as int_layer

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("csd_neuron", ROOT / "benchmarks/csd_neuron.py")
csd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(csd)


def test_digits_are_canonical():
    rng = random.Random(0)
    for value in [*range(-600, 600), *(rng.randint(-2**24, 2**24) for _ in range(500))]:
        digits = csd.csd_digits(value)
        assert sum(sign << shift for shift, sign in digits) == value
        shifts = [shift for shift, _ in digits]
        assert all(b - a > 1 for a, b in zip(shifts, shifts[1:], strict=False))
    assert csd.csd_digits(7) == [(0, -1), (3, 1)]


def _run(verilog, weights, bias, vectors, tmp_path, width, acc_width):
    checks = []
    expected = int_layer("mac", torch.tensor(vectors), torch.tensor([weights]), None,
                         torch.tensor([bias]))[:, 0].tolist()
    for row, want in zip(vectors, expected, strict=True):
        sets = " ".join(f"x{i} = {v};" for i, v in enumerate(row))
        literal = f"{acc_width}'sd{want}" if want >= 0 else f"-{acc_width}'sd{-want}"
        checks.append(f"    {sets} #1; if (y !== {literal}) begin "
                      f"$display(\"MISMATCH %0d\", y); errors = errors + 1; end")
    regs = "\n".join(f"  reg signed [{width - 1}:0] x{i};" for i in range(len(weights)))
    bench = (f"module tb;\n{regs}\n  wire signed [{acc_width - 1}:0] y;\n  integer errors = 0;\n"
             f"  csd_neuron dut({', '.join(f'x{i}' for i in range(len(weights)))}, y);\n"
             "  initial begin\n" + "\n".join(checks)
             + "\n    $display(\"ERRORS %0d\", errors); $finish;\n  end\nendmodule\n")
    (tmp_path / "dut.v").write_text(verilog)
    (tmp_path / "tb.v").write_text(bench)
    subprocess.run(["iverilog", "-o", "sim", "dut.v", "tb.v"], cwd=tmp_path, check=True)
    out = subprocess.run(["vvp", "sim"], cwd=tmp_path, check=True, capture_output=True,
                         text=True).stdout
    return int(out.split("ERRORS")[-1])


def test_verilog_matches_golden_and_catches_a_wrong_digit(tmp_path, icarus):
    rng = random.Random(1)
    width, n = 8, 12
    weights = [rng.randint(-128, 127) for _ in range(n)]
    weights[0], weights[1] = -128, 127
    bias, acc_width = -1234, 24
    vectors = [[rng.randint(-128, 127) for _ in range(n)] for _ in range(60)]
    vectors += [[-128] * n, [127] * n]
    verilog, terms = csd.csd_neuron_verilog(weights, bias, width=width, acc_width=acc_width)
    assert terms == sum(len(csd.csd_digits(w)) for w in weights)
    assert _run(verilog, weights, bias, vectors, tmp_path, width, acc_width) == 0
    # Mutation: one term's sign flipped must be caught.
    mutant = verilog.replace("+ ($signed(x3)", "- ($signed(x3)", 1)
    if mutant == verilog:
        mutant = verilog.replace("- ($signed(x3)", "+ ($signed(x3)", 1)
    assert mutant != verilog
    assert _run(mutant, weights, bias, vectors, tmp_path, width, acc_width) > 0
