"""cocotb tests: the emitted Verilog against the PyTorch golden model, bit for bit.

This module runs inside the simulator. :mod:`tn_hw.testbench.runner` builds the design with the
lane wrapper (:mod:`tn_hw.testbench.harness`) and passes the configuration as a JSON file named
by ``TN_HW_TB_CONFIG`` (:func:`~tn_hw.testbench.sim.read_tb_config`): the manifest, lanes, seed,
vector counts, and where to write the summary.
"""

import cocotb
import numpy as np

from ..spec import KernelSpec
from .harness import LaneLayout, check_port_widths
from .sim import read_tb_config, record_outputs, record_summary
from .vectors import (
    describe_vector,
    directed_vectors,
    exhaustive_cell_vectors,
    golden_outputs,
    random_vectors,
)

MAX_REPORTED = 5


CONFIG = read_tb_config()


def _spec(config):
    return KernelSpec.from_description(config["manifest"]["parameters"])


class NeuronTB:
    """Drives packed lanes of the design and checks every output against the golden model."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self.kind = config["manifest"]["kind"]
        self.spec = _spec(config)
        self.layout = LaneLayout(config["manifest"], lanes=config["lanes"])
        check_port_widths(dut.dut, [(p.name, p.width)
                                    for p in self.layout.inputs + self.layout.outputs])
        # Handles cached: every lookup is a crossing into the simulator.
        self.in_block = dut.in_block
        self.out_block = dut.out_block
        self.count = dut.count
        self.go = dut.go
        self.done = dut.done
        self.seed = config["seed"]

    async def run(self, name, vectors):
        """Apply all vectors, compare, record a summary; fail with the first mismatches."""
        expected = golden_outputs(self.spec, self.kind, vectors)
        batch = len(next(iter(vectors.values())))
        lanes = self.layout.lanes
        mismatches, total = [], 0
        # Only when the runner asked for the outputs (comparing simulators).
        received = {port.name: [] for port in self.layout.outputs} \
            if self.config.get("outputs") else None
        for start in range(0, batch, lanes):
            count = min(lanes, batch - start)
            self.in_block.value = self.layout.pack(vectors, start, count)
            self.count.value = count
            self.go.value = 1 - int(self.go.value)  # any change starts the batch
            await self.done.value_change
            got = self.layout.unpack(self.out_block.value.to_unsigned(), count)
            for port in self.layout.outputs:
                if received is not None:
                    received[port.name].append(got[port.name])
                want = expected[port.family][(slice(start, start + count),) + port.index]
                bad = np.nonzero(got[port.name] != want)[0]
                total += len(bad)
                for lane in bad[:max(0, MAX_REPORTED - len(mismatches))]:
                    mismatches.append((start + lane, port.name, int(want[lane]),
                                       int(got[port.name][lane])))
        self._record(name, batch, total)
        for port, values in (received or {}).items():
            record_outputs(self.config, f"{name} {port}",
                           np.concatenate(values) if values else [])
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
    tb = NeuronTB(dut, CONFIG)
    rng = np.random.default_rng([tb.seed, 1])
    await tb.run("directed", directed_vectors(tb.spec, tb.kind, rng))


@cocotb.test(skip=not _enabled("seeded_random"))
async def seeded_random(dut):
    """Seeded random vectors, half uniform, half drawn from the edges of each range."""
    tb = NeuronTB(dut, CONFIG)
    rng = np.random.default_rng([tb.seed, 2])
    await tb.run("seeded_random", random_vectors(tb.spec, tb.kind, rng, CONFIG["random_vectors"]))


@cocotb.test(skip=not _enabled("exhaustive"))
async def exhaustive(dut):
    """Every (x, w, p) of a single cell."""
    tb = NeuronTB(dut, CONFIG)
    await tb.run("exhaustive", exhaustive_cell_vectors(tb.spec))
