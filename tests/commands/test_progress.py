"""Progress of long sweeps (tn_hw.progress): a bar on a terminal, plain lines otherwise, nothing
with --quiet, always on stderr so that stdout stays clean."""

import io
import re

import pytest

from helpers.cli import run
from tn_hw.progress import Progress, as_progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    with Progress("sweep", 3, stream=stream) as progress:
        progress.note("3 points")
        for name in ("a", "b", "c"):
            progress.step(name)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[sweep] 3 points"
    assert re.fullmatch(r"\[sweep 1/3\] a \(\d+\.\d s elapsed, ETA \d+ s\)", lines[1]), lines
    assert re.fullmatch(r"\[sweep 3/3\] c \(\d+\.\d s elapsed\)", lines[3]), lines
    assert len(lines) == 4


def test_quiet_prints_nothing():
    stream = io.StringIO()
    with Progress("sweep", 2, quiet=True, stream=stream) as progress:
        progress.note("hidden")
        progress.step("a")
        progress.step("b")
    assert stream.getvalue() == "" and progress.done == 2


def test_a_terminal_gets_a_bar_with_eta():
    stream = _Terminal()
    with Progress("sweep", 2, stream=stream) as progress:
        assert progress.mode == "bar"
        progress.step("a")
        progress.step("b")
    text = stream.getvalue()
    assert "sweep" in text and "2/2" in text and "<" in text  # tqdm: [elapsed<remaining]
    assert "[sweep 1/2]" not in text  # no plain lines on a terminal


def test_as_progress_keeps_old_callers_working():
    lines = []
    progress = as_progress(lines.append, "energy")
    progress.start(1)
    progress.step("3x3 W=8")
    assert lines and lines[0].startswith("[energy 1/1] 3x3 W=8")
    assert as_progress(None, "x").mode == "off"
    assert as_progress(progress, "x") is progress
    with pytest.raises(TypeError):
        as_progress(42, "x")


# -- through the command line (Yosys; a 1x1 2-bit sweep takes seconds) ---------------------------


def test_compare_progress_on_stderr_only_and_quiet(capsys, tmp_path, yosys):
    argv = ["compare", "--kernels", "1x1", "--widths", "2", "--cache-dir", str(tmp_path / "c"),
            "-o", str(tmp_path / "out")]
    status, stdout, stderr = run(capsys, *argv)
    assert status == 0, stderr
    steps = [line for line in stderr.splitlines() if line.startswith("[compare ")]
    assert len(steps) == 2 and steps[-1].startswith("[compare 2/2] ")  # threshold and MAC
    assert "[compare" not in stdout
    status, stdout, stderr = run(capsys, *argv, "--quiet")
    assert status == 0 and stderr == ""
    assert "2 runs (2 from cache)" in stdout


def test_regress_matrix_progress_lines_and_quiet(capsys, tmp_path, icarus, monkeypatch):
    from tn_hw.spec import KernelSpec
    from tn_hw.testbench import matrix

    tiny = [matrix.Config("kernel", KernelSpec(neuron=n, kernel=(1, 1), width=4))
            for n in ("threshold", "mac")]
    monkeypatch.setattr(matrix, "regression_matrix", lambda: tiny)
    status, stdout, stderr = run(capsys, "regress", "--matrix", "--vectors", "20")
    assert status == 0, stdout + stderr
    steps = [line for line in stderr.splitlines() if line.startswith("[regress ")]
    assert [s.split("]")[0] for s in steps] == ["[regress 1/2", "[regress 2/2"], stderr
    assert "0 mismatches" in steps[0] and "2/2 designs passed" in stdout
    assert "[regress" not in stdout
    monkeypatch.setattr(matrix, "regression_matrix", lambda: tiny[:1])
    status, stdout, stderr = run(capsys, "regress", "--matrix", "--vectors", "20", "--quiet")
    assert status == 0 and stderr == "" and "1/1 designs passed" in stdout
