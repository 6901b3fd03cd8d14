#!/bin/sh
# The FPGA fronts of docs/results/architecture.md (section "FPGA: iCE40 and ECP5"), one command
# after another (-j 1: two shared cores). Run from the repository root with the venv active;
# TN_HW_CACHE picks the result cache (a warm one only reads JSON).
#
# ecp5 allows MULT18X18D blocks: only the MAC `tree` (a `*` per input) uses them; every other
# architecture has no multiplier and gives the same netlist on ecp5 and ecp5-nodsp, so only the
# MAC `tree` is routed again with -nodsp (Booth multipliers in LUTs).
set -e
out=docs/results/architecture/fpga
tn-hw timing --kernels 3x3 --widths 8 --archs all --stages 0,1,2 --target ice40 --seeds 3 \
    --json $out/ice40_k3x3_w8.json --csv $out/ice40_k3x3_w8.csv \
    > $out/ice40_k3x3_w8.txt
tn-hw timing --kernels 3x3 --widths 8 --archs all --stages 0,1,2 --target ecp5 --seeds 3 \
    --json $out/ecp5_k3x3_w8.json --csv $out/ecp5_k3x3_w8.csv \
    > $out/ecp5_k3x3_w8.txt
tn-hw timing --kernels 3x3 --widths 8 --neurons mac --archs mac:tree --stages 0,1,2 \
    --target ecp5-nodsp --seeds 3 --json $out/ecp5-nodsp_k3x3_w8.json \
    --csv $out/ecp5-nodsp_k3x3_w8.csv \
    > $out/ecp5-nodsp_k3x3_w8.txt
tn-hw timing --kernels 3x3 --widths 4 --archs all --stages 0,1,2 --target ice40 --seeds 3 \
    --json $out/ice40_k3x3_w4.json --csv $out/ice40_k3x3_w4.csv \
    > $out/ice40_k3x3_w4.txt
# 16 bit: 0 stages for both neurons, 1 stage for the threshold kernel only (each MAC routing at
# 16 bit took 220-310 s; the MAC at 1-2 stages was stopped for time).
tn-hw timing --kernels 3x3 --widths 16 --archs all --stages 0 --target ice40 --seeds 3 \
    --json $out/ice40_k3x3_w16.json --csv $out/ice40_k3x3_w16.csv \
    > $out/ice40_k3x3_w16.txt
tn-hw timing --kernels 3x3 --widths 16 --neurons threshold --archs all --stages 1 \
    --target ice40 --seeds 3 --json $out/ice40_k3x3_w16_threshold_s1.json \
    --csv $out/ice40_k3x3_w16_threshold_s1.csv > $out/ice40_k3x3_w16_threshold_s1.txt
# 5x5, 8 bit on iCE40: every architecture at 0 stages, then at 1 and 2 stages, one file each.
tn-hw timing --kernels 5x5 --widths 8 --archs all --stages 0 --target ice40 --seeds 3 \
    --json $out/ice40_k5x5_w8.json --csv $out/ice40_k5x5_w8.csv \
    > $out/ice40_k5x5_w8.txt
for s in 1 2; do
    tn-hw timing --kernels 5x5 --widths 8 --archs all --stages $s --target ice40 --seeds 3 \
        --json $out/ice40_k5x5_w8_s$s.json --csv $out/ice40_k5x5_w8_s$s.csv \
        > $out/ice40_k5x5_w8_s$s.txt
done
# ECP5, 3x3 at 4 bit: every architecture with DSP blocks allowed, then the MAC `tree` with -nodsp.
tn-hw timing --kernels 3x3 --widths 4 --archs all --stages 0,1,2 --target ecp5 --seeds 3 \
    --json $out/ecp5_k3x3_w4.json --csv $out/ecp5_k3x3_w4.csv \
    > $out/ecp5_k3x3_w4.txt
tn-hw timing --kernels 3x3 --widths 4 --neurons mac --archs mac:tree --stages 0,1,2 \
    --target ecp5-nodsp --seeds 3 --json $out/ecp5-nodsp_k3x3_w4.json \
    --csv $out/ecp5-nodsp_k3x3_w4.csv \
    > $out/ecp5-nodsp_k3x3_w4.txt
# ECP5, 3x3 at 16 bit, 0 stages: every architecture with DSP blocks allowed, then the MAC `tree`
# with -nodsp.
tn-hw timing --kernels 3x3 --widths 16 --archs all --stages 0 --target ecp5 --seeds 3 \
    --json $out/ecp5_k3x3_w16.json --csv $out/ecp5_k3x3_w16.csv \
    > $out/ecp5_k3x3_w16.txt
tn-hw timing --kernels 3x3 --widths 16 --neurons mac --archs mac:tree --stages 0 \
    --target ecp5-nodsp --seeds 3 --json $out/ecp5-nodsp_k3x3_w16.json \
    --csv $out/ecp5-nodsp_k3x3_w16.csv \
    > $out/ecp5-nodsp_k3x3_w16.txt
