"""Planted bugs in clocked designs (pipelined kernels, stream interfaces) for the mutation tests.

Each mutant keeps the ports and the manifest of the real design (its latency included), so the
regression runs on it unchanged and must fail.
"""

from amaranth.hdl import Cat, Signal

from tn_hw.generate import emit_design
from tn_hw.hdl import Kernel
from tn_hw.hdl.pipeline import Stager
from tn_hw.hdl.stream import StreamDesign

__all__ = ["PLAIN_MUTANTS", "STREAM_MUTANTS", "emit_plain_mutant", "emit_stream_mutant"]


class _ExtraStage(Stager):
    """Registers every value twice at the last cut: one cycle more than the manifest says."""

    def stage(self, boundary, values):
        staged = super().stage(boundary, values)
        if boundary != self.cuts[-1]:
            return staged
        again = {}
        for name, terms in staged.items():
            again[name] = []
            for k, term in enumerate(terms):
                reg = Signal(term.shape(), name=f"extra_{name}{k}", reset_less=True)
                self._m.d.sync += reg.eq(term)
                again[name].append(reg)
        return again


class _BiasSkipsLastStage(Stager):
    """The bias skips the last register: it meets the sum of the previous vector."""

    def stage(self, boundary, values):
        staged = super().stage(boundary, values)
        if boundary == self.cuts[-1]:
            staged = dict(staged, bias=values["bias"])
        return staged


class ExtraStageKernel(Kernel):
    stager_class = _ExtraStage


class BiasSkipsStageKernel(Kernel):
    stager_class = _BiasSkipsLastStage


class StallIgnoresReady(StreamDesign):
    """The pipeline advances every cycle, whether or not ``y`` was taken."""

    def control(self, m, advance):
        valid = Signal(self.spec.latency)
        m.d.comb += [advance.eq(1), self.x.ready.eq(1), self.y.valid.eq(valid[-1])]
        m.d.sync += valid.eq(Cat(self.x.valid, valid[:-1]))


class ValidNotReset(StreamDesign):
    """The valid bits keep their value through a reset: beats in flight come out after it."""

    def control(self, m, advance):
        valid = Signal(self.spec.latency, reset_less=True)
        m.d.comb += [advance.eq(~valid[-1] | self.y.ready), self.x.ready.eq(advance),
                     self.y.valid.eq(valid[-1])]
        with m.If(advance):
            m.d.sync += valid.eq(Cat(self.x.valid, valid[:-1]))


class ValidIgnoresStall(StreamDesign):
    """The valid bits shift every cycle while the data waits for the stall to end."""

    def control(self, m, advance):
        valid = Signal(self.spec.latency)
        m.d.comb += [advance.eq(~valid[-1] | self.y.ready), self.x.ready.eq(advance),
                     self.y.valid.eq(valid[-1])]
        m.d.sync += valid.eq(Cat(self.x.valid, valid[:-1]))


class StallWhenFull(StreamDesign):
    """Lossless but slow: the last stage never hands over and takes a beat in the same cycle,
    so back-to-back beats flow at one every other clock."""

    def control(self, m, advance):
        valid = Signal(self.spec.latency)
        m.d.comb += [advance.eq(~valid[-1] | self.y.ready), self.x.ready.eq(~valid[-1]),
                     self.y.valid.eq(valid[-1])]
        with m.If(advance):
            m.d.sync += valid.eq(Cat(self.x.valid & ~valid[-1], valid[:-1]))


class ExtraStageStream(StreamDesign):
    """The data takes one cycle more than the valid bits."""

    def make_core(self, spec):
        return ExtraStageKernel(spec)


#: name -> kernel class; each must fail the clocked lane regression.
PLAIN_MUTANTS = {
    "extra-stage": ExtraStageKernel,
    "bias-skips-stage": BiasSkipsStageKernel,
}

#: name -> stream class; each must fail the stream regression.
STREAM_MUTANTS = {
    "stall-ignores-ready": StallIgnoresReady,
    "valid-not-reset": ValidNotReset,
    "valid-ignores-stall": ValidIgnoresStall,
    "stall-when-full": StallWhenFull,
    "extra-stage": ExtraStageStream,
}


def emit_plain_mutant(name, spec):
    """Emit a pipelined-kernel mutant with the ports and manifest of the real design."""
    return emit_design(PLAIN_MUTANTS[name](spec), "kernel", spec, spec.top_name)


def emit_stream_mutant(name, spec):
    """Emit a stream mutant with the ports and manifest of the real stream design."""
    return emit_design(STREAM_MUTANTS[name](spec), "kernel" if spec.outputs == 1 else "layer",
                       spec, f"{spec.top_name}_stream", interface="stream")
