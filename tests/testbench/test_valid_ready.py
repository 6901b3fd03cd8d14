"""The valid/ready BFM (tn_hw.testbench.valid_ready) without a simulator: fake handles."""

import numpy as np

from tn_hw.testbench.valid_ready import HoldMonitor, Scoreboard, StreamSink, StreamSource


class Handle:
    """Stands for a cocotb handle: records every write."""

    def __init__(self):
        self.value = None
        self.writes = []

    def __setattr__(self, name, value):
        if name == "value" and hasattr(self, "writes"):
            self.writes.append(value)
        object.__setattr__(self, name, value)


def test_source_sends_in_order_and_holds_until_ready():
    valid, payload = Handle(), Handle()
    source = StreamSource(valid, payload)
    source.send([10, 11, 12])
    taken = []
    for ready in [0, 0, 1, 1, 0, 1]:
        source.drive()
        assert valid.value == 1
        before = payload.value
        beat = source.sample(ready)
        if beat is not None:
            taken.append((beat, before))
    assert taken == [(0, 10), (1, 11), (2, 12)] and source.done
    source.drive()
    assert valid.value == 0
    assert valid.writes == [1, 0]  # written on change only


def test_source_gaps_and_sink_backpressure_follow_the_seed():
    rng = np.random.default_rng(5)
    mirror = np.random.default_rng(5)
    valid, payload, ready = Handle(), Handle(), Handle()
    source, sink = StreamSource(valid, payload, rng), StreamSink(ready, rng)
    source.p_valid, sink.p_ready = 0.5, 0.3
    source.send(range(50))
    offering = False
    for _ in range(400):
        source.drive()
        r = sink.drive()
        # The same draws in the same order: the source's (when idle with beats left), then
        # the sink's.
        if not offering and source.accepted < 50:
            offering = mirror.random() < 0.5
        assert r == int(mirror.random() < 0.3)
        assert valid.value == int(offering)
        if source.sample(r) is not None:
            offering = False
    assert source.done


def test_hold_monitor_catches_a_dropped_valid_and_a_changed_payload():
    monitor = HoldMonitor("y__valid", "y__ready", "y__payload")
    # valid, payload, ready per cycle: a clean stream first.
    for cycle, (v, p, r) in enumerate([(1, 5, 0), (1, 5, 0), (1, 5, 1), (0, None, 0),
                                       (1, 7, 1)]):
        monitor.sample(cycle, v, p, r)
    assert monitor.violations == []
    monitor.sample(5, 1, 8, 0)
    monitor.sample(6, 0, None, 1)
    monitor.sample(7, 1, 9, 0)
    monitor.sample(8, 1, 4, 1)
    assert monitor.violations == [
        "cycle 6: y__valid dropped before y__ready took the beat",
        "cycle 8: y__payload changed from 9 to 4 while waiting for y__ready"]


def test_scoreboard_counts_and_reports_the_first_differences():
    board = Scoreboard(max_reported=2)
    for i in range(5):
        board.compare(lambda i=i: f"beat {i}", [i, 1], [i, 1 if i < 2 else 0])
    assert (board.checked, board.mismatches) == (5, 3)
    assert board.reports == ["beat 2: expected [2, 1], got [2, 0]",
                             "beat 3: expected [3, 1], got [3, 0]"]
