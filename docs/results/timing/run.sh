#!/bin/sh
# The timing sweep of docs/results/timing.md, one command after another (-j 1: the machine has
# two shared cores). Run from the repository root with the venv active; TN_HW_CACHE picks the
# result cache (a cold cache re-runs every tool, a warm one only reads JSON).
set -e
out=docs/results/timing
tn-hw timing --kernel 3x3,5x5,7x7 --width 4,8 --stages 0 --target ice40 --seeds 3 --skip-unfit \
    --json $out/ice40.json --csv $out/ice40.csv
tn-hw timing --kernel 3x3,5x5 --width 8 --stages 0,1,2,max --target ice40 --seeds 3 \
    --json $out/ice40-stages.json --csv $out/ice40-stages.csv
tn-hw timing --kernel 3x3 --width 8,16 --stages 0 --target ecp5,ecp5-nodsp --seeds 3 \
    --json $out/ecp5.json --csv $out/ecp5.csv
tn-hw timing --kernel 3x3 --width 16 --stages 0 --target ice40 --seeds 3 \
    --json $out/ice40-w16.json --csv $out/ice40-w16.csv
