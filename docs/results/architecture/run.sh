#!/bin/sh
# The sky130 fronts of docs/results/architecture.md, one command after another. Run from the
# repository root with the venv active; TN_HW_CACHE picks the result cache (a warm one only reads
# JSON). Each command is also recorded in its explore.json (`command`) and at the top of its
# explore.md. The FPGA fronts: fpga/run.sh.
set -e
out=docs/results/architecture
arch="threshold:tree,threshold:csa,mac:merged"
# Every architecture of both neurons.
tn-hw explore --kernels 3x3 --widths 8 --neurons threshold,mac --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 2 -o $out/k3x3_w8
tn-hw explore --kernels 3x3 --widths 4 --neurons threshold,mac --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 2 -o $out/k3x3_w4
tn-hw explore --kernels 3x3 --widths 16 --neurons threshold,mac --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 2 -o $out/k3x3_w16
tn-hw explore --kernels 5x5 --widths 8 --neurons threshold,mac --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 2 -o $out/k5x5_w8
tn-hw explore --kernels 5x5 --widths 4 --neurons threshold,mac --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 2 -o $out/k5x5_w4
# The winners only (threshold tree/csa, MAC merged).
tn-hw explore --kernels 7x7 --widths 4 --neurons threshold,mac --archs $arch --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 1 -o $out/k7x7_w4
tn-hw explore --kernels 7x7 --widths 8 --neurons threshold,mac --archs $arch --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 1 -o $out/k7x7_w8
tn-hw explore --kernels 7x7 --widths 16 --neurons threshold,mac --archs $arch --clocks 20,6,5,4 --cuts sky130 -j 1 -o $out/k7x7_w16
tn-hw explore --kernels 5x5 --widths 16 --neurons threshold,mac --archs $arch --clocks 20,10,6,5,4 --cuts sky130 -j 1 -o $out/k5x5_w16
# 5x5, 16 bit: each other architecture beside the winners, one folder each (the winners' points
# come from the cache of the run above).
tn-hw explore --kernels 5x5 --widths 16 --neurons threshold,mac --archs $arch,threshold:cmp-csa --clocks 20,10,6,5,4 --cuts sky130 -j 1 -o $out/k5x5_w16_cmp-csa
tn-hw explore --kernels 5x5 --widths 16 --neurons threshold,mac --archs $arch,mac:csa --clocks 20,10,6,5,4 --cuts sky130 -j 1 -o $out/k5x5_w16_mac-csa
tn-hw explore --kernels 5x5 --widths 16 --neurons threshold,mac --archs $arch,mac:tree --clocks 20,10,6,5,4 --cuts sky130 -j 1 -o $out/k5x5_w16_mac-tree
# 7x7, 8 bit: the two other MACs beside the winners, one folder each (the threshold cmp-csa was
# stopped inside its first synthesis, the combinational fast mapping, after 12.5 minutes).
tn-hw explore --kernels 7x7 --widths 8 --neurons threshold,mac --archs $arch,mac:csa --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 1 -o $out/k7x7_w8_mac-csa
tn-hw explore --kernels 7x7 --widths 8 --neurons threshold,mac --archs $arch,mac:tree --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 1 -o $out/k7x7_w8_mac-tree
# 7x7, 4 bit: the two other MACs beside the winners, one folder each.
tn-hw explore --kernels 7x7 --widths 4 --neurons threshold,mac --archs $arch,mac:tree --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 1 -o $out/k7x7_w4_mac-tree
tn-hw explore --kernels 7x7 --widths 4 --neurons threshold,mac --archs $arch,mac:csa --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 1 -o $out/k7x7_w4_mac-csa
# 7x7, 4 bit: the threshold cmp-csa beside the winners (43 min: each combinational mapping of it
# about 20 min, all in ABC's &fraig -x, architecture.md "Why the threshold cmp-csa at 7x7 is slow
# to synthesize"; at 8 bit: the last command).
tn-hw explore --kernels 7x7 --widths 4 --neurons threshold,mac --archs $arch,threshold:cmp-csa --clocks 20,10,6,5,4,3,2.5 --cuts sky130 -j 1 -o $out/k7x7_w4_cmp-csa
# 7x7, 16 bit: the Booth tree MAC beside the winners at 20 ns only (16 min; each new MAC
# synthesis 88-171 s).
tn-hw explore --kernels 7x7 --widths 16 --neurons threshold,mac --archs $arch,mac:tree --clocks 20 --cuts sky130 -j 1 -o $out/k7x7_w16_mac-tree
# 7x7, 16 bit: the written-out csa MAC beside the winners at 20 ns only (400 s with its two
# combinational points cached from an earlier, stopped start; each new 1-stage one about 2 min).
tn-hw explore --kernels 7x7 --widths 16 --neurons threshold,mac --archs $arch,mac:csa --clocks 20 --cuts sky130 -j 1 -o $out/k7x7_w16_mac-csa
# 7x7, 8 bit: the threshold cmp-csa beside the winners, each synthesis limited to 900 s (its
# combinational mappings took 694-870 s each, its pipelined ones 7-18 s; made with the fast and
# area combinational points cached from earlier runs, 879.6 s; cold, its three combinational
# mappings alone take about 40 min).
tn-hw explore --kernels 7x7 --widths 8 --neurons threshold,mac --archs $arch,threshold:cmp-csa --clocks 20,10,6,5,4,3,2.5 --cuts sky130 --point-timeout 900 -j 1 -o $out/k7x7_w8_cmp-csa
