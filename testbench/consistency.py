"""Is a design folder what its manifest says? Checked before any simulation (issue 19).

A regression drives the ports the manifest lists with values from the parameters the manifest
holds, so a manifest that disagrees with its Verilog can make a run test less than the design
(a narrowed width drives three quarters of an input's range never) or fail without a reason. The
checks, in order, each refusing with one line that names the field, the expected and the found
value:

1. the top module: declared by the Verilog and instantiated by no other module there;
2. the port table against the ports the Verilog declares (names, directions, widths), read with a
   small parser of the Verilog (:func:`verilog_ports`), never from the manifest;
3. the parameters re-derived through :class:`~tn_hw.spec.KernelSpec` /
   :class:`~tn_hw.conv.ConvSpec` against the manifest's stored derived widths, its kind, latency
   and top name;
4. the port table against the ports those parameters need (count, direction and width of every
   port family);
5. the hash of the Verilog the manifest was written with (``verilog_sha256``), when present.

This module imports neither Amaranth nor torch.
"""

from __future__ import annotations

import hashlib
import math
import re

from ..errors import TnHwError

__all__ = ["DesignMismatch", "check_design", "clock_ports", "expected_ports", "verilog_hash",
           "verilog_modules", "verilog_ports"]

HASH_FIELD = "verilog_sha256"


class DesignMismatch(TnHwError):
    """A design folder whose manifest disagrees with its Verilog or with itself."""


def verilog_hash(text: str) -> str:
    """The SHA-256 of the Verilog text, as stored in a manifest's ``verilog_sha256``."""
    return hashlib.sha256(text.encode()).hexdigest()


# -- a small Verilog reader --------------------------------------------------------------------

_IDENT = r"(?:\\\S+|[A-Za-z_][A-Za-z0-9_$]*)"
_MODULE_RE = re.compile(rf"\bmodule\s+({_IDENT})\s*(?:#\s*\(.*?\)\s*)?(\(.*?\))?\s*;"
                        r"(.*?)\bendmodule\b", re.S)
_DECL_RE = re.compile(rf"^\s*(input|output|inout)\s+(?:(?:wire|reg|logic|signed)\s+)*"
                      rf"(?:\[\s*(-?\d+)\s*:\s*(-?\d+)\s*\]\s*)?({_IDENT}(?:\s*,\s*{_IDENT})*)\s*;",
                      re.M)
_ANSI_RE = re.compile(rf"^(input|output|inout)\s+(?:(?:wire|reg|logic|signed)\s+)*"
                      rf"(?:\[\s*(-?\d+)\s*:\s*(-?\d+)\s*\]\s*)?({_IDENT})$")
_INSTANCE_RE = re.compile(rf"^\s*({_IDENT})\s+(?:#\s*\(.*?\)\s*)?{_IDENT}\s*\(", re.M | re.S)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"\(\*.*?\*\)", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _name(ident: str) -> str:
    return ident[1:] if ident.startswith("\\") else ident


def verilog_modules(text: str) -> dict:
    """``{module name: (header, body)}`` of every module in ``text`` (comments removed)."""
    return {_name(m.group(1)): (m.group(2) or "", m.group(3))
            for m in _MODULE_RE.finditer(_strip_comments(text))}


def verilog_ports(text: str, top: str) -> dict:
    """``{port name: (direction, width)}`` of module ``top`` as the Verilog declares them.

    Reads both the header-list style that Amaranth/Yosys emit (``input [7:0] x__0;`` in the
    body) and ANSI headers (``module m(input [7:0] x__0, ...)``).

    Raises
    ------
    DesignMismatch
        If ``top`` is not declared, or a port of its header has no direction.
    """
    modules = verilog_modules(text)
    if top not in modules:
        raise DesignMismatch(f"top: the manifest names module {top!r}, the Verilog declares "
                             f"{sorted(modules) or 'no module'}")
    header, body = modules[top]
    ports, order = {}, []
    items = [item.strip() for item in header.strip()[1:-1].split(",")] if header else []
    direction = width = None
    for item in items:
        if not item:
            continue
        ansi = _ANSI_RE.match(item)
        if ansi:
            direction, width = ansi.group(1), _width(ansi.group(2), ansi.group(3))
            ports[_name(ansi.group(4))] = (direction, width)
        elif direction is not None and re.fullmatch(_IDENT, item):
            ports[_name(item)] = (direction, width)  # continues the last ANSI declaration
        order.append(_name(item.split()[-1]))
    for decl in _DECL_RE.finditer(body):
        for ident in decl.group(4).split(","):
            ports[_name(ident.strip())] = (decl.group(1), _width(decl.group(2), decl.group(3)))
    undeclared = [name for name in order if name not in ports]
    if undeclared:
        raise DesignMismatch(f"Verilog module {top!r}: port {undeclared[0]!r} of its header has "
                             "no input/output declaration")
    stray = [name for name in ports if order and name not in order]
    if stray:
        raise DesignMismatch(f"Verilog module {top!r}: {stray[0]!r} is declared as a port but "
                             "is not in the module's header")
    return ports


def _width(msb, lsb) -> int:
    return 1 if msb is None else abs(int(msb) - int(lsb)) + 1


def _instantiated(text: str, modules: dict) -> set:
    """Names of the modules of ``text`` that another module instantiates."""
    used = set()
    for _header, body in modules.values():
        for match in _INSTANCE_RE.finditer(body):
            name = _name(match.group(1))
            if name in modules:
                used.add(name)
    return used


# -- what the parameters need ------------------------------------------------------------------


def _stream(prefix, payload_width, direction):
    back = "output" if direction == "input" else "input"
    return {f"{prefix}__payload": (direction, 1, payload_width),
            f"{prefix}__valid": (direction, 1, 1), f"{prefix}__ready": (back, 1, 1)}


def _weights(k, outputs=None) -> dict:
    """Families w/wp/wm, p and bias of a kernel or layer of ``k`` (a KernelSpec description
    holder: the spec itself)."""
    outputs = k.outputs if outputs is None else outputs
    families = {}
    if k.neuron == "sam":
        families["wp"] = ("input", len(k.connections_max), k.width)
        families["wm"] = ("input", len(k.connections_min), k.width)
    else:
        families["w"] = ("input", outputs * k.n_inputs, k.width)
    if k.neuron == "threshold":
        families["p"] = ("input", outputs * k.n_inputs, 1)
    if k.has_bias:
        families["bias"] = ("input", outputs, k.bias_width)
    return families


def expected_ports(manifest: dict, spec=None) -> dict:
    """What the parameters need: ``{family or port name: (direction, count, width)}``.

    A key is a port family (``x``, ``w``, ``y``, ...: every port of the manifest whose ``port``
    field names it) or, for the members of a stream, the port's own name. Outputs of a single
    cell other than through the family rules are not constrained (``None`` width).
    """
    kind = manifest.get("kind")
    if kind == "network":
        return _network_ports(manifest)
    if kind == "conv":
        k = spec.kernel
        return (_stream("i", k.channels * k.width, "input")
                | _stream("o", k.outputs * k.output_width, "output") | _weights(k))
    k = spec
    if kind == "cell":
        families = {"x": ("input", 1, k.width), "w": ("input", 1, k.width)}
        if k.neuron == "threshold":
            families["p"] = ("input", 1, 1)
        # A cell's outputs (y, r, c or s) differ per family; the Verilog check covers them.
        return families | {e["port"]: ("output", None, None) for e in manifest["ports"]
                           if e.get("direction") == "output"}
    families = _weights(k)
    if manifest.get("interface", "plain") == "stream":
        families |= (_stream("x", k.n_inputs * k.width, "input")
                     | _stream("y", k.outputs * k.output_width, "output"))
    else:
        families |= {"x": ("input", k.n_inputs, k.width), "y": ("output", k.outputs,
                                                                 k.output_width)}
    return families


def _network_ports(manifest) -> dict:
    inputs, outputs = math.prod(manifest["input_shape"]), math.prod(manifest["output_shape"])
    if manifest.get("interface", "plain") == "stream":
        families = (_stream("x", inputs * manifest["input_width"], "input")
                    | _stream("y", outputs * manifest["output_width"], "output"))
    else:
        families = {"x": ("input", inputs, manifest["input_width"]),
                    "y": ("output", outputs, manifest["output_width"])}
    if manifest.get("mode") == "ports":
        for stage in manifest["stages"]:
            if "neuron" not in stage:
                continue
            n = stage["kernel"][0] * stage["kernel"][1] * stage["channels"]
            i = stage["index"]
            if stage["neuron"] == "sam":  # two weight sets, no bias (docs/network-format.md)
                for family in ("wp", "wm"):
                    families[f"l{i}_{family}"] = ("input", stage["outputs"] * n, stage["width"])
                continue
            families[f"l{i}_w"] = ("input", stage["outputs"] * n, stage["width"])
            if stage["neuron"] == "threshold":
                families[f"l{i}_p"] = ("input", stage["outputs"] * n, 1)
            families[f"l{i}_bias"] = ("input", stage["outputs"], stage["bias_width"])
    return families


def clock_ports(manifest) -> list:
    """The clock and reset ports of a design, which the port table does not list: a conv layer
    always has ``clk`` and ``rst``; a kernel, layer or stream lists them under ``clock``."""
    if manifest.get("kind") == "conv":
        return ["clk", "rst"]
    return list(manifest.get("clock") or {})


def _spec(manifest):
    """The parameter object of a kernel/layer/cell or conv manifest, re-derived."""
    from ..conv import ConvSpec
    from ..spec import KernelSpec

    params = manifest.get("parameters")
    if not isinstance(params, dict):
        raise DesignMismatch("parameters: the manifest holds no parameter object")
    try:
        if manifest.get("kind") == "conv":
            return ConvSpec.from_description(params)
        return KernelSpec.from_description(params)
    except (KeyError, TypeError, ValueError) as error:
        raise DesignMismatch(f"parameters: cannot rebuild the design's parameters ({error})") \
            from None


def _expected_top(manifest, spec) -> str:
    kind = manifest.get("kind")
    if kind == "cell":
        return f"tn_{spec.neuron}_cell_w{spec.width}"
    if kind == "conv":
        return spec.top_name
    return spec.top_name + ("_stream" if manifest.get("interface") == "stream" else "")


# -- the check ---------------------------------------------------------------------------------


def check_design(manifest: dict, verilog: str) -> None:
    """Refuse a design whose manifest disagrees with its Verilog or with itself.

    Parameters
    ----------
    manifest : dict
        As read from ``manifest.json`` (kinds cell, kernel, layer, conv, network).
    verilog : str
        The text of the manifest's Verilog file.

    Raises
    ------
    DesignMismatch
        One line: the field, what was expected and what was found.
    """
    top = manifest.get("top")
    table = manifest.get("ports")
    if not isinstance(top, str) or not isinstance(table, list):
        raise DesignMismatch("manifest: no top module name or no port table")
    # 1. The top module.
    modules = verilog_modules(verilog)
    declared = verilog_ports(verilog, top)
    if top in _instantiated(verilog, modules):
        raise DesignMismatch(f"top: expected the Verilog's top module, found {top!r}, which "
                             "another module instantiates")
    # 2. The port table against the Verilog.
    listed = {}
    for entry in table:
        try:
            listed[entry["name"]] = (entry["direction"], entry["width"])
        except (KeyError, TypeError):
            raise DesignMismatch(f"ports: malformed entry {entry!r}") from None
    for name in clock_ports(manifest):
        if declared.get(name) != ("input", 1):
            found = "no such port" if name not in declared else f"{declared[name]}"
            raise DesignMismatch(f"clock.{name}: expected a 1-bit input of module {top!r}, found "
                                 f"{found}")
        listed.setdefault(name, ("input", 1))
    for name, (direction, width) in declared.items():
        if name not in listed:
            raise DesignMismatch(f"ports.{name}: expected in the manifest (the Verilog declares "
                                 f"{direction} [{width} bits]), found no entry")
        if listed[name][0] != direction:
            raise DesignMismatch(f"ports.{name}.direction: expected {direction} (Verilog), "
                                 f"found {listed[name][0]} (manifest)")
        if listed[name][1] != width:
            raise DesignMismatch(f"ports.{name}.width: expected {width} (Verilog), found "
                                 f"{listed[name][1]} (manifest)")
    for name in listed:
        if name not in declared:
            raise DesignMismatch(f"ports.{name}: expected no such port (module {top!r} does not "
                                 "declare it), found it in the manifest")
    # 3. The parameters, re-derived.
    spec = None
    if manifest.get("kind") != "network":
        spec = _spec(manifest)
        _compare_parameters(manifest, spec)
    else:
        _compare_network_timing(manifest)
    # 4. The port table against what the parameters need.
    _compare_families(manifest, expected_ports(manifest, spec))
    # 5. The hash of the Verilog.
    stored = manifest.get(HASH_FIELD)
    if stored is not None and stored != verilog_hash(verilog):
        raise DesignMismatch(f"{HASH_FIELD}: expected {stored} (manifest), found "
                             f"{verilog_hash(verilog)} (the Verilog was edited after generation)")


def _compare_parameters(manifest, spec) -> None:
    stored = manifest["parameters"]
    derived = spec.describe()
    for key, value in derived.items():
        if stored.get(key) != value:
            raise DesignMismatch(f"parameters.{key}: expected {value!r} (derived from the "
                                 f"parameters), found {stored.get(key)!r}")
    kind = manifest.get("kind")
    if kind in ("kernel", "layer"):
        want = "kernel" if spec.outputs == 1 else "layer"
        if kind != want:
            raise DesignMismatch(f"kind: expected {want!r} ({spec.outputs} outputs), found "
                                 f"{kind!r}")
        if manifest.get("latency", 0) != spec.latency:
            raise DesignMismatch(f"latency: expected {spec.latency} (stages), found "
                                 f"{manifest.get('latency')!r}")
        if bool(manifest.get("clock")) != bool(spec.latency):
            raise DesignMismatch(f"clock: expected {'clk and rst' if spec.latency else 'none'} "
                                 f"(latency {spec.latency}), found "
                                 f"{list(manifest.get('clock') or []) or 'none'}")
    elif kind == "cell":
        if (spec.kernel, spec.channels, spec.outputs, spec.stages) != ((1, 1), 1, 1, 0):
            raise DesignMismatch("parameters: expected a 1x1 single-output cell without stages")
    elif kind != "conv":
        raise DesignMismatch(f"kind: expected cell, kernel, layer, conv or network, found "
                             f"{kind!r}")
    top = _expected_top(manifest, spec)
    if manifest["top"] != top:
        raise DesignMismatch(f"top: expected {top!r} (from the parameters), found "
                             f"{manifest['top']!r}")


def _compare_network_timing(manifest) -> None:
    """A network's latency, initiation interval, clock and interface against its stages: the
    combinational network has latency 0 and no clock; the clocked one (tn_hw.hdl.network_stream)
    one register stage per linear or conv layer, ``reuse`` cycles each (latency
    ``layers * reuse``), one inference per ``reuse`` clocks, clk and rst."""
    stages = manifest.get("stages")
    if not isinstance(stages, list):
        raise DesignMismatch("stages: the manifest holds no list of stages")
    interface = manifest.get("interface", "plain")
    if interface not in ("plain", "stream"):
        raise DesignMismatch(f"interface: expected 'plain' or 'stream', found {interface!r}")
    # Clocked is what the design declares (a stream, or clk and rst, both checked against the
    # Verilog's ports above); the latency must then follow from the stages.
    clocked = interface == "stream" or bool(manifest.get("clock"))
    layers = sum(1 for stage in stages if isinstance(stage, dict) and "neuron" in stage)
    reuse = manifest.get("reuse", 1) if clocked else 1
    widest = max((stage.get("outputs", 1) for stage in stages
                  if isinstance(stage, dict) and "neuron" in stage), default=1)
    if isinstance(reuse, bool) or not isinstance(reuse, int) or not 1 <= reuse <= widest:
        raise DesignMismatch(f"reuse: expected an integer from 1 to {widest} (the widest "
                             f"layer's outputs), found {reuse!r}")
    latency = layers * reuse if clocked else 0
    if manifest.get("latency", 0) != latency:
        raise DesignMismatch(f"latency: expected {latency} ({layers} layers"
                             f"{f' x reuse {reuse}' if reuse > 1 else ''}, "
                             f"{'clocked' if clocked else 'combinational'}), found "
                             f"{manifest.get('latency')!r}")
    if clocked:
        if manifest.get("initiation_interval") != reuse:
            what = f"reuse {reuse}" if reuse > 1 else "one inference per clock"
            raise DesignMismatch(f"initiation_interval: expected {reuse} ({what}), "
                                 f"found {manifest.get('initiation_interval')!r}")
        if sorted(manifest.get("clock") or {}) != ["clk", "rst"]:
            raise DesignMismatch(f"clock: expected clk and rst (latency {latency}), found "
                                 f"{list(manifest.get('clock') or []) or 'none'}")


#: Signedness of the port families (a network's l<i>_w etc. by their last part).
_SIGNED = {"x": True, "w": True, "wp": True, "wm": True, "bias": True, "y": True, "p": False}


def _compare_families(manifest, expected) -> None:
    counts = {}
    for entry in manifest["ports"]:
        key = entry["name"] if entry["name"] in expected else entry.get("port")
        if key not in expected:
            raise DesignMismatch(f"ports.{entry['name']}: expected no port of family {key!r} "
                                 f"(the parameters need {', '.join(expected)}), found one")
        direction, _count, width = expected[key]
        if entry["direction"] != direction:
            raise DesignMismatch(f"ports.{entry['name']}.direction: expected {direction} (from "
                                 f"the parameters), found {entry['direction']}")
        if width is not None and entry["width"] != width:
            raise DesignMismatch(f"ports.{entry['name']}.width: expected {width} (from the "
                                 f"parameters), found {entry['width']}")
        signed = _SIGNED.get(key.rsplit("_", 1)[-1] if key.startswith("l") else key)
        if signed is not None and direction and entry.get("signed") != signed:
            raise DesignMismatch(f"ports.{entry['name']}.signed: expected {signed} (two's "
                                 f"complement values), found {entry.get('signed')!r}")
        counts[key] = counts.get(key, 0) + 1
    for key, (_direction, count, _width) in expected.items():
        if count is not None and counts.get(key, 0) != count:
            raise DesignMismatch(f"ports: expected {count} port(s) {key!r} (from the "
                                 f"parameters), found {counts.get(key, 0)}")
