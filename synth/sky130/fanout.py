"""Buffer trees on the nets ABC does not buffer: flip-flop outputs and the design's input ports.

ABC's ``buffer -N`` (the ``buffered`` recipes, :mod:`.recipes`) buffers the outputs of the gates
it maps; its primary inputs, the design's input ports and the Q pins of the flip-flops
``dfflibmap`` mapped before ABC, stay unbuffered, and Yosys has no fanout-buffer pass of its own.
:func:`buffer_fanout` is that pass on a mapped netlist (Yosys ``write_json``): every net driven
by a flip-flop output or an input port that reaches more than ``limit`` sinks (cell input pins
and output ports, the count of :func:`.sta.fanouts`) is split into a balanced tree of
``buf_1`` cells: the sinks are dealt evenly onto ``ceil(sinks / limit)`` buffers, those
buffers' inputs onto the next level the same way, until the driver has at most ``limit``
loads. Output ports stay on the driver's net (a port's bits name its net). Clock nets (one
reaching a flip-flop's clock pin) are left alone: :mod:`.sta` takes the clock as ideal, and a
clock tree is not a fanout tree. Every other net, and every cell, is left as it is.
"""

from __future__ import annotations

from .sta import read_timing
from .wheel import Sky130Error

__all__ = ["BUFFER_CELL", "buffer_fanout", "deal"]

#: The liberty's only buffer (one drive strength of every cell): what the trees are made of.
BUFFER_CELL = "sky130_fd_sc_hd__buf_1"


def deal(sinks: list, limit: int) -> list[list]:
    """``sinks`` dealt in order onto ``ceil(len / limit)`` groups whose sizes differ by at most
    one (each at most ``limit``)."""
    groups = -(-len(sinks) // limit)
    return [sinks[len(sinks) * g // groups:len(sinks) * (g + 1) // groups]
            for g in range(groups)]


def buffer_fanout(netlist: dict, top: str, liberty, *, limit: int) -> dict:
    """Split the high-fanout nets of flip-flop outputs and input ports into ``buf_1`` trees.

    Parameters
    ----------
    netlist : dict
        A mapped netlist (Yosys ``write_json``), changed in place.
    top : str
        The module to buffer.
    liberty : path-like
        The liberty the netlist is mapped onto (pin directions, flip-flops, clock pins).
    limit : int
        Largest number of sinks a net keeps (``>= 2``).

    Returns
    -------
    dict
        ``buffers`` (cells added), ``nets`` (nets split), ``flop_nets`` and ``port_nets`` (of
        those, driven by a flip-flop output and by an input port), ``largest`` (the largest
        fanout split), ``depth`` (most buffer levels on one net).

    Raises
    ------
    Sky130Error
        ``limit`` below 2, no module ``top``, a cell outside the liberty or no buffer cell in it.
    """
    if limit < 2:
        raise Sky130Error(f"a fanout limit of {limit} leaves no tree to build (at least 2)")
    cells = read_timing(str(liberty))["cells"]
    if BUFFER_CELL not in cells:
        raise Sky130Error(f"the liberty has no {BUFFER_CELL} to build buffer trees from")
    module = netlist.get("modules", {}).get(top)
    if module is None:
        raise Sky130Error(f"netlist JSON holds no module {top!r}")
    drivers, sinks, clocks, used = {}, {}, set(), set()
    for name, inst in module["cells"].items():
        info = cells.get(inst["type"])
        if info is None:
            raise Sky130Error(f"netlist cell {inst['type']} is not in the liberty")
        flop = info["setup"] is not None
        clock_pins = {a["from"] for a in info["arcs"] if a["type"] == "rising_edge"}
        for pin, bits in inst["connections"].items():
            for index, bit in enumerate(bits):
                used.add(bit)
                if pin in clock_pins:
                    clocks.add(bit)
                elif pin in info["caps"]:
                    sinks.setdefault(bit, []).append((name, pin, index))
                elif flop:
                    drivers[bit] = "flop"
    ports = {}
    for port in module["ports"].values():
        for bit in port["bits"]:
            used.add(bit)
            if port["direction"] == "input":
                drivers[bit] = "port"
            else:
                ports[bit] = ports.get(bit, 0) + 1
    for names in module.get("netnames", {}).values():
        used.update(names["bits"])
    next_bit = max((b for b in used if isinstance(b, int)), default=1) + 1
    serial = 0  # names of the new cells and nets: $fanout$buf$<n>, $fanout$net$<n>
    summary = {"buffers": 0, "nets": 0, "flop_nets": 0, "port_nets": 0, "largest": 0,
               "depth": 0}
    for bit, kind in drivers.items():
        if bit in clocks or isinstance(bit, str):
            continue
        loads = sinks.get(bit, [])
        budget = max(limit - ports.get(bit, 0), 1)  # the ports stay on the driver's net
        if len(loads) <= budget:
            continue
        summary["nets"] += 1
        summary[f"{kind}_nets"] += 1
        summary["largest"] = max(summary["largest"], len(loads) + ports.get(bit, 0))
        level, depth = loads, 0
        while len(level) > budget:
            depth += 1
            inputs = []
            for group in deal(level, limit):
                while f"$fanout$buf${serial}" in module["cells"]:  # a netlist passed before
                    serial += 1
                name = f"$fanout$buf${serial}"
                net = next_bit
                next_bit += 1
                summary["buffers"] += 1
                for cell, pin, index in group:
                    module["cells"][cell]["connections"][pin][index] = net
                module["cells"][name] = {
                    "hide_name": 1, "type": BUFFER_CELL, "parameters": {}, "attributes": {},
                    "port_directions": {"A": "input", "X": "output"},
                    "connections": {"A": [bit], "X": [net]}}
                module.setdefault("netnames", {})[f"$fanout$net${serial}"] = {
                    "hide_name": 1, "bits": [net], "attributes": {}}
                inputs.append((name, "A", 0))
            level = inputs
        summary["depth"] = max(summary["depth"], depth)
    return summary
