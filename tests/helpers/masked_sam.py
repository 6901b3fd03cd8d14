"""Small masked Sum-and-Max networks (docs/semantics.md, "Masked SAM layers") and their
planted bugs."""

import random
from dataclasses import replace

from helpers.net_mutants import tiny_net, tiny_sam_net
from tn_hw.hdl.network import Network
from tn_hw.hdl.network_stream import FoldedNetwork, NetworkStream, PipelinedNetwork

__all__ = ["MASK_MUTANTS", "MASK_STREAM_MUTANTS", "GateStuckStream", "MaskIgnoredNetwork",
           "MaskIgnoredStream", "masked", "tiny_masked_sam_conv", "tiny_masked_sam_net"]


def masked(net, seed=0, keep=0.6, split=True):
    """``net`` (a tn-hw-net dict of SAM layers) with a random ``mask`` on every layer (each
    row keeping at least one input) and, with ``split``, a ``mask_min`` on the first."""
    rng = random.Random(seed)

    def mask(rows, cols):
        out = [[int(rng.random() < keep) for _ in range(cols)] for _ in range(rows)]
        for row in out:
            row[rng.randrange(cols)] = 1
        return out

    for index, layer in enumerate(net["layers"]):
        if layer["type"] == "flatten":
            continue
        rows, cols = len(layer["wp"]), len(layer["wp"][0])
        layer["mask"] = mask(rows, cols)
        if split and index == 0:
            layer["mask_min"] = mask(rows, cols)
    net["name"] += "-masked"
    return net


def tiny_masked_sam_net(seed=0):
    """linear 4 -> 3 -> 2 (tiny_sam_net), masked; the first layer's min side masked apart."""
    return masked(tiny_sam_net(seed=seed), seed=seed)


def tiny_masked_sam_conv(seed=0):
    """tiny_net's conv 2x4x4 -> 3x2x2 (3x3, stride 2, padding 1), flatten, linear 12 -> 4, all
    SAM, masked."""
    return masked(tiny_net(seed=seed, neuron="sam"), seed=seed)


def _dense(stage):
    """``stage`` with its SAM masks dropped (every connection kept)."""
    if stage.spec is None or not stage.spec.is_sparse:
        return stage
    return replace(stage, spec=replace(stage.spec, mask=None, mask_min=None))


class MaskIgnoredNetwork(Network):
    """Every SAM layer built dense: the mask ignored, every input in the max and the min."""

    def __init__(self, net, *, mode="baked"):
        super().__init__(net, mode=mode)
        self._stages = [_dense(stage) for stage in self._stages]


class MaskIgnoredPipelined(PipelinedNetwork):
    def __init__(self, net, *, mode="baked"):
        super().__init__(net, mode=mode)
        self._stages = [_dense(stage) for stage in self._stages]


class MaskIgnoredFolded(FoldedNetwork):
    def __init__(self, net, *, mode="baked", reuse=2):
        super().__init__(net, mode=mode, reuse=reuse)
        self._stages = [_dense(stage) for stage in self._stages]


class MaskIgnoredStream(NetworkStream):
    def make_core(self, net, mode):
        if self.reuse > 1:
            return MaskIgnoredFolded(net, mode=mode, reuse=self.reuse)
        return MaskIgnoredPipelined(net, mode=mode)


class GateStuckFolded(FoldedNetwork):
    """A folded masked SAM kernel gated by the mask of its phase-0 output in every phase: the
    outputs of the later phases keep the wrong connections."""

    def fold_gate(self, keeps):
        return keeps[0]


class GateStuckStream(NetworkStream):
    def make_core(self, net, mode):
        return GateStuckFolded(net, mode=mode, reuse=self.reuse)


#: name -> combinational Network subclass with a masked-SAM bug.
MASK_MUTANTS = {"mask_ignored": MaskIgnoredNetwork}

#: name -> NetworkStream subclass with a masked-SAM bug of the clocked or folded network.
MASK_STREAM_MUTANTS = {"mask_ignored": MaskIgnoredStream, "gate_stuck": GateStuckStream}
