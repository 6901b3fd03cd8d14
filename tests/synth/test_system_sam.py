"""``tn-hw system`` with a Sum-and-Max network: its MAC twin, the ratios and the summary line.

The place-and-route and sky130 runs of ball3-sam4 are the ones docs/results/system.md lists; the
CI tier checks the pairing and the arithmetic of the ratios on hand-made rows.
"""

from pathlib import Path

from tn_hw.synth.system import find_twin, pair_ratios, render_table

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_sam_model_pairs_with_the_mac_twin():
    assert find_twin(MODELS / "ball3-sam4.json") == MODELS / "ball3-mac4.json"
    # The MAC model keeps its threshold twin.
    assert find_twin(MODELS / "ball3-mac4.json") == MODELS / "ball3-tn4.json"


def _row(model, neuron, flow, fmax, lut4):
    latency = 4
    return {"model": model, "neuron": neuron, "flow": flow, "fmax_mhz": fmax, "lut4": lut4,
            "logic_cells": lut4 + 10, "ffs": 40, "latency_ns_fmax": latency * 1000 / fmax,
            "latency_ns_50mhz": 80.0}


def test_sam_ratios_and_summary():
    rows = [_row("ball3-sam4", "sam", "ecp5", 200.0, 300),
            _row("ball3-mac4", "mac", "ecp5", 100.0, 600),
            _row("ball3-mac4", "mac", "ecp5-nodsp", 50.0, 900)]
    ratios = pair_ratios(rows)
    assert [(r["sam"], r["mac_flow"]) for r in ratios] == [("ball3-sam4", "ecp5"),
                                                          ("ball3-sam4", "ecp5-nodsp")]
    assert ratios[0]["fmax"] == 2.0 and ratios[0]["lut4"] == 2.0
    assert ratios[1]["fmax"] == 4.0 and ratios[1]["lut4"] == 3.0
    assert "threshold" not in ratios[0]
    text = render_table({"meta": {"target": "ecp5"}, "rows": rows, "ratios": ratios})
    assert "ball3-sam4 (ecp5) vs ball3-mac4 (ecp5-nodsp), above 1 sam better: fmax 4x" in text
