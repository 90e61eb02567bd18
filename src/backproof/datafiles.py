"""Structure limits of YAML, JSON and TOML data files (network specs, answer files, keys).

The parsers of all three formats recurse once per nesting level, so a deeply nested file
ends in ``RecursionError``, and YAML aliases can expand a small file into billions of
values. Here the nesting depth is measured *before* any structure is built: YAML from its
event stream (which PyYAML produces iteratively, and which is abandoned as soon as the
limit is passed), JSON and TOML from a linear scan of their brackets outside strings and
comments (and TOML's dotted keys). The expanded size of YAML aliases is counted on the same
event stream. Numbers written with more digits than :data:`file_number_digits
<backproof.limits.LIMITS>` become :class:`OversizedNumber` markers instead of being
converted (Python refuses to convert integers past 4,300 digits), so the field checks can
refuse them naming their field path.
"""

from __future__ import annotations

import re

from . import limits
from .errors import LimitError, quote

__all__ = ["OversizedNumber", "number_digits", "int_digits", "check_yaml_events", "check_json_text",
           "check_toml_text", "check_depth", "number_hook"]


class OversizedNumber:
    """A number written with more digits than the limit, kept unconverted.

    Examples
    --------
    >>> OversizedNumber("1" * 200).digits
    200
    """

    __slots__ = ("digits", "text")

    def __init__(self, text: str):
        self.text = text
        self.digits = number_digits(text)

    def __repr__(self) -> str:
        return f"OversizedNumber({quote(self.text)})"

    __str__ = __repr__

    def check(self, where: str) -> None:
        """Raise the ``file_number_digits`` :class:`~backproof.errors.LimitError` for ``where``."""
        limits.check("file_number_digits", self.digits, where)
        raise AssertionError("an OversizedNumber is over the limit by construction")  # pragma: no cover


_DIGIT = re.compile(r"[0-9A-Fa-f]")


def number_digits(text: str) -> int:
    """Digits of a written number (its mantissa; hexadecimal digits count too).

    Examples
    --------
    >>> number_digits("-1_000.25e-3"), number_digits("0x1F")
    (6, 3)
    """
    mantissa = re.split(r"[eE][+-]?", text, maxsplit=1)[0] if not text.lower().startswith("0x") else text
    return len(_DIGIT.findall(mantissa))


def int_digits(n: int) -> int:
    """Decimal digits of an integer without converting it to text (exact below 10**4000).

    Examples
    --------
    >>> int_digits(0), int_digits(-999), int_digits(10**50)
    (1, 3, 51)
    """
    bits = abs(n).bit_length()
    if bits > 13_000:  # more than 3,900 digits: str() would fail past 4,300; an estimate is enough
        return int(bits * 0.30102999566398) + 1
    return len(str(abs(n)))


def number_hook(convert):
    """``json.loads(parse_int=…)`` hook: ``convert(text)`` within the digit limit, else a marker."""
    lim = limits.value("file_number_digits")

    def hook(text: str):
        return OversizedNumber(text) if len(text) > lim and number_digits(text) > lim else convert(text)
    return hook


def _where(origin: str, line: int | None = None, col: int | None = None) -> str:
    pos = f"line {line}, column {col}" if col is not None else (f"line {line}" if line is not None else "")
    return ": ".join(p for p in (origin, pos) if p)


# --- YAML -------------------------------------------------------------------------------------

def check_yaml_events(text: str, origin: str = "") -> None:
    """Walk ``text``'s YAML event stream; refuse deep nesting and oversized alias expansion.

    Raises :class:`~backproof.errors.LimitError` (``file_nesting_depth`` or ``file_values``)
    as soon as a limit is passed, so the rest of the file is never scanned. The scan uses
    libyaml when PyYAML has it (about 15 times faster than the pure-Python parser, whose
    flow-collection scanner also looks far ahead); where libyaml stops at a syntax error the
    pure-Python parser, which reads the file afterwards, scans it again, so both agree on
    what was checked. ``yaml.YAMLError`` for invalid YAML propagates (the caller reports it
    with its position).

    Examples
    --------
    >>> check_yaml_events("a: [1, [2, 3]]")
    >>> check_yaml_events("a: " + "[" * 100 + "]" * 100, "f.yaml")
    Traceback (most recent call last):
    ...
    backproof.errors.LimitError: f.yaml: line 1, column 43: 41 levels is over the limit file_nesting_depth = 40 levels (nesting of lists and mappings in a spec or answer file)
    """
    import yaml
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _scan_yaml(text, origin, fast)
        except yaml.YAMLError:
            pass
    _scan_yaml(text, origin, yaml.SafeLoader)


def _scan_yaml(text: str, origin: str, loader) -> None:
    import yaml
    max_depth = limits.value("file_nesting_depth")
    max_values = limits.value("file_values")
    # The expanded size of every anchored node: an alias counts as a copy of it.
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    total = 0
    for ev in yaml.parse(text, Loader=loader):
        if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            total += 1
            open_nodes.append((ev.anchor, total))
            if len(open_nodes) > max_depth:
                mark = ev.start_mark
                limits.check("file_nesting_depth", len(open_nodes),
                             _where(origin, mark.line + 1, mark.column + 1))
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, start = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = total - start + 1
        elif isinstance(ev, yaml.ScalarEvent):
            total += 1
            if ev.anchor is not None:
                sizes[ev.anchor] = 1
        elif isinstance(ev, yaml.AliasEvent):
            total += sizes.get(ev.anchor, 1)
            if total > max_values:
                mark = ev.start_mark
                limits.check("file_values", total, _where(origin, mark.line + 1, mark.column + 1))


# --- JSON -------------------------------------------------------------------------------------

# A string (an unterminated one runs to the end, so the scan stays linear) or a bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def check_json_text(text: str, origin: str = "") -> None:
    """Refuse JSON nested deeper than ``file_nesting_depth`` (brackets outside strings).

    Examples
    --------
    >>> check_json_text('{"a": "[[[[", "b": [[1]]}')
    >>> check_json_text("[" * 50, "f.json")
    Traceback (most recent call last):
    ...
    backproof.errors.LimitError: f.json: line 1, column 41: 41 levels is over the limit file_nesting_depth = 40 levels (nesting of lists and mappings in a spec or answer file)
    """
    _bracket_depth(_JSON_TOKEN, text, origin)


def _bracket_depth(pattern: re.Pattern, text: str, origin: str) -> None:
    max_depth = limits.value("file_nesting_depth")
    depth = 0
    for m in pattern.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                limits.check("file_nesting_depth", depth, _where(origin, line, col))
        elif c in "]}":
            depth = max(depth - 1, 0)


# --- TOML -------------------------------------------------------------------------------------

# Strings (basic, literal, multi-line; unterminated ones run to the end of the line or file),
# comments, numbers (so a float's point is not a key's dot), dots, separators and brackets.
_TOML_TOKEN = re.compile(r'"""[\s\S]*?(?:"""|\Z)|\'\'\'[\s\S]*?(?:\'\'\'|\Z)'
                         r'|"(?:[^"\\\n]|\\.)*"?|\'[^\'\n]*\'?|#[^\n]*'
                         r'|[+-]?\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d[\d_]*)?'
                         r'|[.=,\n]|[\[\]{}]')


def check_toml_text(text: str, origin: str = "") -> None:
    """Refuse TOML with arrays/inline tables or dotted keys deeper than ``file_nesting_depth``.

    Examples
    --------
    >>> check_toml_text('a.b.c = [[1.5, 2.5], {x = "[[["}]  # comment [[[')
    >>> check_toml_text("a" + ".a" * 60 + " = 1", "f.toml")
    Traceback (most recent call last):
    ...
    backproof.errors.LimitError: f.toml: line 1, column 80: 41 levels is over the limit file_nesting_depth = 40 levels (nesting of lists and mappings in a spec or answer file)
    """
    max_depth = limits.value("file_nesting_depth")
    depth = 0
    dots = 0
    for m in _TOML_TOKEN.finditer(text):
        c = m.group()
        if c in ("[", "{"):
            depth += 1
            dots = 0
        elif c in ("]", "}"):
            depth = max(depth - 1, 0)
            dots = 0
        elif c in ("=", ",", "\n"):
            dots = 0
        elif c == ".":
            dots += 1
        else:
            continue
        if depth > max_depth or dots + 1 > max_depth:
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            limits.check("file_nesting_depth", max(depth, dots + 1), _where(origin, line, col))


def toml_digits_error(text: str, origin: str = "") -> LimitError:
    """The ``file_number_digits`` error for TOML that Python could not convert (4,300 digits).

    tomllib converts integers itself (it has no ``parse_int`` hook), so an over-long one
    surfaces as ``ValueError``; this finds its line for the message.
    """
    lim = limits.value("file_number_digits")
    m = re.search(rf"\d[\d_]{{{lim},}}", text)
    line = text.count("\n", 0, m.start()) + 1 if m else None
    digits = number_digits(m.group()) if m else lim + 1
    try:
        limits.check("file_number_digits", max(digits, lim + 1), _where(origin, line))
    except LimitError as exc:
        return exc
    raise AssertionError("unreachable")  # pragma: no cover


# --- parsed data ---------------------------------------------------------------------------------

def check_depth(obj, origin: str = "") -> None:
    """Refuse parsed data nested deeper than ``file_nesting_depth`` (walked iteratively).

    Examples
    --------
    >>> check_depth({"a": [1, {"b": [2]}]})
    >>> deep = []
    >>> for _ in range(60):
    ...     deep = [deep]
    >>> check_depth({"x": deep}, "f.toml")
    Traceback (most recent call last):
    ...
    backproof.errors.LimitError: f.toml: 41 levels is over the limit file_nesting_depth = 40 levels (nesting of lists and mappings in a spec or answer file)
    """
    max_depth = limits.value("file_nesting_depth")
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            limits.check("file_nesting_depth", depth, origin)
        stack.extend((child, depth + 1) for child in children)
