"""Area of threshold and MAC kernels with open Yosys (installed as ``tn_hw.synth``).

* ``generic.ys``, ``xc7.ys``, ``ice40.ys``: the Yosys scripts, readable and runnable by hand;
* :mod:`.flow`: :func:`~.flow.synthesize` runs one script on one design, checks the result
  (guards) and caches it; every failure is a :class:`~.flow.SynthError`;
* :mod:`.compare`: the threshold-vs-MAC sweep, its CSV/JSON/Markdown tables and plots;
* :mod:`.ops`: the paper's Table 1 (single operations) with open tools;
* :mod:`.cli`: the ``tn-hw synth``, ``compare`` and ``ops`` subcommands;
* ``pnr_ice40.ys``, ``pnr_ecp5.ys`` and :mod:`.pnr`: place and route with nextpnr (Fmax and
  utilization of a kernel in a registered wrapper); :mod:`.timing`: ``tn-hw timing``.
"""

from .flow import TARGETS, SynthError, synthesize

__all__ = ["TARGETS", "SynthError", "synthesize"]
