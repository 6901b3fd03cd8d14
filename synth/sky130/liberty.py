"""Liberty text: boolean ``function`` strings, a writer for the characterized library and a small
reader for the parts the validation and the flow check (cells, areas, pins, functions).

Only the subset this project writes and reads is handled: ``!`` and postfix ``'`` for not, ``&``,
``*`` or juxtaposition for and, ``|`` and ``+`` for or, ``^`` for xor, parentheses, ``0`` and ``1``.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from .wheel import Sky130Error

__all__ = [
    "LIBERTY_NAME",
    "group_body",
    "parse_function",
    "default_liberty",
    "evaluate",
    "truth_table",
    "read_liberty",
]

#: The committed liberty's file name (a package-data file beside this module).
LIBERTY_NAME = "sky130_fd_sc_hd__tt_025C_1v80.lib"


def default_liberty() -> Path:
    """Path of the committed liberty file."""
    return Path(str(resources.files(__package__) / LIBERTY_NAME))


# -- boolean functions -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\w+)|(.))")


@cache
def parse_function(expr: str):
    """The syntax tree of a liberty function string (cached), for evaluating or compiling it."""
    tokens = [t.group(1) or t.group(2) for t in _TOKEN.finditer(expr) if t.group(0).strip()]
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def parse_or():
        node = parse_xor()
        while peek() in ("|", "+"):
            take()
            node = ("|", node, parse_xor())
        return node

    def parse_xor():
        node = parse_and()
        while peek() == "^":
            take()
            node = ("^", node, parse_and())
        return node

    def parse_and():
        node = parse_not()
        while peek() in ("&", "*") or (peek() is not None and (peek() == "(" or peek() == "!"
                                                                or re.fullmatch(r"\w+", peek()))):
            if peek() in ("&", "*"):
                take()
            node = ("&", node, parse_not())
        return node

    def parse_not():
        if peek() == "!":
            take()
            return ("!", parse_not())
        node = parse_atom()
        while peek() == "'":
            take()
            node = ("!", node)
        return node

    def parse_atom():
        token = take() if peek() is not None else None
        if token == "(":
            node = parse_or()
            if take() != ")" if pos < len(tokens) else True:
                raise Sky130Error(f"unbalanced parentheses in liberty function {expr!r}")
            return node
        if token is None or not re.fullmatch(r"\w+", token):
            raise Sky130Error(f"cannot parse liberty function {expr!r} (at {token!r})")
        return ("const", int(token)) if token in ("0", "1") else ("pin", token)

    tree = parse_or()
    if pos != len(tokens):
        raise Sky130Error(f"cannot parse liberty function {expr!r} (trailing {tokens[pos]!r})")
    return tree


def _eval(node, values) -> int:
    kind = node[0]
    if kind == "pin":
        if node[1] not in values:
            raise Sky130Error(f"liberty function names an unknown pin {node[1]!r}")
        return values[node[1]] & 1
    if kind == "const":
        return node[1]
    if kind == "!":
        return 1 - _eval(node[1], values)
    a, b = _eval(node[1], values), _eval(node[2], values)
    return {"&": a & b, "|": a | b, "^": a ^ b}[kind]


def evaluate(expr: str, values: dict) -> int:
    """Value (0 or 1) of a liberty function for pin values ``values`` (name -> 0/1)."""
    return _eval(parse_function(expr), values)


def truth_table(expr: str, inputs) -> tuple:
    """Outputs of ``expr`` for every input vector; vector ``k`` sets ``inputs[i]`` to bit ``i``
    of ``k``."""
    return tuple(evaluate(expr, {p: (k >> i) & 1 for i, p in enumerate(inputs)})
                 for k in range(1 << len(inputs)))


# -- reading -------------------------------------------------------------------------------------


def read_liberty(path) -> dict:
    """The cells of a liberty file: ``{cell: {"area": float, "pins": {pin: {"direction": str,
    "function": str | None}}, "ff": bool}}``.

    Raises
    ------
    Sky130Error
        One line: the file is missing, unreadable or holds no cell.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise Sky130Error(f"cannot read the liberty file {path}: {error.strerror}") from None
    if not re.match(r"\s*(/\*.*?\*/\s*)*library\s*\(", text, re.DOTALL) or text.count("{") != \
            text.count("}"):
        raise Sky130Error(f"{path} is not a complete liberty file (no `library (` header or "
                          "unbalanced braces): regenerate it with "
                          "`python -m tn_hw.synth.sky130.characterize`")
    cells = {}
    for match in re.finditer(r"\bcell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{", text):
        body = group_body(text, match.end())
        area = re.search(r"\barea\s*:\s*([\d.eE+-]+)", body)
        pins = {}
        for pin in re.finditer(r"\bpin\s*\(\s*\"?(\w+)\"?\s*\)\s*\{", body):
            pin_body = group_body(body, pin.end())
            direction = re.search(r"\bdirection\s*:\s*(\w+)", pin_body)
            function = re.search(r"\bfunction\s*:\s*\"([^\"]*)\"", pin_body)
            pins[pin.group(1)] = {"direction": direction.group(1) if direction else None,
                                  "function": function.group(1) if function else None}
        cells[match.group(1)] = {"area": float(area.group(1)) if area else None, "pins": pins,
                                 "ff": re.search(r"\bff\s*\(", body) is not None}
    if not cells:
        raise Sky130Error(f"{path} holds no cell")
    return cells


def group_body(text: str, start: int) -> str:
    """The text of a liberty group `{ ... }` whose opening brace ends just before `start`."""
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    raise Sky130Error("unbalanced braces in the liberty file")
