"""The paper's Table 1 with open tools: area of single operations at one width.

The paper (section 2.2.1, Table 1) reports Synopsys DC areas in a 28 nm TSMC library for nine
operations without stating their width. Here each operation is a tiny Verilog module at width
``W`` run through the same generic flow as the kernels (``synth -flatten -booth``, ``abc -g`` with
the CMOS gate set, ``stat -tech cmos``), and each area is compared to multiplication's, beside the
same ratio from the paper.

Conventions (the paper states none, these are ours):

* operands are signed ``W``-bit; arithmetic results are exact (``mul`` gives ``2W`` bits,
  ``add``/``sub`` give ``W + 1`` bits), as in the kernels, where nothing overflows;
* ``shift`` is a left shift by a *variable* amount (a barrel shifter: ``W``-bit operand,
  ``ceil(log2 W)``-bit amount, ``W``-bit result). A shift by a constant is only wiring and would
  cost nothing;
* the logic operations are bitwise on ``W`` bits (``not`` has one operand).
"""

from __future__ import annotations

from ..tools import short_version
from .flow import synthesize

__all__ = ["OPS", "PAPER_AREA_UM2", "op_verilog", "render_ops", "run_ops"]

#: Paper's Table 1, area in um^2 (Synopsys DC, TSMC 28 nm, 50 MHz).
PAPER_AREA_UM2 = {
    "mul": 488.14, "add": 58.80, "sub": 58.80, "shift": 28.31, "or": 36.06,
    "and": 36.06, "not": 32.93, "xor": 40.77, "xnor": 40.77,
}

#: Operation -> (paper's name, Verilog expression of ``a`` and ``b``, result width as a function
#: of ``W``).
OPS = {
    "mul": ("Multiplication", "a * b", lambda w: 2 * w),
    "add": ("Addition", "a + b", lambda w: w + 1),
    "sub": ("Subtraction", "a - b", lambda w: w + 1),
    "shift": ("Shift", "a << s", lambda w: w),
    "or": ("OR", "a | b", lambda w: w),
    "and": ("AND", "a & b", lambda w: w),
    "not": ("NOT", "~a", lambda w: w),
    "xor": ("XOR", "a ^ b", lambda w: w),
    "xnor": ("XNOR", "a ~^ b", lambda w: w),
}


def _shift_bits(width: int) -> int:
    return max(1, (width - 1).bit_length())


def op_verilog(op: str, width: int) -> tuple[str, str]:
    """Verilog source and top name of operation ``op`` at width ``width``."""
    _, expression, result_width = OPS[op]
    top = f"op_{op}_w{width}"
    inputs = [f"input signed [{width - 1}:0] a"]
    if "b" in expression:
        inputs.append(f"input signed [{width - 1}:0] b")
    if "s" in expression.split():
        inputs.append(f"input [{_shift_bits(width) - 1}:0] s")
    ports = ", ".join(inputs + [f"output signed [{result_width(width) - 1}:0] y"])
    return f"module {top}({ports});\n  assign y = {expression};\nendmodule\n", top


def run_ops(width: int = 8, target: str = "generic", **synth_options) -> dict:
    """Synthesize every operation at ``width`` with the generic flow (or ``sky130``).

    Parameters
    ----------
    width : int
        Operand width ``W``.
    target : str
        ``"generic"`` (gates, transistors; ratios of transistors) or ``"sky130"`` (standard
        cells: ``cells``, ``area_um2``, ``delay_ns``; ratios of um^2, beside the paper's um^2).
    **synth_options
        Passed to :func:`~tn_hw.synth.area.flow.synthesize` (``cache_dir``, ``cache``, ``yosys``).

    Returns
    -------
    dict
        ``width``, ``yosys``, ``flow`` and ``rows``: one dict per operation with ``op``,
        ``name``, ``gates``, ``transistors``, ``ratio_to_mul`` (ours, transistors),
        ``paper_um2`` and ``paper_ratio_to_mul``.

    Raises
    ------
    SynthError
        As :func:`~tn_hw.synth.area.flow.synthesize`.
    """
    results = {}
    for op in OPS:
        verilog, top = op_verilog(op, width)
        results[op] = synthesize(verilog, top, target, **synth_options)
    sky130 = target.startswith("sky130")
    metric = "area_um2" if sky130 else "transistors"
    mul = results["mul"]["metrics"][metric]
    rows = []
    for op, result in results.items():
        metrics = result["metrics"]
        figures = ({"cells": metrics["cells"], "area_um2": metrics["area_um2"],
                    "delay_ns": metrics["delay_ns"]} if sky130 else
                   {"gates": metrics["gates"], "transistors": metrics["transistors"]})
        rows.append({
            "op": op,
            "name": OPS[op][0],
            **figures,
            "ratio_to_mul": metrics[metric] / mul,
            "paper_um2": PAPER_AREA_UM2[op],
            "paper_ratio_to_mul": PAPER_AREA_UM2[op] / PAPER_AREA_UM2["mul"],
        })
    first = results["mul"]
    out = {"width": width, "yosys": first["yosys"], "flow": first["flow"], "rows": rows}
    if sky130:
        out["target"] = target
    return out


def render_ops(table: dict) -> str:
    """Markdown table of :func:`run_ops` results."""
    width = table["width"]
    lines = [
        (f"Table 1 reproduction at W = {width} (signed operands; mul {2 * width}-bit result, "
         f"add/sub {width + 1}-bit, shift = barrel shifter by a variable amount)"),
        f"Flow: {table['flow']}; {short_version(table['yosys'])}",
        "",
    ]
    if "target" in table:
        lines += [
            "| operation | cells | sky130 um^2 | delay ns | / mul (ours) | paper um^2 (28 nm) | "
            "/ mul (paper) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [f"| {row['name']} | {row['cells']} | {row['area_um2']:.1f} | "
                  f"{row['delay_ns']:.3f} | {row['ratio_to_mul']:.3f} | {row['paper_um2']:.2f} | "
                  f"{row['paper_ratio_to_mul']:.3f} |" for row in table["rows"]]
        return "\n".join(lines) + "\n"
    lines += [
        "| operation | gates | transistors | / mul (ours) | paper um^2 | / mul (paper) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in table["rows"]:
        lines.append(
            f"| {row['name']} | {row['gates']} | {row['transistors']} | "
            f"{row['ratio_to_mul']:.3f} | {row['paper_um2']:.2f} | "
            f"{row['paper_ratio_to_mul']:.3f} |"
        )
    return "\n".join(lines) + "\n"
