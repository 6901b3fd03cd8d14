"""The neuron-family registry: one entry per family, read by every part of tn-hw.

A :class:`NeuronFamily` declares what the rest of the code asks of a family: its parameter
rules and derived ranges (read by :class:`~tn_hw.spec.KernelSpec`), its Amaranth cell, kernel
and layer builders (read by :mod:`tn_hw.generate`, :mod:`tn_hw.hdl.stream`), its golden function
(read by :mod:`tn_hw.testbench.vectors`), its port meanings (read by :mod:`tn_hw.manifest`), its
delay-model entries (:mod:`tn_hw.hdl.pipeline`), its synthesis cost weight
(:mod:`tn_hw.synth.area.compare`) and whether convolution layers and networks support it.

Importing this package is light: the builders import Amaranth and the golden functions import
torch only when called.

Families outside tn-hw register with :func:`register`. A process that did not import the
module defining a family (the cocotb simulator, which rebuilds a spec from a manifest) finds it
through the environment variable ``TN_HW_FAMILIES``: entries separated by ``os.pathsep``, each
a Python file path or an importable module name; :func:`get` imports them on a miss, and
importing them is expected to call :func:`register`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TnHwError

__all__ = ["DEFAULT_ARCH", "FAMILIES_VARIABLE", "NeuronFamily", "register", "get", "names",
           "sum_of_cells"]

#: Environment variable naming modules or files that register more families (see above).
FAMILIES_VARIABLE = "TN_HW_FAMILIES"

#: The micro-architecture every family has: its cells summed by a balanced binary tree of
#: two-input adders (:func:`tn_hw.hdl.kernel.balanced_sum`), each mapped as synthesis sees fit.
DEFAULT_ARCH = "tree"
DEFAULT_ARCHITECTURES = {DEFAULT_ARCH: "cells summed by a balanced binary tree of adders"}


def sum_of_cells(cell_lo: int, cell_hi: int, n_inputs: int) -> tuple[int, int]:
    """Range of a sum of ``n_inputs`` cells: the default :attr:`NeuronFamily.sum_range`."""
    return n_inputs * cell_lo, n_inputs * cell_hi


@dataclass(frozen=True, eq=False)
class NeuronFamily:
    """Everything tn-hw asks of one neuron family.

    Only ``name``, ``cell_range``, ``make_cell``, ``golden_cell`` and the meanings are needed for
    a family whose kernel is ``y = bias + sum_i cell(x_i, w_i[, p_i])``: the generic
    :class:`~tn_hw.hdl.kernel.Kernel` and :class:`~tn_hw.hdl.layer.Layer` build it, and the
    generic vector and golden hooks test it.

    Attributes
    ----------
    name : str
        The ``--neuron`` value and the ``neuron`` of a :class:`~tn_hw.spec.KernelSpec`.
    cell_range : callable
        ``cell_range(lo, hi)`` -> ``(lo, hi)``: range of one cell's signed contribution to the
        sum, given the input range ``[lo, hi]`` of ``x`` and ``w``.
    make_cell : callable
        ``make_cell(width)`` -> an Amaranth component with ports ``x``, ``w`` (and ``p`` if
        ``has_polarity``) and an output ``y`` (the cell's signed contribution); the generic
        kernel sums the ``y`` of its cells.
    golden_cell : callable
        ``golden_cell(x, w, p)`` -> int64 tensor: one cell's contribution (``p`` is ``None``
        without polarity); the golden kernel is ``bias + sum`` of it.
    meanings : dict
        Port meanings for the manifest: ``"w"`` (the weight port), ``"y"`` (a kernel output),
        ``"cell_y"`` (a cell's ``y``), and optionally ``"r"`` (a cell's magnitude output).
    sum_range : callable
        ``sum_range(cell_lo, cell_hi, n_inputs)`` -> range of a kernel's sum, bias excluded;
        default :func:`sum_of_cells`.
    has_bias, has_polarity, has_mask : bool
        Whether the family has a bias port, a polarity port ``p`` per cell, and keep masks
        (``mask``/``mask_min``, SAM).
    make_kernel, make_layer : callable or None
        ``make_kernel(spec)`` / ``make_layer(spec)`` -> the Amaranth component; ``None`` (the
        default) builds the generic kernel and layer (:func:`tn_hw.hdl.layer.build_component`).
    golden : callable or None
        ``golden(spec, kind, tensors)`` -> ``{output port family: int64 tensor}``, for families
        whose outputs are not ``bias + sum golden_cell``; default derived from ``golden_cell``.
    golden_cell_outputs : callable or None
        ``golden_cell_outputs(x, w, p)`` -> extra cell outputs (``{"r": ...}``) beside ``y``.
    port_shapes : callable or None
        ``port_shapes(spec, kind)`` -> index shape of every input port family, when they are
        not the generic ``x``, ``w``, ``p``, ``bias``.
    directed_vectors : callable or None
        ``directed_vectors(spec, kind, rng)`` -> directed corners, when the generic ones do not
        fit the ports.
    port_connections : callable or None
        ``port_connections(spec)`` -> ``{port: [(output, input), ...]}`` for weight ports that
        list kept connections only (the manifest names each one's pair).
    cell_delay : callable
        ``cell_delay(width)``: delay of the cell in adder levels (:mod:`tn_hw.hdl.pipeline`).
    final_delay : int
        Delay of the final bias addition in adder levels.
    cost_weight : callable
        ``cost_weight(width)``: relative synthesis cost of one input bit, used to schedule a
        sweep's longest jobs first (:mod:`tn_hw.synth.area.compare`).
    conv, network : bool
        Whether a streaming convolution layer (:mod:`tn_hw.conv`) and a tn-hw-net network
        layer (:mod:`tn_hw.netdesc`) may use the family (their golden models know it).
    weight_noun : str
        What ``w`` is called in messages: ``"threshold"`` or ``"weight"``.
    weight_sets : tuple of str
        The weight matrices of a network layer of the family, as the tn-hw-net file names
        them (docs/network-format.md): ``("w",)``, or SAM's ``("wp", "wm")``; the hardware
        network's parameter ports are ``l<i>_<name>``.
    architectures : dict
        Micro-architectures the family's kernel and layer can be built as, ``{name: one-line
        description}`` (the :attr:`~tn_hw.spec.KernelSpec.arch` values it accepts); the first
        is the default, :data:`DEFAULT_ARCH`, built by the generic kernel.
    summary : str
        One line for documentation.
    """

    name: str
    cell_range: Callable
    make_cell: Callable
    golden_cell: Callable | None
    meanings: dict
    sum_range: Callable = sum_of_cells
    has_bias: bool = True
    has_polarity: bool = False
    has_mask: bool = False
    make_kernel: Callable | None = None
    make_layer: Callable | None = None
    golden: Callable | None = None
    golden_cell_outputs: Callable | None = None
    port_shapes: Callable | None = None
    directed_vectors: Callable | None = None
    port_connections: Callable | None = None
    cell_delay: Callable = field(default=lambda width: 1)
    final_delay: int = 1
    cost_weight: Callable = field(default=lambda width: 2)
    conv: bool = False
    network: bool = False
    weight_noun: str = "weight"
    weight_sets: tuple = ("w",)
    summary: str = ""
    architectures: dict = field(default_factory=lambda: dict(DEFAULT_ARCHITECTURES))

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a neuron family name must be an identifier, not {self.name!r}")
        for key in ("w", "y", "cell_y"):
            if key not in self.meanings:
                raise ValueError(f"family {self.name!r}: meanings needs {key!r}")
        if self.golden is None and self.golden_cell is None:
            raise ValueError(f"family {self.name!r} needs golden_cell or golden")
        if next(iter(self.architectures), None) != DEFAULT_ARCH:
            raise ValueError(f"family {self.name!r}: architectures must start with "
                             f"{DEFAULT_ARCH!r}")


_FAMILIES: dict[str, NeuronFamily] = {}
_LOADED: set[str] = set()


def register(family: NeuronFamily) -> NeuronFamily:
    """Add a family; returns it (usable as ``FAMILY = register(NeuronFamily(...))``).

    Raises
    ------
    ValueError
        If another family of that name is registered.
    """
    if not isinstance(family, NeuronFamily):
        raise TypeError(f"family must be a NeuronFamily, not {family!r}")
    _load_builtins()  # built-ins keep their places ahead of any plugin
    existing = _FAMILIES.get(family.name)
    if existing is not None and existing is not family:
        raise ValueError(f"a neuron family named {family.name!r} is already registered")
    _FAMILIES[family.name] = family
    return family


def _load_plugins() -> None:
    for entry in os.environ.get(FAMILIES_VARIABLE, "").split(os.pathsep):
        entry = entry.strip()
        if not entry or entry in _LOADED:
            continue
        _LOADED.add(entry)
        if entry.endswith(".py"):
            path = Path(entry)
            spec = importlib.util.spec_from_file_location(f"tn_hw_family_{path.stem}", path)
            if spec is None or not path.is_file():
                raise TnHwError(f"{FAMILIES_VARIABLE}: no such file {entry!r}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            try:
                importlib.import_module(entry)
            except ImportError as error:
                raise TnHwError(f"{FAMILIES_VARIABLE}: cannot import {entry!r}: {error}") \
                    from None


def get(name: str) -> NeuronFamily:
    """The family called ``name``.

    Raises
    ------
    KeyError
        If no family of that name is registered (after loading ``TN_HW_FAMILIES``).
    TnHwError
        If an entry of ``TN_HW_FAMILIES`` cannot be found or imported.
    """
    _load_builtins()
    if name not in _FAMILIES and isinstance(name, str):
        _load_plugins()
    return _FAMILIES[name]


def names() -> tuple[str, ...]:
    """Names of the registered families, built-in ones first, in registration order."""
    _load_builtins()
    return tuple(_FAMILIES)


def is_family(name) -> bool:
    """Whether ``name`` names a registered family (loading ``TN_HW_FAMILIES`` on a miss)."""
    try:
        get(name)
    except (KeyError, TypeError):
        return False
    return True


__all__.append("is_family")

#: The families tn-hw ships, in order (whatever plugins register later). Each is the module
#: ``tn_hw.neurons.<name>``, loaded by name on the first lookup exactly as a plugin is: this
#: core never imports a family module, so a family may build on tn_hw.hdl and
#: tn_hw.reference (which read tn_hw.spec, which reads this registry) without an import cycle.
BUILTIN_NAMES = ("threshold", "mac", "sam", "adder")
__all__.append("BUILTIN_NAMES")


def _load_builtins() -> None:
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED.append(True)
    for name in BUILTIN_NAMES:
        importlib.import_module(f"{__name__}.{name}")


_BUILTINS_LOADED: list = []
