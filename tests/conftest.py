import shutil

import pytest


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true",
                     help="release tier: 10k random vectors per regression config")


@pytest.fixture(scope="session")
def tier(request):
    return "full" if request.config.getoption("--full") else "quick"


@pytest.fixture(scope="session")
def icarus():
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) is not installed; apt-get install -y iverilog")
