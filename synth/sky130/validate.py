"""Check the liberty against the wheel's functional Verilog models, and a mapped netlist against
the golden model.

* :func:`check_functions`: every combinational output's liberty ``function`` is evaluated (by the
  small parser in :mod:`.liberty`) on every input vector and compared with Icarus simulating the
  cell's functional model (``<cell>.functional.v`` with its UDPs) on the same vector. Flip-flops:
  the liberty ``ff`` group must name the model's clock and data pins. Independent paths: the
  liberty text against an event simulation of the vendor's model.
* :func:`cell_models_verilog`: the functional models of a netlist's cells as one Verilog text
  (includes inlined), so a mapped netlist simulates at gate level with Icarus.
* :func:`gate_level_regression`: the project's cocotb regression (integer comparison against the
  golden model) on the mapped netlist plus the cell models.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import subprocess
import tempfile
from pathlib import Path

from .liberty import evaluate, read_liberty
from .wheel import LIBRARY, Sky130Error, cell_model, functional_model_path

__all__ = ["check_functions", "cell_models_verilog", "netlist_cells", "gate_level_regression"]


def _inline(path: Path, seen: set) -> str:
    out = []
    for line in path.read_text().splitlines():
        match = re.match(r'\s*`include\s+"([^"]+)"', line)
        if match:
            target = (path.parent / match.group(1)).resolve()
            if target not in seen and "blackbox" not in target.name:
                seen.add(target)
                out.append(_inline(target, seen))
            continue
        out.append(line)
    return "\n".join(out)


def cell_models_verilog(cells, *, replace: dict | None = None) -> str:
    """Functional models of ``cells`` (names without the library prefix), includes inlined.

    ``replace`` maps a cell to a ``(old, new)`` text substitution in its model: the mutation tests
    use it to plant a wrong cell.
    """
    seen: set = set()
    parts = ["`define UNIT_DELAY"]
    for cell in sorted(set(cells)):
        text = _inline(functional_model_path(cell), seen)
        if replace and cell in replace:
            old, new = replace[cell]
            if old not in text:
                raise Sky130Error(f"planted change {old!r} not found in the {cell} model")
            text = text.replace(old, new, 1)
        parts.append(text)
    return "\n".join(parts) + "\n"


def netlist_cells(netlist: str) -> list[str]:
    """Cell types (without the library prefix) instantiated in a mapped netlist."""
    return sorted(set(re.findall(rf"^\s*{LIBRARY}__(\w+)\s", netlist, re.MULTILINE)))


def _run_icarus(files: dict, top: str) -> str:
    with tempfile.TemporaryDirectory(prefix="tn-hw-cells-") as work:
        for name, text in files.items():
            Path(work, name).write_text(text)
        try:
            build = subprocess.run(["iverilog", "-g2012", "-o", "sim", "-s", top, *files],
                                   cwd=work, capture_output=True, text=True, timeout=600,
                                   check=False)
            if build.returncode != 0:
                raise Sky130Error("iverilog failed on the cell models: "
                                  + " | ".join(build.stderr.strip().splitlines()[-3:]))
            run = subprocess.run(["vvp", "-n", "sim"], cwd=work, capture_output=True, text=True,
                                 timeout=600, check=False)
        except FileNotFoundError:
            raise Sky130Error("Icarus Verilog (iverilog, vvp) not found: "
                              "`apt-get install -y iverilog` (tools/setup.sh does)") from None
    return run.stdout


def check_functions(liberty=None, *, models: dict | None = None) -> dict:
    """Compare every liberty cell function with the cell's functional model, exhaustively.

    Parameters
    ----------
    liberty : path-like, optional
        Default: the committed library.
    models : dict, optional
        ``{cell: (old, new)}`` planted substitutions in the functional models (for the tests).

    Returns
    -------
    dict
        ``{"vectors": int, "cells": int, "mismatches": [str, ...]}``; an empty mismatch list
        means every output agreed on every input vector.
    """
    from .liberty import default_liberty

    lib = read_liberty(liberty or default_liberty())
    bench, expected, mismatches = [], [], []
    cells = []
    for name, data in lib.items():
        if not name.startswith(f"{LIBRARY}__"):
            mismatches.append(f"{name}: not a {LIBRARY} cell")
            continue
        cell = name[len(LIBRARY) + 2:]
        model = cell_model(cell)
        inputs = [p for p, d in data["pins"].items() if d["direction"] == "input"]
        outputs = [p for p, d in data["pins"].items() if d["direction"] == "output"]
        if sorted(inputs) != sorted(model.inputs) or sorted(outputs) != sorted(model.outputs):
            mismatches.append(f"{cell}: liberty pins {inputs} -> {outputs} differ from the model's "
                              f"{list(model.inputs)} -> {list(model.outputs)}")
            continue
        if model.flop is not None:
            if not data["ff"]:
                mismatches.append(f"{cell}: the model is a flip-flop but the liberty has no "
                                  "ff group")
            continue
        cells.append(cell)
        n = len(model.inputs)
        k = len(cells)
        decl = [f"  reg [{n - 1}:0] i{k};"] + [f"  wire o{k}_{q};" for q in model.outputs]
        conn = ", ".join([f".{p}(i{k}[{j}])" for j, p in enumerate(model.inputs)]
                         + [f".{q}(o{k}_{q})" for q in model.outputs])
        bench += decl + [f"  {LIBRARY}__{cell} u{k} ({conn});"]
        stim = [f"    for (v = 0; v < {1 << n}; v = v + 1) begin i{k} = v; #1;"
                + "".join(f' $display("R {cell} {q} %0d %b", v, o{k}_{q});' for q in model.outputs)
                + " end"]
        expected.append((cell, model.inputs, {q: data["pins"][q]["function"]
                                              for q in model.outputs}, stim))
    top = ["`timescale 1ns / 1ps", "module tn_cell_check;", "  integer v;", *bench,
           "  initial begin"]
    for _cell, _inputs, _functions, stim in expected:
        top += stim
    top += ["    $finish;", "  end", "endmodule", ""]
    out = _run_icarus({"models.v": cell_models_verilog(cells, replace=models),
                       "check.v": "\n".join(top)}, "tn_cell_check")
    seen = {}
    for line in out.splitlines():
        match = re.match(r"R (\w+) (\w+) (\d+) ([01xz])$", line.strip())
        if match:
            seen[match.group(1), match.group(2), int(match.group(3))] = match.group(4)
    vectors = 0
    for cell, inputs, functions, _stim in expected:
        for q, function in functions.items():
            if function is None:
                mismatches.append(f"{cell}.{q}: no liberty function")
                continue
            for v in range(1 << len(inputs)):
                want = evaluate(function, {p: (v >> j) & 1 for j, p in enumerate(inputs)})
                got = seen.get((cell, q, v))
                vectors += 1
                if got != str(want):
                    bits = " ".join(f"{p}={(v >> j) & 1}" for j, p in enumerate(inputs))
                    mismatches.append(f"{cell}.{q} at {bits}: liberty {function!r} gives {want}, "
                                      f"the functional model {got}")
    return {"vectors": vectors, "cells": len(lib), "mismatches": mismatches}


def gate_level_regression(design, netlist: str, build_dir, *, replace: dict | None = None,
                          **options):
    """Run :func:`tn_hw.testbench.runner.run_regression` on a mapped netlist of ``design``.

    The netlist (module ``design.top``) and the functional models of its cells replace the RTL;
    the bench, vectors and golden model are the project's, outputs compared as integers.
    """
    from ...testbench.runner import run_regression

    source = netlist + "\n" + cell_models_verilog(netlist_cells(netlist), replace=replace)
    # The port table stays the design's; the hash the consistency check compares is the
    # netlist's (the RTL's hash would refuse it as an edited design).
    manifest = dict(design.manifest, verilog_sha256=hashlib.sha256(source.encode()).hexdigest())
    gate = dataclasses.replace(design, verilog=source, manifest=manifest)
    options.setdefault("lanes", 1)
    return run_regression(gate, build_dir, **options)
