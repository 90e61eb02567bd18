"""Per-student variants of a key: numbers drawn reproducibly from the student id, proven before use.

A key may declare which of its inputs vary, each over a grid ``[low, high, step]``
(``vary: {x: [-2, 2, 0.5], w1: [1, 3, 1]}``; an optional ``seed: 7`` entry sets the
key-level seed). A student's values are drawn from SHA-256 of the seed, the student id,
the attempt number and the input's name (never Python's salted ``hash()``), so the same
key and roster give the same variants on every machine and run. A draw is kept only
when the derivation is defined there and the three-way cross-check
(:func:`backproof.threeway.crosscheck`) finds no kink (no "not differentiable" row)
and agrees everywhere; otherwise the next attempt is drawn, up to the
``assign_attempts`` limit. Everything here returns data: the command writes the files.
"""

from __future__ import annotations

import csv
import decimal
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import sympy as sp

from .. import limits
from ..errors import BackproofError, quote
from ..printing import format_number
from .answers import (
    AnswerFileError,
    Document,
    Node,
    ProblemSpec,
    RawAnswer,
    build_problem,
    load_document,
    read_answers,
    read_sections,
)
from .grade import neutralize
from .keyfolder import KEYS_FOLDER, STUDENT_ID
from .quantities import Problem

__all__ = ["Range", "Student", "Variant", "Assignment", "parse_vary", "parse_roster", "draw",
           "make_variant", "load_assignment", "variant_key_text", "students_csv", "KEYS_FOLDER",
           "STUDENT_ID"]

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_MAX_NAME = 120


@dataclass(frozen=True)
class Range:
    """The grid ``low, low + step, …, high`` an input's value is drawn from (exact numbers)."""

    name: str
    low: sp.Rational
    high: sp.Rational
    step: sp.Rational

    @property
    def size(self) -> int:
        """How many values the grid holds."""
        return int(sp.floor((self.high - self.low) / self.step)) + 1

    def value(self, k: int) -> sp.Rational:
        """The ``k``-th value of the grid (0 is ``low``)."""
        return self.low + k * self.step


@dataclass(frozen=True)
class Student:
    """One roster row: the id (a file name), a display name and the roster line."""

    id: str
    name: str
    line: int


@dataclass(frozen=True)
class Variant:
    """One student's problem: the drawn values, the derived problem and the attempts it took."""

    student: Student
    values: dict[str, sp.Rational]
    problem: Problem
    attempts: int
    checked: int          # gradients proven by the three-way check


@dataclass(frozen=True)
class Assignment:
    """A key read for ``assign``: its document, problem spec, answers and the ``vary`` ranges."""

    doc: Document
    spec: ProblemSpec
    raw: tuple[RawAnswer, ...]
    ranges: tuple[Range, ...]
    seed: str


# --- the key's vary section -----------------------------------------------------------------

def _where(doc: Document, node: Node | None, field: str) -> str:
    pos = f"{doc.path}:{node.line}:{node.col}" if node is not None and node.line is not None else doc.path
    return f"{pos}: {field}"


def _exact(doc: Document, node: Node, field: str) -> sp.Rational:
    text = str(node.value).strip() if node.kind in ("num", "str") else ""
    if not _PLAIN.fullmatch(text) or len(text) > 40:
        raise AnswerFileError([f"{_where(doc, node, field)}: must be a plain decimal number such as -2 "
                               f"or 0.5, "
                               f"got {quote(node.value) if node.kind in ('num', 'str') else node.kind}"])
    return sp.Rational(text)


def parse_vary(doc: Document, node: Node, inputs: Sequence[str]) -> tuple[tuple[Range, ...], str]:
    """The ranges and the seed of a key's ``vary`` section (every name must be an input).

    Examples
    --------
    >>> from backproof.check.answers import parse_document
    >>> doc = parse_document("vary: {seed: 7, x: [-2, 2, 0.5]}\\n")
    >>> ranges, seed = parse_vary(doc, doc.root.value["vary"], ["x", "y"])
    >>> seed, ranges[0].size, ranges[0].value(3)
    ('7', 9, -1/2)
    """
    if node.kind != "map" or not node.value:
        raise AnswerFileError([f"{_where(doc, node, 'vary')}: must be a mapping input -> [low, high, step] "
                               f"(e.g. vary: {{x: [-2, 2, 0.5]}})"])
    seed = "0"
    ranges = []
    for name, v in node.value.items():
        field = f"vary.{name}" if len(name) <= 40 else f"vary[{quote(name)}]"
        if name == "seed" and v.kind in ("num", "str"):
            seed = str(v.value)[:100]
            continue
        if name not in inputs:
            raise AnswerFileError([f"{_where(doc, v, field)}: not an input of the problem "
                                   f"(inputs: {', '.join(inputs)})"])
        if v.kind != "seq" or len(v.value) != 3:
            raise AnswerFileError([f"{_where(doc, v, field)}: must be [low, high, step], e.g. [-2, 2, 0.5]"])
        low, high, step = (_exact(doc, x, f"{field}[{i}]") for i, x in enumerate(v.value))
        if step <= 0 or high < low:
            raise AnswerFileError([f"{_where(doc, v, field)}: needs low <= high and step > 0, got "
                                   f"[{low}, {high}, {step}]"])
        ranges.append(Range(name, low, high, step))
    if not ranges:
        raise AnswerFileError([f"{_where(doc, node, 'vary')}: names no input to vary"])
    return tuple(ranges), seed


def load_assignment(path: str | Path) -> Assignment:
    """Read a key with a ``vary`` section (validated; the key itself must be a valid key).

    Raises
    ------
    AnswerFileError
        One line per problem, with the file position and field path.
    """
    doc = load_document(path)
    if doc.root.kind != "map" or "vary" not in doc.root.value:
        raise AnswerFileError([f"{doc.path}: missing field 'vary' (which inputs vary, e.g. "
                               f"vary: {{x: [-2, 2, 0.5]}}; see docs/homework.md)"])
    spec, raw, _, _ = read_sections(doc)
    assert spec is not None  # read_sections raises when the problem is missing
    base = build_problem(doc, spec)
    if base.at is None:
        raise AnswerFileError([f"{doc.path}: problem.at: a key needs values for the inputs"])
    read_answers(doc, base, raw, allow_blank=True)  # the key's answers must name real quantities
    if not raw:
        raise AnswerFileError([f"{doc.path}: answers: list the quantities to ask (values may be left blank)"])
    ranges, seed = parse_vary(doc, doc.root.value["vary"], list(base.at))
    return Assignment(doc, spec, tuple(raw), ranges, seed)


# --- drawing -------------------------------------------------------------------------------------

def draw(ranges: Sequence[Range], seed: str, student_id: str, attempt: int) -> dict[str, sp.Rational]:
    """The values of attempt ``attempt`` for one student: a pure function of its arguments.

    Examples
    --------
    >>> r = (Range("x", sp.Integer(-2), sp.Integer(2), sp.Rational(1, 2)),)
    >>> draw(r, "0", "s001", 0) == draw(r, "0", "s001", 0)
    True
    """
    out = {}
    for r in ranges:
        digest = hashlib.sha256("\x1f".join((seed, student_id, str(attempt), r.name)).encode()).digest()
        # 128 bits modulo a grid of at most millions of values: the bias is below 2**-100.
        out[r.name] = r.value(int.from_bytes(digest[:16], "big") % r.size)
    return out


def _rejection(problem: Problem) -> tuple[str | None, int]:
    """Why a variant's point is unusable (None when the three-way check proves every gradient there)."""
    from ..threeway import crosscheck
    try:
        result = crosscheck(derivation=problem.derivation)
    except BackproofError as exc:
        return str(exc), 0
    kinks = [r.name for r in result.rows if r.verdict == "not differentiable"]
    if kinks:
        return f"a kink (not differentiable with respect to {', '.join(kinks)})", 0
    if not result.ok:
        return f"the three-way check disagrees ({result.summary})", 0
    return None, len(result.rows)


#: Valid draws tried for one whose asked answers are all non-zero before the first valid one is kept.
DEGENERATE_TRIES = 8


def _zero_answers(a: Assignment, problem: Problem) -> list[str]:
    """The asked numeric quantities whose true value is exactly 0 at the variant's point (a zero
    gradient hides the chain rule: a slip multiplied by 0 still gives the right answer)."""
    asked = read_answers(a.doc, problem, list(a.raw), allow_blank=True)
    return [ans.key for ans in asked if ans.kind != "expression" and problem.truth(ans.quantity) == 0]


def make_variant(a: Assignment, student: Student) -> Variant:
    """The first valid draw for ``student`` (deterministic), proven by the three-way check.

    A draw is valid when the problem is defined there and the three-way check agrees with no
    kink. Among the first :data:`DEGENERATE_TRIES` valid draws the first whose asked answers
    are all non-zero is kept; when there is none (an answer is 0 whatever the numbers), the
    first valid draw.

    Raises
    ------
    BackproofError
        When no draw within the ``assign_attempts`` limit is valid, naming the student and
        the last reason.
    """
    attempts = int(limits.value("assign_attempts"))
    last = ""
    valid: list[Variant] = []
    for attempt in range(attempts):
        values = draw(a.ranges, a.seed, student.id, attempt)
        at = dict(a.spec.at or {})
        at.update(values)
        try:
            problem = build_problem(a.doc, replace(a.spec, at=at))
        except AnswerFileError as exc:
            last = exc.problems[0].removeprefix(f"{a.doc.path}: ")
            continue
        why, checked = _rejection(problem)
        if why is not None:
            last = why
            continue
        valid.append(Variant(student, values, problem, attempt + 1, checked))
        if not _zero_answers(a, problem):
            return valid[-1]
        if len(valid) >= DEGENERATE_TRIES:
            return valid[0]
    if valid:
        return valid[0]
    shown = ", ".join(f"{k}={v}" for k, v in values.items())
    raise BackproofError(f"{a.doc.path}: vary: no valid draw for student {student.id} in {attempts} attempts "
                         f"(last, at {shown}: {last}); widen the ranges or move them off the kink")


# --- the roster ------------------------------------------------------------------------------------

def _display_name(text: str) -> str:
    """A roster name made safe to print: control characters dropped, length bounded (the
    printers escape it for Markdown and HTML; :func:`students_csv` neutralises formulas)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:_MAX_NAME]


def _header(rows: list[list[str]], path: str) -> tuple[int, int | None]:
    if not rows:
        raise BackproofError(f"{path}: empty roster (expected a header line with an 'id' column, "
                             f"e.g. id,name)")
    head = [h.strip().lower() for h in rows[0]]
    if "id" not in head:
        raise BackproofError(f"{path}:1: no 'id' column in the header {quote(','.join(rows[0]))} "
                             f"(expected e.g. id,name)")
    return head.index("id"), head.index("name") if "name" in head else None


def parse_roster(text: str, path: str = "roster.csv") -> tuple[Student, ...]:
    """Students from roster CSV text: an ``id`` column (required) and a ``name`` column (optional).

    Read the file with :func:`backproof.io.read_text_file` (size limit, UTF-8).

    Examples
    --------
    >>> [s.id for s in parse_roster("id,name\\ns001,Ada\\ns002,\\n")]
    ['s001', 's002']
    """
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise BackproofError(f"{path}: not a valid CSV file ({exc})") from None
    id_col, name_col = _header(rows, path)
    limits.check("roster_students", len(rows) - 1, path)
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        sid = row[id_col].strip() if id_col < len(row) else ""
        if not STUDENT_ID.fullmatch(sid):
            raise BackproofError(f"{path}:{line}: id {quote(sid)} is not a valid student id (letters, "
                                 f"digits, "
                                 f". _ -, at most 64, not starting with a dot: it becomes a file name)")
        # Compared without case: on macOS and Windows s001.yaml and S001.yaml are one file.
        if sid.casefold() in seen:
            first = seen[sid.casefold()]
            raise BackproofError(f"{path}:{line}: id {sid} appears twice (first on line {first}; "
                                 f"ids are compared without case, as file names are on some systems)")
        seen[sid.casefold()] = line
        name = row[name_col] if name_col is not None and name_col < len(row) else ""
        students.append(Student(sid, _display_name(name) or sid, line))
    if not students:
        raise BackproofError(f"{path}: no students (one row per student under the header, e.g. s001,Ada)")
    return tuple(students)


# --- the variant's files ----------------------------------------------------------------------------------

def _plain(node: Node):
    """A key subtree as plain data for YAML, numbers kept as the text written (exact)."""
    if node.kind == "map":
        return {k: _plain(v) for k, v in node.value.items()}
    if node.kind == "seq":
        return [_plain(v) for v in node.value]
    if node.kind == "num":
        return _Number(node.value)
    return node.value


def _number_text(v: sp.Expr) -> str:
    """An exact value as text the key reader reads back exactly (a decimal when it has one)."""
    if not isinstance(v, sp.Rational):
        return str(v)
    q = int(v.q)
    for f in (2, 5):
        while q % f == 0:
            q //= f
    if q != 1:
        return f"{v.p}/{v.q}"
    with decimal.localcontext() as ctx:
        ctx.prec = 200  # a terminating decimal of a grid value: exact at this precision
        return format(decimal.Decimal(int(v.p)) / decimal.Decimal(int(v.q)), "f")


class _Number(str):
    """Number text written as a plain YAML scalar (the key reader keeps its exact text)."""


class _Text(str):
    """Multi-line text written as a YAML block (``|``), as a teacher writes a program."""


def _dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    # Plain style with the tag YAML itself would resolve (int, float, or text for 1/3).
    Dumper.add_representer(_Number, lambda d, v: d.represent_scalar(
        d.resolve(yaml.ScalarNode, str(v), (True, False)), str(v)))
    Dumper.add_representer(_Text, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="|"))
    return Dumper


def variant_key_text(a: Assignment, v: Variant) -> str:
    """The variant's key as YAML: the teacher's key without ``vary``, at the drawn values, with
    every numeric answer filled in from the variant's derivation (6 significant figures)."""
    import yaml
    data = {k: _plain(n) for k, n in a.doc.root.value.items() if k != "vary"}
    data["student"] = v.student.id
    if a.spec.program is not None:
        data["problem"]["program"] = _Text(a.spec.program.strip("\n") + "\n")
    at = dict(a.spec.at or {})
    at.update(v.values)
    data["problem"]["at"] = {k: _Number(_number_text(x)) for k, x in at.items()}
    answers = read_answers(a.doc, v.problem, list(a.raw), allow_blank=True)
    filled = {}
    for ans in answers:
        if ans.kind == "expression":
            filled[ans.key] = ans.text
        else:
            filled[ans.key] = _Number(format_number(v.problem.truth(ans.quantity)))
    data["answers"] = filled
    head = f"# backproof assign: the key of student {v.student.id} (drawn in {v.attempts} attempt(s))\n"
    return head + yaml.dump(data, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100)


def students_csv(variants: Sequence[Variant]) -> str:
    """One row per student: id, name, key file, and each drawn value (cells neutralised)."""
    names = list(variants[0].values) if variants else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "key", "sheet", *names])
    for v in variants:
        sid = v.student.id
        cells = (sid, v.student.name, f"{KEYS_FOLDER}/{sid}.yaml", f"sheets/{sid}.md",
                 *(_number_text(v.values[n]) for n in names))
        w.writerow([neutralize(c) for c in cells])
    return buf.getvalue()
