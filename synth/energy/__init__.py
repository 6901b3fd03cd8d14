"""Switching-activity energy proxy of generated kernels (``tn-hw energy``).

* :mod:`.gatesim`: the generic flow's gate netlist of a design (same script as the area tables,
  plus netlist writers) and a bit-parallel simulator that counts every gate-output toggle, with
  zero and unit delay, cross-checked against Icarus;
* :mod:`.proxy`: stimuli (random, digits), the weightings, one design's energy per inference
  against its MAC baseline, sweeps and their tables and plot.

Nothing is imported here, so :mod:`.gatesim` does not pull in torch.
"""
