"""Quantities a student can answer (``a1``, ``dJ/dw1``, ``w1_new``) and the problem that computes them.

A :class:`Problem` is derived once (the truth, exact, from :func:`backproof.derivation.derive`)
and then recomputes any quantity from *other* numbers on demand: the student's own
earlier answers (so an early slip is not punished downstream) or a deliberately
mutated step (to name a mistake). Those recomputations work on the names a student
writes: each value comes from its statement, each gradient from the chain rule over
the statements that use a name, each update from ``w − η·g``; inside one statement
the local derivative is the shared engine's reverse pass over the statement's slice of
the tape, using the op table's NumPy facet (so it is also a second opinion on the SymPy
truth); a mutation changes one edge of that pass through the engine's ``local`` hook.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import sympy as sp

from ..derivation import Derivation, derive, evaluate_number
from ..engine.graph_engine import LocalHook, TapeEntryLike
from ..errors import ParseError, ProgramError, SpecError, VerificationError
from ..ops import OPS
from ..parse import normalize, parse_expression, parse_program
from ..printing import brief_pairs, format_number, to_text
from ..program import Program
from .tapes import StatementTape, run_backward, run_forward, statement_tapes

__all__ = ["Quantity", "Problem", "Evaluator", "Trace", "ACTIVATIONS", "NONCOMMUTATIVE", "resolve_quantity",
           "QuantityError", "formula", "formula_parts", "formula_text", "in_names", "Formula", "PathTerm",
           "name_links", "NameLinks"]

#: Ops whose derivative students forget or take at the wrong point.
ACTIVATIONS = frozenset(name for name, op in OPS.items() if op.checker_activation)
#: Ops whose operands a student can swap and get a different number.
NONCOMMUTATIVE = frozenset(name for name, op in OPS.items() if op.swappable)


class FormulaTooLarge(ProgramError):
    """A quantity whose formula is past the derivation's size limit: it has a value, not a
    formula one can compare."""


class QuantityError(SpecError):
    """A quantity name that does not name anything in the problem."""


@dataclass(frozen=True, order=True)
class Quantity:
    """What an answer is about.

    ``kind`` is ``value`` (a name's value), ``grad`` (∂name/∂wrt) or ``update`` (the
    name after one gradient-descent step).

    Examples
    --------
    >>> str(Quantity("grad", "J", "w1")), str(Quantity("update", "w1"))
    ('dJ/dw1', 'w1_new')
    """

    kind: str
    name: str
    wrt: str = ""

    def __str__(self) -> str:
        if self.kind == "grad":
            return f"d{self.name}/d{self.wrt}"
        if self.kind == "update":
            return f"{self.name}_new"
        return self.name

    @property
    def math(self) -> str:
        """The quantity in maths notation for write-ups (``∂J/∂w1``)."""
        if self.kind == "grad":
            return f"∂{self.name}/∂{self.wrt}"
        if self.kind == "update":
            return f"{self.name}′"
        return self.name


_GRAD_RE = re.compile(r"^(?:d|∂)\s*(?P<f>[^/]+?)\s*/\s*(?:d|∂)\s*(?P<x>.+?)$")
_UPDATE_RE = re.compile(r"^(?P<n>.+?)\s*(?:_new|'|′|\+)$")
_INDEX_RE = re.compile(r"\[\s*(\d+)\s*,\s*(\d+)\s*\]")
#: A δ term: ``delta_o1``, ``δ_o1``, ``δo1``, ``δ_{o1}`` -- the output's gradient at a named node.
_DELTA_RE = re.compile(r"^(?:δ|delta)_?\{?(?P<n>[^{}\s][^{}]*?)\}?$")


def _norm_name(text: str) -> str:
    text = _INDEX_RE.sub(r"[\1][\2]", text.strip())
    text = re.sub(r"\s*\[\s*", "[", re.sub(r"\s*\]", "]", text))
    if "[" in text:
        return text
    try:
        return normalize(text).text.strip()
    except ParseError:
        return text


# --- the problem ------------------------------------------------------------------------

@dataclass(frozen=True)
class NameLinks:
    """Which statements read each name, whom each name reaches, and which partials are the whole story."""

    consumers: dict[str, tuple[str, ...]]
    reach: dict[str, set[str]]
    single_path: dict[tuple[str, str], bool]   # (s, n): ∂s/∂n is statement s's own partial


def name_links(program: Program, names: tuple[str, ...], tapes: Mapping[str, StatementTape]) -> NameLinks:
    """The name-level structure: who reads whom, and who reaches whom.

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> from backproof.graph import build_graph
    >>> prog = parse_program("a = w*x; b = a + w; J = a*b")
    >>> links = name_links(prog, ("w", "x", "a", "b", "J"), statement_tapes(prog, build_graph(prog)))
    >>> links.consumers["a"], links.single_path[("J", "a")]
    (('b', 'J'), False)
    """
    consumers = {n: tuple(s.name for s in program.statements if n in tapes[s.name].names_used) for n in names}
    ng = nx.DiGraph()
    ng.add_nodes_from(names)
    for s, tape in tapes.items():
        ng.add_edges_from((n, s) for n in tape.names_used)
    reach = {n: nx.descendants(ng, n) for n in names}
    # ds/dn is the statement's own partial when n reaches s by no other statement.
    single = {(s, n): not any(m != s and s in reach[m] for m in consumers[n])
              for s, tape in tapes.items() for n in tape.names_used}
    return NameLinks(consumers, reach, single)


def _point(d: Derivation) -> dict[str, sp.Expr] | None:
    return dict(d.at) if d.at is not None else None


class Problem:
    """The truth of one homework problem and the machinery to recompute it.

    Parameters
    ----------
    program : Program or str
        The computation, in the expression language.
    at : mapping, optional
        Input values (exact SymPy numbers or text). Needed for numeric answers.
    learning_rate : number, optional
        η, needed for ``w_new`` answers.
    aliases : mapping, optional
        Extra names for quantities' variables (``"W1[0][1]" -> "W1_0_1"``), for networks.
    params : iterable of str, optional
        The trainable inputs (default: every input that has an update asked, else all).
    frozen : iterable of str, optional
        Inputs a network keeps fixed (its spec's ``trainable: false`` or ``frozen``): they
        have gradients but no update, so ``b1_new`` is refused with the reason.

    Examples
    --------
    >>> p = Problem("a1 = w1*x + b1; a2 = w2*a1 + b2; J = 0.5*(a2 - y)**2",
    ...             at="x=1,y=5,w1=2,b1=0,w2=3,b2=1", learning_rate="0.1")
    >>> p.truth(p.resolve("dJ/da1")), p.truth(p.resolve("w1_new"))
    (6, 7/5)
    """

    def __init__(self, program, at=None, learning_rate=None, *, aliases: Mapping[str, str] | None = None,
                 params: Iterable[str] | None = None, title: str | None = None, frozen: Iterable[str] = ()):
        self.program: Program = parse_program(program) if isinstance(program, str) else program
        self.title = title
        self.output = self.program.output
        # The one derivation (and with it the one graph): every statement's tape is cut from it.
        self.derivation: Derivation = derive(self.program, at, expand=False, verify=False)
        self.at: dict[str, sp.Expr] | None = _point(self.derivation)
        self.learning_rate = _exact(learning_rate) if learning_rate is not None else None
        self.aliases = dict(aliases or {})
        self.assigned = tuple(self.program.assigned)
        self.inputs = tuple(self.program.inputs)
        self.names = self.inputs + self.assigned
        self.params = tuple(params) if params is not None else self.inputs
        self.frozen = tuple(frozen)
        self._derivs: dict[str, Derivation] = {self.output: self.derivation}
        self.tapes: dict[str, StatementTape] = statement_tapes(self.program, self.derivation.graph)
        links = name_links(self.program, self.names, self.tapes)
        self.consumers: dict[str, tuple[str, ...]] = links.consumers
        self.reach: dict[str, set[str]] = links.reach
        self.single_path: dict[tuple[str, str], bool] = links.single_path
        self.eta: float | None = float(self.learning_rate) if self.learning_rate is not None else None
        self.floats: dict[str, float] = {n: float(v) for n, v in (self.at or {}).items()}
        self._expansion: dict[sp.Symbol, sp.Expr] | None = None
        self._formulas: dict[Quantity, Formula] = {}
        if self.at is not None:
            self._cross_check()

    def __repr__(self) -> str:
        """One line: the title (or output), the size and the point.

        Examples
        --------
        >>> Problem("a = w*x; J = a**2", at="w=3,x=2")
        <Problem J: 2 statements, inputs w, x; at w=3, x=2>
        """
        head = self.title[:40] if self.title else self.output
        n = len(self.program.statements)
        ins = ", ".join(self.inputs[:6]) + (", …" if len(self.inputs) > 6 else "")
        at = f"; at {brief_pairs(self.at.items())}" if self.at is not None else ""
        return f"<Problem {head}: {n} statement{'s' * (n != 1)}, inputs {ins}{at}>"

    # --- names ------------------------------------------------------------------------
    def resolve(self, text: str) -> Quantity:
        """The quantity a student's answer key names.

        Raises
        ------
        QuantityError
            With "did you mean …" suggestions.

        Examples
        --------
        >>> p = Problem("a = w*x; J = a**2")
        >>> [str(p.resolve(t)) for t in ("J", "∂J/∂w", "dJ_dw", "da/dw", "w'", "delta_a", "δ_a")]
        ['J', 'dJ/dw', 'dJ/dw', 'da/dw', 'w_new', 'dJ/da', 'dJ/da']
        """
        raw = str(text).strip()
        name = self._name(raw)
        if name is not None:
            return Quantity("value", name)
        q = self._gradient_key(raw) or self._delta_key(raw) or self._update_key(raw)
        if q is not None:
            return q
        known = self.known_quantities()
        if _DELTA_RE.match(raw):
            known += [f"delta_{n}" for n in self.names if n != self.output]
        hint = difflib.get_close_matches(raw, list(dict.fromkeys(known)), n=3, cutoff=0.6)
        did = f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
        # A program may have no inputs at all (``0``): the examples then use a placeholder.
        x = self.inputs[0] if self.inputs else "x"
        inner = self.names[-2] if len(self.names) > 1 else x
        raise QuantityError(
            f"unknown quantity {raw!r}{did} (write a name such as {self.names[-1]!r}, a gradient "
            f"'d{self.output}/d{x}', a local derivative 'da/db', a δ term 'delta_{inner}' "
            f"or an update '{x}_new')")

    def _gradient_key(self, raw: str) -> Quantity | None:
        """``dJ/dw``, ``∂J/∂w`` or ``dJ_dw``."""
        m = _GRAD_RE.match(raw)
        if m:
            f, x = self._name(m.group("f")), self._name(m.group("x"))
            if f is not None and x is not None:
                return self._grad(raw, f, x)
        if raw.startswith("d") and "_d" in raw:
            for i in [k for k in range(len(raw)) if raw.startswith("_d", k)]:
                f, x = self._name(raw[1:i]), self._name(raw[i + 2:])
                if f is not None and x is not None:
                    return self._grad(raw, f, x)
        return None

    def _delta_key(self, raw: str) -> Quantity | None:
        """``delta_z2``, ``δ_z2``, ``δz2`` or ``δ_{z2}``."""
        m = _DELTA_RE.match(raw)
        n = self._name(m.group("n")) if m else None
        return self._delta(raw, n) if n is not None else None

    def _update_key(self, raw: str) -> Quantity | None:
        """``w_new``, ``w'``, ``w′`` or ``w+``."""
        m = _UPDATE_RE.match(raw)
        n = self._name(m.group("n")) if m else None
        if n is None:
            return None
        if n not in self.inputs:
            raise QuantityError(f"{raw!r}: only inputs (weights, biases) are updated, and {n!r} "
                                f"is computed (inputs: {', '.join(self.inputs)})")
        if n in self.frozen:
            raise QuantityError(f"{raw!r}: {n!r} is frozen in this network (trainable: false), so no update "
                                f"changes it; answer its gradient 'd{self.output}/d{n}' or its value {n!r}")
        return Quantity("update", n)

    def _name(self, text: str) -> str | None:
        t = _norm_name(text)
        if t in self.aliases:
            return self.aliases[t]
        return t if t in self.names else None

    def _delta(self, raw: str, n: str) -> Quantity:
        """δ_n: the output's gradient with respect to ``n`` (∂J/∂net_o1 for ``delta_net_o1``)."""
        if n == self.output:
            raise QuantityError(f"{raw!r}: δ of the output {n!r} is ∂{n}/∂{n} = 1; a δ term names a node "
                                f"inside the program, e.g. 'delta_{self.names[-2] if len(self.names) > 1 else n}'")
        return self._grad(raw, self.output, n)

    def _grad(self, raw: str, f: str, x: str) -> Quantity:
        if f not in self.assigned:
            raise QuantityError(f"{raw!r}: {f!r} is an input; differentiate a computed name "
                                f"({', '.join(self.assigned)})")
        if f == x:
            raise QuantityError(f"{raw!r}: a name's derivative with respect to itself is always 1")
        return Quantity("grad", f, x)

    def known_quantities(self) -> list[str]:
        """Every canonical quantity name and alias, for suggestions."""
        out = list(self.names) + list(self.aliases)
        out += [f"d{self.output}/d{n}" for n in self.names if n != self.output]
        out += [f"d{s}/d{n}" for s in self.assigned for n in self.tapes[s].names_used]
        out += [f"d{self.output}/d{a}" for a in self.aliases]
        out += [f"{n}_new" for n in self.inputs] + [f"{a}_new" for a in self.aliases]
        return out

    def display(self, q: Quantity) -> str:
        """The quantity with network aliases put back (``dJ/dW1[0][1]``)."""
        # A name the network spec declares (w5, out_o1: it is its own alias) is shown as written.
        back = {v: k for k, v in sorted(self.aliases.items(), key=lambda kv: (len(kv[0]), kv[0]))
                if "[" in k and self.aliases.get(v) != v}
        if not back:
            return str(q)
        return str(Quantity(q.kind, back.get(q.name, q.name), back.get(q.wrt, q.wrt)))

    # --- the truth --------------------------------------------------------------------
    def derivation_of(self, name: str) -> Derivation:
        """The (cached) derivation of ``name``: its values, gradients and steps."""
        if name not in self._derivs:
            self._derivs[name] = derive(self.program, self.at, of=name, expand=False, verify=False)
        return self._derivs[name]

    def prepare(self, quantities: Iterable[Quantity]) -> None:
        """Derive everything the quantities need now (before the problem is shipped to workers)."""
        for q in quantities:
            if q.kind == "grad":
                self.derivation_of(q.name)
            if self.at is not None:
                self.truth(q)
                self.truth_steps(q)

    def truth(self, q: Quantity) -> sp.Expr:
        """The exact value of ``q`` at the problem's point."""
        if self.at is None:
            raise ProgramError(f"{q}: the problem gives no values (`at`), so there is no number to compare")
        if q.kind == "value":
            if q.name in self.at:
                return self.at[q.name]
            d = self.derivation_of(q.name) if q.name not in self.derivation.values else self.derivation
            return d.values[q.name]
        if q.kind == "grad":
            return self.derivation_of(q.name).gradients.get(q.wrt, sp.Integer(0))
        if self.learning_rate is None:
            raise ProgramError(f"{q}: the problem has no learning_rate")
        g = self.derivation.gradients.get(q.name, sp.Integer(0))
        return evaluate_number(self.at[q.name] - self.learning_rate * g)

    def truth_symbolic(self, q: Quantity) -> sp.Expr:
        """``q`` as an expression in the inputs (for symbolic answers)."""
        expansion = self.expansion()
        sym = sp.Symbol(q.name, real=True)
        if q.kind == "value":
            return expansion.get(sym, sym)
        if q.kind == "grad":
            d = self.derivation_of(q.name)
            if d.symbolic:
                g = d.symbolic.get(q.wrt, sp.Integer(0))
            else:  # beyond the symbolic size limit: derive again for this quantity only
                g = derive(self.program, of=q.name, wrt=[q.wrt], expand=False, verify=False).symbolic.get(q.wrt)
            if g is None:  # even that one is past the size limit of a formula (derivation.SYMBOLIC_SIZE_LIMIT)
                raise FormulaTooLarge(f"the formula of {q} is too large to compare symbolically; "
                                      f"answer it with a number (give the inputs' values)")
            return g.xreplace(expansion).doit()
        if self.learning_rate is None:
            raise ProgramError(f"{q}: the problem has no learning_rate")
        return sym - self.learning_rate * self.truth_symbolic(Quantity("grad", self.output, q.name))

    def truth_named(self, q: Quantity) -> sp.Expr:
        """``q`` as a student writes it: in the program's own names, each named part standing for
        its expression (``a1·(1 − a1)``, not ``σ(w1·x + b1)·(1 − σ(w1·x + b1))``).

        Only for reading: answers are compared in the inputs (:meth:`truth_symbolic`), so a
        formula in names and one in inputs are judged alike.
        """
        if q.kind == "update" and self.learning_rate is not None:
            grad = self.truth_named(Quantity("grad", self.output, q.name))
            return self.program.symbol(q.name) - self.learning_rate * grad
        if q.kind != "grad":
            return self.truth_symbolic(q)
        form = self.derivation_of(q.name).symbolic.get(q.wrt)
        # A statement's right-hand side, wherever the sweep wrote it (σ(z1) for σ′), is its name.
        return in_names(self, form) if form is not None else self.truth_symbolic(q)

    def truth_formula(self, q: Quantity) -> str:
        """``q``'s own step with the right numbers, in text."""
        return formula_text(self.truth_steps(q))

    def truth_steps(self, q: Quantity) -> Formula:
        """``q``'s own step with the right numbers, as data (cached: it is the same for every student)."""
        if q not in self._formulas:
            self._formulas[q] = formula_parts(self, q, Evaluator(self, {}))
        return self._formulas[q]

    def expansion(self) -> dict[sp.Symbol, sp.Expr]:
        """Intermediate symbol -> its expression in the inputs."""
        if self._expansion is None:
            self._expansion = {sp.Symbol(k, real=True): v for k, v in self.program.expanded().items()}
        return self._expansion

    def local_symbolic(self, s: str, n: str) -> sp.Expr:
        """∂s/∂n inside statement ``s`` alone, in names (``∂a2/∂a1 = w2``)."""
        return self.tapes[s].symbolic.get(n, sp.Integer(0))

    def _cross_check(self) -> None:
        """The NumPy-facet recomputation must reproduce the SymPy truth."""
        ev = Evaluator(self, {})
        for n in self.names:
            q = Quantity("value", n)
            if n in self.derivation.values:
                _agree(ev.get(q), self.truth(q), q)
        for n in self.derivation.wrt:
            q = Quantity("grad", self.output, n)
            _agree(ev.get(q), self.truth(q), q)


def _agree(v: float, truth: sp.Expr, q: Quantity) -> None:
    t = float(truth)
    if not (math.isfinite(v) and abs(v - t) <= 1e-9 * max(1.0, abs(t))):
        raise VerificationError(f"the checker's recomputation of {q} = {v!r} disagrees with the "
                                f"derivation's {t!r}: a bug, please report it")


def _exact(v) -> sp.Expr:
    if isinstance(v, sp.Basic):
        return v
    e = parse_expression(str(v)).doit()
    if not (e.is_number and e.is_real and e.is_finite):
        raise ProgramError(f"learning_rate must be a finite real number, got {v!r}")
    return e


# --- recomputation ------------------------------------------------------------------------

@dataclass
class Trace:
    """What one recomputation touched: where a mutation could have happened.

    ``depth0`` holds the names read by the judged quantity's own step.
    """

    forwards: set = field(default_factory=set)     # statements run forward
    partials: set = field(default_factory=set)     # (statement, name) local derivatives
    forks: set = field(default_factory=set)        # (function, name) with several consumers
    updates: set = field(default_factory=set)      # names updated
    depth0: list = field(default_factory=list)     # names whose values the step itself reads
    used: set = field(default_factory=set)         # given quantities the recomputation relied on


class Evaluator:
    """Recompute quantities in floats, using ``given`` numbers wherever they exist.

    ``exclude`` is the quantity being judged: its own given number is not used, so
    ``get(exclude)`` is what it *should* be, given everything else. ``mutation``
    (see :mod:`backproof.check.mistakes`) changes one step the way a known mistake does.

    Examples
    --------
    >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
    >>> Evaluator(p, {Quantity("value", "a"): 5.0}).get(Quantity("grad", "J", "w"))
    20.0
    """

    def __init__(self, problem: Problem, given: Mapping[Quantity, float], *, exclude: Quantity | None = None,
                 mutation=None, trace: Trace | None = None):
        self.p = problem
        self.given = given
        self.exclude = exclude
        self.mut = mutation
        self.trace = trace
        self.memo: dict = {}
        self.depth = 0

    # The judged quantity's own step runs at depth 0; everything it reads, deeper.
    def get(self, q: Quantity) -> float:
        if self.depth == 0:
            # One errstate for the whole recomputation: NumPy reports 1/0 as inf, not a warning.
            with np.errstate(all="ignore"):
                return self._get(q)
        return self._get(q)

    def _get(self, q: Quantity) -> float:
        if q != self.exclude and q in self.given:
            if self.trace is not None:
                self.trace.used.add(q)
            return self.given[q]
        if q in self.memo:
            return self.memo[q]
        self.depth += 1
        try:
            v = self._compute(q)
        finally:
            self.depth -= 1
        self.memo[q] = v
        return v

    def _top(self) -> bool:
        return self.depth == 1

    def value_of(self, n: str, *, backward: bool = False) -> float:
        """A name's value as read by the current step (mutations may change it)."""
        if self.trace is not None and self._top():
            self.trace.depth0.append(n)
        m = self.mut
        if m is not None:
            v = m.read_value(self, n, backward)
            if v is not None:
                return v
        return self.get(Quantity("value", n))

    def _compute(self, q: Quantity) -> float:
        p = self.p
        if q.kind == "value":
            if q.name in p.inputs:
                return p.floats[q.name]
            return self.forward(q.name)[p.tapes[q.name].result]
        if q.kind == "grad":
            return self.grad(q.name, q.wrt)
        g = self.get(Quantity("grad", p.output, q.name))
        old = self.value_of(q.name)
        eta = p.eta
        if eta is None:
            raise ProgramError(f"{q}: the problem has no learning_rate")
        if self.trace is not None:
            self.trace.updates.add(q.name)
        if self.mut is not None:
            v = self.mut.update(self, q.name, old, eta, g)
            if v is not None:
                return v
        return old - eta * g

    def grad(self, f: str, n: str) -> float:
        p = self.p
        users = [s for s in p.consumers.get(n, ()) if s == f or f in p.reach[s]]
        if self.trace is not None and len(users) > 1:
            self.trace.forks.add((f, n))
        total = 0.0
        for s in users:
            if self.mut is not None and self.mut.skip_path(self, f, n, s):
                continue
            up = 1.0 if s == f else self.get(Quantity("grad", f, s))
            total += up * self.partial(s, n)
        return total

    def partial(self, s: str, n: str) -> float:
        """∂s/∂n through statement ``s`` only."""
        p = self.p
        q = Quantity("grad", s, n)
        if p.single_path[(s, n)] and q != self.exclude and q in self.given:
            if self.trace is not None:
                self.trace.used.add(q)
            return self.given[q]
        if self.trace is not None:
            self.trace.partials.add((s, n))
        tape = p.tapes[s]
        vals = self._forward_values(tape, backward=True)
        out = run_backward(tape, vals, self._edge_hook(tape, vals)).get(n, 0.0)
        if self.mut is not None:
            out = self.mut.partial(self, s, n, out)
        return out

    def _edge_hook(self, tape: StatementTape, vals: Mapping[str, float]) -> LocalHook | None:
        """The mutation's change to one edge of the statement's reverse pass, as the shared engine's hook."""
        mut = self.mut
        if mut is None:
            return None  # the engine's own reverse pass, untouched

        def edge(entry: TapeEntryLike, k: int, g: np.ndarray, contribution: np.ndarray) -> np.ndarray | float:
            return mut.edge(self, tape, tape.by_id[entry.id], k, g, contribution, vals)
        return edge

    def forward(self, s: str) -> dict:
        """Values of every node of statement ``s`` (the forward step)."""
        if self.trace is not None:
            self.trace.forwards.add(s)
        vals = self._forward_values(self.p.tapes[s], backward=False)
        if self.mut is not None:
            self.mut.forward(self, s, vals)
        return vals

    def _forward_values(self, tape: StatementTape, *, backward: bool) -> dict[str, float]:
        """The statement's forward pass on the shared engine; a mutation may override node values."""
        leaves = {n: self.value_of(n, backward=backward) for n in tape.names_used}
        vals = run_forward(tape, leaves)
        if self.mut is not None:
            changed = self.mut.overrides(self, tape, vals)
            if changed:
                vals = run_forward(tape, {**leaves, **changed})
        return vals


@dataclass(frozen=True)
class PathTerm:
    """One path of a gradient: ``∂f/∂via · ∂via/∂n`` (``upstream`` None when ``via`` is ``f``)."""

    via: str
    upstream: float | None
    local: float
    local_form: sp.Expr         # ∂via/∂n in the statements' names (``a2·(1 − a2)``, not σ(z)·(1 − σ(z)))
    gate: sp.Expr | None = None  # via's expression, when via is the differentiated name itself


@dataclass(frozen=True)
class Formula:
    """How one quantity comes about, with the numbers an :class:`Evaluator` gives (data, no text).

    ``kind`` is ``input`` (a given value), ``value`` (a statement's value: ``expr`` with the
    ``values`` of its names), ``grad`` (the sum over ``paths``; none when ``f`` does not depend
    on ``n``) or ``update`` (``old − eta·grad``). ``values`` holds every name a form mentions.
    """

    quantity: Quantity
    kind: str
    value: float
    expr: sp.Expr | None = None
    paths: tuple[PathTerm, ...] = ()
    values: tuple[tuple[str, float], ...] = ()
    old: float | None = None
    eta: float | None = None
    grad: float | None = None
    output: str = ""            # update: the output whose gradient is followed


def formula_parts(problem: Problem, q: Quantity, ev: Evaluator) -> Formula:
    """``q``'s own step with the numbers ``ev`` gives its inputs, as data for the write-ups.

    ``update`` records ``output``: the name whose gradient the step follows.

    Examples
    --------
    >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
    >>> f = formula_parts(p, Quantity("grad", "J", "w"), Evaluator(p, {}))
    >>> [(t.via, t.upstream, t.local, str(t.local_form)) for t in f.paths], f.value
    ([('a', 12.0, 2.0, 'x')], 24.0)
    """
    value = ev.get(q)
    if q.kind == "value":
        if q.name in problem.inputs:
            return Formula(q, "input", value)
        stmt = problem.program.statement(q.name).expr
        return Formula(q, "value", value, expr=stmt, values=_values(ev, stmt))
    if q.kind == "grad":
        f, n = q.name, q.wrt
        users = [s for s in problem.consumers.get(n, ()) if s == f or f in problem.reach[s]]
        paths = []
        for s in users:
            up = None if s == f else ev.get(Quantity("grad", f, s))
            gate = problem.program.statement(s).expr if s == f else None
            paths.append(PathTerm(s, up, ev.partial(s, n), in_names(problem, problem.local_symbolic(s, n)), gate))
        forms = sp.Tuple(*[t.local_form for t in paths])
        return Formula(q, "grad", value, paths=tuple(paths), values=_values(ev, forms))
    return Formula(q, "update", value, old=ev.get(Quantity("value", q.name)), eta=problem.eta,
                   grad=ev.get(Quantity("grad", problem.output, q.name)), output=problem.output)


def in_names(problem: Problem, expr: sp.Expr) -> sp.Expr:
    """``expr`` with each statement's expression replaced by its name (σ(z2) → a2).

    Examples
    --------
    >>> p = Problem("a = sigmoid(z); J = a**2")
    >>> in_names(p, p.local_symbolic("a", "z"))
    a*(1 - a)
    """
    rename = {s.expr: sp.Symbol(s.name, real=True) for s in problem.program.statements
              if not isinstance(s.expr, sp.Symbol) and not s.expr.is_number}
    return expr.xreplace(rename)


def _values(ev: Evaluator, expr: sp.Basic) -> tuple[tuple[str, float], ...]:
    names = sorted(x.name for x in expr.free_symbols)
    return tuple((n, ev.get(Quantity("value", n))) for n in names)


def formula(problem: Problem, q: Quantity, ev: Evaluator) -> str:
    """``q``'s own step with the numbers ``ev`` gives its inputs, in text (the JSON's ``formula``).

    Examples
    --------
    >>> p = Problem("a = w*x; J = a**2", at="w=3,x=2")
    >>> formula(p, Quantity("grad", "J", "w"), Evaluator(p, {}))
    '∂J/∂w = ∂J/∂a·∂a/∂w = 12·2 = 24; ∂a/∂w = x'
    """
    return formula_text(formula_parts(problem, q, ev))


def formula_text(fm: Formula) -> str:
    """The plain text of a :class:`Formula`: symbols = numbers = value, no term written twice."""
    q, n = fm.quantity, format_number
    if fm.kind == "input":
        return f"{q.name} = {n(fm.value)} (given)"
    if fm.kind == "value":
        assert fm.expr is not None  # a value formula always holds its statement
        subs = {sp.Symbol(k, real=True): sp.Symbol(n(v, paren=True), real=True) for k, v in fm.values}
        with sp.evaluate(False):  # keep the statement's order: w1*x + b1 -> 2*1 + 0
            numbers = fm.expr.xreplace(subs)
        return " = ".join(_equality_chain([q.name, to_text(fm.expr), to_text(numbers), n(fm.value)]))
    if fm.kind == "update":
        assert fm.old is not None and fm.eta is not None and fm.grad is not None
        return (f"{q.name}′ = {q.name} − η·∂{fm.output}/∂{q.name} = {n(fm.old)} − {n(fm.eta)}·"
                f"{n(fm.grad, paren=True)} = {n(fm.value)}")
    f, x = q.name, q.wrt
    if not fm.paths:
        return f"∂{f}/∂{x} = 0 ({f} does not depend on {x})"
    if len(fm.paths) == 1 and fm.paths[0].upstream is None:
        t = fm.paths[0]  # x feeds f directly: its local derivative is the whole step, written once
        return " = ".join(_equality_chain([f"∂{f}/∂{x}", to_text(t.local_form), n(t.local), n(fm.value)]))
    names = " + ".join(f"∂{f}/∂{t.via}·∂{t.via}/∂{x}" if t.upstream is not None else f"∂{f}/∂{x}"
                       for t in fm.paths)
    nums = " + ".join((f"{n(t.upstream, paren=i > 0)}·{n(t.local, paren=True)}" if t.upstream is not None
                       else n(t.local, paren=i > 0)) for i, t in enumerate(fm.paths))
    locs = "; ".join(f"∂{t.via}/∂{x} = {to_text(t.local_form)}" for t in fm.paths)
    return " = ".join(_equality_chain([f"∂{f}/∂{x}", names, nums, n(fm.value)])) + f"; {locs}"


def _equality_chain(terms: list[str]) -> list[str]:
    """The terms of ``a = b = c``, each one that repeats the term before it left out.

    >>> _equality_chain(["∂J/∂a2", "∂J/∂a2", "2", "2"])
    ['∂J/∂a2', '2']
    """
    return [t for i, t in enumerate(terms) if i == 0 or t != terms[i - 1]]


def resolve_quantity(problem: Problem, text: str) -> Quantity:
    """Module-level alias of :meth:`Problem.resolve`."""
    return problem.resolve(text)

