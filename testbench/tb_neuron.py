"""cocotb tests: the emitted Verilog against the PyTorch golden model, bit for bit.

This module runs inside the simulator. :mod:`tn_hw.testbench.runner` builds the design with the
lane wrapper (:mod:`tn_hw.testbench.harness`) and passes the configuration as a JSON file named
by ``TN_HW_TB_CONFIG`` (:func:`~tn_hw.testbench.sim.read_tb_config`): the manifest, lanes, seed,
the tests to run, where to write the summary, and the stimulus file: every test's vectors and
their golden outputs, computed by the runner (:func:`~tn_hw.testbench.vectors.write_stimulus`),
so that this module never imports torch.
"""

import cocotb
import numpy as np

from .harness import LaneLayout, check_port_widths
from .sim import read_tb_config, record_outputs, record_summary
from .vectors import describe_vector, read_stimulus

MAX_REPORTED = 5


CONFIG = read_tb_config()


class NeuronTB:
    """Drives packed lanes of the design and checks every output against the golden model."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self.layout = LaneLayout(config["manifest"], lanes=config["lanes"])
        check_port_widths(dut.dut, [(p.name, p.width)
                                    for p in self.layout.inputs + self.layout.outputs])
        # Handles cached: every lookup is a crossing into the simulator. ``go`` is read once
        # and then toggled from the copy kept here; ``count`` is written only when it changes.
        self.in_block = dut.in_block
        self.out_block = dut.out_block
        self.count = dut.count
        self.go = dut.go
        self.done = dut.done
        self._go = int(self.go.value)
        self._count = None
        self.seed = config["seed"]

    async def run(self, name):
        """Apply all vectors, compare, record a summary; fail with the first mismatches.

        Per batch of ``lanes`` vectors: write the packed inputs (and the count when it
        changes), toggle ``go``, wait for ``done``, read the packed outputs. Every output is
        kept and compared with the golden model at the end, as integers, in one vectorized
        comparison per port.
        """
        vectors, expected = read_stimulus(self.config["stimulus"], name)
        batch = len(next(iter(vectors.values())))
        lanes = self.layout.lanes
        outputs = self.layout.outputs
        received = {port.name: np.empty(batch, dtype=np.int64) for port in outputs}
        for start in range(0, batch, lanes):
            count = min(lanes, batch - start)
            self.in_block.value = self.layout.pack(vectors, start, count)
            if count != self._count:
                self.count.value = self._count = count
            self._go ^= 1
            self.go.value = self._go  # any change starts the batch
            await self.done.value_change
            got = self.layout.unpack(self.out_block.value.to_unsigned(), count)
            for port in outputs:
                received[port.name][start:start + count] = got[port.name]
        total, first = 0, []
        for position, port in enumerate(outputs):
            want = expected[port.family][(slice(None),) + port.index]
            bad = np.flatnonzero(received[port.name] != want)
            total += len(bad)
            # In the order the batches came back: batch, then port, then lane.
            first += [(index // lanes, position, int(index)) for index in bad[:MAX_REPORTED]]
        mismatches = []
        for _, position, index in sorted(first)[:MAX_REPORTED]:
            port = outputs[position]
            want = expected[port.family][(index,) + port.index]
            mismatches.append((index, port.name, int(want), int(received[port.name][index])))
        self._record(name, batch, total)
        if self.config.get("outputs"):  # only when the runner asked (comparing simulators)
            for port in outputs:
                record_outputs(self.config, f"{name} {port.name}", received[port.name])
        if total:
            lines = [f"{name}: {total} mismatches in {batch} vectors, first {len(mismatches)} "
                     f"below (seed {self.seed}; reproduce with TN_HW_SEED={self.seed})"]
            for index, port, want, got in mismatches:
                lines.append(f"  vector {index}: {describe_vector(vectors, index)}")
                lines.append(f"    port {port}: expected {want}, got {got}")
            raise AssertionError("\n".join(lines))
        self.dut._log.info("%s: %d vectors, 0 mismatches", name, batch)

    def _record(self, name, batch, mismatches):
        record_summary(self.config, name, vectors=batch, mismatches=mismatches)


def _enabled(test):
    return CONFIG is not None and test in CONFIG["tests"]


@cocotb.test(skip=not _enabled("directed"))
async def directed(dut):
    """Corners: all-min, all-max, ties everywhere, each polarity, extreme bias."""
    await NeuronTB(dut, CONFIG).run("directed")


@cocotb.test(skip=not _enabled("seeded_random"))
async def seeded_random(dut):
    """Seeded random vectors, half uniform, half drawn from the edges of each range."""
    await NeuronTB(dut, CONFIG).run("seeded_random")


@cocotb.test(skip=not _enabled("exhaustive"))
async def exhaustive(dut):
    """Every (x, w, p) of a single cell."""
    await NeuronTB(dut, CONFIG).run("exhaustive")
