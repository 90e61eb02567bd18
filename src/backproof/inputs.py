"""Input coercion: one place that turns a program, a point and a ``wrt`` list into checked values.

Every entry point (``derive``, ``explain``, the cross-check, the commands) takes what a
person typed or passed: program text, a :class:`~backproof.program.Program`, a SymPy
expression or mapping; a point as ``"a=2,b=1"`` or a mapping; a list of names. The
functions here turn those into a program, exact SymPy numbers and a tuple of names, or
raise :class:`~backproof.errors.ProgramError` with one line saying what is wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import sympy as sp

from .errors import ProgramError
from .parse import parse_expression, parse_program, parse_statements, parse_values
from .program import Program

__all__ = ["coerce_program", "coerce_at", "coerce_wrt", "check_point"]


def coerce_program(obj: Any, of: str | None = None) -> tuple[Program, Program]:
    """The whole program and the part that output ``of`` needs.

    Parameters
    ----------
    obj : str, Program, sympy.Expr or mapping
        Expression-language text, a Program, a SymPy expression (its output is called
        ``f``) or a mapping ``name -> expression``.
    of : str, optional
        The output (default: the program's own output).

    Returns
    -------
    (Program, Program)
        The whole program, and the program restricted to ``of``.

    Examples
    --------
    >>> full, prog = coerce_program("d = a + b; y = d*c", of="d")
    >>> full.output, prog.output, prog.inputs
    ('y', 'd', ('a', 'b'))
    """
    if isinstance(obj, Program):
        prog = obj
    elif isinstance(obj, str):
        prog = parse_program(obj)
    elif isinstance(obj, Mapping):
        prog = parse_statements(obj)  # text values go through the parser, never sympify
    elif isinstance(obj, sp.Basic):
        prog = Program.from_sympy(obj)
    else:
        raise ProgramError(f"expected program text, a Program or a SymPy expression, got {type(obj).__name__}")
    return prog, (prog.with_output(of) if of else prog)


def _number(name: str, v: Any) -> sp.Expr | None:
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, bool):
        raise ProgramError(f"value of {name!r} must be a number, got {v!r}")
    if isinstance(v, int):
        return sp.Integer(v)
    if isinstance(v, float):
        # repr is the shortest decimal that round-trips: 0.1 stays 1/10.
        return sp.Rational(repr(v)) if v == v and abs(v) != float("inf") else None
    return parse_expression(str(v)).doit()


def coerce_at(at: Any) -> dict[str, sp.Expr] | None:
    """A point as exact SymPy numbers: ``None`` stays ``None``.

    Parameters
    ----------
    at : mapping, str or None
        ``{"a": 2, "b": 0.1}`` (keys may be SymPy symbols; values numbers, SymPy numbers or
        expression text such as ``"pi/2"``) or ``"a=2,b=1"``.

    Examples
    --------
    >>> coerce_at({"a": 0.1, "b": 2})
    {'a': 1/10, 'b': 2}
    """
    if at is None:
        return None
    if isinstance(at, str):
        return parse_values(at)
    out = {}
    for k, v in dict(at).items():
        name = k.name if isinstance(k, sp.Symbol) else str(k)
        num = _number(name, v)
        if num is None or not num.is_number or not (num.is_real and num.is_finite):
            raise ProgramError(f"value of {name!r} must be a finite real number, got {v!r}")
        out[name] = num
    return out


def coerce_wrt(wrt: Iterable[str] | None, names: Sequence[str], output: str) -> tuple[str, ...]:
    """The names to report gradients for: every name but the output by default.

    Parameters
    ----------
    wrt : iterable of str or None
        The names asked for.
    names : sequence of str
        Every name the derivation has (inputs then intermediates).
    output : str
        The output, left out of the default.

    Examples
    --------
    >>> coerce_wrt(None, ["a", "b", "y"], "y"), coerce_wrt(["b"], ["a", "b", "y"], "y")
    (('a', 'b'), ('b',))
    """
    if wrt is None:
        return tuple(n for n in names if n != output)
    rows = tuple(wrt)
    for n in rows:
        if n not in names:
            raise ProgramError(f"unknown name {n!r} in --wrt (must be one of: {', '.join(names)})")
    return rows


def check_point(values: Mapping[str, sp.Expr], needed: Sequence[str], known: Sequence[str],
                present: Collection[str]) -> dict[str, sp.Expr]:
    """The values of the inputs ``needed``, checked: none missing, none unknown.

    Parameters
    ----------
    values : mapping
        Name -> value, as :func:`coerce_at` returns.
    needed : sequence of str
        The inputs the output uses.
    known : sequence of str
        Every input of the whole program (a value for one the output does not use is
        allowed, and dropped).
    present : collection of str
        The names the output's graph has; values for other names are dropped.

    Examples
    --------
    >>> check_point({"a": 1, "b": 2}, ["a"], ["a", "b"], {"a", "y"})
    {'a': 1}
    """
    missing = [n for n in needed if n not in values]
    if missing:
        raise ProgramError(f"no value given for input{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(missing)} (give --at {'=…,'.join(missing)}=…)")
    extra = [n for n in values if n not in present and n not in known]
    if extra:
        raise ProgramError(f"--at names {', '.join(extra)}, which the program does not have as "
                           f"input{'s' if len(extra) > 1 else ''} (inputs: {', '.join(known)})")
    return {n: v for n, v in values.items() if n in present}
