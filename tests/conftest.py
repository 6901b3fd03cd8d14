import os

import pytest


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


@pytest.fixture(scope="session")
def tier(request):
    return "full" if request.config.getoption("--full") else "quick"


@pytest.fixture(scope="session")
def icarus():
    """The suite's simulator (Icarus unless --simulator or TN_HW_SIMULATOR says otherwise) is
    installed; else the test is skipped."""
    from tn_hw.testbench.sim import check_simulator

    from tn_hw.errors import TnHwError

    try:
        check_simulator()
    except TnHwError as error:
        pytest.skip(str(error))
