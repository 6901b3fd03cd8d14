"""cocotb tests of a stream design (valid/ready, :mod:`tn_hw.hdl.stream`), with a clock.

Runs inside the simulator; :func:`tn_hw.testbench.stream_runner.run_stream_regression` builds
the design with the stream wrapper and passes the configuration in ``TN_HW_TB_CONFIG``.

Every beat carries its own ``x`` and its own thresholds/weights, polarities and bias (the
design samples them with the beat), so a beat that comes out of the wrong stage, twice, or not
at all gives a wrong integer. Checked, bit for bit against :mod:`tn_hw.reference`:

- the output beats between two resets are the golden outputs of the beats accepted between
  them, in order, none lost, none extra; after the last reset every accepted beat comes out;
- the stream rules on ``y``: once ``y__valid`` is high it stays high, with the same payload,
  until ``y__ready`` takes the beat;
- back to back (``x__valid`` and ``y__ready`` always high) beat ``k`` leaves exactly at cycle
  ``k + latency``: one beat per clock, and the latency is the manifest's.

A reset in the middle of a stream drops the beats in flight (documented in hdl/stream.py);
handshakes while ``rst`` is high do not count, so the driver keeps ``x__valid`` and
``y__ready`` low then.
"""

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from ..spec import KernelSpec
from .harness import check_port_widths
from .sim import read_tb_config, record_outputs, record_summary
from .stream_runner import config_layout
from .valid_ready import HoldMonitor, Scoreboard, StreamSink, StreamSource, bit
from .vectors import describe_vector, read_stimulus

MAX_REPORTED = 5
PERIOD_NS = 10


CONFIG = read_tb_config()


class StreamTB:
    """Clock, reset, a beat source with gaps and a sink with back-pressure
    (:mod:`.valid_ready`), and the checks."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        manifest = config["manifest"]
        self.spec = KernelSpec.from_description(manifest["parameters"])
        self.latency = manifest["latency"]
        self.seed = config["seed"]
        self.cfg_layout = config_layout(manifest)
        check_port_widths(dut.dut, [(p["name"], p["width"]) for p in manifest["ports"]])
        self.outputs = self.spec.outputs
        self.out_width = self.spec.output_width
        # Handles cached: every lookup is a crossing into the simulator.
        self.clk, self.rst, self.cfg = dut.clk, dut.rst, dut.cfg
        self.x_payload, self.x_valid, self.x_ready = dut.x_payload, dut.x_valid, dut.x_ready
        self.y_payload, self.y_valid, self.y_ready = dut.y_payload, dut.y_valid, dut.y_ready
        self.rng = np.random.default_rng([self.seed, 7])

    async def start(self):
        Clock(self.clk, PERIOD_NS, unit="ns").start()
        await self.reset()

    async def reset(self, cycles=2):
        """Synchronous reset: ``rst`` high over ``cycles`` rising edges, no handshakes."""
        self.x_valid.value = 0
        self.y_ready.value = 0
        self.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.clk)
        self.rst.value = 0

    # -- packing -----------------------------------------------------------------------------

    def _pack_x(self, x):
        width, mask = self.spec.width, (1 << self.spec.width) - 1
        return sum((int(v) & mask) << (i * width) for i, v in enumerate(x))

    def _unpack_y(self, value):
        width, mask = self.out_width, (1 << self.out_width) - 1
        items = []
        for o in range(self.outputs):
            v = (value >> (o * width)) & mask
            items.append(v - (1 << width) if v >> (width - 1) else v)
        return items

    # -- one stream ---------------------------------------------------------------------------

    async def stream(self, vectors, *, valid_levels, ready_levels, resets=(), phase=64):
        """Send every vector as a beat and collect the output beats.

        ``valid_levels``/``ready_levels``: probabilities of offering a beat / taking one, a new
        one drawn from the list every ``phase`` cycles. ``resets``: counts of accepted beats
        after which a reset is applied, as soon as a beat is in flight (when the design has
        stages). Returns ``(segments, got, out_cycles, violations, cycles)``.
        """
        batch = len(vectors["x"])
        cfgs = [self.cfg_layout.pack(vectors, b, 1) for b in range(batch)]

        def set_cfg(beat):
            self.cfg.value = cfgs[beat]

        source = StreamSource(self.x_valid, self.x_payload, self.rng, on_offer=set_cfg)
        source.send(self._pack_x(vectors["x"][b]) for b in range(batch))
        sink = StreamSink(self.y_ready, self.rng)
        monitor = HoldMonitor("y__valid", "y__ready", "y__payload")
        segments, got, out_cycles = [[]], [[]], [[]]
        violations = []
        resets = sorted(resets)
        cycle, limit = 0, 64 * batch + 1000
        while True:
            if cycle % phase == 0:
                source.p_valid = float(self.rng.choice(valid_levels))
                sink.p_ready = float(self.rng.choice(ready_levels))
            source.drive()
            ready = sink.drive()
            await RisingEdge(self.clk)
            # Sampled at the edge: the values the design saw.
            x_ready, y_valid = bit(self.x_ready.value), bit(self.y_valid.value)
            if x_ready is None or y_valid is None:
                violations.append(f"cycle {cycle}: x__ready or y__valid is not 0 or 1 "
                                  f"({self.x_ready.value}, {self.y_valid.value})")
                break
            beat = source.sample(x_ready)
            if beat is not None:
                segments[-1].append(beat)
            payload = int(self.y_payload.value) if y_valid else None
            if monitor.sample(cycle, y_valid, payload, ready):
                got[-1].append(self._unpack_y(payload))
                out_cycles[-1].append(cycle)
            cycle += 1
            in_flight = len(segments[-1]) - len(got[-1])
            if resets and len(segments[-1]) >= resets[0] and (in_flight or not self.latency):
                resets.pop(0)
                await self.reset()
                source.idle()
                sink.idle()
                monitor.reset()
                segments.append([])
                got.append([])
                out_cycles.append([])
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
        return segments, got, out_cycles, monitor.violations + violations, cycle

    def check(self, name, vectors, expected, segments, got, violations, extra=()):
        """Compare every output beat with the golden model; record the summary; fail loudly."""
        expected = expected["y"].reshape(len(vectors["x"]), -1)
        board = Scoreboard(MAX_REPORTED)
        problems, mismatches = list(violations) + list(extra), 0
        for s, (beats, outs) in enumerate(zip(segments, got, strict=True)):
            record_outputs(self.config, f"{name} segment {s} beats", beats)
            record_outputs(self.config, f"{name} segment {s}", [v for out in outs for v in out])
            last = s == len(segments) - 1
            if len(outs) > len(beats) or (last and len(outs) != len(beats)):
                mismatches += abs(len(beats) - len(outs))
                problems.append(f"segment {s}: {len(beats)} beats accepted, {len(outs)} came out")
            for k, (beat, out) in enumerate(zip(beats, outs, strict=False)):
                board.compare(lambda s=s, k=k, beat=beat: (
                    f"segment {s}, output beat {k} (input beat {beat}: "
                    f"{describe_vector(vectors, beat)})"), expected[beat].tolist(), out)
        mismatches += board.mismatches
        problems += board.reports
        accepted = sum(len(b) for b in segments)
        self._record(name, accepted, mismatches + len(violations) + len(extra))
        if problems or mismatches:
            raise AssertionError(f"{name}: {mismatches} mismatching beats, "
                                 f"{len(violations)} protocol violations (seed {self.seed}; "
                                 f"reproduce with TN_HW_SEED={self.seed})\n  "
                                 + "\n  ".join(problems[:2 * MAX_REPORTED]))
        self.dut._log.info("%s: %d beats, 0 mismatches", name, accepted)

    def _record(self, name, beats, mismatches):
        record_summary(self.config, name, vectors=beats, mismatches=mismatches)

    def stimulus(self, name):
        """The beats of test ``name`` and their golden outputs, computed by the runner
        (:func:`~tn_hw.testbench.stream_runner.stream_test_vectors`)."""
        return read_stimulus(self.config["stimulus"], name)


def _enabled(test):
    return CONFIG is not None and test in CONFIG["tests"]


@cocotb.test(skip=not _enabled("back_to_back"))
async def back_to_back(dut):
    """Valid and ready always high: one beat per clock, beat k out at cycle k + latency."""
    tb = StreamTB(dut, CONFIG)
    await tb.start()
    vectors, expected = tb.stimulus("back_to_back")
    segments, got, cycles, violations, _ = await tb.stream(
        vectors, valid_levels=[1.0], ready_levels=[1.0])
    late = [f"output beat {k} left at cycle {c}, not {k + tb.latency}"
            for k, c in enumerate(cycles[0]) if c != k + tb.latency][:MAX_REPORTED]
    tb.check("back_to_back", vectors, expected, segments, got, violations, late)


@cocotb.test(skip=not _enabled("random_handshake"))
async def random_handshake(dut):
    """Directed corners and random beats under random valid gaps and ready back-pressure."""
    tb = StreamTB(dut, CONFIG)
    await tb.start()
    vectors, expected = tb.stimulus("random_handshake")
    levels = [1.0, 0.9, 0.5, 0.1]
    segments, got, _, violations, _ = await tb.stream(vectors, valid_levels=levels,
                                                      ready_levels=levels, phase=32)
    tb.check("random_handshake", vectors, expected, segments, got, violations)


@cocotb.test(skip=not _enabled("reset_mid_stream"))
async def reset_mid_stream(dut):
    """Random handshakes with resets while beats are in flight: nothing stale comes out."""
    tb = StreamTB(dut, CONFIG)
    await tb.start()
    vectors, expected = tb.stimulus("reset_mid_stream")
    count = len(vectors["x"])
    resets = [count // 4, count // 4, count // 4]  # beats accepted since the last reset
    segments, got, _, violations, _ = await tb.stream(
        vectors, valid_levels=[1.0, 0.7], ready_levels=[1.0, 0.5, 0.2], resets=resets,
        phase=16)
    short = [] if len(segments) == 4 else [f"{len(segments) - 1} resets applied, not 3"]
    dropped = sum(len(b) - len(o) for b, o in zip(segments[:-1], got[:-1], strict=True))
    if tb.latency and not dropped:
        short.append("no beat was in flight at any reset: the test did not test the reset")
    tb.dut._log.info("reset_mid_stream: %d beats in flight dropped by 3 resets", dropped)
    tb.check("reset_mid_stream", vectors, expected, segments, got, violations, short)
