"""The ``tn-hw`` commands, one module per command or group, each with ``register(subparsers)``.

A command module adds its subparser(s) with :func:`~.args.formatter`, the shared option groups of
:mod:`.args` and an epilog of examples, and sets ``func`` to a handler ``cmd_<name>(args) -> int``
that raises :class:`~tn_hw.errors.TnHwError` (one line, exit 2) for bad input. :mod:`tn_hw.cli`
registers :data:`COMMANDS` in this order (the order of ``tn-hw --help``):

* :mod:`.generate`: ``generate`` (kernels, layers; conv layers through :mod:`.conv`);
* :mod:`.regress`: ``regress`` (one design, a folder, ``--matrix``) and ``demo``;
* :mod:`.synth`: ``synth``, ``compare``, ``synth-net``, ``ops`` (area);
* :mod:`.explore`: ``explore`` (sky130 fronts over architectures and clock targets);
* :mod:`.network`: ``train``, ``export``, ``verify``;
* :mod:`.prove`: ``prove`` (the formal proofs of a clocked or folded network);
* :mod:`.energy`: ``energy``;
* :mod:`.timing`: ``timing``;
* :mod:`.system`: ``system``.

To add a command: a module here with ``register`` and its handler, then one line in
:data:`COMMANDS`.
"""

from __future__ import annotations

from . import energy, explore, generate, network, prove, regress, synth, system, timing

__all__ = ["COMMANDS", "register_all"]

#: Command modules in ``tn-hw --help`` order.
COMMANDS = (generate, regress, synth, explore, network, prove, energy, timing, system)


def register_all(subparsers) -> None:
    """Add every command to an argparse subparsers object."""
    for module in COMMANDS:
        module.register(subparsers)
