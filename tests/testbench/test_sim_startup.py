"""What a simulator start costs: the cocotb test modules import neither torch nor Amaranth.

The golden model (PyTorch) runs in the process that starts the simulator and reaches the test
module as a stimulus file (:func:`tn_hw.testbench.vectors.write_stimulus`); importing torch
inside every simulator start cost about 1 s idle and 4-7 s on a loaded machine.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tn_hw.errors import TnHwError
from tn_hw.testbench.sim import TB_CONFIG_ENV
from tn_hw.testbench.vectors import read_stimulus, write_stimulus

TB_MODULES = ["tn_hw.testbench.tb_neuron", "tn_hw.testbench.tb_stream",
              "tn_hw.testbench.tb_network", "tn_hw.testbench.tb_conv"]
HEAVY = ("torch", "amaranth")


def heavy_imports(modules: list) -> dict:
    """Import ``modules`` one after another in a fresh interpreter: the heavy packages each
    import brought in (the first culprit is named)."""
    code = ("import importlib, json, sys\n"
            "seen = {}\n"
            f"for module in {modules!r}:\n"
            "    before = {m for m in %r if m in sys.modules}\n"
            "    importlib.import_module(module)\n"
            "    seen[module] = sorted({m for m in %r if m in sys.modules} - before)\n"
            "print(json.dumps(seen))\n") % (HEAVY, HEAVY)
    env = {k: v for k, v in os.environ.items() if k != TB_CONFIG_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_simulator_side_modules_import_no_torch():
    assert heavy_imports(TB_MODULES) == {module: [] for module in TB_MODULES}


def test_the_import_check_sees_torch():
    """The check can fail: a module that imports torch is named."""
    seen = heavy_imports(["tn_hw.testbench.tb_neuron", "tn_hw.reference.integer"])
    assert seen == {"tn_hw.testbench.tb_neuron": [], "tn_hw.reference.integer": ["torch"]}


def test_stimulus_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    wide = np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max], dtype=np.int64)
    tests = {
        "directed": ({"x": rng.integers(-128, 128, (5, 9)), "w": rng.integers(-128, 128, (5, 9)),
                      "p": rng.integers(0, 2, (5, 9)), "bias": np.array([-40000, 0, 1, 2, 3])},
                     {"y": np.array([2**31, -(2**31) - 1, 0, 7, -7])}),
        "seeded_random": ({"x": wide.reshape(4, 1)}, {"y": wide}),
        "empty": ({"x": np.zeros((0, 3), dtype=np.int64)}, {"y": np.zeros(0, dtype=np.int64)}),
    }
    path = tmp_path / "stimulus.npz"
    write_stimulus(path, tests)
    for name, (inputs, expected) in tests.items():
        got_in, got_out = read_stimulus(path, name)
        assert list(got_in) == list(inputs) and list(got_out) == list(expected)
        for want, got in [(inputs, got_in), (expected, got_out)]:
            for family in want:
                assert got[family].dtype == np.int64
                assert got[family].shape == np.shape(want[family])
                assert np.array_equal(got[family], want[family])
    # Narrow types on disk: 8-bit ports take one byte per value.
    with np.load(path) as data:
        assert data["directed.in.x"].dtype == np.int8
        assert data["directed.out.y"].dtype == np.int64
        assert data["directed.in.bias"].dtype == np.int32
    with pytest.raises(TnHwError, match="no stimulus for test 'exhaustive'"):
        read_stimulus(path, "exhaustive")
