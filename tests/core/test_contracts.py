"""Light contracts (issue 13): the network description, the manifest and the regression runner
import neither torch nor Amaranth; a pathological network file is one NetworkError line."""

import json
import subprocess
import sys

import pytest

from tn_hw.netdesc import NetworkError, read_network


def _imported(module: str) -> set:
    """Top-level packages in ``sys.modules`` after importing ``module`` in a fresh Python."""
    code = (f"import sys, json, {module}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module, heavy", [
    ("tn_hw.hdl.network", "torch"),
    ("tn_hw.netdesc", "torch"),
    ("tn_hw.testbench.runner", "amaranth"),
    ("tn_hw.manifest", "amaranth"),
    ("tn_hw.neurons", "amaranth"),
    ("tn_hw.neurons", "torch"),
])
def test_light_import(module, heavy):
    assert heavy not in _imported(module)


@pytest.mark.parametrize("heavy", ["torch", "amaranth"])
def test_the_command_line_parser_is_light(heavy):
    """``tn-hw --help`` (and every command before it runs) builds the whole parser: it must not
    pay for torch or Amaranth (seconds per start)."""
    code = ("import sys, json, tn_hw.cli; tn_hw.cli.build_parser(); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert heavy not in json.loads(done.stdout)


def test_the_check_sees_a_heavy_import():
    """The check above can fail: these modules do import the heavy package."""
    assert "torch" in _imported("tn_hw.reference.network")
    assert "amaranth" in _imported("tn_hw.generate")


def test_hardware_builds_from_the_description_alone():
    from tn_hw.hdl.network import Network, plan_network
    from tn_hw.reference.network import load_network

    desc = read_network("models/digits-tmlp.json")
    assert isinstance(desc.layers[0].w, tuple) and isinstance(desc.layers[0].w[0][0], int)
    assert plan_network(desc) == plan_network(load_network("models/digits-tmlp.json"))
    assert Network(desc).output_width == Network(load_network("models/digits-tmlp.json")) \
        .output_width


def _deep(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def test_deeply_nested_json_is_one_network_error(tmp_path):
    path = _deep(tmp_path)
    with pytest.raises(NetworkError, match="nested too deeply"):
        read_network(path)


def test_export_refuses_deeply_nested_json_in_one_line(tmp_path, capsys):
    from tn_hw.cli import main

    path = _deep(tmp_path)
    out = tmp_path / "out"
    try:
        code = main(["export", str(path), "-o", str(out)])
    except SystemExit as exit_:
        code = exit_.code
    stdout, stderr = capsys.readouterr()
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and "nested too deeply" in stderr, stderr
    assert "Traceback" not in stderr
    assert not out.exists()
