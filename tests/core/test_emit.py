"""tn_hw.emit: Verilog from the in-process built-in Yosys is Amaranth's text, byte for byte.

Every producer of Verilog in the project (kernels, layers, stream and pipelined designs, each
family and architecture, conv layers, networks clocked and folded) is emitted
twice, through the in-process Yosys and through ``amaranth.back.verilog.convert`` (the path
:func:`tn_hw.emit.convert` takes when Amaranth would not use its built-in Yosys), and the texts
must be equal. A planted change of the Yosys script is caught the same way.
"""

from __future__ import annotations

import pytest

from tn_hw import emit
from tn_hw.conv import ConvSpec
from tn_hw.export import export_network
from tn_hw.generate import generate, generate_cell, generate_conv
from tn_hw.reference.network import load_network
from tn_hw.spec import KernelSpec

DESIGNS = {
    "threshold-3x3-w8": lambda: generate(KernelSpec(neuron="threshold", kernel=(3, 3), width=8)),
    "mac-2x2-w4-merged": lambda: generate(KernelSpec(neuron="mac", kernel=(2, 2), width=4,
                                                      arch="merged")),
    "adder-1x3-w5-csa-s2": lambda: generate(KernelSpec(neuron="adder", kernel=(1, 3), width=5,
                                                        arch="csa", stages=2)),
    "sam-layer-3x3-o3-w4": lambda: generate(KernelSpec(neuron="sam", kernel=(3, 3), width=4,
                                                        outputs=3)),
    "threshold-stream-2x2-w4-s1": lambda: generate(
        KernelSpec(neuron="threshold", kernel=(2, 2), width=4, stages=1), stream=True),
    "mac-cell-w6": lambda: generate_cell(neuron="mac", width=6),
    "conv-threshold-2x2-r2": lambda: generate_conv(ConvSpec(
        kernel=KernelSpec(neuron="threshold", kernel=(2, 2), width=4, outputs=2),
        image=(4, 4), reuse=2)),
    "ball3-clocked-ports": lambda: export_network(load_network("models/ball3-tn4.json"),
                                                  mode="ports", clocked=True),
    "ball3-folded": lambda: export_network(load_network("models/ball3-tn4.json"),
                                           clocked=True, reuse=2),
}


def _through_amaranth(make, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(emit, "in_process", lambda: False)
        return make().verilog


@pytest.fixture(autouse=True)
def _builtin_yosys():
    if not emit.in_process():
        pytest.skip("Amaranth does not use its built-in Yosys here: emit.convert is its own path")


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_in_process_yosys_gives_amaranths_text(name, monkeypatch):
    make = DESIGNS[name]
    text = make().verilog
    assert "module " in text and text.rstrip().endswith("endmodule")
    assert text == _through_amaranth(make, monkeypatch)


def test_no_state_carries_over_between_calls():
    first = DESIGNS["threshold-3x3-w8"]().verilog
    DESIGNS["sam-layer-3x3-o3-w4"]()
    assert DESIGNS["threshold-3x3-w8"]().verilog == first


def test_a_changed_script_is_caught(monkeypatch):
    """The mutant: one more Yosys pass (opt_clean) in the in-process script."""
    make = DESIGNS["threshold-stream-2x2-w4-s1"]
    reference = _through_amaranth(make, monkeypatch)
    script = emit._script
    monkeypatch.setattr(emit, "_script",
                        lambda text: script(text).replace("memory_collect", "memory_collect\n"
                                                                            "opt_clean -purge"))
    assert make().verilog != reference


def test_a_yosys_error_is_amaranths_error_with_yosys_message():
    from amaranth._toolchain.yosys import YosysError

    with pytest.raises(YosysError, match="ERROR"):
        emit._Yosys.get().run(["-q", "-"], "read_rtlil <<rtlil\nthis is not rtlil\nrtlil\n")


def test_a_chosen_yosys_goes_through_amaranth(monkeypatch):
    monkeypatch.setenv("AMARANTH_USE_YOSYS", "builtin")
    emit.in_process.cache_clear()
    try:
        assert not emit.in_process()
    finally:
        monkeypatch.delenv("AMARANTH_USE_YOSYS")
        emit.in_process.cache_clear()
    assert emit.in_process()


def test_a_forked_process_takes_amaranths_path():
    """A process pool forks after the parent has loaded the module: the child must not touch
    the parent's wasmtime state (a new engine there hangs), and still emits the same text."""
    import multiprocessing

    expected = DESIGNS["mac-cell-w6"]().verilog
    assert emit._Yosys.get() is not None
    with multiprocessing.get_context("fork").Pool(1) as pool:
        result = pool.apply_async(_emit_in_child)
        child_text, child_module = result.get(timeout=120)
    assert child_text == expected and child_module is None


def _emit_in_child():
    return DESIGNS["mac-cell-w6"]().verilog, emit._Yosys.get()
