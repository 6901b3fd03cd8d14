"""Area with open Yosys: the scripts ``generic.ys``, ``xc7.ys``, ``ice40.ys`` and

* :mod:`.flow`: :func:`~.flow.synthesize` runs one script on one design, checks the result
  (guards) and caches it; every failure is a :class:`~tn_hw.synth.tools.SynthError`;
* :mod:`.compare`: the threshold-vs-MAC sweep, its CSV/JSON/Markdown tables and plots;
* :mod:`.ops`: the paper's Table 1 (single operations) with open tools;
* :mod:`.split`: whole networks, synthesized neuron by neuron and summed.
"""
