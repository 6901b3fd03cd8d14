"""Test vectors (directed corners, seeded random, exhaustive) and their golden outputs.

Vectors are plain data: a dict that maps a port family (``x``, ``w``, ``p``, ``bias``) to an
int64 array of shape ``(batch, *index_shape)``, where the index shape follows the design's port
arrays (``x``: ``(N,)``; ``w``/``p``: ``(N,)`` in a kernel, ``(O, N)`` in a layer; scalars in
a cell). The golden outputs come from :mod:`tn_hw.reference` only.

The golden model (PyTorch) runs in the process that starts the simulator, never inside it:
:func:`write_stimulus` saves every test's vectors and expected outputs to one ``.npz`` file that
the cocotb test modules read with :func:`read_stimulus`, so that no simulator start imports
torch (about 1 s idle, 4-7 s on a loaded machine, per start).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np

from ..errors import TnHwError
from ..spec import KernelSpec

__all__ = [
    "family_shapes",
    "directed_vectors",
    "random_vectors",
    "exhaustive_cell_vectors",
    "golden_outputs",
    "check_golden_range",
    "concat",
    "describe_vector",
    "write_stimulus",
    "write_golden_stimulus",
    "read_stimulus",
]

#: The golden model computes in int64.
GOLDEN_BITS = 64


def family_shapes(spec: KernelSpec, kind: str) -> dict:
    """Index shape of every input port family of a design (the family's ``port_shapes`` hook
    if it has one, else ``x``, ``w``, ``p`` with polarity, ``bias``)."""
    n, o = spec.n_inputs, spec.outputs
    family = spec.family
    if family.port_shapes is not None:
        shapes = family.port_shapes(spec, kind)
        if shapes is not None:
            return shapes
    if kind == "cell":
        shapes = {"x": (), "w": ()}
        if family.has_polarity:
            shapes["p"] = ()
        return shapes
    weight_shape = (n,) if kind == "kernel" else (o, n)
    shapes = {"x": (n,), "w": weight_shape}
    if family.has_polarity:
        shapes["p"] = weight_shape
    shapes["bias"] = () if kind == "kernel" else (o,)
    return shapes


def _ranges(spec):
    return {"x": spec.input_range, "w": spec.input_range, "wp": spec.input_range,
            "wm": spec.input_range, "p": (0, 1), "bias": spec.bias_range}


def concat(*vector_sets):
    """Concatenate vector sets along the batch axis."""
    return {key: np.concatenate([v[key] for v in vector_sets]) for key in vector_sets[0]}


def random_vectors(spec: KernelSpec, kind: str, rng: np.random.Generator, count: int) -> dict:
    """``count`` seeded random vectors.

    Half are uniform over each port's full range; the other half draw every value from the
    edges (min, min + 1, -1, 0, 1, max - 1, max), where width and sign bugs live.
    """
    ranges = _ranges(spec)
    uniform = count - count // 2
    vectors = {}
    for family, shape in family_shapes(spec, kind).items():
        lo, hi = ranges[family]
        flat = rng.integers(lo, hi, size=(uniform, *shape), dtype=np.int64, endpoint=True)
        edges = np.array(sorted({v for v in (lo, lo + 1, -1, 0, 1, hi - 1, hi) if lo <= v <= hi}),
                         dtype=np.int64)
        edgy = rng.choice(edges, size=(count // 2, *shape))
        # Both halves are int64 already: no second copy of the whole set.
        vectors[family] = np.concatenate([flat, edgy]).astype(np.int64, copy=False)
    return vectors


def directed_vectors(spec: KernelSpec, kind: str, rng: np.random.Generator) -> dict:
    """Directed corners: every combination of

    - inputs x: all min, all max, all 0, all -1, random;
    - thresholds w: all min, all max, all 0, random, equal to x (a tie everywhere);
    - polarity: all excitatory, all inhibitory, alternating, random;
    - bias: min, max, 0.

    Together they reach the extremes of the output range (all-max x over all-min w with one
    polarity and the matching extreme bias).
    """
    hook = spec.family.directed_vectors
    if hook is not None and (vectors := hook(spec, kind, rng)) is not None:
        return vectors
    shapes = family_shapes(spec, kind)
    ranges = _ranges(spec)
    xlo, xhi = spec.input_range
    blo, bhi = ranges["bias"]

    def fill(family, value):
        return np.full(shapes[family], value, dtype=np.int64)

    def rand(family):
        lo, hi = ranges[family]
        return rng.integers(lo, hi, size=shapes[family], dtype=np.int64, endpoint=True)

    xs = [("min", lambda: fill("x", xlo)), ("max", lambda: fill("x", xhi)),
          ("zero", lambda: fill("x", 0)), ("minus1", lambda: fill("x", -1)),
          ("random", lambda: rand("x"))]
    ws = ["min", "max", "zero", "random", "tie"]
    ps = ["excitatory", "inhibitory", "alternating", "random"]
    biases = [blo, bhi, 0]
    has_p, has_bias = "p" in shapes, "bias" in shapes
    rows = {family: [] for family in shapes}
    for (_, make_x), w_kind, p_kind, bias in itertools.product(
            xs, ws, ps if has_p else [None], biases if has_bias else [None]):
        x = make_x()
        if w_kind == "tie":
            w = np.broadcast_to(x, shapes["w"]).copy() if shapes["w"] else x.copy()
        else:
            w = {"min": lambda: fill("w", xlo), "max": lambda: fill("w", xhi),
                 "zero": lambda: fill("w", 0), "random": lambda: rand("w")}[w_kind]()
        rows["x"].append(x)
        rows["w"].append(w)
        if has_p:
            if p_kind == "alternating":
                p = (np.arange(int(np.prod(shapes["p"], dtype=np.int64))) % 2).reshape(shapes["p"])
            elif p_kind == "random":
                p = rand("p")
            else:
                p = fill("p", 1 if p_kind == "inhibitory" else 0)
            rows["p"].append(p.astype(np.int64))
        if has_bias:
            rows["bias"].append(fill("bias", bias))
    return {family: np.stack(values).astype(np.int64) for family, values in rows.items()}


def exhaustive_cell_vectors(spec: KernelSpec) -> dict:
    """Every ``(x, w, p)`` of a single cell (``4**W * 2`` vectors; meant for ``W <= 6``)."""
    lo, hi = spec.input_range
    values = np.arange(lo, hi + 1, dtype=np.int64)
    x, w = np.meshgrid(values, values, indexing="ij")
    vectors = {"x": x.reshape(-1), "w": w.reshape(-1)}
    if spec.family.has_polarity:
        count = vectors["x"].size
        vectors = {k: np.concatenate([v, v]) for k, v in vectors.items()}
        vectors["p"] = np.repeat(np.array([0, 1], dtype=np.int64), count)
    return vectors


def check_golden_range(spec: KernelSpec, kind: str) -> None:
    """Refuse designs whose outputs do not fit the int64 golden model."""
    # A cell has no bias: its output is one cell's contribution.
    width = spec.cell_width if kind == "cell" else spec.output_width
    if width > GOLDEN_BITS:
        raise TnHwError(
            f"{spec.top_name}: output width {width} exceeds the golden model's "
            f"{GOLDEN_BITS}-bit integers; use a smaller width or kernel, or a narrower bias"
        )


def golden_outputs(spec: KernelSpec, kind: str, vectors: dict) -> dict:
    """Expected outputs per port family, from :mod:`tn_hw.reference`."""
    import torch  # here, not at the top: the simulator-side test modules import this module

    check_golden_range(spec, kind)
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in vectors.items()}
    family = spec.family
    if family.golden is not None:
        out = family.golden(spec, kind, t)
    else:
        out = _golden_from_cell(family, kind, t)
    return {k: v.numpy() for k, v in out.items()}


def _golden_from_cell(family, kind, t):
    """Outputs of a family whose kernel is ``bias + sum_i golden_cell(x_i, w_i, p_i)``."""
    x, w, p = t["x"], t["w"], t.get("p")
    if kind == "cell":
        out = {"y": family.golden_cell(x, w, p)}
        if family.golden_cell_outputs is not None:
            out |= family.golden_cell_outputs(x, w, p)
        return out
    if kind == "layer":
        x = x.unsqueeze(-2)
    return {"y": t["bias"] + family.golden_cell(x, w, p).sum(dim=-1)}


def describe_vector(vectors: dict, index: int) -> str:
    """One vector as ``x=[...] w=[...] ...`` for a failure message."""
    parts = []
    for family, values in vectors.items():
        value = values[index]
        parts.append(f"{family}={value.tolist() if isinstance(value, np.ndarray) else int(value)}")
    return " ".join(parts)


def _narrow(values: np.ndarray) -> np.ndarray:
    """The smallest signed integer type that holds ``values`` (a 1M-vector stimulus of 8-bit
    ports is then 8x smaller on disk than int64)."""
    values = np.asarray(values)
    if values.size == 0:
        return values.astype(np.int8)
    lo, hi = int(values.min()), int(values.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return values.astype(dtype)
    return values.astype(np.int64)


def write_stimulus(path, tests: dict) -> None:
    """Save each test's vectors and golden outputs for the simulator-side test module.

    Parameters
    ----------
    path : path
        The ``.npz`` file to write.
    tests : dict
        Test name -> ``(inputs, expected)``, each a dict port family -> integer array with the
        batch first (:func:`golden_outputs` for the expected values).
    """
    arrays = {}
    for name, (inputs, expected) in tests.items():
        for family, values in inputs.items():
            arrays[f"{name}.in.{family}"] = _narrow(values)
        for family, values in expected.items():
            arrays[f"{name}.out.{family}"] = _narrow(values)
    np.savez(path, **arrays)


def write_golden_stimulus(path, spec: KernelSpec, kind: str, tests, draw) -> float:
    """Draw the vectors of each of ``tests`` (``draw(test) -> vectors``), run the golden model
    on them and save both (:func:`write_stimulus`); returns the seconds it took."""
    started = time.perf_counter()
    Path(path).unlink(missing_ok=True)
    write_stimulus(path, {test: (vectors, golden_outputs(spec, kind, vectors))
                          for test in tests for vectors in [draw(test)]})
    return time.perf_counter() - started


def read_stimulus(path, name: str) -> tuple[dict, dict]:
    """``(inputs, expected)`` of test ``name`` from a :func:`write_stimulus` file, as int64
    arrays in the order they were written."""
    inputs, expected = {}, {}
    with np.load(path) as data:
        for key in data.files:
            test, part, family = key.rsplit(".", 2)
            if test == name:
                (inputs if part == "in" else expected)[family] = data[key].astype(np.int64)
    if not inputs:
        raise TnHwError(f"{path}: no stimulus for test {name!r}")
    return inputs, expected
