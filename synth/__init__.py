"""Open-tool flows on generated designs (installed as ``tn_hw.synth``), one subpackage per concern.

* :mod:`.tools`: what every flow shares: finding Yosys and its version, :func:`~.tools.run_tool`
  (one tool step in a work folder, timeout, one-line errors from the log) and the one result
  cache (:class:`~.tools.ResultCache`, keyed by Verilog, script and tool versions);
* :mod:`.area`: area with Yosys: ``generic.ys``, ``xc7.ys``, ``ice40.ys`` (readable, runnable by
  hand), :mod:`.area.flow` (:func:`~.area.flow.synthesize`: one script on one design, guards,
  cache), :mod:`.area.compare` (the threshold-vs-MAC sweep and its tables and plots),
  :mod:`.area.ops` (the paper's Table 1) and :mod:`.area.split` (networks neuron by neuron);
* :mod:`.energy`: the switching-activity energy proxy: :mod:`.energy.gatesim` (gate netlists of
  the generic flow and a toggle-counting simulator) and :mod:`.energy.proxy` (streams, weightings,
  sweeps and reports);
* :mod:`.timing`: place and route with nextpnr: ``pnr_ice40.ys``, ``pnr_ecp5.ys``,
  :mod:`.timing.pnr` (registered wrapper, checks, Fmax and utilization of one kernel) and
  :mod:`.timing.sweep` (the sweep behind ``tn-hw timing``).

The commands (``tn-hw synth``, ``compare``, ``ops``, ``synth-net``, ``energy``, ``timing``) live in
:mod:`tn_hw.commands`; the formal pipeline check in :mod:`tn_hw.testbench.equiv`; the
operand-isolated kernel of the energy experiment in :mod:`tn_hw.hdl.isolation`.
"""

from .area.flow import TARGETS, synthesize
from .tools import SynthError

__all__ = ["TARGETS", "SynthError", "synthesize"]
