"""Build the emitted Verilog with the lane wrapper and run the cocotb tests on it."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TnHwError
from ..manifest import Design
from .harness import WRAPPER_TOP, LaneLayout
from .vectors import check_golden_range

__all__ = ["TIERS", "RegressionResult", "default_seed", "run_regression", "check_simulator"]

#: Random vectors per configuration in each tier.
TIERS = {"quick": 2_000, "full": 10_000}

SIMULATORS = {"icarus": "iverilog"}

#: Vectors per batch: bounded by the packed block's width (each vector costs a copy of the
#: block inside the simulator, so very wide blocks stop paying off).
TARGET_BLOCK_BITS = 1 << 16
MAX_LANES = 4096


def default_seed() -> int:
    """The seed from ``TN_HW_SEED`` if set, else 1."""
    text = os.environ.get("TN_HW_SEED", "1")
    try:
        return int(text, 0)
    except ValueError:
        raise TnHwError(f"TN_HW_SEED must be an integer, not {text!r}") from None


def check_simulator(simulator: str) -> None:
    """Raise :class:`TnHwError` if the simulator is unknown or not installed."""
    if simulator not in SIMULATORS:
        raise TnHwError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    if shutil.which(SIMULATORS[simulator]) is None:
        raise TnHwError(f"{SIMULATORS[simulator]} not found on PATH: install Icarus Verilog "
                        "(Debian: apt-get install -y iverilog)")


@dataclass
class RegressionResult:
    top: str
    seed: int
    tests: dict = field(default_factory=dict)   # name -> {"vectors", "mismatches"}
    failed: list = field(default_factory=list)
    build_seconds: float = 0.0
    run_seconds: float = 0.0
    lanes: int = 0
    log: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.failed and bool(self.tests)

    @property
    def vectors(self) -> int:
        return sum(t["vectors"] for t in self.tests.values())

    @property
    def mismatches(self) -> int:
        return sum(t["mismatches"] for t in self.tests.values())

    def as_dict(self) -> dict:
        return {"top": self.top, "seed": self.seed, "passed": self.passed, "tests": self.tests,
                "failed": self.failed, "vectors": self.vectors, "mismatches": self.mismatches,
                "lanes": self.lanes, "build_seconds": round(self.build_seconds, 3),
                "run_seconds": round(self.run_seconds, 3)}


def default_lanes(layout_in_bits: int) -> int:
    return max(1, min(MAX_LANES, TARGET_BLOCK_BITS // max(1, layout_in_bits)))


def run_regression(design: Design, build_dir, *, tier="quick", random_vectors=None, seed=None,
                   tests=None, lanes=None, simulator="icarus", waves=None) -> RegressionResult:
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
    waves : bool, optional
        Dump waveforms into ``build_dir``; default from ``TN_HW_WAVES``.

    Returns
    -------
    RegressionResult

    Raises
    ------
    TnHwError
        Missing simulator, unknown tier, a design too wide for the golden model, or a
        simulation that ended without results.
    """
    if tier not in TIERS:
        raise TnHwError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    check_simulator(simulator)
    check_golden_range(design.spec, design.kind)
    if design.manifest.get("interface", "plain") == "stream":
        from .stream_runner import run_stream_regression

        return run_stream_regression(design, build_dir, tier=tier, random_vectors=random_vectors,
                                     seed=seed, simulator=simulator, waves=waves)
    seed = default_seed() if seed is None else seed
    if tests is None:
        tests = ["directed", "seeded_random"]
        if design.kind == "cell" and design.spec.width <= 6:
            tests.append("exhaustive")
    if waves is None:
        waves = os.environ.get("TN_HW_WAVES", "") not in ("", "0")

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    layout = LaneLayout(design.manifest, lanes=1)
    lanes = lanes or default_lanes(layout.in_bits)
    layout = LaneLayout(design.manifest, lanes=lanes)
    dut_file = build_dir / design.verilog_name
    dut_file.write_text(design.verilog)
    wrapper_file = build_dir / f"{WRAPPER_TOP}.v"
    wrapper_file.write_text(layout.wrapper_verilog())
    summary = build_dir / "summary.json"
    summary.unlink(missing_ok=True)
    config_file = build_dir / "tb_config.json"
    config_file.write_text(json.dumps({
        "manifest": design.manifest, "lanes": lanes, "seed": seed, "tests": tests,
        "random_vectors": TIERS[tier] if random_vectors is None else random_vectors,
        "summary": str(summary),
    }))

    run = simulate([dut_file, wrapper_file], "tn_hw.testbench.tb_neuron", build_dir,
                   top=design.top, simulator=simulator, waves=waves, seed=seed,
                   extra_env={"TN_HW_TB_CONFIG": str(config_file)})
    result = RegressionResult(top=design.top, seed=seed, lanes=lanes, log=run.log,
                              build_seconds=run.build_seconds, run_seconds=run.run_seconds)
    result.tests = json.loads(summary.read_text()) if summary.exists() else {}
    result.failed = _failed_tests(run.results_xml)
    missing = [t for t in tests if t not in result.tests]
    result.failed += [t for t in missing if t not in result.failed]
    return result


@dataclass
class SimulationRun:
    """What :func:`simulate` leaves: the cocotb results file and log, times, test counts."""

    results_xml: Path
    log: Path
    build_seconds: float
    run_seconds: float
    total: int
    failed: int


def simulate(sources, test_module, build_dir, *, top, simulator, waves, extra_env,
             seed=None, hdl_toplevel=WRAPPER_TOP) -> SimulationRun:
    """Build ``sources`` around the wrapper ``tn_tb_top`` (or another ``hdl_toplevel``) and run
    the cocotb ``test_module``.

    A failed cocotb test is not an exception here: the results file tells which test failed,
    and the caller decides what a failure means (the mutation tests expect one).

    Raises
    ------
    TnHwError
        If the simulation ended without a results file.
    """
    from cocotb_tools.runner import get_results, get_runner

    runner = get_runner(simulator)
    log = build_dir / "sim.log"
    started = time.perf_counter()
    runner.build(sources=sources, hdl_toplevel=hdl_toplevel,
                 build_dir=build_dir, timescale=("1ns", "1ps"), always=True, waves=waves,
                 log_file=build_dir / "build.log")
    built = time.perf_counter()
    results_xml = build_dir / "results.xml"
    results_xml.unlink(missing_ok=True)
    try:
        runner.test(test_module=test_module, hdl_toplevel=hdl_toplevel,
                    build_dir=build_dir, test_dir=build_dir, seed=seed,
                    results_xml=str(results_xml), extra_env=extra_env, waves=waves,
                    log_file=log)
    except SystemExit:
        pass  # under pytest the cocotb runner exits on a failed test
    finished = time.perf_counter()
    try:
        total, failed = get_results(results_xml)
    except RuntimeError:
        raise TnHwError(f"simulation of {top} ended without results; see {log}") from None
    return SimulationRun(results_xml=results_xml, log=log, build_seconds=built - started,
                         run_seconds=finished - built, total=total, failed=failed)


def _failed_tests(results_xml: Path) -> list:
    from xml.etree import ElementTree

    failed = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name"))
    return failed
