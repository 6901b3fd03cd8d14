"""Running ``tn-hw`` in-process from a test, and the shape of a refusal."""

from tn_hw.cli import main

__all__ = ["assert_refused", "run"]


def run(capsys, *argv):
    """Run ``tn-hw argv`` in-process; return (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse errors and --help/--version
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_refused(status, stderr, message, leftover):
    """One clear line on stderr, exit status 2, and ``leftover`` (a path) not written."""
    assert status == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    assert not leftover.exists(), "a rejected command must leave nothing behind"
