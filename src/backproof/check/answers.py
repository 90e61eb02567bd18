"""Answer files (YAML, JSON, TOML): loading, and validating every field before anything is graded.

Numbers are kept as the text the student wrote (YAML would read ``0.62`` as a float
and lose the figures): YAML is composed into nodes and read here, JSON with
``parse_float=str`` and TOML with ``parse_float=str``. Every problem found is collected
with its field path and, for YAML, its line and column; the file is rejected as a
whole with all of them (:class:`AnswerFileError`).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp

from .. import limits
from ..datafiles import (
    OversizedNumber,
    check_depth,
    check_json_text,
    check_toml_text,
    check_yaml_events,
    number_digits,
    toml_digits_error,
)
from ..derivation import evaluate_number
from ..errors import BackproofError, LimitError, ParseError, SpecError, quote
from ..io import read_stdin, read_text_file
from ..parse import parse_expression, parse_program, parse_values
from .compare import DEFAULT_TOLERANCE, Tolerance
from .quantities import Problem, Quantity, QuantityError

__all__ = ["AnswerFileError", "Node", "Document", "Answer", "Tolerances", "load_document",
           "parse_document", "build_problem", "read_answers", "load_check", "CheckInput",
           "command_line_check", "command_line_network_check", "sniff_format", "COMMAND_LINE", "STDIN_NAME",
           "KEY_ONLY", "Points", "read_points"]

#: Longest answer text read (a pathological expression should not reach SymPy).
MAX_ANSWER_CHARS = limits.value("answer_chars")
_NONFINITE = {"nan", ".nan", "inf", "+inf", "-inf", ".inf", "+.inf", "-.inf", "infinity", "-infinity",
              "+infinity", "∞", "-∞"}
# Unambiguous (no two quantifiers can share a digit), so matching is linear.
_PLAIN_NUMBER = re.compile(r"^[+-]?(?P<m>\d+(?:\.\d*)?|\.\d+)(?:[eE](?P<e>[+-]?\d+))?$")


#: The ``fmt`` of a :class:`Document` built from ``--answer`` options rather than read from a file.
COMMAND_LINE = "command line"


class AnswerFileError(SpecError):
    """An answer file with one or more bad fields; ``problems`` lists every one."""

    def __init__(self, problems: list[str]):
        # A YAML or JSON escape can make a lone surrogate ("\\ud800"), which no UTF-8 stream can print.
        self.problems = [p.encode("utf-8", "backslashreplace").decode("utf-8") for p in problems]
        more = len(self.problems) - 1
        super().__init__(self.problems[0] + (f" (and {more} more problem{'s' if more > 1 else ''})"
                                               if more > 0 else ""))


# --- a format-neutral tree with positions ----------------------------------------------------

@dataclass
class Node:
    """A value from the file: ``kind`` is map, seq, str, num, bool or null."""

    kind: str
    value: Any
    line: int | None = None     # 1-based, YAML only
    col: int | None = None
    style: str | None = None    # YAML scalar style: None (plain), "'", '"', "|", ">"


@dataclass
class Document:
    path: str
    fmt: str
    root: Node
    text: str


def _compose(text: str):
    """The YAML node tree, composed by libyaml where PyYAML has it (the pure-Python composer
    was a quarter of grading a submission, issue 13). Invalid YAML is composed again by the
    pure-Python loader, so its error and position read as they always have."""
    import yaml
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _yaml_tree(text: str, path: str) -> Node:
    import yaml
    try:
        # Depth and alias expansion are checked on the event stream before composing.
        check_yaml_events(text, path)
        root = _compose(text)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (a control character, say)
        pos = min(max(int(exc.position), 0), len(text))
        line, col = text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise AnswerFileError([f"{path}:{line}:{col}: not valid YAML: the character {char!r} (U+{ord(char):04X}) is "
                               f"not allowed in YAML text"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        # One line: PyYAML's own text spans several (the context, then 'in "<unicode string>", line …').
        why = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise AnswerFileError([f"{where}: not valid YAML: {why}"]) from None
    seen: set[int] = set()

    def walk(n) -> Node:
        line, col = n.start_mark.line + 1, n.start_mark.column + 1
        if isinstance(n, (yaml.MappingNode, yaml.SequenceNode)):
            if id(n) in seen:  # an alias: refuse rather than expand (a "billion laughs" file)
                raise AnswerFileError([f"{path}:{line}:{col}: YAML anchors and aliases are not supported"])
            seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Node] = {}
            keys: dict[str, Node] = {}
            for k, v in n.value:
                kn = walk(k)
                if kn.kind in ("map", "seq"):
                    raise AnswerFileError([f"{path}:{kn.line}:{kn.col}: a key must be text, not a collection"])
                key = str(kn.value)
                if key in out:
                    raise AnswerFileError([f"{path}:{kn.line}:{kn.col}: {quote(key)} appears twice "
                                           f"(first on line {keys[key].line})"])
                keys[key] = kn
                out[key] = walk(v)
            return Node("map", out, line, col)
        if isinstance(n, yaml.SequenceNode):
            return Node("seq", [walk(v) for v in n.value], line, col)
        tag = n.tag.rsplit(":", 1)[-1]
        kind = {"int": "num", "float": "num", "bool": "bool", "null": "null"}.get(tag, "str")
        style = n.style or None  # libyaml writes a plain scalar's style as "", PyYAML as None
        if style is not None:
            kind = "str"
        value = None if kind == "null" else n.value
        return Node(kind, value, line, col, style)

    if root is None:
        return Node("null", None, 1, 1)
    return walk(root)


def _plain_tree(obj, fmt: str, path: str) -> Node:
    if isinstance(obj, dict):
        return Node("map", {str(k): _plain_tree(v, fmt, path) for k, v in obj.items()})
    if isinstance(obj, list):
        return Node("seq", [_plain_tree(v, fmt, path) for v in obj])
    if isinstance(obj, bool):
        return Node("bool", obj)
    if obj is None:
        return Node("null", None)
    if isinstance(obj, int):
        return Node("num", str(obj))
    if isinstance(obj, str):
        return Node("str", obj)
    return Node("str", str(obj))  # TOML dates and times: reported as wrong where used


def parse_document(text: str, path: str = "<answers>", fmt: str | None = None) -> Document:
    """Read answer-file text (format from ``fmt`` or the path's extension, default YAML).

    Examples
    --------
    >>> doc = parse_document("answers:\\n  J: 0.620\\n")
    >>> doc.root.value["answers"].value["J"].value
    '0.620'
    """
    fmt = fmt or {".json": "json", ".toml": "toml"}.get(Path(path).suffix.lower(), "yaml")
    if fmt == "json":
        def pairs(items):
            out = {}
            for k, v in items:
                if k in out:
                    raise AnswerFileError([f"{path}: key {quote(k)} appears twice"])
                out[k] = v
            return out
        check_json_text(text, path)
        try:
            obj = json.loads(text, parse_float=str, parse_int=str, object_pairs_hook=pairs,
                             parse_constant=lambda c: c)
        except json.JSONDecodeError as exc:
            raise AnswerFileError([f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"]) from None
        root = _plain_tree(obj, fmt, path)
    elif fmt == "toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        check_toml_text(text, path)
        try:
            obj = tomllib.loads(text, parse_float=str)
        except tomllib.TOMLDecodeError as exc:
            raise AnswerFileError([f"{path}: not valid TOML: {exc}"]) from None
        except ValueError:  # an integer past Python's 4,300-digit conversion limit
            raise toml_digits_error(text, path) from None
        check_depth(obj, path)
        root = _plain_tree(obj, fmt, path)
    else:
        root = _yaml_tree(text, path)
    return Document(path, fmt, root, text)


#: What an answer file read from standard input is called in messages.
STDIN_NAME = "standard input"
#: A TOML table header on a line of its own (``[problem]``): how standard input's TOML is told from YAML.
_TOML_TABLE = re.compile(r"^\[[A-Za-z_][\w.]*\][ \t]*$", re.MULTILINE)  # no two quantifiers overlap: linear


def sniff_format(text: str) -> str:
    """The format of answer-file text without a file name (standard input): JSON, TOML or YAML.

    Examples
    --------
    >>> sniff_format('{"answers": {}}'), sniff_format("[problem]\\nat = 1"), sniff_format("answers: {}")
    ('json', 'toml', 'yaml')
    """
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return "json"
    return "toml" if _TOML_TABLE.search(text) else "yaml"


def load_document(path: str | Path) -> Document:
    """Read and parse an answer file from disk (``-``: from standard input, its format sniffed)."""
    if str(path) == "-":
        text = read_stdin(what=STDIN_NAME)
        return parse_document(text, STDIN_NAME, sniff_format(text))
    p = Path(path)
    text = read_text_file(p, what="an answer file", error=SpecError)
    return parse_document(text, str(p))


# --- fields ----------------------------------------------------------------------------------------

def _path(parts) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif len(p) <= 40 and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
            out += ("." if out else "") + p
        elif len(p) <= 40:
            out += f"[{json.dumps(p, ensure_ascii=False)}]"
        else:
            out += f"[{quote(p)}]"
    return out


class _Errors:
    def __init__(self, doc: Document):
        self.doc = doc
        self.items: list[str] = []

    def add(self, parts, message: str, node: Node | None = None, line: int | None = None, col: int | None = None):
        if self.doc.fmt == COMMAND_LINE:  # one --answer: its text names it; a column points into it
            where = f"{self.doc.path}, column {col}" if col is not None else self.doc.path
        else:
            line = line if line is not None else (node.line if node is not None else None)
            col = col if col is not None else (node.col if node is not None else None)
            where = f"{self.doc.path}:{line}:{col}" if line is not None else self.doc.path
        field_path = _path(parts)
        self.items.append(f"{where}: {field_path + ': ' if field_path else ''}{message}")

    def raise_if_any(self):
        if self.items:
            raise AnswerFileError(self.items)


def _allowed(err: _Errors, node: Node, parts, allowed: tuple[str, ...]) -> None:
    for key, v in node.value.items():
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            did = f"; did you mean {hint[0]!r}?" if hint else ""
            err.add(list(parts) + [key], f"unknown field{did} (allowed: {', '.join(allowed)})", v)


def _number_over_limits(text: str) -> str | None:
    """Why a plainly written number is over the digit or exponent limit (None when it is not).

    Checked on the text, before the number is converted (``1e-999999`` would otherwise
    become an exact rational with a million-digit denominator).

    Examples
    --------
    >>> _number_over_limits("0.62e-3") is None
    True
    >>> _number_over_limits("1e999999")  # doctest: +ELLIPSIS
    '999999 in magnitude is over the limit file_number_exponent = 1000 in magnitude ...'
    """
    m = _PLAIN_NUMBER.match(text)
    if not m:
        return None
    try:
        limits.check("file_number_digits", number_digits(m.group("m")))
        e = m.group("e")
        if e is not None:
            mag = e.lstrip("+-").lstrip("0")
            limits.check("file_number_exponent", int(mag or "0") if len(mag) <= 30 else float(mag))
    except LimitError as exc:
        return str(exc)
    return None


def _number(err: _Errors, node: Node, parts, what: str) -> sp.Expr | None:
    if node.kind not in ("num", "str"):
        err.add(parts, f"{what} must be a number, got {_kind(node)}", node)
        return None
    text = str(node.value).strip()
    over = _size_over_limit(text) or _number_over_limits(text)
    if over:
        err.add(parts, f"{what}: {over}", node)
        return None
    try:
        v = parse_expression(text).doit()
    except ParseError as exc:
        err.add(parts, f"{what}: cannot read {quote(node.value)}: {exc.message}", node)
        return None
    if v.free_symbols or not (v.is_number and v.is_real and v.is_finite):
        err.add(parts, f"{what} must be a finite real number, got {quote(node.value)}", node)
        return None
    return v


def _size_over_limit(text: str) -> str | None:
    try:
        limits.check("answer_chars", len(text))
    except LimitError as exc:
        return str(exc)
    return None


def _kind(node: Node) -> str:
    return {"map": "a mapping", "seq": "a list", "bool": "true/false", "null": "nothing"}.get(
        node.kind, quote(node.value))


@dataclass(frozen=True)
class ProblemSpec:
    """What the ``problem`` section says, validated but not yet derived."""

    program: str | None = None
    program_line: int | None = None    # file line of the program's first line (YAML)
    program_col: int = 1
    network: dict | None = None
    at: dict | None = None
    learning_rate: sp.Expr | None = None
    title: str | None = None


@dataclass(frozen=True)
class RawAnswer:
    key: str
    node: Node


@dataclass(frozen=True)
class Tolerances:
    """The default tolerance and per-quantity overrides (by the key as written)."""

    default: Tolerance = DEFAULT_TOLERANCE
    per_key: tuple[tuple[str, Tolerance], ...] = ()

    def for_key(self, key: str, quantity: Quantity | None = None, problem: Problem | None = None) -> Tolerance:
        for k, t in self.per_key:
            if k == key or (problem is not None and quantity is not None and _same(problem, k, quantity)):
                return t
        return self.default


def _same(problem: Problem, key: str, q: Quantity) -> bool:
    try:
        return problem.resolve(key) == q
    except QuantityError:
        return False


@dataclass(frozen=True)
class Answer:
    """One answer, parsed: ``kind`` is number, expression, nonfinite or blank."""

    key: str
    quantity: Quantity
    text: str | None
    kind: str
    number: sp.Expr | None = None      # exact value of a number answer
    expr: sp.Expr | None = None        # a symbolic answer, in names
    line: int | None = None
    col: int | None = None

    @property
    def value(self) -> float:
        if self.number is None:
            return math.nan
        try:
            return float(self.number)
        except OverflowError:  # 2**1000**… : a number, but not one a float can hold
            return math.inf if self.number > 0 else -math.inf


@dataclass(frozen=True)
class CheckInput:
    """A validated answer file: the problem (derived), the answers and the tolerances."""

    path: str
    problem: Problem
    answers: tuple[Answer, ...]
    tolerances: Tolerances
    student: str | None = None


_TOP = ("problem", "answers", "tolerance", "student", "title", "vary", "points", "carried_credit",
        "figures_credit")
#: Fields only a grading key may hold (a submission or a plain ``check`` file may not).
KEY_ONLY = ("points", "carried_credit", "figures_credit")
_PROBLEM = ("program", "network", "at", "learning_rate", "title")
_TOL = ("rtol", "atol", "min_figures")


def _read_tolerance(err: _Errors, node: Node, parts, base: Tolerance) -> Tolerance:
    if node.kind != "map":
        err.add(parts, f"must be a mapping of {', '.join(_TOL)}, got {_kind(node)}", node)
        return base
    kw: dict[str, Any] = {}
    for key, v in node.value.items():
        if key not in _TOL:
            _allowed(err, Node("map", {key: v}), parts, _TOL)
            continue
        num = _number(err, v, list(parts) + [key], key)
        if num is None:
            continue
        if key == "min_figures":
            if not num.is_Integer or num < 1:
                err.add(list(parts) + [key],
                        f"min_figures must be a whole number ≥ 1, got {quote(v.value)}", v)
                continue
            kw[key] = int(num)
        else:
            if num < 0:
                err.add(list(parts) + [key], f"{key} must be ≥ 0, got {quote(v.value)}", v)
                continue
            kw[key] = float(num)
    return base.replace(**kw)


def read_sections(doc: Document, *, need_problem: bool = True, submission: bool = False,
                  errors: _Errors | None = None) -> tuple[ProblemSpec | None, list[RawAnswer], Tolerances, str | None]:
    """Validate the top-level structure; return (ProblemSpec|None, raw answers, Tolerances, student).

    With ``errors`` given, problems are added to it and not raised (so the caller can
    go on validating the answers and report everything at once).
    """
    err = errors if errors is not None else _Errors(doc)
    root = doc.root
    if root.kind != "map":
        # Program text where an answer file belongs (`echo "y = a*b" | backproof check -`).
        hint = ("; for program text give the answers with --answer QUANTITY=VALUE"
                if root.kind == "str" and "=" in str(root.value) else "")
        err.add([], f"the file must be a mapping with fields {', '.join(_TOP)}, got {_kind(root)}{hint}", root)
        err.raise_if_any()
    top = root.value
    _allowed(err, root, [], _TOP)
    spec = None
    pnode = top.get("problem")
    if pnode is None and need_problem:
        err.add([], "missing field 'problem' (with 'program' and 'at', or 'network')", root)
    elif pnode is not None and not submission:
        spec = _read_problem(err, pnode)
    answers = _answers_section(doc, err, top.get("answers"), required=submission or not need_problem)
    tol = _tolerance_section(doc, err, top.get("tolerance"), submission)
    for name in KEY_ONLY:
        if name in top and submission:
            err.add([name], f"a submission cannot set {name} (the key does)", top[name])
    student = _student(err, top.get("student"))
    if submission and student is None:
        student = Path(doc.path).stem
    if errors is None:
        err.raise_if_any()
    return spec, answers, tol, student


def _answers_section(doc: Document, err: _Errors, anode: Node | None, *, required: bool) -> list[RawAnswer]:
    if anode is None:
        if required:
            err.add([], "missing field 'answers' (a mapping from quantity to your value)", doc.root)
        return []
    if anode.kind != "map":
        err.add(["answers"], f"must be a mapping from quantity to value, got {_kind(anode)}", anode)
        return []
    # Bounded before any key is resolved or any answer read.
    limits.check("answer_count", len(anode.value), f"{doc.path}:{anode.line}:{anode.col}: answers"
                 if anode.line is not None else f"{doc.path}: answers")
    answers = []
    for key, v in anode.value.items():
        _check_key(doc, ["answers", key], v)
        answers.append(RawAnswer(key, v))
    return answers


def _tolerance_section(doc: Document, err: _Errors, tnode: Node | None, submission: bool) -> Tolerances:
    if tnode is None:
        return Tolerances()
    if submission:
        err.add(["tolerance"], "a submission cannot set tolerances (the key does)", tnode)
        return Tolerances()
    if tnode.kind != "map":
        err.add(["tolerance"], f"must be a mapping, got {_kind(tnode)}", tnode)
        return Tolerances()
    limits.check("answer_count", len(tnode.value), f"{doc.path}: tolerance")
    for k, v in tnode.value.items():
        _check_key(doc, ["tolerance", k], v)
    glob = Node("map", {k: v for k, v in tnode.value.items() if v.kind != "map"}, tnode.line, tnode.col)
    default = _read_tolerance(err, glob, ["tolerance"], DEFAULT_TOLERANCE)
    per = tuple((k, _read_tolerance(err, v, ["tolerance", k], default))
                for k, v in tnode.value.items() if v.kind == "map")
    return Tolerances(default, per)


def _student(err: _Errors, snode: Node | None) -> str | None:
    if snode is None:
        return None
    if snode.kind not in ("str", "num"):
        err.add(["student"], f"must be a name, got {_kind(snode)}", snode)
        return None
    return str(snode.value).strip()


def _check_key(doc: Document, parts, node: Node) -> None:
    """Refuse an over-long quantity name before it is resolved (name matching is not linear
    in the name's length, and its text would be quoted back)."""
    where = f"{doc.path}:{node.line}:{node.col}" if node.line is not None else doc.path
    limits.check("answer_key_chars", len(parts[-1]), f"{where}: {_path(parts)}")


def _read_problem(err: _Errors, node: Node) -> ProblemSpec | None:
    if node.kind != "map":
        err.add(["problem"], f"must be a mapping with 'program' and 'at' (or 'network'), got {_kind(node)}", node)
        return None
    _allowed(err, node, ["problem"], _PROBLEM)
    f = node.value
    program = network = None
    line = None
    col = 1
    if "program" in f and "network" in f:
        err.add(["problem"], "give either 'program' or 'network', not both", node)
    if "program" in f:
        pn = f["program"]
        if pn.kind != "str":
            err.add(["problem", "program"], f"must be program text, got {_kind(pn)}", pn)
        else:
            program = pn.value
            if pn.line is not None:
                block = pn.style in ("|", ">")
                line = pn.line + (1 if block else 0)
                col = pn.col if not block else 1
    elif "network" in f:
        nn = f["network"]
        if nn.kind != "map":
            err.add(["problem", "network"], f"must be a network spec (a mapping), got {_kind(nn)}", nn)
        else:
            network = _to_plain(nn)
    else:
        err.add(["problem"], "missing field 'program' (expression-language text) or 'network' (a spec)", node)
    at = _read_at(err, f["at"]) if "at" in f else None
    lr = None
    if "learning_rate" in f:
        lr = _number(err, f["learning_rate"], ["problem", "learning_rate"], "learning_rate")
        if lr is not None and lr <= 0:
            err.add(["problem", "learning_rate"], f"must be positive, got {quote(f['learning_rate'].value)}",
                    f["learning_rate"])
    title = None
    if "title" in f and f["title"].kind in ("str", "num"):
        title = str(f["title"].value)
    return ProblemSpec(program, line, col, network, at, lr, title)


def _read_at(err: _Errors, an: Node) -> dict | None:
    """``problem.at``: a mapping name -> number, or the command line's ``"a=2,b=1"``."""
    if an.kind == "str":
        return _at_text(err, an)
    if an.kind != "map":
        err.add(["problem", "at"], f"must be a mapping name -> number or text like 'a=2,b=1', got {_kind(an)}", an)
        return None
    at = {}
    for k, v in an.value.items():
        num = _number(err, v, ["problem", "at", k], f"value of {quote(k)}")
        if num is not None:
            at[k] = num
    return at


def _at_text(err: _Errors, an: Node) -> dict | None:
    """``at: a=2,b=1`` read as ``--at`` reads it; an error points into the text."""
    text = str(an.value)
    over = _size_over_limit(text)
    if over:
        err.add(["problem", "at"], over, an)
        return None
    try:
        return parse_values(text)
    except ParseError as exc:
        col = an.col
        if col is not None and exc.col is not None and an.style in (None, "'", '"'):
            col += (1 if an.style else 0) + exc.col - 1
        err.add(["problem", "at"], f"{exc.message} (write name=value pairs such as 'a=2,b=1', or a mapping)",
                an, col=col)
    except LimitError as exc:
        err.add(["problem", "at"], str(exc), an)
    return {}  # refused: its inputs' missing values are a consequence, not more problems


def _to_plain(node: Node):
    """A spec subtree as plain Python (numbers as numbers) for backproof.nn."""
    if node.kind == "map":
        return {k: _to_plain(v) for k, v in node.value.items()}
    if node.kind == "seq":
        return [_to_plain(v) for v in node.value]
    if node.kind == "num":
        text = str(node.value)
        if number_digits(text) > limits.value("file_number_digits"):
            return OversizedNumber(text)  # refused by the spec checks, naming its field path
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    if node.kind == "bool":
        return node.value in (True, "true", "True", "TRUE", "yes", "Yes", "on", "On")
    return node.value


def build_problem(doc: Document, spec: ProblemSpec, quantities_hint: tuple[str, ...] = ()) -> Problem:
    """Derive the problem a spec describes (errors name the field and file position)."""
    if spec.network is not None:
        return _network_problem(doc, spec, spec.network)
    if spec.program is None:
        raise AnswerFileError([f"{doc.path}: problem: missing or invalid"])
    try:
        program = parse_program(spec.program)
    except ParseError as exc:
        if spec.program_line is not None and exc.line is not None:
            line = spec.program_line + exc.line - 1
            raw = doc.text.splitlines()[line - 1] if line - 1 < len(doc.text.splitlines()) else ""
            indent = len(raw) - len(raw.lstrip(" ")) if spec.program_col == 1 else spec.program_col - 1
            raise AnswerFileError([f"{doc.path}:{line}:{indent + (exc.col or 1)}: problem.program: "
                                   f"{exc.message}"]) from None
        raise AnswerFileError([f"{doc.path}: problem.program: {exc}"]) from None
    _missing_inputs(doc, program.inputs, spec.at)
    try:
        return Problem(program, spec.at, spec.learning_rate, title=spec.title)
    except BackproofError as exc:
        raise AnswerFileError([f"{doc.path}: problem: {exc}"]) from None


def _missing_inputs(doc: Document, inputs: tuple[str, ...], at: dict | None) -> None:
    """Refuse a point without every input, saying where this command takes values:
    the file's ``problem.at``, or ``--at`` on the command line."""
    missing = [n for n in inputs if at is not None and n not in at]
    if not missing:
        return
    s = "s" if len(missing) > 1 else ""
    if doc.fmt == COMMAND_LINE:
        how = f"give --at {'=…,'.join(missing)}=…"
        where = "--at"
    else:
        how = f"add {', '.join(f'{n}: …' for n in missing)} to problem.at"
        where = f"{doc.path}: problem.at"
    raise AnswerFileError([f"{where}: no value given for input{s} {', '.join(missing)} ({how})"])


def _needs_at(err: _Errors) -> str:
    """What a number answer without a point needs, in this command's terms."""
    if err.doc.fmt == COMMAND_LINE:
        return "a number needs values for the inputs (give --at, e.g. --at a=2,b=1)"
    return "a number needs values for the inputs (problem.at)"


def _network_problem(doc: Document, spec: ProblemSpec, network: dict, where: str = "problem.network") -> Problem:
    try:
        from ..nn import program_from_spec
    except ImportError:
        raise AnswerFileError([f"{doc.path}: problem.network: network problems need backproof.nn, which "
                               f"this installation does not have (write the problem as a 'program')"]) from None
    try:
        net = program_from_spec(network, where)
    except BackproofError as exc:
        raise AnswerFileError([f"{doc.path}: {exc}"]) from None
    lr = spec.learning_rate if spec.learning_rate is not None else getattr(net, "learning_rate", None)
    at = dict(net.at)
    if spec.at:
        at.update(spec.at)
    try:
        # Frozen parameters (the spec's trainable: false / frozen) are not updated: not params.
        return Problem(net.program, at, lr, aliases=dict(getattr(net, "matrix_names", {}) or {}),
                       params=tuple(getattr(net, "trainable", getattr(net, "params", ())) or ()) or None,
                       title=spec.title, frozen=tuple(getattr(net, "frozen", ()) or ()))
    except BackproofError as exc:
        raise AnswerFileError([f"{doc.path}: problem: {exc}"]) from None


def read_answers(doc: Document, problem: Problem, raw: list[RawAnswer], *, allow_blank: bool = False,
                 errors: _Errors | None = None) -> tuple[Answer, ...]:
    """Resolve every answer's quantity and parse its value; collect every problem."""
    err = errors or _Errors(doc)
    out: list[Answer] = []
    seen: dict[Quantity, str] = {}
    for ra in raw:
        node = ra.node
        # A file's answer is named by its field path; an --answer by the document's own name.
        parts = [] if doc.fmt == COMMAND_LINE else ["answers", ra.key]
        try:
            q = problem.resolve(ra.key)
        except QuantityError as exc:
            err.add(parts, str(exc), node)
            continue
        if q in seen:
            err.add(parts, f"names the same quantity as {seen[q]!r} ({problem.display(q)})", node)
            continue
        seen[q] = ra.key
        if q.kind == "update" and problem.learning_rate is None:
            err.add(parts, "an update needs --learning-rate (e.g. --learning-rate 0.1)" if doc.fmt == COMMAND_LINE
                    else "an update needs problem.learning_rate (e.g. learning_rate: 0.1)", node)
            continue
        ans = _read_value(err, parts, ra.key, q, node, problem, allow_blank)
        if ans is not None:
            out.append(ans)
    err.raise_if_any()
    return tuple(out)


def _read_value(err: _Errors, parts: list, key: str, q: Quantity, node: Node, problem: Problem,
                allow_blank: bool) -> Answer | None:
    """One answer's value: blank, a plain number, a non-finite word, a constant or an expression."""
    where = {"line": node.line, "col": node.col}
    if node.kind == "null":
        if allow_blank:
            return Answer(key, q, None, "blank", **where)
        err.add(parts, "no value given (write a number or an expression)", node)
        return None
    if node.kind not in ("num", "str"):
        err.add(parts, f"must be a number or an expression, got {_kind(node)}", node)
        return None
    text = str(node.value).strip()
    over = _size_over_limit(text) or _number_over_limits(text)
    if over:
        err.add(parts, over, node)
        return None
    if text.lower() in _NONFINITE:
        return Answer(key, q, text, "nonfinite", **where)
    plain = _plain_rational(text)
    if plain is not None:
        return _number_answer(err, parts, key, q, node, problem, text, plain)
    expr = _answer_expression(err, parts, node, problem, text, q)
    if expr is None:
        return None
    if expr.free_symbols:
        return Answer(key, q, text, "expression", expr=expr, **where)
    return _constant_answer(err, parts, key, q, node, problem, text, expr)


def _plain_rational(text: str) -> sp.Rational | None:
    """A plainly written decimal as an exact rational (None for anything else)."""
    if not _PLAIN_NUMBER.match(text):
        return None
    try:
        return sp.Rational(text)
    except (ValueError, TypeError):
        return None


def _number_answer(err: _Errors, parts: list, key: str, q: Quantity, node: Node, problem: Problem,
                   text: str, value: sp.Expr) -> Answer | None:
    if problem.at is None:
        err.add(parts, _needs_at(err), node)
        return None
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        return Answer(key, q, text, "nonfinite", line=node.line, col=node.col)
    return Answer(key, q, text, "number", number=value, line=node.line, col=node.col)


def _answer_expression(err: _Errors, parts: list, node: Node, problem: Problem, text: str,
                       q: Quantity | None = None) -> sp.Expr | None:
    """The answer parsed as an expression in the problem's names (None, with the problem noted, if it is not one).

    In an update (``w2_new: w2 - η*…``) η (``eta``) is the problem's learning rate, unless the
    program has a name ``eta`` of its own."""
    try:
        expr = parse_expression(text, known=set(problem.assigned))
    except ParseError as exc:
        line, col = node.line, node.col
        if line is not None and exc.col is not None:
            quoted = 1 if node.style in ("'", '"') else 0
            col = (col or 1) + quoted + exc.col - 1
        err.add(parts, f"cannot read {quote(text)}: {exc.message}", node, line=line, col=col)
        return None
    except RecursionError:
        err.add(parts, "the expression is nested too deeply", node)
        return None
    expr = _eta_in_update(expr, problem, q)
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in problem.names)
    if unknown:
        did = _unknown_hints(problem, unknown)
        shown = ", ".join(u if len(u) <= 40 else quote(u) for u in unknown)
        err.add(parts, f"unknown name{'s' if len(unknown) > 1 else ''} {shown} in {quote(text)}"
                       f"{' (' + did + ')' if did else ''} (known: {', '.join(problem.names)})", node)
        return None
    return expr


def _eta_in_update(expr: sp.Expr, problem: Problem, q: Quantity | None) -> sp.Expr:
    """In an update formula, η (``eta``) is the problem's learning rate (unless the program names an ``eta``)."""
    if q is None or q.kind != "update" or problem.learning_rate is None or "eta" in problem.names:
        return expr
    return expr.xreplace({s: problem.learning_rate for s in expr.free_symbols if s.name == "eta"})


def _unknown_hints(problem: Problem, unknown: list[str]) -> str:
    """"did you mean …" for unknown names in an answer; for η, where it may be written."""
    hints = {u: difflib.get_close_matches(u, problem.names, n=1) for u in unknown}
    did = "; ".join(f"did you mean {h[0]!r} for {quote(u)}?" for u, h in hints.items() if h)
    if "eta" in unknown:
        did = "; ".join(filter(None, [did, "η (eta) is the learning rate only in an update such as "
                                           f"{problem.inputs[0] if problem.inputs else 'w'}_new"]))
    return did


def _constant_answer(err: _Errors, parts: list, key: str, q: Quantity, node: Node, problem: Problem,
                     text: str, expr: sp.Expr) -> Answer | None:
    """An expression without names (``1/3``, ``exp(2)``): a number, or non-finite."""
    try:
        value = evaluate_number(expr.doit())
    except (TypeError, ValueError, ZeroDivisionError):
        value = None
    if value is None:
        return Answer(key, q, text, "nonfinite", expr=expr, line=node.line, col=node.col)
    if problem.at is None:
        err.add(parts, _needs_at(err), node)
        return None
    return Answer(key, q, text, "number", number=value, expr=expr, line=node.line, col=node.col)


def load_check(path: str | Path) -> CheckInput:
    """Load and validate a ``check`` file completely: the problem, every answer, the tolerances.

    Raises
    ------
    AnswerFileError
        Listing every problem found (each with field path, and line and column for YAML).
    """
    doc, problem, answers, tol, student = load_sections(path)
    if doc.root.kind == "map":
        err = _Errors(doc)
        for name in KEY_ONLY:
            if name in doc.root.value:
                err.add([name], f"{name} belongs in a grading key (backproof grade KEY DIR, or "
                                f"backproof check SUBMISSION --key KEY)", doc.root.value[name])
        err.raise_if_any()
    return CheckInput(doc.path, problem, answers, tol, student)


def load_sections(path: str | Path, *, allow_blank: bool = False):
    """Read and validate an answer file's problem, answers and tolerances.

    Shared by ``check`` files and ``grade`` keys (which may leave answers blank).

    Returns
    -------
    (Document, Problem, list of Answer, Tolerances, student name or None)
    """
    doc = load_document(path)
    err = _Errors(doc)
    spec, raw, tol, student = read_sections(doc, errors=err)
    if spec is None or (spec.program is None and spec.network is None):
        err.raise_if_any()
        raise AnswerFileError([f"{doc.path}: problem: missing or invalid"])
    try:
        problem = build_problem(doc, spec)
    except AnswerFileError as exc:
        # A value of problem.at refused above leaves its input without a value: "no value
        # given for input" is then a consequence already reported, not a second problem.
        refused_at = any(": problem.at" in item for item in err.items)
        later = [p for p in exc.problems if not (refused_at and "no value given for input" in p)]
        raise AnswerFileError(err.items + later) from None
    answers = read_answers(doc, problem, raw, allow_blank=allow_blank, errors=err)
    check_tolerance_keys(doc, problem, tol)
    return doc, problem, answers, tol, student


def command_line_check(program: str, at: str | None, answers: list[str],
                       learning_rate: str | None = None) -> CheckInput:
    """A check given on the command line: program text, ``--at`` and ``--answer QUANTITY=VALUE`` options.

    Each answer is validated as a file's would be; a problem names the ``--answer`` and the
    column in its text.

    Raises
    ------
    ParseError
        The program or ``--at`` cannot be read (with line and column).
    AnswerFileError
        Listing every bad answer, a missing input or a bad learning rate.

    Examples
    --------
    >>> c = command_line_check("d = a + b; e = b - c; y = d*e", "a=2,b=1,c=0", ["dy/db=3", "dy/da = 1"])
    >>> [(str(a.quantity), a.text) for a in c.answers]
    [('dy/db', '3'), ('dy/da', '1')]
    """
    limits.check("answer_count", len(answers), "--answer")
    prog = parse_program(program)
    point = parse_values(at) if at is not None else None
    lr = _command_line_rate(learning_rate)
    cli = Document("--at", COMMAND_LINE, Node("map", {}), at or "")
    _missing_inputs(cli, prog.inputs, point)
    try:
        problem = Problem(prog, point, lr)
    except BackproofError as exc:
        raise AnswerFileError([str(exc)]) from None
    return CheckInput("", problem, _command_line_answers(problem, answers), Tolerances())


def command_line_network_check(path: str, at: str | None, answers: list[str],
                               learning_rate: str | None = None) -> CheckInput:
    """A one-line check of a network spec file (``check mazur.yaml --answer "E_total=0.298371"``).

    The spec's weights, inputs and targets give the point and its ``learning_rate`` η, as in
    an answer file's ``problem.network``; ``--at`` overrides values by name and
    ``--learning-rate`` η. The names the spec declares (``E_total``, ``out_o1``, ``w5``) are
    answerable.

    Raises
    ------
    SpecError
        The spec file cannot be read or is not a valid spec (with its field path).
    AnswerFileError
        Listing every bad answer or a bad learning rate.
    """
    limits.check("answer_count", len(answers), "--answer")
    try:
        from ..nn.spec import load_spec_file
    except ImportError:  # pragma: no cover - a partial installation
        raise AnswerFileError([f"{path}: network problems need backproof.nn, which this installation "
                               f"does not have"]) from None
    data = load_spec_file(path)
    if not isinstance(data, dict):
        raise AnswerFileError([f"{path}: expected a network spec (a mapping with layers:), got "
                               f"{type(data).__name__}"])
    if "answers" in data or "problem" in data:
        raise AnswerFileError([f"{path}: this is an answer file (it has problem:/answers:): check it without "
                               f"--answer, or give --answer a program or a network spec"])
    lr = _command_line_rate(learning_rate)
    point = parse_values(at) if at is not None else None
    doc = Document(str(path), COMMAND_LINE, Node("map", {}), "")
    problem = _network_problem(doc, ProblemSpec(network=data, at=point, learning_rate=lr), data, "")
    return CheckInput(str(path), problem, _command_line_answers(problem, answers), Tolerances())


def _command_line_answers(problem: Problem, answers: list[str]) -> tuple[Answer, ...]:
    """Each ``--answer QUANTITY=VALUE``, validated as a file's answer would be."""
    problems: list[str] = []
    out: list[Answer] = []
    seen: dict[Quantity, str] = {}
    for text in answers:
        doc = Document(f"--answer {quote(text)}", COMMAND_LINE, Node("map", {}), text)
        key, eq, value = text.partition("=")
        if not eq or not key.strip():
            problems.append(f"{doc.path}: expected QUANTITY=VALUE, e.g. --answer 'dy/db=3'")
            continue
        limits.check("answer_key_chars", len(key.strip()), doc.path)
        col = len(key) + 2 + (len(value) - len(value.lstrip()))
        raw = RawAnswer(key.strip(), Node("str", value.strip(), 1, col) if value.strip() else Node("null", None))
        try:
            (ans,) = read_answers(doc, problem, [raw])
        except AnswerFileError as exc:
            problems += exc.problems
            continue
        if ans.quantity in seen:
            problems.append(f"{doc.path}: names the same quantity as {quote(seen[ans.quantity])} "
                            f"({problem.display(ans.quantity)})")
            continue
        seen[ans.quantity] = text
        out.append(ans)
    if problems:
        raise AnswerFileError(problems)
    return tuple(out)


def _command_line_rate(text: str | None) -> sp.Expr | None:
    """``--learning-rate``: a positive number (or a constant such as ``1/10``)."""
    if text is None:
        return None
    try:
        lr = parse_expression(text).doit()
    except ParseError as exc:
        raise AnswerFileError([f"--learning-rate: cannot read {quote(text)}: {exc.message}"]) from None
    if lr.free_symbols or not (lr.is_number and lr.is_real and lr.is_finite and lr > 0):
        raise AnswerFileError([f"--learning-rate must be a positive number, got {quote(text)}"])
    return lr


def check_tolerance_keys(doc: Document, problem: Problem, tol: Tolerances) -> None:
    """Every per-answer tolerance must name a quantity of the problem."""
    err = _Errors(doc)
    for key, _ in tol.per_key:
        try:
            problem.resolve(key)
        except QuantityError as exc:
            err.add(["tolerance", key], str(exc))
    err.raise_if_any()


# --- a key's points (partial credit) ----------------------------------------------------------

@dataclass(frozen=True)
class Points:
    """A key's marking scheme: points per question and the share a carried error earns.

    ``per`` holds (quantity, points, carried share or None) for the questions the key
    names; every other question is worth 1 point. ``carried_credit`` is the key's
    share for a carried error (None: not set, the caller's default applies).
    """

    per: tuple[tuple[Quantity, float, float | None], ...] = ()
    carried_credit: float | None = None
    figures_credit: float | None = None   # the share a right answer with too few figures earns

    def weight(self, q: Quantity) -> float:
        """The points question ``q`` is worth."""
        return next((w for k, w, _ in self.per if k == q), 1.0)

    def carried(self, q: Quantity, default: float) -> float:
        """The share of ``q``'s points a carried error earns (the question's own, else ``default``)."""
        return next((c for k, _, c in self.per if k == q and c is not None), default)


def _share(err: _Errors, node: Node, parts, what: str) -> float | None:
    v = _number(err, node, parts, what)
    if v is not None and not 0 <= v <= 1:
        err.add(parts, f"{what} must be between 0 and 1, got {quote(node.value)}", node)
        return None
    return None if v is None else float(v)


def _one_question(err: _Errors, problem: Problem, key: str, v: Node) -> tuple[Quantity, float, float | None] | None:
    parts = ["points", key]
    try:
        q = problem.resolve(key)
    except QuantityError as exc:
        err.add(parts, str(exc), v)
        return None
    share = None
    pnode = v
    if v.kind == "map":
        _allowed(err, v, parts, ("points", "carried_credit"))
        if "carried_credit" in v.value:
            share = _share(err, v.value["carried_credit"], parts + ["carried_credit"], "carried_credit")
        pnode = v.value.get("points", Node("num", "1"))
    w = _number(err, pnode, parts, "points")
    if w is None:
        return None
    if w < 0 or w > limits.value("question_points"):
        err.add(parts, f"points must be between 0 and {limits.value('question_points'):,} (the limit "
                       f"question_points), got {quote(pnode.value)}", pnode)
        return None
    return q, float(w), share


def read_points(doc: Document, problem: Problem) -> Points:
    """A key's ``points`` (question → points, or → ``{points, carried_credit}``), ``carried_credit``
    and ``figures_credit`` (the share of a question's points a right answer with too few figures earns).

    Examples
    --------
    >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
    >>> doc = parse_document("points: {a: 2, dJ/da: {points: 3, carried_credit: 0.5}}\\ncarried_credit: 0.25")
    >>> pts = read_points(doc, p)
    >>> pts.weight(p.resolve("a")), pts.carried(p.resolve("dJ/da"), 1.0), pts.carried_credit
    (2.0, 0.5, 0.25)
    """
    err = _Errors(doc)
    top = doc.root.value if doc.root.kind == "map" else {}
    share = _share(err, top["carried_credit"], ["carried_credit"], "carried_credit") \
        if "carried_credit" in top else None
    figures = _share(err, top["figures_credit"], ["figures_credit"], "figures_credit") \
        if "figures_credit" in top else None
    per: list[tuple[Quantity, float, float | None]] = []
    pnode = top.get("points")
    if pnode is not None and pnode.kind != "map":
        err.add(["points"], f"must be a mapping from question to points, got {_kind(pnode)}", pnode)
    elif pnode is not None:
        limits.check("answer_count", len(pnode.value), f"{doc.path}: points")
        seen: set[Quantity] = set()
        for key, v in pnode.value.items():
            _check_key(doc, ["points", key], v)
            got = _one_question(err, problem, key, v)
            if got is not None and got[0] in seen:
                err.add(["points", key], "names a question already given points", v)
            elif got is not None:
                seen.add(got[0])
                per.append(got)
    err.raise_if_any()
    return Points(tuple(per), share, figures)
