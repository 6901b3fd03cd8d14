"""Build the emitted Verilog with the lane wrapper and run the cocotb tests on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TnHwError
from ..manifest import Design
from .consistency import check_design
from .harness import WRAPPER_TOP, LaneLayout, default_lanes
from .sim import (
    SIMULATORS,
    TIERS,
    RegressionResult,
    check_simulator,
    check_tier,
    default_seed,
    default_waves,
    simulate,
)
from .stream_runner import run_stream_regression
from .vectors import (
    check_golden_range,
    directed_vectors,
    exhaustive_cell_vectors,
    random_vectors,
    write_golden_stimulus,
)

__all__ = ["TIERS", "SIMULATORS", "RegressionResult", "default_seed", "run_regression",
           "check_simulator", "neuron_test_vectors"]

#: The tests of :mod:`tn_hw.testbench.tb_neuron`.
NEURON_TESTS = ("directed", "seeded_random", "exhaustive")


def neuron_test_vectors(spec, kind, test, seed, count) -> dict:
    """The vectors of one test of :mod:`~tn_hw.testbench.tb_neuron`: the directed corners, ``count``
    seeded random vectors, or every input of a single cell; each test draws from its own stream
    of ``seed``, so a subset of the tests sees the same vectors."""
    if test == "directed":
        return directed_vectors(spec, kind, np.random.default_rng([seed, 1]))
    if test == "seeded_random":
        return random_vectors(spec, kind, np.random.default_rng([seed, 2]), count)
    if test == "exhaustive":
        return exhaustive_cell_vectors(spec)
    raise TnHwError(f"unknown test {test!r}; the tests are {', '.join(NEURON_TESTS)}")


def run_regression(design: Design, build_dir, *, tier="quick", random_vectors=None, seed=None,
                   tests=None, lanes=None, simulator=None, waves=None,
                   outputs=None) -> RegressionResult:
    """Run the cocotb regression of one design; every output is compared as an integer.

    Parameters
    ----------
    design : Design
        From :func:`tn_hw.generate.generate` (or ``generate_cell``).
    build_dir : path
        A folder of this run's own (safe under ``pytest -n``).
    tier : str
        ``"quick"`` or ``"full"``: the number of random vectors (:data:`TIERS`).
    random_vectors : int, optional
        Overrides the tier's count.
    seed : int, optional
        Seed of the random and directed vectors; default :func:`default_seed`.
    tests : list of str, optional
        Subset of ``directed``, ``seeded_random``, ``exhaustive``. Default: directed and random,
        plus exhaustive for a single cell of width <= 6.
    lanes : int, optional
        Copies of the design per packed bus; default fills about 64 kbit.
    simulator : str, optional
        ``"icarus"`` or ``"verilator"`` (:data:`SIMULATORS`); default ``$TN_HW_SIMULATOR`` or
        icarus.
    waves : bool, optional
        Dump an FST into ``build_dir`` (``result.waves``); default from ``TN_HW_WAVES``.
    outputs : path, optional
        Write every output integer the design produced to this file
        (:func:`~tn_hw.testbench.sim.record_outputs`), to compare simulators.

    Returns
    -------
    RegressionResult
        A simulation that ended without results is a failed result whose ``reason`` quotes the
        simulator's first error line.

    Raises
    ------
    TnHwError
        Missing simulator, unknown tier, a design too wide for the golden model.
    DesignMismatch
        A manifest that disagrees with its Verilog or its parameters
        (:func:`~tn_hw.testbench.consistency.check_design`).
    """
    check_tier(tier)
    check_simulator(simulator)
    check_golden_range(design.spec, design.kind)
    check_design(design.manifest, design.verilog)
    if design.manifest.get("interface", "plain") == "stream":
        return run_stream_regression(design, build_dir, tier=tier, random_vectors=random_vectors,
                                     seed=seed, simulator=simulator, waves=waves,
                                     outputs=outputs)
    seed = default_seed() if seed is None else seed
    if tests is None:
        tests = ["directed", "seeded_random"]
        if design.kind == "cell" and design.spec.width <= 6:
            tests.append("exhaustive")

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    layout = LaneLayout(design.manifest, lanes=1)
    lanes = lanes or default_lanes(layout.in_bits)
    layout = LaneLayout(design.manifest, lanes=lanes)
    dut_file = build_dir / design.verilog_name
    dut_file.write_text(design.verilog)
    wrapper_file = build_dir / f"{WRAPPER_TOP}.v"
    wrapper_file.write_text(layout.wrapper_verilog())
    count = TIERS[tier] if random_vectors is None else random_vectors
    # The golden model runs here, not in the simulator (no torch import per simulator start).
    stimulus = build_dir / "stimulus.npz"
    stimulus_seconds = write_golden_stimulus(
        stimulus, design.spec, design.kind, tests,
        lambda test: neuron_test_vectors(design.spec, design.kind, test, seed, count))
    config = {"manifest": design.manifest, "lanes": lanes, "seed": seed, "tests": tests,
              "stimulus": str(stimulus)}
    run = simulate([dut_file, wrapper_file], "tn_hw.testbench.tb_neuron", build_dir,
                   config=config, simulator=simulator, waves=default_waves(waves), seed=seed,
                   hdl_toplevel=WRAPPER_TOP, dut_module=design.top, outputs=outputs)
    result = run.result(design.top, seed, tests, lanes=lanes)
    result.stimulus_seconds = stimulus_seconds
    return result
