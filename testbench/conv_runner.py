"""Build an emitted streaming convolution layer and run its cocotb tests (:mod:`.tb_conv`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import TnHwError
from ..manifest import Design
from .consistency import check_design
from .sim import (
    RegressionResult,
    check_simulator,
    check_tier,
    default_seed,
    default_waves,
    simulate,
)
from .vectors import check_golden_range

__all__ = ["CONV_TESTS", "CONV_TIERS", "run_conv_regression"]

#: The cocotb tests of a conv layer (tb_conv.py).
CONV_TESTS = ("full_rate", "backpressure", "reset_mid_frame")

#: Frames per test in each tier.
CONV_TIERS = {"quick": 3, "full": 8}


def run_conv_regression(design: Design, build_dir, *, tier="quick", frames=None, seed=None,
                        tests=CONV_TESTS, simulator=None, waves=None,
                        outputs=None) -> RegressionResult:
    """Run the cocotb tests of a conv layer; every output pixel is compared as integers.

    Parameters
    ----------
    design : Design
        Of kind ``"conv"``, from :func:`tn_hw.generate.generate_conv` (or a folder's manifest).
    build_dir : path
        A folder of this run's own (safe under ``pytest -n``).
    tier : str
        ``"quick"`` or ``"full"``: frames per test (:data:`CONV_TIERS`).
    frames : int, optional
        Overrides the tier's count (``reset_mid_frame`` streams at least 3).
    seed : int, optional
        Seed of frames, thresholds/weights, gaps and back-pressure; default
        :func:`~tn_hw.testbench.runner.default_seed`.
    tests : sequence of str
        Subset of :data:`CONV_TESTS`.
    simulator : str, optional
        ``"icarus"`` or ``"verilator"``; default ``$TN_HW_SIMULATOR`` or icarus.
    waves : bool, optional
        Dump waveforms into ``build_dir``; default from ``TN_HW_WAVES``.
    outputs : path, optional
        Write the cycle and value of every output pixel there, to compare simulators.

    Returns
    -------
    RegressionResult
        ``tests[name]["vectors"]`` counts the output pixels checked.

    Raises
    ------
    TnHwError
        Missing simulator, a design that is not a conv layer, an unknown tier or test, or a
        manifest that disagrees with its Verilog (:func:`~tn_hw.testbench.consistency.
        check_design`). A simulation that ended without results is a failed result with a
        ``reason``.
    """
    if design.kind != "conv":
        raise TnHwError(f"{design.top} is a {design.kind}, not a conv layer")
    check_tier(tier, CONV_TIERS)
    unknown = [t for t in tests if t not in CONV_TESTS]
    if unknown:
        raise TnHwError(f"unknown conv tests {unknown}; choose from {', '.join(CONV_TESTS)}")
    check_simulator(simulator)
    check_golden_range(design.spec.kernel, "layer")
    check_design(design.manifest, design.verilog)
    seed = default_seed() if seed is None else seed
    frames = CONV_TIERS[tier] if frames is None else frames
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise TnHwError(f"frames must be an integer of at least 1, not {frames!r}")

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    dut_file = build_dir / design.verilog_name
    dut_file.write_text(design.verilog)
    config = {"manifest": design.manifest, "seed": seed, "frames": frames, "tests": list(tests)}
    run = simulate([dut_file], "tn_hw.testbench.tb_conv", build_dir, config=config,
                   simulator=simulator, waves=default_waves(waves), seed=seed,
                   hdl_toplevel=design.top, outputs=outputs)
    return run.result(design.top, seed, tests)
