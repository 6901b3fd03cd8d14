"""Build the emitted Verilog with the lane wrapper and run the cocotb tests on it."""

from __future__ import annotations

from pathlib import Path

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
from .vectors import check_golden_range

__all__ = ["TIERS", "SIMULATORS", "RegressionResult", "default_seed", "run_regression",
           "check_simulator"]

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
    config = {"manifest": design.manifest, "lanes": lanes, "seed": seed, "tests": tests,
              "random_vectors": TIERS[tier] if random_vectors is None else random_vectors}
    run = simulate([dut_file, wrapper_file], "tn_hw.testbench.tb_neuron", build_dir,
                   config=config, simulator=simulator, waves=default_waves(waves), seed=seed,
                   hdl_toplevel=WRAPPER_TOP, outputs=outputs)
    return run.result(design.top, seed, tests, lanes=lanes)
