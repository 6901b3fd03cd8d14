"""The Sum-and-Max neuron: ``y = max_i (x_i + Wp_i) + min_i (x_i + Wm_i)``, no bias, with
keep masks fixed at generation time (docs/semantics.md, "SAM")."""

from __future__ import annotations

from . import NeuronFamily, register

__all__ = ["FAMILY", "port_shapes", "directed_vectors", "scatter"]


def cell_range(lo: int, hi: int) -> tuple[int, int]:
    """The sum ``x + w`` lies in ``[-2**W, 2**W - 2]``."""
    return 2 * lo, 2 * hi


def sum_range(cell_lo: int, cell_hi: int, n_inputs: int) -> tuple[int, int]:
    """``max + min``: two cells' worth, whatever ``n_inputs``."""
    return 2 * cell_lo, 2 * cell_hi


def make_cell(width: int):
    from ..hdl.sam import SamCell

    return SamCell(width=width)


def make_kernel(spec):
    from ..hdl.sam import SamKernel

    return SamKernel(spec)


def make_layer(spec):
    from ..hdl.sam import SamLayer

    return SamLayer(spec)


def port_connections(spec) -> dict:
    """Weight ports list kept connections only; ``wp[k]`` is pair ``connections_max[k]``."""
    return {"wp": spec.connections_max, "wm": spec.connections_min}


def port_shapes(spec, kind):
    """Weight ports hold the kept connections only (docs/semantics.md, SAM); a cell's ports
    are the generic ``x`` and ``w``."""
    if kind == "cell":
        return None
    return {"x": (spec.n_inputs,), "wp": (len(spec.connections_max),),
            "wm": (len(spec.connections_min),)}


def directed_vectors(spec, kind, rng):
    """SAM corners: every combination of x (min, max, 0, -1, random) with ``W+`` and ``W-``
    each min, max, 0, random, or ``-x`` (clipped), which makes all kept sums equal (ties)."""
    import itertools

    import numpy as np

    if kind == "cell":
        return None
    shapes = port_shapes(spec, kind)
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


def scatter(spec, values, connections):
    """Compact SAM weights ``(batch, K)`` to ``(batch, O, N)``; pruned entries are 0 (ignored)."""
    import torch

    full = torch.zeros(values.shape[0], spec.outputs, spec.n_inputs, dtype=torch.int64)
    if connections:
        outs, ins = zip(*connections, strict=True)
        full[:, list(outs), list(ins)] = values
    return full


def golden_cell(x, w, p=None):
    from ..reference.sam import sam_sums

    return sam_sums(x, w)


def golden(spec, kind, t):
    import torch

    from ..reference.sam import sam_layer, sam_sums

    if kind == "cell":
        return {"s": sam_sums(t["x"], t["w"])}
    y = sam_layer(t["x"], scatter(spec, t["wp"], spec.connections_max),
                  scatter(spec, t["wm"], spec.connections_min),
                  torch.tensor(spec.keep_max), torch.tensor(spec.keep_min))
    return {"y": y.squeeze(-1) if kind == "kernel" else y}


FAMILY = register(NeuronFamily(
    name="sam",
    summary="Sum-and-Max (Prono et al., ISCAS 2022), no bias, prunable",
    cell_range=cell_range,
    sum_range=sum_range,
    make_cell=make_cell,
    make_kernel=make_kernel,
    make_layer=make_layer,
    golden_cell=golden_cell,
    golden=golden,
    port_shapes=port_shapes,
    directed_vectors=directed_vectors,
    port_connections=port_connections,
    meanings={
        "w": "weight W+ or W-, signed two's complement",
        "y": "output: max over kept i of (x_i + wp_i) + min over kept i of (x_i + wm_i), "
             "signed, exact",
        "cell_y": "sum x + w, signed, exact",
    },
    has_bias=False,
    has_mask=True,
    # A network layer (docs/network-format.md): dense, W+ and W- per connection, no bias; the
    # golden network forward calls tn_hw.reference.sam.sam_layer.
    network=True,
    weight_sets=("wp", "wm"),
    cell_delay=lambda width: 1,
))
