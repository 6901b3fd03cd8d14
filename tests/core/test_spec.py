"""Parameters: ranges, derived widths and the wording of errors."""

import pytest

from tn_hw import neurons
from tn_hw.spec import KernelSpec, SpecError, parse_kernel, signed_width


@pytest.mark.parametrize("lo,hi,width", [(-1, 0, 1), (-2, 1, 2), (0, 1, 2), (-255, 255, 9),
                                         (-128, 127, 8), (0, 128, 9), (-129, 0, 9)])
def test_signed_width(lo, hi, width):
    assert signed_width(lo, hi) == width


def test_threshold_widths_3x3_8bit():
    spec = KernelSpec(neuron="threshold", kernel=(3, 3), width=8)
    assert spec.cell_range == (-255, 255)
    assert spec.sum_range == (-2295, 2295)
    assert spec.sum_width == 13
    assert spec.bias_width == 13
    assert spec.output_range == (-2295 - 4096, 2295 + 4095)
    assert spec.output_width == 14


def test_mac_widths_3x3_8bit():
    spec = KernelSpec(neuron="mac", kernel=(3, 3), width=8)
    assert spec.cell_range == (-128 * 127, 16384)
    assert spec.cell_width == 16
    assert spec.sum_range == (-9 * 128 * 127, 9 * 16384)
    assert spec.output_width == signed_width(-9 * 128 * 127 - 2 ** (spec.bias_width - 1),
                                             9 * 16384 + 2 ** (spec.bias_width - 1) - 1)


def test_explicit_bias_width():
    spec = KernelSpec(kernel=(1, 1), width=4, bias_width=32)
    assert spec.output_width == 33
    assert spec.top_name.endswith("_b32")


@pytest.mark.parametrize("text,shape", [("3x3", (3, 3)), ("5X7", (5, 7)), ("7", (7, 7)),
                                        (" 1 x 1 ", (1, 1))])
def test_parse_kernel(text, shape):
    assert parse_kernel(text) == shape


@pytest.mark.parametrize("text,message", [
    ("abc", "kernel must look like 3x3 (rows x columns), not 'abc'"),
    ("0x3", "kernel sides must be integers from 1 to 15, not '0x3'"),
    ("3x16", "kernel sides must be integers from 1 to 15, not '3x16'"),
    ("-1x3", "kernel must look like 3x3"),
])
def test_parse_kernel_errors(text, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_kernel(text)


@pytest.mark.parametrize("kwargs,message", [
    ({"width": 1}, "width must be an integer from 2 to 32, not 1"),
    ({"width": 40}, "width must be an integer from 2 to 32, not 40"),
    ({"width": 8.0}, "width must be an integer from 2 to 32, not 8.0"),
    # The built-in families, then any a test file registered in this process (test_registry).
    ({"neuron": "xnor"}, "neuron must be one of {families}, not 'xnor'"),
    ({"channels": 0}, "channels must be an integer from 1 to 1024, not 0"),
    ({"outputs": 0}, "outputs must be an integer from 1 to 1024, not 0"),
    ({"bias_width": 0}, "bias width must be an integer from 1 to 64, not 0"),
    ({"kernel": (0, 3)}, "kernel sides must be an integer from 1 to 15, not 0"),
])
def test_spec_errors(kwargs, message):
    with pytest.raises(SpecError) as info:
        KernelSpec(**kwargs)
    assert str(info.value) == message.format(families=", ".join(neurons.names()))
    assert neurons.names()[:4] == ("threshold", "mac", "sam", "adder")
