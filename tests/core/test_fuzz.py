"""Fuzzed inputs: every parser gives a valid object or one TnHwError, never another exception.

Property-based (hypothesis) over KernelSpec keyword arguments of any type, the kernel and
image parsers, ``--mask`` files and tn-hw-net files (random JSON-like structures and mutated
copies of models/*.json). The budget is small for CI (``max_examples`` below, no deadline).
"""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tn_hw.commands.args import read_mask
from tn_hw.conv import parse_image
from tn_hw.errors import TnHwError
from tn_hw.reference.network import Network, load_network
from tn_hw.spec import KernelSpec, parse_kernel

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.json"))

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# JSON-like values: what a JSON file can hold, and a few Python types beyond it.
_scalars = (st.none() | st.booleans() | st.integers() | st.integers(-3, 40)
            | st.floats(allow_nan=True) | st.text(max_size=8))
json_like = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5)
                         | st.dictionaries(st.text(max_size=6), inner, max_size=5),
                         max_leaves=30)
anything = json_like | st.tuples(json_like, json_like) | st.binary(max_size=8) \
    | st.sampled_from(["threshold", "mac", "sam", "adder", (3, 3), (1, 2), ((1, 0),), 2.0])


def _one_error(call, *args, **kwargs):
    """Run ``call``: return its value, or None if it raised a TnHwError (the one allowed)."""
    try:
        return call(*args, **kwargs)
    except TnHwError as error:
        assert str(error) and "\n" not in str(error).strip(), repr(error)
        return None


_KWARGS = ("neuron", "kernel", "channels", "outputs", "width", "bias_width", "mask",
           "mask_min", "stages")


@FUZZ
@given(st.dictionaries(st.sampled_from(_KWARGS), anything, max_size=6))
def test_kernel_spec_any_kwargs(kwargs):
    spec = _one_error(KernelSpec, **kwargs)
    if spec is not None:
        assert spec.output_width >= spec.cell_width
        assert KernelSpec.from_description(spec.describe()) == spec


@FUZZ
@given(st.text(max_size=30) | st.from_regex(r"\s*[0-9]{1,6}\s*[xX*]?\s*[0-9]{0,6}\s*",
                                              fullmatch=True)
       | st.integers(4000, 6000).map(lambda n: "9" * n + "x3"))
def test_parse_kernel_and_image(text):
    for parse in (parse_kernel, parse_image):
        sides = _one_error(parse, text)
        if sides is not None:
            assert all(isinstance(s, int) and s >= 1 for s in sides) and len(sides) == 2


@FUZZ
@given(json_like | st.binary(max_size=40).map(lambda b: b"\x00" + b) | st.text(max_size=40))
def test_mask_file(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("mask") / "mask.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    masks = _one_error(read_mask, str(path))
    if masks is not None:
        # Whatever the reader accepts, the spec accepts or refuses with one TnHwError.
        _one_error(KernelSpec, neuron="sam", kernel=(1, 3), outputs=2, mask=masks[0],
                   mask_min=masks[1])


def test_mask_file_edge_cases(tmp_path):
    cases = {"deep.json": "[" * 100_000 + "]" * 100_000, "huge.json": "[[" + "1" * 5000 + "]]",
             "latin1.json": b"\xff\xfe[[1]]", "dir": None}
    for name, content in cases.items():
        path = tmp_path / name
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        with pytest.raises(TnHwError):
            read_mask(str(path))


def _mutate(data, draw):
    """One random edit of a JSON object: replace, delete or insert a value at a random path."""
    node, key = None, None
    value = data
    while isinstance(value, (dict, list)) and value and draw(st.integers(0, 3)):
        node = value
        key = draw(st.sampled_from(sorted(value) if isinstance(value, dict)
                                   else range(len(value))))
        value = node[key]
    if node is None:
        return draw(json_like)
    action = draw(st.sampled_from(["replace", "delete", "insert"]))
    if action == "delete":
        del node[key]
    elif action == "insert" and isinstance(node, list):
        node.insert(key, draw(json_like))
    else:
        node[key] = draw(json_like)
    return data


def _masked_sam(raw):
    """A copy of a SAM model with a connectivity mask on every layer and a min-side mask on
    the first (docs/network-format.md), so that mutations reach the mask fields."""
    raw = copy.deepcopy(raw)
    raw["name"] += "-masked"
    for index, layer in enumerate(raw["layers"]):
        if layer.get("neuron") != "sam":
            continue
        rows, cols = len(layer["wp"]), len(layer["wp"][0])
        layer["mask"] = [[int((o + i) % 3 != 1) for i in range(cols)] for o in range(rows)]
        if index == 0:
            layer["mask_min"] = [[int((o * i) % 2 == 0) for i in range(cols)]
                                 for o in range(rows)]
    return raw


@pytest.fixture(scope="module")
def models():
    raws = [json.loads(path.read_text()) for path in MODELS]
    return raws + [_masked_sam(raw) for raw in raws
                   if any(layer.get("neuron") == "sam" for layer in raw["layers"])]


def test_masked_seed_model_loads(models):
    """The masked seed of the mutations is itself a valid network (with sparse layers)."""
    masked = [raw for raw in models if raw["name"].endswith("-masked")]
    assert masked
    net = load_network(masked[0])
    assert net.layers[0].spec.is_sparse and net.layers[0].mask_min is not None


_MASK_VALUES = (json_like
                | st.lists(st.lists(st.integers(0, 1), max_size=6), max_size=6)
                | st.lists(st.lists(st.integers(-1, 2) | st.booleans(), min_size=1,
                                    max_size=6), min_size=1, max_size=6))


@FUZZ
@given(data=st.data())
def test_network_mask_fields(models, data):
    """Any value in a layer's mask fields (or the refused kernel-level names): a valid network
    or one NetworkError line."""
    raw = copy.deepcopy(data.draw(st.sampled_from(models)))
    layer = data.draw(st.sampled_from(raw["layers"]))
    key = data.draw(st.sampled_from(["mask", "mask_min", "keep_max", "keep_min"]))
    layer[key] = data.draw(_MASK_VALUES)
    net = _one_error(load_network, raw)
    if net is not None:
        assert isinstance(net, Network)


@FUZZ
@given(data=st.data())
def test_network_mutated_models(models, data):
    raw = copy.deepcopy(data.draw(st.sampled_from(models)))
    for _ in range(data.draw(st.integers(1, 3))):
        raw = _mutate(raw, data.draw)
    net = _one_error(load_network, raw) if isinstance(raw, dict) else None
    if net is not None:
        assert isinstance(net, Network)


@FUZZ
@given(json_like | st.fixed_dictionaries(
    {"format": st.just("tn-hw-net"), "version": st.just(1), "input": json_like,
     "layers": st.lists(json_like, max_size=3)}))
def test_network_random_structures(tmp_path_factory, raw):
    if isinstance(raw, dict):
        _one_error(load_network, raw)
    path = tmp_path_factory.mktemp("net") / "net.json"
    path.write_text(json.dumps(raw))
    _one_error(load_network, path)


def test_network_file_edge_cases(tmp_path):
    cases = {"deep.json": "[" * 100_000 + "]" * 100_000,
             "deep_object.json": '{"a":' * 50_000 + "1" + "}" * 50_000,
             "huge_int.json": '{"format": ' + "7" * 5000 + "}", "binary.json": b"\xff\x00",
             "empty.json": ""}
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        with pytest.raises(TnHwError):
            load_network(path)


def test_export_deeply_nested_json(tmp_path):
    """Known case: 100,000 nested brackets gave a RecursionError traceback."""
    model = tmp_path / "deep.json"
    model.write_text("[" * 100_000 + "]" * 100_000)
    out = tmp_path / "out"
    run = subprocess.run([str(Path(sys.executable).parent / "tn-hw"), "export", str(model),
                          "-o", str(out)], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, timeout=300)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr and not out.exists()
