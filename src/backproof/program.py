"""The Program: ordered statements ``name = SymPy expression``, the one source of truth.

Text (:mod:`backproof.parse`), SymPy expressions and network specs all become a
Program; the graph, the derivation, the engine and the checker all start from one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sympy as sp

from .errors import ProgramError
from .limits import check as check_limit
from .ops import FUNCTIONS
from .printing import to_text

__all__ = ["Statement", "Program", "CONSTANTS", "RESERVED"]

#: Names that denote constants in the expression language.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E}
#: Names a program cannot use for its own quantities: function names and constants.
RESERVED: frozenset[str] = frozenset(FUNCTIONS) | frozenset(CONSTANTS)


@dataclass(frozen=True)
class Statement:
    """One assignment ``name = expr``; ``line`` is its 1-based source line, if any."""

    name: str
    expr: sp.Expr
    line: int | None = None


@dataclass(frozen=True)
class Program:
    """An ordered, single-assignment list of statements and the name of its output.

    Names that are assigned are intermediates; every other symbol is an input. All
    symbols are real (``Symbol(name, real=True)``), as a network's quantities are.

    Examples
    --------
    >>> a, b, c = sp.symbols("a b c")
    >>> p = Program.from_sympy((a + b)*(b - c), name="y")
    >>> p.inputs
    ('a', 'b', 'c')
    """

    statements: tuple[Statement, ...]
    output: str
    source: str | None = field(default=None, compare=False)

    def __post_init__(self):
        check_limit("statements", len(self.statements), "the program")  # before any per-statement work
        names = [s.name for s in self.statements]
        if not names:
            raise ProgramError("the program has no statements (write at least one `name = expression`)")
        seen: set[str] = set()
        for s in self.statements:
            if s.name in seen:
                raise ProgramError(f"{s.name!r} is assigned twice (each name may be assigned once)")
            seen.add(s.name)
        if self.output not in seen:
            raise ProgramError(
                f"unknown output {self.output!r} (must be one of the assigned names: {', '.join(names)})")

    # --- construction ----------------------------------------------------------------
    @classmethod
    def from_sympy(cls, expr: sp.Expr | Mapping[str, sp.Expr] | Iterable[tuple[str, sp.Expr]],
                   name: str = "f", output: str | None = None) -> Program:
        """Build a Program from a SymPy expression or ``(name, expression)`` pairs.

        Symbols are replaced by real symbols of the same name, so SymPy input written
        with plain ``symbols("a b")`` behaves like parsed text. Text is not read here:
        :func:`backproof.parse.parse_statements` takes the same pairs with text values
        (the parser builds Programs, so the Program cannot call the parser).

        Examples
        --------
        >>> a, b = sp.symbols("a b")
        >>> Program.from_sympy({"d": a + b, "y": 2*sp.Symbol("d")}).output
        'y'
        """
        if isinstance(expr, sp.Basic):
            pairs = [(name, expr)]
        elif isinstance(expr, Mapping):
            pairs = list(expr.items())
        else:
            pairs = list(expr)
        stmts = []
        for n, e in pairs:
            if isinstance(e, str):  # text goes through the safe parser, never sympify
                raise ProgramError(f"statement {n!r}: text is read by backproof.parse.parse_statements "
                                   f"(or parse_program for a whole program), not by Program.from_sympy")
            if not isinstance(e, sp.Basic):
                e = sp.sympify(e, strict=True)  # safe: strings were refused above; strict refuses them too
            if not isinstance(e, sp.Expr):
                raise ProgramError(f"statement {n!r}: expected a SymPy expression, got {type(e).__name__}")
            e = e.xreplace({s: sp.Symbol(s.name, real=True) for s in e.free_symbols
                            if isinstance(s, sp.Symbol) and not s.is_real})
            stmts.append(Statement(str(n), e))
        return cls(tuple(stmts), output or stmts[-1].name)

    # --- queries -----------------------------------------------------------------------
    @property
    def assigned(self) -> tuple[str, ...]:
        """The assigned names, in order."""
        return tuple(s.name for s in self.statements)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names never assigned, sorted by first use (ties: alphabetical)."""
        assigned = set(self.assigned)
        out: dict[str, None] = {}  # an ordered set: list membership would be quadratic
        for s in self.statements:
            for sym in sorted(s.expr.free_symbols, key=lambda x: x.name):
                if sym.name not in assigned:
                    out.setdefault(sym.name)
        return tuple(out)

    def symbol(self, name: str) -> sp.Symbol:
        """The real SymPy symbol for ``name``."""
        return sp.Symbol(name, real=True)

    def statement(self, name: str) -> Statement:
        """The statement assigning ``name``."""
        for s in self.statements:
            if s.name == name:
                return s
        raise ProgramError(f"{name!r} is not assigned in the program")

    def with_output(self, name: str) -> Program:
        """The same program with ``name`` as output (only statements it needs are kept)."""
        if name not in self.assigned:
            raise ProgramError(
                f"unknown output {name!r} for --of (must be one of the assigned names: {', '.join(self.assigned)})")
        needed = {name}
        for s in reversed(self.statements):
            if s.name in needed:
                needed |= {x.name for x in s.expr.free_symbols}
        stmts = tuple(s for s in self.statements if s.name in needed)
        return Program(stmts, name, self.source)

    def expanded(self) -> dict[str, sp.Expr]:
        """Every assigned name written out in the inputs (evaluated SymPy)."""
        env: dict[sp.Symbol, sp.Expr] = {}
        out: dict[str, sp.Expr] = {}
        for s in self.statements:
            e = s.expr.xreplace(env).doit() if env else s.expr.doit()
            env[self.symbol(s.name)] = e
            out[s.name] = e
        return out

    def __str__(self) -> str:
        return "\n".join(f"{s.name} = {to_text(s.expr)}" for s in self.statements)
