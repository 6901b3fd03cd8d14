"""The dependency rules hold for every import of the code base, and the check can fail."""

from helpers.import_rules import breaches, collect_sources


def test_the_code_base_keeps_the_rules():
    assert breaches() == []


def _with(extra: dict) -> dict:
    """The real sources plus planted modules ``{name: source}`` (never written to disk)."""
    sources = collect_sources()
    for name, text in extra.items():
        sources[name] = (text, False)
    return sources


def test_catches_hardware_importing_the_golden_model_inside_a_function():
    planted = _with({"tn_hw.hdl.planted": "def f():\n    from ..reference import network\n"})
    assert breaches(planted) == [
        "tn_hw.hdl.planted:2 imports tn_hw.reference.network "
        "(tn_hw.hdl must not import tn_hw.reference)"]


def test_catches_torch_in_hardware_and_amaranth_in_the_golden_model():
    planted = _with({"tn_hw.hdl.planted": "import torch\n",
                     "tn_hw.reference.planted": "from amaranth.hdl import Signal\n"})
    assert breaches(planted) == [
        "tn_hw.hdl.planted:1 imports torch (tn_hw.hdl must not import torch)",
        "tn_hw.reference.planted:1 imports amaranth.hdl "
        "(tn_hw.reference must not import amaranth)"]


def test_catches_a_private_name_across_modules():
    planted = _with({"tn_hw.planted": "from .spec import _check_int\n"})
    assert breaches(planted) == [
        "tn_hw.planted:1 imports the private name _check_int from tn_hw.spec"]


def test_catches_an_import_cycle_through_a_lazy_import():
    # tn_hw.spec imports tn_hw.neurons; a registry module that imports the spec back closes a
    # cycle even when the import waits inside a function.
    planted = _with({"tn_hw.neurons.planted": "def f():\n    from ..spec import KernelSpec\n",
                     "tn_hw.spec": collect_sources()["tn_hw.spec"][0]
                     + "\ndef g():\n    from .neurons import planted\n"})
    found = breaches(planted)
    assert len(found) == 1 and found[0].startswith("import cycle: ")
    assert "tn_hw.neurons.planted" in found[0] and "tn_hw.spec" in found[0]
