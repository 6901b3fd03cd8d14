"""Lane packing: many test vectors per crossing of the Python/simulator boundary.

The simulation top is a thin Verilog wrapper, ``tn_tb_top``, around one instance of the emitted
design (untouched). Python packs a batch of ``lanes`` vectors into one wide register, the
wrapper applies them one after another inside the simulator and collects the outputs into
another wide register, which Python reads back at once. Packing and unpacking are vectorized
with numpy bit arrays.

Measured on a 3x3 8-bit kernel: driving every port per vector reaches a few thousand vectors/s,
a wrapper with one design instance per lane on a shared wide bus slows down as it widens
(every lane's part-select re-evaluates on any change of the bus), and this sequential block
reaches the figures in docs/benchmarks.md.

Bit layout: vector ``k`` of a batch occupies ``in_block[k*IN +: IN]``; inside a vector the ports
follow the manifest's order, first port at the least significant end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Port", "LaneLayout", "WRAPPER_TOP", "MAX_LANES", "TARGET_BLOCK_BITS",
           "check_port_widths", "default_lanes"]

WRAPPER_TOP = "tn_tb_top"

#: Vectors per batch: bounded by the packed block's width (each vector costs a copy of the
#: block inside the simulator, so very wide blocks stop paying off).
TARGET_BLOCK_BITS = 1 << 16
MAX_LANES = 4096


def default_lanes(in_bits: int, vectors: int | None = None) -> int:
    """Lanes per batch for a vector of ``in_bits`` bits: about 64 kbit per block, at most
    :data:`MAX_LANES`, and no more than ``vectors`` when given."""
    lanes = max(1, min(MAX_LANES, TARGET_BLOCK_BITS // max(1, in_bits)))
    return lanes if vectors is None else max(1, min(lanes, vectors))


def check_port_widths(instance, ports) -> None:
    """Inside the simulator: the DUT ``instance`` has every port of ``ports`` (``(name, width)``
    pairs, the layout the testbench drives) with that width.

    Raises
    ------
    AssertionError
        Naming the first port that is missing or of another width (a manifest that disagrees
        with the Verilog would otherwise test only part of a port's range).
    """
    for name, width in ports:
        try:
            handle = getattr(instance, name)
        except AttributeError:
            raise AssertionError(f"port {name}: the layout drives it, the DUT has no such "
                                 "port") from None
        if len(handle) != width:
            raise AssertionError(f"port {name}: the layout drives {width} bits, the DUT's port "
                                 f"has {len(handle)}")


@dataclass(frozen=True)
class Port:
    name: str          # Verilog port name, e.g. "w__1__3"
    family: str        # "x", "w", "p", "bias", "y" or "r"
    index: tuple       # position inside the family's array, () for a scalar
    width: int
    signed: bool
    offset: int        # bit offset inside the lane


class LaneLayout:
    """Where every port of a design sits inside the packed buses.

    Parameters
    ----------
    manifest : dict
        A manifest from :func:`tn_hw.generate.generate`.
    lanes : int
        Copies of the design simulated side by side.
    """

    def __init__(self, manifest, *, lanes):
        if not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be a positive integer, not {lanes!r}")
        self.top = manifest["top"]
        self.lanes = lanes
        self.latency = manifest.get("latency", 0)
        self.inputs = self._layout(manifest, "input")
        self.outputs = self._layout(manifest, "output")
        self.in_bits = sum(p.width for p in self.inputs)
        self.out_bits = sum(p.width for p in self.outputs)
        self._pack_plan = self._plan(self.inputs)
        self._flat = {}

    @staticmethod
    def _plan(ports):
        """What :meth:`pack` precomputes for ``ports``: each family's ports (``{family: (their
        indices, their positions among the ports)}``), the bytes of each port value that hold
        its bits, and where the port bits sit among the bits of those bytes (ports are laid
        out one after another, so port-major, bit-minor order is the lane's bit order)."""
        families = {}
        for position, port in enumerate(ports):
            families.setdefault(port.family, []).append((port.index, position))
        columns = {family: (tuple(index for index, _ in members),
                            np.array([position for _, position in members], dtype=np.intp))
                   for family, members in families.items()}
        widths = np.array([p.width for p in ports] or [0], dtype=np.int64)
        widest = int(widths.max())
        # Bits of a value: the low bytes of its int64 (little-endian); wider ports than 64
        # bits take the shift path, where numpy fills bits 64 and up with the sign.
        value_bits = 8 * -(-max(1, widest) // 8) if widest <= 64 else widest
        bit = np.arange(value_bits, dtype=np.int64)
        take = np.flatnonzero(bit[None, :] < widths[:, None])
        return columns, value_bits, take

    def _flat_indices(self, family, indices, shape):
        """Positions of ``indices`` in a flattened family array of index shape ``shape``."""
        key = (family, shape)
        if key not in self._flat:
            self._flat[key] = np.array([np.ravel_multi_index(index, shape) if index else 0
                                        for index in indices], dtype=np.intp)
        return self._flat[key]

    @staticmethod
    def _layout(manifest, direction):
        ports, offset = [], 0
        for entry in manifest["ports"]:
            if entry["direction"] != direction:
                continue
            ports.append(Port(entry["name"], entry["port"], tuple(entry["index"]),
                              entry["width"], entry["signed"], offset))
            offset += entry["width"]
        return ports

    def wrapper_verilog(self) -> str:
        """Verilog of ``tn_tb_top``: one instance of the design fed from a packed block.

        Python writes up to ``lanes`` vectors into ``in_block`` and their count into ``count``,
        then toggles ``go``. The wrapper applies them one per nanosecond, stores each output
        into ``out_block`` and toggles ``done``; Python reads all outputs in one go. The loop
        runs inside the simulator, so a batch costs four crossings however many vectors it
        holds; one instance also keeps elaboration fast for large designs.
        """
        inputs = [f"    .{p.name}(vector[{p.offset} +: {p.width}])" for p in self.inputs]
        outputs = [f"    .{p.name}(result[{p.offset} +: {p.width}])" for p in self.outputs]
        if self.latency:
            return self._clocked_wrapper(inputs, outputs)
        loop = (
            "    for (k = 0; k < count; k = k + 1) begin\n"
            f"      vector = in_block[k*{self.in_bits} +: {self.in_bits}];\n"
            "      #1;\n"
            f"      out_block[k*{self.out_bits} +: {self.out_bits}] = result;\n"
            "    end\n"
        )
        return self._wrapper_text(inputs + outputs, "", loop)

    def _clocked_wrapper(self, inputs, outputs):
        """The wrapper of a pipelined design: vector ``k`` is applied before rising edge ``k``
        and its output read ``latency`` edges later, just before edge ``k + latency``: one
        vector per clock, back to back, so every stage holds a different vector. ``rst`` is
        held low (the datapath registers have no reset)."""
        latency = self.latency
        loop = (
            f"    for (k = 0; k < count + {latency}; k = k + 1) begin\n"
            "      if (k < count)\n"
            f"        vector = in_block[k*{self.in_bits} +: {self.in_bits}];\n"
            "      #1;\n"
            f"      if (k >= {latency})\n"
            f"        out_block[(k-{latency})*{self.out_bits} +: {self.out_bits}] = result;\n"
            "      clk = 1;\n"
            "      #1;\n"
            "      clk = 0;\n"
            "    end\n"
        )
        ports = inputs + outputs + ["    .clk(clk)", "    .rst(1'b0)"]
        return self._wrapper_text(ports, "  reg  clk = 0;\n", loop)

    def _wrapper_text(self, ports, extra_regs, loop):
        """``tn_tb_top`` around the design: the packed blocks, the handshake registers, the
        instance, and ``loop`` run once per toggle of ``go``."""
        body = ",\n".join(ports)
        return (
            "// Test harness generated by tn_hw.testbench.harness: not part of the design.\n"
            "`timescale 1ns / 1ps\n"
            f"module {WRAPPER_TOP};\n"
            f"  reg  [{self.lanes * self.in_bits - 1}:0] in_block = 0;\n"
            f"  reg  [{self.lanes * self.out_bits - 1}:0] out_block = 0;\n"
            "  reg  [31:0] count = 0;\n"
            "  reg  go = 0;\n"
            "  reg  done = 0;\n"
            + extra_regs +
            f"  reg  [{self.in_bits - 1}:0] vector = 0;\n"
            f"  wire [{self.out_bits - 1}:0] result;\n"
            "  integer k;\n"
            f"  {self.top} dut (\n{body}\n  );\n"
            "  always @(go) begin\n"
            + loop +
            "    done = ~done;\n"
            "  end\n"
            "endmodule\n"
        )

    # -- packing -----------------------------------------------------------------------------

    def pack(self, arrays, start, count) -> int:
        """Pack vectors ``start .. start+count-1`` of ``arrays`` into the ``in_bus`` integer.

        ``arrays`` maps a port family to an int64 array of shape ``(batch, *index_shape)``.
        Lanes beyond ``count`` are zero. Vectorized over the whole batch: one gather per port
        family, one shift of every port value by every bit position, one ``packbits``.
        """
        if count <= 0:
            return 0
        columns, value_bits, take = self._pack_plan
        values = np.empty((count, len(self.inputs)), dtype="<i8")
        for family, (indices, positions) in columns.items():
            block = np.asarray(arrays[family][start:start + count])
            flat = self._flat_indices(family, indices, block.shape[1:])
            values[:, positions] = block.reshape(count, -1)[:, flat]
        if value_bits <= 64:
            low = values.view(np.uint8).reshape(count, -1, 8)[:, :, :value_bits // 8]
            bits = np.unpackbits(low, axis=-1, bitorder="little")
        else:
            shifts = np.minimum(np.arange(value_bits, dtype=np.int64), 63)
            bits = ((values[:, :, None] >> shifts) & 1).astype(np.uint8)
        bits = np.take(bits.reshape(count, -1), take, axis=1)
        return int.from_bytes(np.packbits(bits.reshape(-1), bitorder="little").tobytes(),
                              "little")

    def unpack(self, value: int, count) -> dict:
        """Split an ``out_bus`` integer into ``{port name: int64 array of count values}``.

        A lane of at most 64 bits is read as one ``uint64`` word per vector and each port cut
        out of it with a shift and a mask; wider lanes are summed bit by bit per port.
        """
        total = count * self.out_bits
        raw = np.frombuffer(value.to_bytes((self.lanes * self.out_bits + 7) // 8, "little"),
                            dtype=np.uint8)
        bits = np.unpackbits(raw, count=total, bitorder="little").reshape(count, self.out_bits)
        if self.out_bits <= 64:
            padded = np.zeros((count, 64), dtype=np.uint8)
            padded[:, :self.out_bits] = bits
            words = np.packbits(padded, axis=1, bitorder="little").view("<u8").reshape(count)
        result = {}
        for port in self.outputs:
            if self.out_bits <= 64:
                unsigned = (words >> np.uint64(port.offset)) & np.uint64((1 << port.width) - 1)
            else:
                field = bits[:, port.offset:port.offset + port.width].astype(np.uint64)
                weights = np.left_shift(np.uint64(1), np.arange(port.width, dtype=np.uint64))
                unsigned = (field * weights).sum(axis=1, dtype=np.uint64)
            if port.signed and port.width < 64:
                signed = unsigned.astype(np.int64)
                signed[signed >= (1 << (port.width - 1))] -= 1 << port.width
            elif port.signed:
                signed = unsigned.view(np.int64)
            else:
                signed = unsigned.astype(np.int64)
            result[port.name] = signed
        return result
