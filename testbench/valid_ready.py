"""A valid/ready bus-functional model for the cocotb tests: source, sink, monitor, scoreboard.

Shaped like cocotbext-axi's stream classes (a :class:`StreamSource` that sends queued beats with
optional random gaps, a :class:`StreamSink` with optional random back-pressure, a
:class:`HoldMonitor` that checks the hold rule and a :class:`Scoreboard` that compares in order),
with one difference: the parts do not run as free coroutines but are stepped once per clock by
the testbench's own loop (``drive`` before the edge, ``sample`` at it). So the random draws of a
seed happen in a fixed order (the source's, then the sink's, each cycle) whatever the
simulator's scheduling, and a testbench picks its own sampling point (just after the rising
edge in tb_stream.py, at ``ReadOnly`` after the falling edge in tb_conv.py).

Used by :mod:`.tb_stream` (kernel/layer streams) and :mod:`.tb_conv` (conv layers). Imports
neither Amaranth nor torch.
"""

from __future__ import annotations

__all__ = ["HoldMonitor", "Scoreboard", "StreamSink", "StreamSource", "bit"]


def bit(value):
    """0 or 1 of a one-bit handle's value, or ``None`` for X or Z."""
    try:
        return int(value)
    except ValueError:
        return None


class StreamSource:
    """Offers queued beats on ``valid``/``payload``; a beat is accepted when ``ready`` is high at
    the edge.

    Parameters
    ----------
    valid, payload : cocotb handles
    rng : numpy.random.Generator, optional
        Draws the gaps: an idle source offers the next beat with probability :attr:`p_valid`.
        Without it (or ``p_valid == 1``) beats go back to back.
    on_offer : callable, optional
        ``on_offer(index)`` when beat ``index`` is put on the bus (e.g. to set side-band
        configuration that travels with the beat).

    Attributes
    ----------
    p_valid : float
    sent : int
        Beats queued so far (the next beat's index is :attr:`accepted`).
    """

    def __init__(self, valid, payload, rng=None, *, on_offer=None):
        self.valid, self.payload = valid, payload
        self.rng = rng
        self.on_offer = on_offer
        self.p_valid = 1.0
        self.queue = []
        self.accepted = 0
        self.offering = False
        self._valid_now = None

    def send(self, beats) -> None:
        """Queue integer payloads."""
        self.queue.extend(beats)

    @property
    def done(self) -> bool:
        """Every queued beat was accepted."""
        return self.accepted == len(self.queue) and not self.offering

    def drive(self) -> None:
        """Before the edge: offer the next beat (or keep offering the current one)."""
        if not self.offering and self.accepted < len(self.queue) and \
                (self.rng is None or self.rng.random() < self.p_valid):
            self.payload.value = self.queue[self.accepted]
            if self.on_offer is not None:
                self.on_offer(self.accepted)
            self.offering = True
        self._set_valid(int(self.offering))

    def sample(self, ready) -> int | None:
        """At the edge: the index of the beat accepted (``ready`` high while offering), or
        ``None``."""
        if self.offering and ready:
            self.offering = False
            self.accepted += 1
            return self.accepted - 1
        return None

    def skip(self, count) -> None:
        """Drop the rest of the current beat and ``count`` beats more (e.g. a frame cut short by
        a reset): the next offer is beat ``accepted + count``."""
        self.offering = False
        self.accepted += count

    def idle(self) -> None:
        """Withdraw any offer (valid low), e.g. during a reset."""
        self.offering = False
        self._set_valid(0)

    def _set_valid(self, value) -> None:
        if value != self._valid_now:  # every write is a crossing into the simulator
            self._valid_now = value
            self.valid.value = value


class StreamSink:
    """Drives ``ready``: high with probability :attr:`p_ready` each cycle (always without
    ``rng``)."""

    def __init__(self, ready, rng=None):
        self.ready = ready
        self.rng = rng
        self.p_ready = 1.0
        self.ready_now = None

    def drive(self) -> int:
        """Before the edge: draw and set ``ready``; return it."""
        value = 1 if self.rng is None else int(self.rng.random() < self.p_ready)
        if value != self.ready_now:
            self.ready_now = value
            self.ready.value = value
        return value

    def idle(self) -> None:
        """Ready low (e.g. during a reset)."""
        self.ready_now = 0
        self.ready.value = 0


class HoldMonitor:
    """The hold rule of a valid/ready stream: once ``valid`` is high it stays high, with the
    same payload, until ``ready`` takes the beat.

    Parameters
    ----------
    valid_name, ready_name : str
        How the messages name the two signals (e.g. ``"y__valid"``, ``"y__ready"``).

    Attributes
    ----------
    violations : list of str
        One line per broken rule, with the cycle.
    """

    def __init__(self, valid_name="valid", ready_name="ready", payload_name="payload"):
        self.names = valid_name, ready_name, payload_name
        self.held = None
        self.violations = []

    def sample(self, cycle, valid, payload, ready) -> bool:
        """One cycle's ``valid``, ``payload`` (any comparable value) and ``ready`` as the design
        saw them at the edge; return whether a beat was taken."""
        valid_name, ready_name, payload_name = self.names
        if self.held is not None:
            if not valid:
                self.violations.append(f"cycle {cycle}: {valid_name} dropped before "
                                       f"{ready_name} took the beat")
            elif payload != self.held:
                self.violations.append(f"cycle {cycle}: {payload_name} changed from "
                                       f"{self.held} to {payload} while waiting for "
                                       f"{ready_name}")
        self.held = payload if valid and not ready else None
        return bool(valid and ready)

    def reset(self) -> None:
        """Forget the beat on hold (the design was reset)."""
        self.held = None


class Scoreboard:
    """In-order comparison of what came out against the golden values, as integers.

    Attributes
    ----------
    checked : int
        Comparisons made.
    mismatches : int
        Comparisons that differed.
    reports : list of str
        The first ``max_reported`` differences, with where they happened.
    """

    def __init__(self, max_reported=5):
        self.max_reported = max_reported
        self.checked = 0
        self.mismatches = 0
        self.reports = []

    def compare(self, where, expected, got) -> bool:
        """Record one comparison; ``where`` describes it (a string, or a callable giving one
        only when needed). Return whether it matched."""
        self.checked += 1
        if expected == got:
            return True
        self.mismatches += 1
        if len(self.reports) < self.max_reported:
            text = where() if callable(where) else where
            self.reports.append(f"{text}: expected {expected}, got {got}")
        return False
