#!/usr/bin/env bash
# The runs behind docs/results/system.md, one at a time (2 shared cores), from the repository root.
# Each writes system.json (every figure, every seed), system.csv and system.md (the table).
set -euo pipefail
out=docs/results/system
nice tn-hw system models/ball3-tn4.json --target ecp5 --seeds 3 -o $out/ball3-ecp5
nice tn-hw system models/ball3-tn4.json --target ice40 --seeds 3 -o $out/ball3-ice40
nice tn-hw system models/ball3-tn4.json --target sky130 --timeout 900 -o $out/ball3-sky130
# The digits MLP (threshold 64-16-10 vs its MAC twin): abc9 did not finish its LUT mapping, so
# --lut-map fast (classic ABC `strash; if`, nextpnr router2) for both networks (system.md).
# With the twin: the MAC twin with DSPs does not fit, without DSPs it is a row that does not
# route within --route-timeout 1200 (an earlier 5400 s run stalled in router2 at about 330
# overused wires, see system.md); then the threshold network alone (digits-tmlp-ecp5):
nice tn-hw system models/digits-tmlp.json --target ecp5 --lut-map fast --timeout 1500 \
    --route-timeout 1200 -o $out/digits-mlp-ecp5
nice tn-hw system models/digits-tmlp.json --target ecp5 --lut-map fast --no-twin --timeout 1500 \
    -o $out/digits-tmlp-ecp5
# ball3 through the digits ECP5 recipe, to show what --lut-map fast moves against the abc9 rows:
nice tn-hw system models/ball3-tn4.json --target ecp5 --lut-map fast --seeds 3 \
    -o $out/ball3-ecp5-fast
# The digits MLP on sky130: the default recipe did not finish the MAC twin's ABC mapping, so
# --cell-map fast (synth -noabc, ABC strash; dc2; &nf) for both networks (system.md), and the
# same recipe on the ball3 pair to show what it moves against the default rows above:
nice tn-hw system models/digits-tmlp.json --target sky130 --cell-map fast --no-proxy \
    --timeout 1800 -o $out/digits-mlp-sky130
nice tn-hw system models/ball3-tn4.json --target sky130 --cell-map fast --no-proxy \
    --timeout 900 -o $out/ball3-sky130-fast
# Buffered sky130 networks (system.md): the default recipe, then ABC buffer -N 8 after the
# mapping; the digits MLP with the fast recipe, then the same buffering:
nice tn-hw system models/ball3-tn4.json --target sky130 --cell-map buffered --timeout 900 \
    -o $out/ball3-sky130-buffered
nice tn-hw system models/digits-tmlp.json --target sky130 --cell-map fast-buffered --no-proxy \
    --timeout 1800 -o $out/digits-mlp-sky130-buffered
# Flip-flop outputs and input ports buffered too (the project's netlist pass after ABC's
# buffering, synth/sky130/fanout.py), the ball3 and digits MLP pairs:
nice tn-hw system models/ball3-tn4.json --target sky130 --cell-map buffered-all --timeout 900 \
    -o $out/ball3-sky130-buffered-all
nice tn-hw system models/digits-tmlp.json --target sky130 --cell-map fast-buffered-all \
    --no-proxy --timeout 1800 -o $out/digits-mlp-sky130-buffered-all
# Their critical paths read back (the same mappings run again alone), and with the input ports
# driven by a dfxtp_1 (registered_ports=True):
nice python - <<'EOF'
import json
import tempfile
from pathlib import Path
from tn_hw.export import export_network
from tn_hw.synth.sky130.liberty import default_liberty
from tn_hw.synth.sky130.mapping import synthesize_sky130
from tn_hw.synth.sky130.sta import critical_path
from tn_hw.synth.system import load_model
for recipe, models in (("buffered-all", ("ball3-tn4", "ball3-mac4")),
                       ("fast-buffered-all", ("digits-tmlp", "digits-mlp"))):
    for model in models:
        d = export_network(load_model(f"models/{model}.json"), clocked=True)
        with tempfile.TemporaryDirectory() as keep:
            r = synthesize_sky130(d.verilog, d.top, recipe=recipe, keep_dir=keep, timeout=1800)
            reg = critical_path(Path(keep) / "netlist.json", d.top, default_liberty(),
                                registered_ports=True)
        p = r["critical_path"]
        print(json.dumps({"model": model, "recipe": recipe, "cells": r["cells"],
                          "delay_ns": r["delay_ns"], "registered_ports_ns": reg["delay_ns"],
                          "steps": len(p), "start": p[0][:4] + [p[0][7]],
                          "max_load_pf": max(step[7] for step in p),
                          "netlist_pass": r["netlist_pass"]}))
EOF
# The digits CNN on ECP5 (--lut-map fast, as the MLP): first the threshold CNN's Yosys run alone
# (no nextpnr: how long, how large), then the threshold CNN alone, then with its MAC twin (the
# threshold seed from the nextpnr cache):
nice python - <<'EOF'
import json
import tempfile
from pathlib import Path
from tn_hw.export import export_network
from tn_hw.synth.system import load_model, network_wrapper, pnr_target
from tn_hw.synth.timing.pnr import _synthesize_wrapper
from tn_hw.synth.tools import find_yosys
design = export_network(load_model("models/digits-tcnn.json"), clocked=True)
wrap, target = network_wrapper(design), pnr_target("ecp5", "fast")
with tempfile.TemporaryDirectory() as work:
    synth = _synthesize_wrapper(Path(work), wrap, target.synth.script_text(top=wrap.top), target,
                                find_yosys(), name=design.top, timeout=2400)
print(json.dumps({"resources": synth["resources"], "seconds": synth["seconds"]}))
EOF
nice tn-hw system models/digits-tcnn.json --target ecp5 --lut-map fast --no-twin --timeout 1500 \
    --route-timeout 1500 -o $out/digits-tcnn-ecp5
nice tn-hw system models/digits-tcnn.json --target ecp5 --lut-map fast --timeout 900 \
    --route-timeout 600 -o $out/digits-cnn-ecp5
# The digits CNN on sky130, the same recipe as the MLP's:
nice tn-hw system models/digits-tcnn.json --target sky130 --cell-map fast --no-proxy \
    --timeout 1500 -o $out/digits-cnn-sky130
# The post-synthesis netlist of ball3-tn4 on 300 ball3-test samples, and the planted gate swaps:
nice python - <<'EOF'
import json
from tn_hw.synth.system import load_model, map_clocked_sky130, netlist_regression
net = load_model("models/ball3-tn4.json")
netlist = map_clocked_sky130(net)
for mutate in (None, 1, 0):
    r = netlist_regression(net, f"/tmp/tn-hw-system-gate-{mutate}", samples=300, seed=3,
                           netlist=netlist, mutate=mutate)
    print(json.dumps({k: r[k] for k in ("top", "data", "samples", "cells", "mutation",
                                        "mismatch_count", "passed")}))
EOF
# Is the uncaught _1772_ swap an equivalent mutant? equiv_induct proof, then a SAT miter
# (one input beat; then every input free), and the unchanged netlist against itself:
nice python - <<'EOF'
import json
from tn_hw.export import export_network
from tn_hw.synth.system import (load_model, map_clocked_sky130, netlist_equivalence,
                                plant_netlist_bug)
net = load_model("models/ball3-tn4.json")
design = export_network(net, clocked=True)
netlist = map_clocked_sky130(net)
mutant, what = plant_netlist_bug(netlist, 0)
for one in (True, False):
    r = netlist_equivalence(design, netlist, mutant, one_sample=one)
    print(what, json.dumps({k: v for k, v in r.items() if k != "inputs"}))
print("unchanged", json.dumps(netlist_equivalence(design, netlist, netlist)))
# Which inputs catch it: ball3-test, 100 000 uniform 8-bit inputs, every input in [-64, 64]^3.
import numpy as np
import torch
from tn_hw.reference.network import forward
from tn_hw.synth.system import netlist_logits, task_test_data
r = torch.arange(-64, 65)
sets = {"ball3-test": task_test_data(net)[1],
        "uniform": torch.tensor(np.random.default_rng(1).integers(-128, 128, (100_000, 3))),
        "range": torch.cartesian_prod(r, r, r)}
for name, x in sets.items():
    bad = x[torch.from_numpy((netlist_logits(design, mutant, x)
                              != forward(net, x).reshape(len(x), -1).numpy()).any(1))]
    print(name, len(x), "caught by", len(bad), bad[:5].tolist())
EOF
