"""Progress of a long sweep, on stderr so that JSON and CSV on stdout stay clean.

One :class:`Progress` per sweep, three modes chosen once:

* ``bar``: the stream is a terminal: a tqdm bar with count, rate and ETA; notes are printed above
  it (``tqdm.write``) so the bar stays at the bottom;
* ``lines``: not a terminal (a log file, CI, a pipe): one plain line per finished point,
  ``[label 3/12] text (41.2 s elapsed, ETA 124 s)``, and notes as plain lines;
* ``off``: ``--quiet``: nothing at all.

A sweep function takes ``progress=`` as a :class:`Progress`, or anything :func:`as_progress`
turns into one (``None``: silent; a file: lines or bar on it; a callable: one line per call), so
library callers that passed a file or a callback keep working.
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress", "as_progress"]


class Progress:
    """Progress of one sweep of ``total`` points.

    Parameters
    ----------
    label : str
        Short name shown in front of every line and on the bar (``compare``, ``timing``...).
    total : int, optional
        Number of points, if known now; else give it to :meth:`start`.
    quiet : bool
        Show nothing.
    stream : file, optional
        Where to write; default ``sys.stderr`` (looked up when the object is made, so pytest's
        capture sees it).
    sink : callable, optional
        Instead of a stream: receives each plain line (``lines`` mode only).
    bar : bool, optional
        Force the bar (``True``) or the plain lines (``False``); default: a bar exactly when
        the stream is a terminal.
    """

    def __init__(self, label: str, total: int | None = None, *, quiet: bool = False,
                 stream=None, sink=None, bar: bool | None = None):
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._sink = sink
        if quiet:
            self.mode = "off"
        elif sink is not None:
            self.mode = "lines"
        else:
            tty = bar if bar is not None else _isatty(self._stream)
            self.mode = "bar" if tty else "lines"
        self._bar = None
        self._lock = threading.Lock()  # sweeps step from worker threads
        self._started = time.monotonic()
        if total is not None:
            self.start(total)

    def start(self, total: int | None) -> None:
        """Set the number of points (and restart the clock the ETA is measured from)."""
        self.total, self.done = total, 0
        self._started = time.monotonic()
        if self.mode == "bar":
            self._open_bar()

    def _open_bar(self) -> None:
        from tqdm import tqdm  # only on a terminal: a plain run never imports it

        if self._bar is not None:
            self._bar.close()
        self._bar = tqdm(total=self.total, desc=self.label, file=self._stream, unit="pt",
                         dynamic_ncols=True, leave=True)

    def step(self, text: str = "") -> None:
        """One point finished; ``text`` says which and how it went."""
        with self._lock:
            self.done += 1
            if self.mode == "bar":
                if self._bar is None:  # no total given: a counter without ETA
                    self._open_bar()
                if text:
                    self._bar.set_postfix_str(text.strip()[:60], refresh=False)
                self._bar.update(1)
            elif self.mode == "lines":
                self._emit(f"[{self.label} {self._count()}] {text}{self._timing()}".rstrip())

    def note(self, text: str) -> None:
        """A message that is not a finished point (a plan, a skipped design)."""
        if self.mode == "bar" and self._bar is not None:
            self._bar.write(f"[{self.label}] {text}", file=self._stream)
        elif self.mode != "off":
            self._emit(f"[{self.label}] {text}")

    def close(self) -> None:
        """End the bar (a finished bar stays on screen)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plain lines ---------------------------------------------------------------------------

    def _count(self) -> str:
        if self.total is None:
            return str(self.done)
        return f"{self.done:>{len(str(self.total))}}/{self.total}"

    def _timing(self) -> str:
        elapsed = time.monotonic() - self._started
        if self.total is None or self.done >= self.total or not self.done:
            return f" ({elapsed:.1f} s elapsed)"
        eta = elapsed / self.done * (self.total - self.done)
        return f" ({elapsed:.1f} s elapsed, ETA {eta:.0f} s)"

    def _emit(self, line: str) -> None:
        if self._sink is not None:
            self._sink(line)
        else:
            print(line, file=self._stream, flush=True)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def as_progress(progress, label: str) -> Progress:
    """A :class:`Progress` from what a sweep's caller passed.

    ``None`` gives a silent one, a :class:`Progress` is returned as is, a file-like object (with
    ``write``) gets a bar or plain lines on it, and a callable receives each plain line.
    """
    if isinstance(progress, Progress):
        return progress
    if progress is None:
        return Progress(label, quiet=True)
    if hasattr(progress, "write"):
        return Progress(label, stream=progress)
    if callable(progress):
        return Progress(label, sink=progress)
    raise TypeError(f"progress must be None, a Progress, a file or a callable, not {progress!r}")
