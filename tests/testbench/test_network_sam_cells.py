# amaranth: UnusedElaboratable=no
"""The manifest's ``cells`` of a masked SAM network are the cells the export builds (issue 17).

A masked SAM layer builds an ``x + W`` adder (:class:`~tn_hw.hdl.sam.SamCell`) only for a kept
connection of each side, and a folded layer (``--reuse``) builds its kernels over the union of
the masks of the outputs each serves. The manifest's ``cells`` (per stage and in all) counts
one cell per kernel input kept on either side, ``sums_max`` / ``sums_min`` the adders of each
side; these tests count the :class:`~tn_hw.hdl.sam.SamCell` instances in the elaborated design
(combinational, clocked and folded; linear and conv) and compare. A design built dense (the
planted ``mask_ignored`` bug) gives other counts, so the check would catch a manifest that
counts a masked layer as dense. Dense layers keep ``kernels x n_inputs``.
"""

from collections import Counter

import pytest
from amaranth.hdl import Fragment

from helpers.masked_sam import (
    MaskIgnoredStream,
    tiny_masked_sam_conv,
    tiny_masked_sam_net,
)
from helpers.net_mutants import tiny_sam_net
from tn_hw.export import export_network
from tn_hw.hdl.network import Network
from tn_hw.hdl.network_stream import NetworkStream
from tn_hw.hdl.sam import SamCell
from tn_hw.reference.network import load_network


def _built(component) -> dict:
    """SamCells of an elaborated design per side, and the distinct (kernel, input) pairs that
    have one on either side: ``{"p": n, "m": n, "pairs": n}``."""
    counts, pairs = Counter(), set()

    def walk(fragment, path):
        for sub, name, _ in fragment.subfragments:
            here = (*path, name)
            if any(isinstance(o, SamCell) for o in sub.origins or ()):
                side, index = name[4], name[5:]  # cellp<i> / cellm<i>
                counts[side] += 1
                pairs.add((path, index))
            walk(sub, here)

    walk(Fragment.get(component, None), ())
    return {"p": counts["p"], "m": counts["m"], "pairs": len(pairs)}


def _manifest(net, **kwargs):
    m = export_network(net, **kwargs).manifest
    stages = [s for s in m["stages"] if "cells" in s]
    assert m["cells"] == sum(s["cells"] for s in stages)
    return {"p": sum(s.get("sums_max", 0) for s in stages),
            "m": sum(s.get("sums_min", 0) for s in stages), "pairs": m["cells"]}


@pytest.mark.parametrize("maker, clocked, reuse", [
    (tiny_masked_sam_net, False, 1), (tiny_masked_sam_net, True, 1),
    (tiny_masked_sam_net, True, 2), (tiny_masked_sam_net, True, 3),
    (tiny_masked_sam_conv, True, 2)])
def test_masked_cells_are_the_cells_built(maker, clocked, reuse):
    net = load_network(maker())
    component = NetworkStream(net, reuse=reuse) if clocked else Network(net)
    assert _manifest(net, clocked=clocked, reuse=reuse) == _built(component)


@pytest.mark.parametrize("reuse", [1, 2])
def test_the_count_check_sees_a_design_built_dense(reuse):
    """The planted mask_ignored bug builds every connection: other counts than the manifest's
    (so a manifest counting a masked layer as dense fails the check above)."""
    net = load_network(tiny_masked_sam_net())
    counted = _manifest(net, clocked=True, reuse=reuse)
    dense = _built(MaskIgnoredStream(net, reuse=reuse))
    assert dense != counted
    assert dense["p"] > counted["p"] and dense["m"] > counted["m"]


def test_masked_manifest_counts_fewer_cells_than_dense():
    masked, dense = tiny_masked_sam_net(), tiny_sam_net()
    manifest = export_network(load_network(masked)).manifest
    stage = manifest["stages"][0]
    keep_max, keep_min = masked["layers"][0]["mask"], masked["layers"][0]["mask_min"]
    assert stage["cells"] == sum(a or b for ra, rb in zip(keep_max, keep_min, strict=True)
                                 for a, b in zip(ra, rb, strict=True))
    assert stage["sums_max"] == sum(map(sum, keep_max))
    assert stage["sums_min"] == sum(map(sum, keep_min))
    full = export_network(load_network(dense)).manifest
    assert full["cells"] == 4 * 3 + 3 * 2 and "sums_max" not in full["stages"][0]
    assert manifest["cells"] < full["cells"]
    # dense SAM layers: the unchanged count, and the elaborated design agrees
    assert _built(Network(load_network(dense)))["pairs"] == full["cells"]
