"""Test vectors (directed corners, seeded random, exhaustive) and their golden outputs.

Vectors are plain data: a dict that maps a port family (``x``, ``w``, ``p``, ``bias``) to an
int64 array of shape ``(batch, *index_shape)``, where the index shape follows the design's port
arrays (``x``: ``(N,)``; ``w``/``p``: ``(N,)`` in a kernel, ``(O, N)`` in a layer; scalars in
a cell). The golden outputs come from :mod:`tn_hw.reference` only.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from .. import reference
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
]

#: The golden model computes in int64.
GOLDEN_BITS = 64


def family_shapes(spec: KernelSpec, kind: str) -> dict:
    """Index shape of every input port family of a design."""
    n, o = spec.n_inputs, spec.outputs
    if spec.neuron == "sam" and kind != "cell":
        # Weight ports hold the kept connections only (docs/semantics.md, SAM).
        return {"x": (n,), "wp": (len(spec.connections_max),),
                "wm": (len(spec.connections_min),)}
    if kind == "cell":
        shapes = {"x": (), "w": ()}
        if spec.neuron == "threshold":
            shapes["p"] = ()
        return shapes
    weight_shape = (n,) if kind == "kernel" else (o, n)
    shapes = {"x": (n,), "w": weight_shape}
    if spec.neuron == "threshold":
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
        vectors[family] = np.concatenate([flat, edgy]).astype(np.int64)
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
    if "wp" in (shapes := family_shapes(spec, kind)):
        return _directed_sam(spec, rng)
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


def _directed_sam(spec: KernelSpec, rng: np.random.Generator) -> dict:
    """SAM corners: every combination of x (min, max, 0, -1, random) with ``W+`` and ``W-``
    each min, max, 0, random, or ``-x`` (clipped), which makes all kept sums equal (ties)."""
    shapes = family_shapes(spec, "kernel" if spec.outputs == 1 else "layer")
    lo, hi = spec.input_range
    n = spec.n_inputs
    inputs = {"wp": np.array([i for _, i in spec.connections_max], dtype=np.int64),
              "wm": np.array([i for _, i in spec.connections_min], dtype=np.int64)}
    xs = [np.full(n, lo), np.full(n, hi), np.zeros(n), np.full(n, -1),
          rng.integers(lo, hi, size=n, endpoint=True)]
    kinds = ["min", "max", "zero", "random", "equal-sums"]

    def weights(family, kind, x):
        size = shapes[family]
        if kind == "equal-sums":
            return np.clip(-x[inputs[family]], lo, hi)
        if kind == "random":
            return rng.integers(lo, hi, size=size, endpoint=True)
        return np.full(size, {"min": lo, "max": hi, "zero": 0}[kind])

    rows = {"x": [], "wp": [], "wm": []}
    for x, kp, km in itertools.product(xs, kinds, kinds):
        rows["x"].append(x)
        rows["wp"].append(weights("wp", kp, x))
        rows["wm"].append(weights("wm", km, x))
    return {family: np.stack(values).astype(np.int64) for family, values in rows.items()}


def _scatter(spec: KernelSpec, values: torch.Tensor, connections) -> torch.Tensor:
    """Compact SAM weights ``(batch, K)`` to ``(batch, O, N)``; pruned entries are 0 (ignored)."""
    full = torch.zeros(values.shape[0], spec.outputs, spec.n_inputs, dtype=torch.int64)
    if connections:
        outs, ins = zip(*connections, strict=True)
        full[:, list(outs), list(ins)] = values
    return full


def exhaustive_cell_vectors(spec: KernelSpec) -> dict:
    """Every ``(x, w, p)`` of a single cell (``4**W * 2`` vectors; meant for ``W <= 6``)."""
    lo, hi = spec.input_range
    values = np.arange(lo, hi + 1, dtype=np.int64)
    x, w = np.meshgrid(values, values, indexing="ij")
    vectors = {"x": x.reshape(-1), "w": w.reshape(-1)}
    if spec.neuron == "threshold":
        count = vectors["x"].size
        vectors = {k: np.concatenate([v, v]) for k, v in vectors.items()}
        vectors["p"] = np.repeat(np.array([0, 1], dtype=np.int64), count)
    return vectors


def check_golden_range(spec: KernelSpec, kind: str) -> None:
    """Refuse designs whose outputs do not fit the int64 golden model."""
    width = 2 * spec.width if (kind == "cell" and spec.neuron == "mac") else spec.output_width
    if width > GOLDEN_BITS:
        raise TnHwError(
            f"{spec.top_name}: output width {width} exceeds the golden model's "
            f"{GOLDEN_BITS}-bit integers; use a smaller width or kernel, or a narrower bias"
        )


def golden_outputs(spec: KernelSpec, kind: str, vectors: dict) -> dict:
    """Expected outputs per port family, from :mod:`tn_hw.reference`."""
    check_golden_range(spec, kind)
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in vectors.items()}
    p = t.get("p")
    if spec.neuron == "sam":
        from ..reference.sam import sam_layer, sam_sums

        if kind == "cell":
            return {"s": sam_sums(t["x"], t["w"]).numpy()}
        y = sam_layer(t["x"], _scatter(spec, t["wp"], spec.connections_max),
                      _scatter(spec, t["wm"], spec.connections_min),
                      torch.tensor(spec.keep_max), torch.tensor(spec.keep_min))
        return {"y": (y.squeeze(-1) if kind == "kernel" else y).numpy()}
    if spec.neuron == "adder":
        from ..reference import adder

        if kind == "cell":
            out = {"y": adder.adder_cell(t["x"], t["w"]),
                   "r": adder.adder_magnitude(t["x"], t["w"])}
        elif kind == "kernel":
            out = {"y": adder.adder_kernel(t["x"], t["w"], t["bias"])}
        else:
            out = {"y": adder.adder_layer(t["x"], t["w"], t["bias"])}
        return {k: v.numpy() for k, v in out.items()}
    if kind == "cell":
        out = {"y": reference.cell(spec.neuron, t["x"], t["w"], p)}
        if spec.neuron == "threshold":
            out["r"] = reference.threshold_magnitude(t["x"], t["w"])
            out["c"] = reference.threshold_ones_complement(t["x"], t["w"], p)
    elif kind == "kernel":
        out = {"y": reference.kernel(spec.neuron, t["x"], t["w"], p, t["bias"])}
    else:
        out = {"y": reference.layer(spec.neuron, t["x"], t["w"], p, t["bias"])}
    return {k: v.numpy() for k, v in out.items()}


def describe_vector(vectors: dict, index: int) -> str:
    """One vector as ``x=[...] w=[...] ...`` for a failure message."""
    parts = []
    for family, values in vectors.items():
        value = values[index]
        parts.append(f"{family}={value.tolist() if isinstance(value, np.ndarray) else int(value)}")
    return " ".join(parts)
