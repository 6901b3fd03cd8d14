"""The one exception type the command line turns into a one-line message."""

__all__ = ["TnHwError", "SpecError"]


class TnHwError(Exception):
    """An error the user can fix (bad parameters, a missing tool, a broken file).

    The command line prints ``tn-hw: error: <message>`` and exits with status 2; nothing else
    is printed, so the message must stand on its own.
    """


class SpecError(TnHwError, ValueError):
    """A design parameter is out of range; the message is meant for the user as is.

    Importable from :mod:`tn_hw.spec` too, where the parameters it guards live.
    """
