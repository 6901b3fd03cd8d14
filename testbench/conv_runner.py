"""Build an emitted streaming convolution layer and run its cocotb tests (:mod:`.tb_conv`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TnHwError
from ..manifest import Design
from .consistency import check_design
from .sim import (
    RegressionResult,
    check_simulator,
    check_tier,
    default_seed,
    default_waves,
    simulate,
)
from .vectors import check_golden_range

__all__ = ["CONV_TESTS", "CONV_TIERS", "conv_stimulus", "run_conv_regression"]

#: The cocotb tests of a conv layer (tb_conv.py).
CONV_TESTS = ("full_rate", "backpressure", "reset_mid_frame")

#: Frames per test in each tier.
CONV_TIERS = {"quick": 3, "full": 8}

#: The random stream of ``seed`` each test draws from.
_STREAMS = {"full_rate": 1, "backpressure": 2, "reset_mid_frame": 3}


def _draw(rng, lo, hi, size):
    """Half uniform, half from the edges of ``[lo, hi]`` (where widths and ties break)."""
    uniform = rng.integers(lo, hi + 1, size=size, dtype=np.int64)
    edges = np.clip(np.array([lo, lo + 1, -1, 0, 1, hi - 1, hi], dtype=np.int64), lo, hi)
    edge = rng.choice(edges, size=size)
    return np.where(rng.random(size) < 0.5, uniform, edge)


def _parameters(spec, rng) -> dict:
    """Random thresholds/weights ``w``, polarities ``p`` (families that have them), biases."""
    k = spec.kernel
    lo, hi = k.input_range
    params = {"w": _draw(rng, lo, hi, (k.outputs, k.n_inputs))}
    if k.family.has_polarity:
        params["p"] = rng.integers(0, 2, size=params["w"].shape, dtype=np.int64)
    params["bias"] = _draw(rng, *k.bias_range, (k.outputs,))
    return params


def conv_golden(spec, frames, params) -> np.ndarray:
    """:func:`tn_hw.reference.network.conv2d` of ``frames`` ``(F, C_in, H, W)`` under
    ``params``: ``(F, C_out, H_out, W_out)`` int64."""
    import torch

    from ..reference.network import conv2d

    t = {k: torch.from_numpy(v) for k, v in params.items()}
    return conv2d(spec.neuron, torch.from_numpy(frames), t["w"], t.get("p"), t["bias"],
                  kernel=spec.kernel.kernel, stride=spec.stride,
                  padding=spec.padding).numpy()


def conv_stimulus(spec, test, seed, frames) -> tuple[dict, dict]:
    """What one test of :mod:`.tb_conv` streams, and its golden outputs, computed here so that
    the simulator never imports torch.

    Returns ``(arrays, rng_state)``: the parameters (``w``, ``p``, ``bias``), ``frames``
    ``(F, C_in, H, W)`` (at least 3 for ``reset_mid_frame``) and their ``expected`` outputs;
    for ``reset_mid_frame`` also the beat of frame 1 where the reset comes (``cut``) and the
    parameters programmed during it (``w2``, ``p2``, ``bias2``, from a stream of their own)
    with the expected outputs of the frames after it (``expected2``). ``rng_state`` is the
    state of the test's random stream after these draws; the testbench draws its gaps and
    back-pressure from there on.
    """
    rng = np.random.default_rng([seed, _STREAMS[test]])
    params = _parameters(spec, rng)
    count = max(3, frames) if test == "reset_mid_frame" else frames
    k, (h, w) = spec.kernel, spec.image
    x = _draw(rng, *k.input_range, (count, k.channels, h, w))
    arrays = dict(params, frames=x, expected=conv_golden(spec, x, params))
    if test == "reset_mid_frame":
        arrays["cut"] = np.array(int(rng.integers(1, h * w)) if h * w > 1 else 0)
        second = _parameters(spec, np.random.default_rng([seed, _STREAMS[test], 1]))
        arrays |= {f"{name}2": v for name, v in second.items()}
        arrays["expected2"] = conv_golden(spec, x[2:], second)
    return arrays, rng.bit_generator.state


def run_conv_regression(design: Design, build_dir, *, tier="quick", frames=None, seed=None,
                        tests=CONV_TESTS, simulator=None, waves=None,
                        outputs=None) -> RegressionResult:
    """Run the cocotb tests of a conv layer; every output pixel is compared as integers.

    Parameters
    ----------
    design : Design
        Of kind ``"conv"``, from :func:`tn_hw.generate.generate_conv` (or a folder's manifest).
    build_dir : path
        A folder of this run's own (safe under ``pytest -n``).
    tier : str
        ``"quick"`` or ``"full"``: frames per test (:data:`CONV_TIERS`).
    frames : int, optional
        Overrides the tier's count (``reset_mid_frame`` streams at least 3).
    seed : int, optional
        Seed of frames, thresholds/weights, gaps and back-pressure; default
        :func:`~tn_hw.testbench.runner.default_seed`.
    tests : sequence of str
        Subset of :data:`CONV_TESTS`.
    simulator : str, optional
        ``"icarus"`` or ``"verilator"``; default ``$TN_HW_SIMULATOR`` or icarus.
    waves : bool, optional
        Dump waveforms into ``build_dir``; default from ``TN_HW_WAVES``.
    outputs : path, optional
        Write the cycle and value of every output pixel there, to compare simulators.

    Returns
    -------
    RegressionResult
        ``tests[name]["vectors"]`` counts the output pixels checked.

    Raises
    ------
    TnHwError
        Missing simulator, a design that is not a conv layer, an unknown tier or test, or a
        manifest that disagrees with its Verilog (:func:`~tn_hw.testbench.consistency.
        check_design`). A simulation that ended without results is a failed result with a
        ``reason``.
    """
    if design.kind != "conv":
        raise TnHwError(f"{design.top} is a {design.kind}, not a conv layer")
    check_tier(tier, CONV_TIERS)
    unknown = [t for t in tests if t not in CONV_TESTS]
    if unknown:
        raise TnHwError(f"unknown conv tests {unknown}; choose from {', '.join(CONV_TESTS)}")
    check_simulator(simulator)
    check_golden_range(design.spec.kernel, "layer")
    check_design(design.manifest, design.verilog)
    seed = default_seed() if seed is None else seed
    frames = CONV_TIERS[tier] if frames is None else frames
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise TnHwError(f"frames must be an integer of at least 1, not {frames!r}")

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    dut_file = build_dir / design.verilog_name
    dut_file.write_text(design.verilog)
    stimulus = build_dir / "stimulus.npz"
    stimulus.unlink(missing_ok=True)
    arrays, states = {}, {}
    for test in tests:
        drawn, states[test] = conv_stimulus(design.spec, test, seed, frames)
        arrays |= {f"{test}.{name}": v for name, v in drawn.items()}
    np.savez(stimulus, **arrays)
    config = {"manifest": design.manifest, "seed": seed, "tests": list(tests),
              "stimulus": str(stimulus), "rng_states": states}
    run = simulate([dut_file], "tn_hw.testbench.tb_conv", build_dir, config=config,
                   simulator=simulator, waves=default_waves(waves), seed=seed,
                   hdl_toplevel=design.top, outputs=outputs)
    return run.result(design.top, seed, tests)
