"""cocotb tests: an exported network against its golden logits, every logit as an integer.

Runs inside the simulator; :func:`tn_hw.testbench.network_runner.run_network` builds the design
with the network wrapper and passes the configuration in ``TN_HW_TB_CONFIG`` (a JSON file: the
manifest, lanes, the ``.npz`` of inputs, golden logits and parameter values, and where to write
the logits the RTL produced). The golden logits come from the host, so this process needs
neither torch nor the model file.

A combinational network runs ``network_logits`` (packed batches). A clocked stream network
(:mod:`tn_hw.hdl.network_stream`) runs ``network_stream``, stepped once per clock with the
valid/ready BFM (:mod:`.valid_ready`):

1. every sample as a beat under random valid gaps and ready back-pressure (phases of
   probability 1, 0.9, 0.5, 0.1): these are the logits written back and compared;
2. back to back (valid and ready always high): output beat ``k`` leaves exactly at cycle
   ``k * initiation_interval + latency`` (the manifest's), one inference per clock unless the
   network is folded (``reuse``);
3. three resets while beats are in flight: the beats in flight are dropped and every beat after
   a reset is the golden output of a beat accepted after it (a valid bit the reset does not
   clear gives a stale beat: wrong count or wrong logits).

Throughout, the hold rule on ``y`` (valid stays high with the same payload until taken).
"""

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from .harness import check_port_widths
from .network_runner import find_mismatches, is_stream, network_layouts
from .sim import read_tb_config
from .stream_runner import config_layout
from .valid_ready import HoldMonitor, Scoreboard, StreamSink, StreamSource, bit

CONFIG = read_tb_config()

MAX_REPORTED = 10
PERIOD_NS = 10


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


@cocotb.test(skip=CONFIG is None or is_stream(CONFIG["manifest"]))
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


def _element(manifest, name):
    entry = next(p for p in manifest["ports"] if p["name"] == name)
    return entry["element"]["width"], entry["element"]["count"]


class NetworkStreamTB:
    """Clock, reset, the parameters in ``cfg``, a beat source with gaps and a sink with
    back-pressure (:mod:`.valid_ready`)."""

    def __init__(self, dut, config):
        self.dut = dut
        manifest = config["manifest"]
        self.latency = manifest["latency"]
        self.initiation_interval = manifest.get("initiation_interval", 1)
        check_port_widths(dut.dut, [(p["name"], p["width"]) for p in manifest["ports"]])
        self.cfg_layout = config_layout(manifest)
        self.in_width, self.inputs = _element(manifest, "x__payload")
        self.out_width, self.outputs = _element(manifest, "y__payload")
        self.rng = np.random.default_rng([int(config.get("seed", 1)), 11])
        self.clk, self.rst = dut.clk, dut.rst
        self.x_payload, self.x_valid, self.x_ready = dut.x_payload, dut.x_valid, dut.x_ready
        self.y_payload, self.y_valid, self.y_ready = dut.y_payload, dut.y_valid, dut.y_ready

    async def start(self):
        Clock(self.clk, PERIOD_NS, unit="ns").start()
        await self.reset()

    async def reset(self, cycles=2):
        """Synchronous reset over ``cycles`` rising edges, no handshakes."""
        self.x_valid.value = 0
        self.y_ready.value = 0
        self.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.clk)
        self.rst.value = 0

    def program(self, data):
        """The parameters of ports mode, written once (configuration, not per beat)."""
        if self.cfg_layout.inputs:
            arrays = {p.family: data[f"param_{p.family}"] for p in self.cfg_layout.inputs}
            self.dut.cfg.value = self.cfg_layout.pack(arrays, 0, 1)

    def pack(self, row):
        mask = (1 << self.in_width) - 1
        return sum((int(v) & mask) << (i * self.in_width) for i, v in enumerate(row))

    def unpack(self, value):
        mask, items = (1 << self.out_width) - 1, []
        for o in range(self.outputs):
            v = (value >> (o * self.out_width)) & mask
            items.append(v - (1 << self.out_width) if v >> (self.out_width - 1) else v)
        return items

    async def stream(self, x, *, valid_levels, ready_levels, resets=(), phase=32):
        """Send every row of ``x`` as a beat; return ``(segments, got, out_cycles,
        violations)`` (per reset segment: accepted beat indices, output logits, cycles)."""
        source = StreamSource(self.x_valid, self.x_payload, self.rng)
        source.send(self.pack(row) for row in x)
        sink = StreamSink(self.y_ready, self.rng)
        monitor = HoldMonitor("y__valid", "y__ready", "y__payload")
        segments, got, out_cycles, violations = [[]], [[]], [[]], []
        resets = list(resets)
        cycle, limit = 0, 64 * self.initiation_interval * len(x) + 1000
        while True:
            if cycle % phase == 0:
                source.p_valid = float(self.rng.choice(valid_levels))
                sink.p_ready = float(self.rng.choice(ready_levels))
            source.drive()
            ready = sink.drive()
            await RisingEdge(self.clk)
            x_ready, y_valid = bit(self.x_ready.value), bit(self.y_valid.value)
            if x_ready is None or y_valid is None:
                violations.append(f"cycle {cycle}: x__ready or y__valid is not 0 or 1")
                break
            beat = source.sample(x_ready)
            if beat is not None:
                segments[-1].append(beat)
            payload = int(self.y_payload.value) if y_valid else None
            if monitor.sample(cycle, y_valid, payload, ready):
                got[-1].append(self.unpack(payload))
                out_cycles[-1].append(cycle)
            cycle += 1
            if resets and len(segments[-1]) >= resets[0] and len(segments[-1]) > len(got[-1]):
                resets.pop(0)
                await self.reset()
                source.idle()
                sink.idle()
                monitor.reset()
                for part in (segments, got, out_cycles):
                    part.append([])
                cycle += 2
                continue
            if source.done and not resets and len(got[-1]) >= len(segments[-1]):
                break
            if cycle > limit:
                violations.append(f"no progress: {len(got[-1])} of {len(segments[-1])} beats "
                                  f"out after {cycle} cycles")
                break
        self.x_valid.value = 0
        self.y_ready.value = 0
        return segments, got, out_cycles, monitor.violations + violations


def _compare(name, expected, segments, got, board, problems):
    """Every output beat of every segment against the golden logits of its input beat."""
    for s, (beats, outs) in enumerate(zip(segments, got, strict=True)):
        last = s == len(segments) - 1
        if len(outs) > len(beats) or (last and len(outs) != len(beats)):
            problems.append(f"{name}, segment {s}: {len(beats)} beats accepted, {len(outs)} "
                            "came out")
        for k, (beat, out) in enumerate(zip(beats, outs, strict=False)):
            board.compare(f"{name}, segment {s}, output beat {k} (sample {beat})",
                          expected[beat].tolist(), out)


@cocotb.test(skip=CONFIG is None or not is_stream(CONFIG["manifest"]))
async def network_stream(dut):
    """Every sample through the clocked network under random handshakes, back to back with
    the timing of each beat, and with resets in flight; every logit equal to the golden one."""
    config = CONFIG
    data = np.load(config["data"])
    x, expected = data["x"], data["expected"]
    tb = NetworkStreamTB(dut, config)
    await tb.start()
    tb.program(data)
    board, problems = Scoreboard(MAX_REPORTED), []
    # 1. All samples, random gaps and back-pressure: the logits handed back.
    levels = [1.0, 0.9, 0.5, 0.1]
    segments, outs, _, violations = await tb.stream(x, valid_levels=levels,
                                                    ready_levels=levels)
    problems += violations
    no_output = -(1 << (tb.out_width - 1)) - 1  # outside the logit range: a lost beat
    got = np.full(expected.shape, no_output, dtype=np.int64)
    for beat, out in zip(segments[0], outs[0], strict=False):
        got[beat] = out
    np.save(config["got"], got)
    _compare("random_handshake", expected, segments, outs, board, problems)
    # 2. Back to back: beat k out at cycle k * initiation_interval + latency.
    count = min(len(x), 4 * tb.latency + 16)
    segments, outs, cycles, violations = await tb.stream(x[:count], valid_levels=[1.0],
                                                         ready_levels=[1.0])
    problems += violations
    ii = tb.initiation_interval
    problems += [f"back_to_back: output beat {k} left at cycle {c}, not {k * ii + tb.latency}"
                 for k, c in enumerate(cycles[0]) if c != k * ii + tb.latency][:MAX_REPORTED]
    _compare("back_to_back", expected, segments, outs, board, problems)
    # 3. Resets while beats are in flight.
    count = min(len(x), 48)
    segments, outs, _, violations = await tb.stream(
        x[:count], valid_levels=[1.0, 0.7], ready_levels=[1.0, 0.5, 0.2],
        resets=[count // 4] * 3, phase=16)
    problems += violations
    if len(segments) != 4:
        problems.append(f"reset_mid_stream: {len(segments) - 1} resets applied, not 3")
    _compare("reset_mid_stream", expected, segments, outs, board, problems)
    problems += board.reports
    if problems or board.mismatches:
        raise AssertionError(f"{board.mismatches} mismatching beats of {board.checked}, "
                             f"{len(problems)} problems:\n  "
                             + "\n  ".join(problems[:2 * MAX_REPORTED]))
    dut._log.info("%d samples x %d logits, %d beats checked, 0 mismatches", len(x),
                  tb.outputs, board.checked)
