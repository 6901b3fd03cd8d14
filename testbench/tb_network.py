"""cocotb test: an exported network against its golden logits, every logit as an integer.

Runs inside the simulator; :func:`tn_hw.testbench.network_runner.run_network` builds the design
with the network wrapper and passes the configuration in ``TN_HW_TB_CONFIG`` (a JSON file: the
manifest, lanes, the ``.npz`` of inputs, golden logits and parameter values, and where to write
the logits the RTL produced). The golden logits come from the host, so this process needs
neither torch nor the model file.
"""

import cocotb
import numpy as np

from .harness import check_port_widths
from .network_runner import find_mismatches, network_layouts
from .sim import read_tb_config

CONFIG = read_tb_config()

MAX_REPORTED = 10


class NetworkTB:
    """Writes the parameters once, streams packed batches of samples, collects the logits."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self.layout, self.param_layout = network_layouts(config["manifest"], config["lanes"])
        check_port_widths(dut.dut, [(p["name"], p["width"]) for p in config["manifest"]["ports"]])
        self.outputs = len(self.layout.outputs)

    async def program(self, data):
        if self.param_layout is None:
            return
        arrays = {p.family: data[f"param_{p.family}"] for p in self.param_layout.inputs}
        self.dut.params.value = self.param_layout.pack(arrays, 0, 1)

    async def run(self, x):
        batch, lanes = len(x), self.layout.lanes
        got = np.zeros((batch, self.outputs), dtype=np.int64)
        in_block, out_block = self.dut.in_block, self.dut.out_block
        for start in range(0, batch, lanes):
            count = min(lanes, batch - start)
            in_block.value = self.layout.pack({"x": x}, start, count)
            self.dut.count.value = count
            self.dut.go.value = 1 - int(self.dut.go.value)
            await self.dut.done.value_change
            values = self.layout.unpack(out_block.value.to_unsigned(), count)
            for port in self.layout.outputs:
                got[start:start + count, port.index[0]] = values[port.name]
        return got


@cocotb.test(skip=CONFIG is None)
async def network_logits(dut):
    """Every sample through the RTL; every logit equal to the golden model's."""
    config = CONFIG
    data = np.load(config["data"])
    tb = NetworkTB(dut, config)
    await tb.program(data)
    got = await tb.run(data["x"])
    np.save(config["got"], got)
    mismatches = find_mismatches(data["expected"], got)
    if mismatches:
        shown = min(len(mismatches), MAX_REPORTED)
        lines = [f"{len(mismatches)} mismatching logits in {len(got)} samples, first {shown}:"]
        for sample, output, want, value in mismatches[:MAX_REPORTED]:
            lines.append(f"  sample {sample} logit {output}: expected {want}, got {value}")
        raise AssertionError("\n".join(lines))
    dut._log.info("%d samples x %d logits, 0 mismatches", len(got), tb.outputs)
