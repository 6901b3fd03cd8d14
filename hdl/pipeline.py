"""Register stages in a kernel's summation tree: where they go and how they are built.

A kernel's datapath is ``spec.tree_depth + 2`` operations in a row:

0. the cells (threshold: ``x - w``, sign select, one's complement; MAC: the multiplier; adder:
   ``|x - w|``; SAM: ``x + w``), all in parallel;
1. .. ``tree_depth``: one level of two-input adders each (the balanced tree halves the terms;
   SAM: one level of compare-and-select in each of the max and min trees);
``tree_depth + 1``: the final addition of the bias (threshold: also the count of inhibitory
cells and the constant ``-N * 2**W``; SAM: ``max + min``).

A register stage cuts the datapath at one of the ``tree_depth + 1`` boundaries between two
operations and registers every value that crosses it (the live tree terms, the partial count of
inhibitory cells, the bias), so every input of a vector reaches the output in the same cycle and
the latency is exactly ``spec.stages`` cycles. :func:`cut_points` places the cuts so that the
longest register-to-register segment is as short as a coarse delay model allows: one unit per
adder level, two for the threshold's final three-operand addition and the adder cell
(subtract, then negate), ``ceil(log2 W) + 1`` for a ``W``-bit multiplier (a Booth multiplier
reduces ``W / 2`` partial products in a tree, then adds once). The segments before the first
and after the last register count too, so a design whose ports are registered outside (the
timing flow, a stream wrapper) gets balanced paths. Among equally long placements the one with
the most even segments wins, then the one with the later cuts: a tree level halves the terms,
so a later cut registers fewer bits.

The datapath registers have no reset: a reset would cost a multiplexer per bit and the data is
meaningless until the first vector has gone through (a stream design resets its valid bits,
:mod:`tn_hw.hdl.stream`). Nextpnr measures what the model only estimates (branch timing).
"""

from __future__ import annotations

import itertools

from amaranth.hdl import Signal

from ..spec import KernelSpec

__all__ = ["op_delays", "best_cuts", "cut_points", "cut_model", "Stager", "reduce_level"]


def op_delays(spec: KernelSpec) -> list[int]:
    """Estimated delay of each datapath operation, in adder levels (see the module docstring)."""
    family = spec.family  # the delays per family live in tn_hw.neurons
    return [family.cell_delay(spec.width)] + [1] * spec.tree_depth + [family.final_delay]


def cut_points(spec: KernelSpec) -> tuple[int, ...]:
    """Boundaries that get a register, increasing; boundary ``b`` lies before operation ``b``.

    Returns ``spec.stages`` distinct boundaries from 1 to ``spec.max_stages``: ``spec.cuts``
    when the spec names them, else the unit-delay model's (:func:`best_cuts` of
    :func:`op_delays`).
    """
    if spec.cuts is not None:
        return tuple(spec.cuts)
    return best_cuts(op_delays(spec), spec.stages)


def cut_model(spec: KernelSpec) -> str:
    """``"unit"`` (the unit-delay model of :func:`op_delays`) or ``"explicit"`` (``spec.cuts``)."""
    return "unit" if spec.cuts is None else "explicit"


def best_cuts(delays, stages: int) -> tuple[int, ...]:
    """The ``stages`` boundaries that split the operations of ``delays`` (any unit: adder
    levels, ns) into the segments with the shortest longest segment; ties go to the most even
    segments, then the later cuts (module docstring). Also used by :mod:`tn_hw.hdl.arch`."""
    boundaries = range(1, len(delays))

    def key(cuts):
        edges = (0, *cuts, len(delays))
        segments = [sum(delays[a:b]) for a, b in itertools.pairwise(edges)]
        return max(segments), sum(s * s for s in segments), tuple(-c for c in cuts)

    return min(itertools.combinations(boundaries, stages), key=key)


def reduce_level(terms):
    """One level of the balanced tree: pairs added, an odd last term passed through.

    Applied ``ceil(log2 n)`` times this is :func:`~tn_hw.hdl.kernel.balanced_sum`.
    """
    paired = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
    if len(terms) % 2:
        paired.append(terms[-1])
    return paired


class Stager:
    """Registers the datapath's live values at the boundaries chosen by :func:`cut_points`.

    Parameters
    ----------
    m : Module
        Module the registers are added to (``sync`` domain).
    spec : KernelSpec
        The design; ``spec.stages`` registers in total.

    Attributes
    ----------
    cuts : tuple of int
        The boundaries with a register.
    """

    def __init__(self, m, spec):
        self._m = m
        self.cuts = cut_points(spec)

    def stage(self, boundary, values):
        """Values after ``boundary``: registered copies if it is cut, else ``values`` as is.

        ``values`` maps a name to a list of Amaranth values; register ``k`` of list ``name``
        at the ``j``-th cut is called ``stage{j}_{name}{k}``.
        """
        if boundary not in self.cuts:
            return values
        j = self.cuts.index(boundary) + 1
        staged = {}
        for name, terms in values.items():
            staged[name] = []
            for k, term in enumerate(terms):
                reg = Signal(term.shape(), name=f"stage{j}_{name}{k}", reset_less=True)
                self._m.d.sync += reg.eq(term)
                staged[name].append(reg)
        return staged
