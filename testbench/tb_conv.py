"""cocotb tests of a streaming convolution layer against the PyTorch integer conv, bit for bit.

This module runs inside the simulator. :func:`tn_hw.testbench.conv_runner.run_conv_regression`
builds the emitted layer and passes the configuration in ``TN_HW_TB_CONFIG`` (a JSON file):
the manifest, seed, which tests to run, where to write the summary, and the
stimulus file: each test's thresholds/weights, frames and golden outputs, computed by the runner
(:func:`~tn_hw.testbench.conv_runner.conv_stimulus`) so that this module never imports torch.

One coroutine drives and samples the streams at every falling edge of the clock: it sets the
input valid/payload and the output ready for the coming rising edge, waits for the values to
settle (``ReadOnly``), and records the handshakes that the rising edge will complete. Every
output pixel is compared with :func:`tn_hw.reference.network.conv2d` as integers; a mismatch
reports frame, output position, output channel, expected, got and the seed.
"""

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from ..conv import ConvSpec
from .harness import check_port_widths
from .sim import read_tb_config, record_outputs, record_summary
from .valid_ready import HoldMonitor, Scoreboard, StreamSink, StreamSource

MAX_REPORTED = 5
PERIOD_NS = 10


CONFIG = read_tb_config()


class ConvTB:
    """Clock, reset, programming, and a stream driver/checker for one layer (source, sink,
    hold monitor and scoreboard of :mod:`.valid_ready`)."""

    def __init__(self, dut, config, test):
        self.dut = dut
        self.config = config
        self.spec = ConvSpec.from_description(config["manifest"]["parameters"])
        self.seed = config["seed"]
        with np.load(config["stimulus"]) as data:
            self.stimulus = {key.split(".", 1)[1]: data[key] for key in data.files
                             if key.split(".", 1)[0] == test}
        # Gaps and back-pressure continue the test's random stream where the runner left it.
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = config["rng_states"][test]
        k = self.spec.kernel
        self.out_width = k.output_width
        self.ports = {p["name"]: p for p in config["manifest"]["ports"]}
        check_port_widths(dut, [(p["name"], p["width"]) for p in config["manifest"]["ports"]])
        # Handles cached: every lookup is a crossing into the simulator.
        self.clk, self.rst = dut.clk, dut.rst
        self.i_valid, self.i_payload, self.i_ready = dut.i__valid, dut.i__payload, dut.i__ready
        self.o_valid, self.o_payload, self.o_ready = dut.o__valid, dut.o__payload, dut.o__ready
        self.cycle = 0

    async def start(self):
        Clock(self.clk, PERIOD_NS, unit="ns").start()
        self.i_valid.value = 0
        self.o_ready.value = 0
        self.i_payload.value = 0
        await self.reset()

    async def reset(self, cycles=2):
        self.rst.value = 1
        self.i_valid.value = 0
        self.o_ready.value = 0
        for _ in range(cycles):
            await FallingEdge(self.clk)
            self.cycle += 1
        self.rst.value = 0

    def program(self, suffix=""):
        """Set the thresholds/weights, polarities and biases the runner drew (``suffix`` "2":
        the ones programmed during a reset)."""
        k = self.spec.kernel
        w, bias = self.stimulus[f"w{suffix}"], self.stimulus[f"bias{suffix}"]
        p = self.stimulus.get(f"p{suffix}")
        for o in range(k.outputs):
            getattr(self.dut, f"bias__{o}").value = int(bias[o])
            for i in range(k.n_inputs):
                getattr(self.dut, f"w__{o}__{i}").value = int(w[o, i])
                if p is not None:
                    getattr(self.dut, f"p__{o}__{i}").value = int(p[o, i])

    def _pack_pixels(self, frame):
        """Beats of one frame in raster order; channel c at bits ``[c*W +: W]``."""
        width = self.spec.kernel.width
        mask = (1 << width) - 1
        c, h, w = frame.shape
        beats = []
        for r in range(h):
            for col in range(w):
                value = 0
                for ch in range(c):
                    value |= (int(frame[ch, r, col]) & mask) << (ch * width)
                beats.append(value)
        return beats

    def _unpack_outputs(self, raw):
        width, outputs = self.out_width, self.spec.kernel.outputs
        if isinstance(raw, str):  # X or Z bits: each output shows its bits as text
            return [raw[len(raw) - (o + 1) * width:len(raw) - o * width] for o in range(outputs)]
        mask, sign = (1 << width) - 1, 1 << (width - 1)
        values = []
        for o in range(outputs):
            v = (raw >> (o * width)) & mask
            values.append(v - (1 << width) if v & sign else v)
        return values

    async def stream(self, frames, expected, *, p_valid, p_ready, reset_at=None,
                     reprogram=None):
        """Stream ``frames`` through the layer and check every output pixel.

        Parameters
        ----------
        frames : ndarray ``(F, C_in, H, W)``
        expected : ndarray ``(F, C_out, H_out, W_out)``
        p_valid, p_ready : float
            Probability that the input offers a beat / the output is ready in a cycle.
        reset_at : (int, int), optional
            ``(frame, beats)``: after ``beats`` beats of ``frame`` were accepted, reset the layer;
            the rest of that frame is dropped and the next frame starts clean.
        reprogram : callable, optional
            Called during that reset; returns the expected outputs of the frames after it
            (new thresholds/weights).

        Returns
        -------
        dict
            Frames, output pixels checked, mismatches, and the cycle each frame's first beat
            was accepted.
        """
        spec = self.spec
        ho, wo = spec.out_image
        per_frame = ho * wo
        n_frames = len(frames)
        pixels = spec.image[0] * spec.image[1]   # input beats per frame
        source = StreamSource(self.i_valid, self.i_payload, self.rng)
        for f in frames:
            source.send(self._pack_pixels(f))
        sink = StreamSink(self.o_ready, self.rng)
        sink.p_ready, source.p_valid = p_ready, p_valid
        monitor = HoldMonitor("output valid", "output ready", "output payload")
        board = Scoreboard(MAX_REPORTED)
        out_frame, out_pixel = 0, 0  # next output pixel expected
        first_beat_cycle = {}
        checked, received = 0, []
        protocol = []
        # Full rate never waits more than a frame and a bit; back-pressure stretches that.
        budget = (n_frames + 2) * spec.cycles_per_frame * 10 + 1000
        idle_after = 0
        while True:
            if out_frame >= n_frames:
                # Everything checked: a few more cycles must bring no spurious output.
                idle_after += 1
                if idle_after > spec.padded_image[1] * (spec.padding + 1) + 8:
                    break
            if budget == 0:
                break
            budget -= 1
            frame, beat = divmod(source.accepted, pixels)  # next input beat to offer
            if reset_at is not None and (frame, beat) == tuple(reset_at) and \
                    not source.offering:
                await self.reset()
                source.idle()
                sink.idle()
                monitor.reset()
                if reprogram is not None:
                    expected = np.concatenate([expected[:frame + 1], reprogram()])
                # What the layer produced of the frame so far was checked; drop the rest.
                source.skip(pixels - beat)
                out_frame, out_pixel = frame + 1, 0
                reset_at = None
            source.drive()
            ready = sink.drive()
            await ReadOnly()
            o_valid = int(self.o_valid.value)
            raw = None
            if o_valid:
                value = self.o_payload.value
                raw = int(value) if value.is_resolvable else str(value)
            if monitor.sample(self.cycle, o_valid, raw, ready):
                got = self._unpack_outputs(raw)
                received += [self.cycle] + list(got)
                if out_frame >= n_frames:
                    protocol.append(f"cycle {self.cycle}: output pixel after the last frame")
                else:
                    r, c = divmod(out_pixel, wo)
                    want = [int(v) for v in expected[out_frame, :, r, c]]
                    checked += 1
                    for o, (a, b) in enumerate(zip(want, got, strict=True)):
                        board.compare(f"frame {out_frame}, output pixel (row {r}, col {c}), "
                                      f"output {o}", a, b)
                    out_pixel += 1
                    if out_pixel == per_frame:
                        out_frame, out_pixel = out_frame + 1, 0
            accepted = source.sample(int(self.i_ready.value) if source.offering else 0)
            if accepted is not None and accepted % pixels == 0:
                first_beat_cycle[accepted // pixels] = self.cycle
            await FallingEdge(self.clk)
            self.cycle += 1
        self.i_valid.value = 0
        missing = []
        if out_frame < n_frames:
            missing.append(f"frame {out_frame}: got {out_pixel} of {per_frame} output pixels "
                           f"before the cycle budget ran out")
        return {"frames": n_frames, "checked": checked, "mismatches": board.mismatches,
                "received": received,
                "reported": board.reports, "protocol": monitor.violations + protocol,
                "missing": missing, "first_beat_cycle": first_beat_cycle}

    def finish(self, name, outcome, extra=()):
        """Record the summary and fail with every problem found."""
        problems = outcome["protocol"][:MAX_REPORTED] + outcome["missing"] + list(extra)
        record_summary(self.config, name, vectors=outcome["checked"], frames=outcome["frames"],
                       mismatches=outcome["mismatches"] + len(problems), cycles=self.cycle)
        record_outputs(self.config, f"{name} (cycle, outputs) per output pixel",
                       outcome["received"])
        if outcome["mismatches"] or problems:
            lines = [f"{name}: {outcome['mismatches']} mismatching outputs in "
                     f"{outcome['checked']} output pixels (seed {self.seed}; reproduce with "
                     f"TN_HW_SEED={self.seed})"]
            lines += [f"  {line}" for line in outcome["reported"] + problems]
            raise AssertionError("\n".join(lines))
        self.dut._log.info("%s: %d frames, %d output pixels, 0 mismatches", name,
                           outcome["frames"], outcome["checked"])


def _enabled(test):
    return CONFIG is not None and test in CONFIG["tests"]


@cocotb.test(skip=not _enabled("full_rate"))
async def full_rate(dut):
    """Back-to-back frames with no idle cycle: input always valid, output always ready.

    Also checks the throughput the manifest states: consecutive frames start exactly
    ``cycles_per_frame`` cycles apart.
    """
    tb = ConvTB(dut, CONFIG, "full_rate")
    await tb.start()
    tb.program()
    outcome = await tb.stream(tb.stimulus["frames"], tb.stimulus["expected"], p_valid=1.0,
                              p_ready=1.0)
    starts = [outcome["first_beat_cycle"][f] for f in sorted(outcome["first_beat_cycle"])]
    periods = sorted({b - a for a, b in zip(starts, starts[1:], strict=False)})
    extra = []
    if len(starts) > 1 and periods != [tb.spec.cycles_per_frame]:
        extra.append(f"frames started {periods} cycles apart, not cycles_per_frame = "
                     f"{tb.spec.cycles_per_frame}")
    tb.finish("full_rate", outcome, extra)


@cocotb.test(skip=not _enabled("backpressure"))
async def backpressure(dut):
    """Random gaps in the input valid and random output ready (back-pressure)."""
    tb = ConvTB(dut, CONFIG, "backpressure")
    await tb.start()
    tb.program()
    outcome = await tb.stream(tb.stimulus["frames"], tb.stimulus["expected"], p_valid=0.7,
                              p_ready=0.5)
    tb.finish("backpressure", outcome)


@cocotb.test(skip=not _enabled("reset_mid_frame"))
async def reset_mid_frame(dut):
    """A reset in the middle of frame 1 (new thresholds/weights programmed during it); the
    frames after it must come out exactly as if the layer had just been switched on."""
    tb = ConvTB(dut, CONFIG, "reset_mid_frame")
    await tb.start()
    tb.program()
    cut = int(tb.stimulus["cut"])  # one pixel: reset before it

    def reprogram():
        tb.program("2")
        return tb.stimulus["expected2"]

    outcome = await tb.stream(tb.stimulus["frames"], tb.stimulus["expected"], p_valid=0.8,
                              p_ready=0.7, reset_at=(1, cut), reprogram=reprogram)
    tb.finish("reset_mid_frame", outcome)
