"""Mapping recipes of the sky130 target, each a variant of ``map.ys`` (issue 14 item 4).

Every recipe treats both neurons the same way (the MAC keeps Booth; every tree technique the
threshold kernel gets, the MAC gets too):

``default``
    ``abc -liberty`` with Yosys's default liberty script (ABC ``&nf``, delay-oriented with area
    recovery);
``area``
    ABC's area-oriented standard-cell mapper ``amap`` after the same ``&dch`` restructuring;
``timing``
    ABC's classic delay-oriented mapper ``map`` (``abc -D`` changes nothing under ``&nf``
    here: same netlist as ``default``, measured);
``fa``
    ``synth -run begin:fine``, ``maccmap`` (the MAC's sums of products into full adders),
    the rest of ``synth`` without ABC, ``extract_fa``, and a techmap of the ``$fa`` cells onto
    ``fa_1``/``ha_1`` (:file:`fa_map.v`; ABC maps single-output cells only), then ``default``
    ABC for the remaining logic;
``fa-area``
    ``fa`` with the ``area`` ABC script;
``direct``
    ``area`` without the generic pre-mapping inside ``synth`` (``synth -noabc``): ABC maps
    Yosys's fine-grained gates straight onto the liberty. ``synth``'s own ``abc -fast`` (to
    Yosys's internal gates, then replaced by ``abc -liberty``) did not finish in 12 minutes on
    the constant-weight 7x7 8-bit MAC, while the liberty mapping of the same logic takes 9 s;
    the recipe of the constant-weight sweep and of the baked networks (docs/results/sky130.md,
    "Every sweep point finishes");
``fast``
    ``synth -noabc``, then one short ABC script (``strash; dc2; &nf``): structural hashing,
    one AIG rewriting pass and the same standard-cell mapper as ``default``, without its SAT
    sweeping (``&fraig -x``, ``scorr``) and choice computation (``&dch -f``), and without
    ``synth``'s own ABC pass. For designs whose other recipes do not finish: the digits MLP as
    a clocked network (an AIG of about 83 000 gates) maps in about a minute. What it costs
    against ``default`` on ball3 is measured in docs/results/system.md;
``buffered``
    ``default``'s synthesis and ABC script (Yosys's ``ABC_COMMAND_LIB`` written out), then
    ABC's standard-cell buffering after the mapping, as Yosys's own ``abc -constr`` script
    does: ``buffer -N`` :data:`BUFFER_FANOUT` (gain-based, timed from the liberty's tables)
    builds trees of ``buf_1`` (the liberty's only buffer; no other drive strength to size up
    to, so no ``upsize``/``dnsize``) so that no gate drives more than :data:`BUFFER_FANOUT`
    cell inputs. ABC's primary inputs (the input ports and the flops' Q pins, mapped before
    ABC) stay unbuffered: ``-p`` (buffer them) changes nothing in this ABC (measured), and
    ``-b`` (inverter pairs) fails for want of phase information. Every other recipe leaves
    high-fanout gate outputs (a clocked network's stall enable reaches every stage register)
    unbuffered, and the STA (:mod:`.sta`) then times the linear extrapolation of a 0.05 pF
    table to a net of 0.2 pF or more;
``fast-buffered``
    ``fast`` with the same buffering (the digits networks).

Two more recipes finish with a netlist pass of the project's after Yosys
(:data:`NETLIST_RECIPES`; Yosys has no fanout-buffer pass):

``buffered-all``
    ``buffered``, then :func:`.fanout.buffer_fanout` on what ABC left unbuffered: every net
    driven by a flip-flop output or an input port with more than :data:`BUFFER_FANOUT` sinks
    becomes a balanced tree of ``buf_1`` (the clock excepted: the STA's clock is ideal), so that
    no net but the clock drives more than :data:`BUFFER_FANOUT` inputs;
``fast-buffered-all``
    ``fast-buffered`` with the same pass.

:data:`DEFAULT_RECIPE` (the ``sky130`` target) is chosen by measurement in
docs/results/sky130.md ("Mapping recipe").
"""

from __future__ import annotations

from importlib import resources

__all__ = ["BUFFER_FANOUT", "DEFAULT_RECIPE", "NETLIST_RECIPES", "RECIPES", "recipe_description",
           "recipe_script"]

_ABC = "abc -liberty cells.lib"
_RESTRUCTURE = "+strash;ifraig;scorr;dc2;dretime;strash;&get,-n;&dch,-f;&put"
_ABC_AREA = f"abc -liberty cells.lib -script {_RESTRUCTURE};amap;topo"
_ABC_TIMING = ("abc -liberty cells.lib -script "
               "+strash;ifraig;scorr;dc2;dretime;strash;dch,-f;map;topo")
_ABC_FAST = "abc -liberty cells.lib -script +strash;dc2;&get,-n;&nf;&put"
#: Largest fanout ABC's ``buffer`` leaves on a net (``-N``) in the buffered recipes.
BUFFER_FANOUT = 8
_BUFFER = f"buffer,-N,{BUFFER_FANOUT}"
#: Yosys's default liberty script (``abc -liberty`` without ``-script``), written out so that
#: the buffering can follow it.
_ABC_DEFAULT_SCRIPT = ("+strash;&get,-n;&fraig,-x;&put;scorr;dc2;dretime;strash;&get,-n;&dch,-f;"
                       "&nf;&put")
_ABC_BUFFERED = f"abc -liberty cells.lib -script {_ABC_DEFAULT_SCRIPT};{_BUFFER}"
_ABC_FAST_BUFFERED = f"{_ABC_FAST};{_BUFFER}"
_SYNTH = "synth -flatten -top {top} {synth_options}"
_SYNTH_DIRECT = "synth -flatten -top {top} {synth_options} -noabc"
_SYNTH_FA = """read_liberty -lib cells.lib
synth -flatten -top {top} {synth_options} -run begin:fine
maccmap
synth -top {top} -noabc -run fine:
extract_fa
techmap -map fa_map.v"""

#: name -> (one-line description, synth lines, abc line)
RECIPES = {
    "default": ("abc -liberty (ABC &nf, Yosys's default liberty script)", _SYNTH, _ABC),
    "area": ("abc -liberty, &dch then amap (ABC's area-oriented mapper)", _SYNTH, _ABC_AREA),
    "timing": ("abc -liberty, dch then map (ABC's delay-oriented mapper)", _SYNTH, _ABC_TIMING),
    "fa": ("maccmap + extract_fa onto fa_1/ha_1, then abc -liberty (&nf)", _SYNTH_FA, _ABC),
    "fa-area": ("maccmap + extract_fa onto fa_1/ha_1, then &dch + amap", _SYNTH_FA, _ABC_AREA),
    "direct": ("synth -noabc, then abc -liberty with &dch + amap", _SYNTH_DIRECT, _ABC_AREA),
    "fast": ("synth -noabc, then abc -liberty with strash; dc2; &nf (no SAT sweeping, no "
             "choices)", _SYNTH_DIRECT, _ABC_FAST),
    "buffered": (f"default, then ABC buffer -N {BUFFER_FANOUT} (buf_1 trees: no gate output "
                 f"drives more than {BUFFER_FANOUT} inputs; flop outputs unbuffered)", _SYNTH,
                 _ABC_BUFFERED),
    "fast-buffered": (f"fast, then ABC buffer -N {BUFFER_FANOUT} (buf_1 trees: no gate output "
                      f"drives more than {BUFFER_FANOUT} inputs; flop outputs unbuffered)",
                      _SYNTH_DIRECT, _ABC_FAST_BUFFERED),
}

#: Recipes that run a Yosys recipe, then a netlist pass of the project's on its mapped netlist
#: (:func:`~tn_hw.synth.sky130.mapping.synthesize_sky130`): name -> (one-line description, the
#: Yosys recipe of :data:`RECIPES` it starts from). Not targets of the area flow (its scripts
#: are Yosys only).
NETLIST_RECIPES = {
    f"{base}-all": (f"{base}, then buf_1 trees on flip-flop outputs and input ports too (tn-hw "
                    f"netlist pass: no net but the clock drives more than {BUFFER_FANOUT} "
                    f"inputs)", base)
    for base in ("buffered", "fast-buffered")
}

#: The recipe of the ``sky130`` target (docs/results/sky130.md, "Mapping recipe").
DEFAULT_RECIPE = "area"


def recipe_script(name: str) -> str:
    """``map.ys`` with the recipe's synthesis and ABC lines (placeholders left for the flow)."""
    _, synth, abc = RECIPES[name]
    template = (resources.files(__package__) / "map.ys").read_text()
    for old, new in ((_SYNTH, synth), (_ABC + "\n", abc + "\n")):
        if old not in template:
            raise ValueError(f"map.ys no longer holds {old!r}")
        template = template.replace(old, new, 1)
    return template


def recipe_description(name: str) -> str:
    """The one-line description of a recipe of :data:`RECIPES` or :data:`NETLIST_RECIPES`."""
    return (RECIPES.get(name) or NETLIST_RECIPES[name])[0]
