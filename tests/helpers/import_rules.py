"""The dependency rules of the code base, checked by scanning every import statement.

The scan reads the source (never imports it) and sees every ``import``/``from ... import`` at
module level and inside functions. The rules (docs/architecture.md):

- ``tn_hw.hdl`` (hardware) imports neither the golden model (``tn_hw.reference``), nor the
  testbenches (``tn_hw.testbench``), nor ``torch`` or ``cocotb``;
- ``tn_hw.reference`` (the golden model) imports neither ``amaranth``, nor ``tn_hw.hdl``, nor
  ``tn_hw.testbench``, nor ``cocotb``;
- no two modules import each other, directly or through others (an import cycle);
- no module imports a private name (``_name``) from another module.

Relative imports are resolved; ``from package import submodule`` counts as importing the
submodule; importing ``p.m`` also runs the package ``p``'s ``__init__``, so it counts as an
edge to ``p`` too. The rules are documented in docs/architecture.md.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Source folder -> package name (pyproject.toml's package-dir).
PACKAGES = {
    "tn_hw": "tn_hw",
    "hdl": "tn_hw.hdl",
    "reference": "tn_hw.reference",
    "testbench": "tn_hw.testbench",
    "synth": "tn_hw.synth",
}

#: Package -> imported names (prefixes) it must not use.
FORBIDDEN = {
    "tn_hw.hdl": ("tn_hw.reference", "tn_hw.testbench", "torch", "cocotb", "cocotb_tools"),
    "tn_hw.reference": ("amaranth", "tn_hw.hdl", "tn_hw.testbench", "cocotb", "cocotb_tools"),
}


@dataclass(frozen=True)
class Import:
    module: str       # the importing module
    target: str       # the module imported
    names: tuple      # names taken from it (``from target import a, b``)
    line: int


def collect_sources(root: Path = ROOT) -> dict:
    """``{module name: source text}`` of every module of the package folders."""
    sources = {}
    for folder, package in PACKAGES.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([package, *parts])
            sources[name] = (path.read_text(), path.name == "__init__.py")
    return sources


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[:-(level - 1)]
    return ".".join(base + ([target] if target else []))


def scan(sources: dict) -> list:
    """Every import of every module, relative imports resolved."""
    imports = []
    for module, (text, is_package) in sources.items():
        for node in ast.walk(ast.parse(text, filename=module)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imports.append(Import(module, alias.name, (), node.lineno))
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_package, node.level, node.module)
                if target == "__future__":
                    continue
                names = tuple(alias.name for alias in node.names)
                # ``from package import submodule`` imports the submodule.
                subs = [n for n in names if f"{target}.{n}" in sources]
                for sub in subs:
                    imports.append(Import(module, f"{target}.{sub}", (), node.lineno))
                rest = tuple(n for n in names if n not in subs)
                if rest or not subs:
                    imports.append(Import(module, target, rest, node.lineno))
    return imports


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _owner(name: str, sources: dict) -> str | None:
    """The project module that ``name`` refers to (the longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in sources:
            return candidate
    return None


def layer_breaches(sources: dict, imports: list) -> list:
    out = []
    for imp in imports:
        for package, banned in FORBIDDEN.items():
            if not _under(imp.module, package):
                continue
            for prefix in banned:
                if _under(imp.target, prefix):
                    out.append(f"{imp.module}:{imp.line} imports {imp.target} "
                               f"({package} must not import {prefix})")
    return out


def private_imports(sources: dict, imports: list) -> list:
    out = []
    for imp in imports:
        if _owner(imp.target, sources) is None or imp.target == imp.module:
            continue
        for name in imp.names:
            if name.startswith("_") and not name.startswith("__"):
                out.append(f"{imp.module}:{imp.line} imports the private name {name} "
                           f"from {imp.target}")
    return out


def cycles(sources: dict, imports: list) -> list:
    """Import cycles between project modules, each as ``a -> b -> ... -> a``.

    A package's ``__init__`` is imported whenever one of its submodules is, so an edge to
    ``p.m`` is also an edge to ``p`` (unless the importer is inside ``p``).
    """
    graph = {module: set() for module in sources}
    for imp in imports:
        owner = _owner(imp.target, sources)
        if owner is None or owner == imp.module:
            continue
        graph[imp.module].add(owner)
        parts = owner.split(".")
        for end in range(len(parts) - 1, 0, -1):
            parent = ".".join(parts[:end])
            if parent in sources and not _under(imp.module, parent):
                graph[imp.module].add(parent)
    # Tarjan's strongly connected components.
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [" <-> ".join(component) for component in found]


def breaches(sources: dict | None = None) -> list:
    """Every breach of the rules, one line each (empty when the code base is clean)."""
    sources = collect_sources() if sources is None else sources
    imports = scan(sources)
    return (layer_breaches(sources, imports) + private_imports(sources, imports)
            + [f"import cycle: {c}" for c in cycles(sources, imports)])
