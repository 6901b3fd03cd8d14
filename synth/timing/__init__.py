"""Place and route with open tools (Yosys, nextpnr): Fmax, utilization, latency, throughput.

* ``pnr_ice40.ys``, ``pnr_ecp5.ys``: the Yosys scripts (readable, runnable by hand);
* :mod:`.pnr`: :func:`~.pnr.place_and_route` of one kernel in a registered wrapper, per seed;
* :mod:`.sweep`: :func:`~.sweep.run_timing` over targets, kernels, widths, stages and neurons,
  with the threshold/MAC ratios and the table and CSV renderers (``tn-hw timing``).
"""
