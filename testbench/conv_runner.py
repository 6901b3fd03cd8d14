"""Build an emitted streaming convolution layer and run its cocotb tests (:mod:`.tb_conv`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import TnHwError
from ..manifest import Design
from .runner import RegressionResult, _failed_tests, check_simulator, default_seed, simulate
from .vectors import check_golden_range

__all__ = ["CONV_TESTS", "CONV_TIERS", "run_conv_regression"]

#: The cocotb tests of a conv layer (tb_conv.py).
CONV_TESTS = ("full_rate", "backpressure", "reset_mid_frame")

#: Frames per test in each tier.
CONV_TIERS = {"quick": 3, "full": 8}


def run_conv_regression(design: Design, build_dir, *, tier="quick", frames=None, seed=None,
                        tests=CONV_TESTS, simulator="icarus", waves=None) -> RegressionResult:
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
    waves : bool, optional
        Dump waveforms into ``build_dir``; default from ``TN_HW_WAVES``.

    Returns
    -------
    RegressionResult
        ``tests[name]["vectors"]`` counts the output pixels checked.

    Raises
    ------
    TnHwError
        Missing simulator, a design that is not a conv layer, an unknown tier or test, or a
        simulation that ended without results.
    """
    if design.kind != "conv":
        raise TnHwError(f"{design.top} is a {design.kind}, not a conv layer")
    if tier not in CONV_TIERS:
        raise TnHwError(f"tier must be one of {', '.join(CONV_TIERS)}, not {tier!r}")
    unknown = [t for t in tests if t not in CONV_TESTS]
    if unknown:
        raise TnHwError(f"unknown conv tests {unknown}; choose from {', '.join(CONV_TESTS)}")
    check_simulator(simulator)
    check_golden_range(design.spec.kernel, "layer")
    seed = default_seed() if seed is None else seed
    frames = CONV_TIERS[tier] if frames is None else frames
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise TnHwError(f"frames must be an integer of at least 1, not {frames!r}")
    if waves is None:
        waves = os.environ.get("TN_HW_WAVES", "") not in ("", "0")

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    dut_file = build_dir / design.verilog_name
    dut_file.write_text(design.verilog)
    summary = build_dir / "summary.json"
    summary.unlink(missing_ok=True)
    config_file = build_dir / "tb_conv_config.json"
    config_file.write_text(json.dumps({"manifest": design.manifest, "seed": seed,
                                       "frames": frames, "tests": list(tests),
                                       "summary": str(summary)}))
    run = simulate([dut_file], "tn_hw.testbench.tb_conv", build_dir, top=design.top,
                   simulator=simulator, waves=waves, seed=seed, hdl_toplevel=design.top,
                   extra_env={"TN_HW_CONV_CONFIG": str(config_file)})
    result = RegressionResult(top=design.top, seed=seed, log=run.log,
                              build_seconds=run.build_seconds, run_seconds=run.run_seconds)
    result.tests = json.loads(summary.read_text()) if summary.exists() else {}
    result.failed = _failed_tests(run.results_xml)
    result.failed += [t for t in tests if t not in result.tests and t not in result.failed]
    return result
