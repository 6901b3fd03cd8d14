#!/usr/bin/env bash
# The runs behind docs/results/system.md, one at a time (2 shared cores), from the repository root.
# Each writes system.json (every figure, every seed), system.csv and system.md (the table).
set -euo pipefail
out=docs/results/system
nice tn-hw system models/ball3-tn4.json --target ecp5 --seeds 3 -o $out/ball3-ecp5
nice tn-hw system models/ball3-tn4.json --target ice40 --seeds 3 -o $out/ball3-ice40
nice tn-hw system models/ball3-tn4.json --target sky130 --timeout 900 -o $out/ball3-sky130
nice tn-hw system models/digits-tmlp.json --target ecp5 --timeout 2400 -o $out/digits-mlp-ecp5
nice tn-hw system models/digits-tmlp.json --target sky130 --no-proxy --timeout 2400 \
    -o $out/digits-mlp-sky130
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
