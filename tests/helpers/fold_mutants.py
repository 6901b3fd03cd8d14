"""Planted bugs of the folded network (``--reuse``) for its formal check
(tests/testbench/test_network_fold_equiv.py, tn_hw.testbench.net_equiv): each keeps the ports
of the real design and is wrong in one way folded RTL goes wrong."""

from amaranth.hdl import Cat, Mux, Signal

from tn_hw.hdl.network_stream import FoldedNetwork, NetworkStream, PipelinedNetwork, phase_is

__all__ = ["FOLD_CONTROL_MUTANTS", "FOLD_DATAPATH_MUTANTS", "LateOfferTaken",
           "LoadIgnoredNetwork", "StallsWithoutInput"]


class LoadIgnoredNetwork(FoldedNetwork):
    """The layer registers load every cycle instead of at a commit: the output shows a
    half-computed round (held outputs of this round beside last phase's of another)."""

    def stage_output(self, m, stage, acts):
        return PipelinedNetwork.stage_output(self, m, stage, acts)


class LateOfferTaken(NetworkStream):
    """A beat offered after phase 0 of a round is taken at its commit: the phases before it
    computed another payload (or none), so the beat leaves with a mix of two inputs."""

    def fold_control(self, m):
        reuse, x, y = self.reuse, self.x, self.y
        phase, load = self.core.phase, self.core.load
        count = Signal(range(reuse), name="round_phase")
        take = Signal()
        valid = Signal(self.layers)
        active = Signal()
        last = Signal()
        commit = Signal()
        m.d.comb += [
            active.eq(take | valid.any() | x.valid),
            phase.eq(Mux(active, count, 0)),
            last.eq(phase == reuse - 1),
            commit.eq(last & (~valid[-1] | y.ready)),
            load.eq(commit),
            x.ready.eq(commit),             # the bug: whatever was offered at phase 0
            y.valid.eq(valid[-1]),
        ]
        with m.If(commit | ~active):
            m.d.sync += count.eq(0)
        with m.Elif(~last):
            m.d.sync += count.eq(phase + 1)
        with m.If(phase_is(phase, 0)):
            m.d.sync += take.eq(x.valid)
        with m.If(y.valid & y.ready):
            m.d.sync += valid[-1].eq(0)
        with m.If(commit):
            m.d.sync += [take.eq(0), valid.eq(Cat(x.valid, valid[:-1]))]
        self.control_state = {"count": count, "take": take, "valid": valid, "active": active}




class StallsWithoutInput(NetworkStream):
    """The phase counter advances only while a beat is offered: beats in flight wait for the
    next input to be pushed out (the pipeline does not drain by itself)."""

    def fold_control(self, m):
        reuse, x, y = self.reuse, self.x, self.y
        phase, load = self.core.phase, self.core.load
        count = Signal(range(reuse), name="round_phase")
        take = Signal()
        valid = Signal(self.layers)
        active = Signal()
        last = Signal()
        commit = Signal()
        m.d.comb += [
            active.eq(take | valid.any()),
            phase.eq(Mux(active, count, 0)),
            last.eq(phase == reuse - 1),
            commit.eq(last & (~valid[-1] | y.ready)),
            load.eq(commit),
            x.ready.eq(commit & take),
            y.valid.eq(valid[-1]),
        ]
        with m.If(commit | ~(active | x.valid)):
            m.d.sync += count.eq(0)
        with m.Elif(~last & x.valid):       # the bug: should not wait for x.valid
            m.d.sync += count.eq(phase + 1)
        with m.If(phase_is(phase, 0)):
            m.d.sync += take.eq(x.valid)
        with m.If(commit):
            m.d.sync += take.eq(0)
        with m.If(y.valid & y.ready):
            m.d.sync += valid[-1].eq(0)
        with m.If(commit):
            m.d.sync += valid.eq(Cat(x.valid & take, valid[:-1]))
        self.control_state = {"count": count, "take": take, "valid": valid, "active": active}


#: name -> FoldedNetwork subclass with a planted datapath bug; the datapath lemma
#: (check_folded_datapath) must refute each. wrong_select lives in net_mutants.
FOLD_DATAPATH_MUTANTS = {"load_ignored": LoadIgnoredNetwork}

#: name -> NetworkStream subclass with a planted control bug; the stream proof
#: (check_folded_stream) must refute each. valid_kept_on_take lives in net_mutants.
FOLD_CONTROL_MUTANTS = {"late_offer_taken": LateOfferTaken,
                        "stalls_without_input": StallsWithoutInput}
