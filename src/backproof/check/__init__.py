"""Homework checking: verdicts on a student's hand calculations, the first wrong step, the likely mistake.

Load and validate an answer file with :func:`load_check`, judge it with :func:`check`
(or :func:`diagnose` on a :class:`Problem` and answers you built), and render the
result with :mod:`backproof.check.report`. :func:`backproof.check.grade.grade` does
a whole class.

Examples
--------
>>> from backproof.check import Problem, diagnose, parse_answers
>>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
>>> r = diagnose(p, parse_answers(p, {"a": "6", "dJ/da": "10"}))
>>> [(i.name, i.verdict) for i in r.items]
[('a', 'correct'), ('dJ/da', 'incorrect')]
"""

from __future__ import annotations

from .answers import (
    Answer,
    AnswerFileError,
    CheckInput,
    Document,
    Node,
    RawAnswer,
    Tolerances,
    load_check,
    read_answers,
)
from .compare import Tolerance, expressions_equal, numbers_match
from .diagnose import CheckResult, Diagnosis, Item, check, diagnose
from .mistakes import MISTAKE_NAMES, MISTAKES
from .quantities import Problem, Quantity

__all__ = ["Answer", "AnswerFileError", "CheckInput", "CheckResult", "Diagnosis", "Item", "MISTAKES",
           "MISTAKE_NAMES", "Problem", "Quantity", "Tolerance", "Tolerances", "check", "diagnose",
           "expressions_equal", "load_check", "numbers_match", "parse_answers"]


def parse_answers(problem: Problem, answers: dict) -> tuple[Answer, ...]:
    """Answers from a plain mapping ``{quantity: text}`` (validated like a file's).

    Examples
    --------
    >>> p = Problem("y = 2*x", at="x=3")
    >>> parse_answers(p, {"y": "6"})[0].quantity
    Quantity(kind='value', name='y', wrt='')
    """
    doc = Document("<answers>", "dict", Node("map", {}), "")
    raw = [RawAnswer(str(k), Node("null" if v is None else "str", None if v is None else str(v)))
           for k, v in answers.items()]
    return read_answers(doc, problem, raw)
