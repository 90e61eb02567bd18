"""Known backpropagation mistakes, each a small change to one step of the correct computation.

A :class:`Mutation` changes one step the way a student's mistake does (the wrong
sign in an update, σ′ left out, one path at a fork dropped …). The checker recomputes
the judged answer under every mutation that touches its computation and names the
first whose number matches the student's. Each mistake kind has a name, a one-line
explanation, and a pure ``candidates`` function listing where it could have happened.
The order of :data:`MISTAKES` is the order of preference when several fit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
import sympy as sp

from ..derivation import backward_sweep, local_partials, operands
from ..graph import TapeEntry, topological_order
from ..ops import OPS
from ..printing import format_number, handwritten, to_text
from .quantities import ACTIVATIONS, NONCOMMUTATIVE, Evaluator, Problem, Quantity, Trace, in_names
from .tapes import StatementTape, forward_value, op_of

__all__ = ["Mutation", "Mistake", "MISTAKES", "MISTAKE_NAMES", "CATCH_ALL", "candidate_mutations", "SymbolicSlip",
           "symbolic_slips", "simple_point"]


@dataclass(frozen=True)
class Mutation:
    """One way of getting a step wrong; subclasses override one or two hooks."""

    kind = ""

    def explain(self, problem: Problem) -> str:  # pragma: no cover - every subclass overrides
        return self.kind

    # Hooks: ``None`` (or the unchanged input) means "as in the correct computation".
    def read_value(self, ev: Evaluator, name: str, backward: bool) -> float | None:
        return None

    def update(self, ev: Evaluator, name: str, old: float, eta: float, g: float) -> float | None:
        return None

    def skip_path(self, ev: Evaluator, f: str, n: str, s: str) -> bool:
        return False

    def partial(self, ev: Evaluator, s: str, n: str, value: float) -> float:
        return value

    def edge(self, ev: Evaluator, tape: StatementTape, entry: TapeEntry, k: int, g: np.ndarray,
             contribution: np.ndarray, vals: Mapping[str, float]) -> np.ndarray | float:
        """What operation ``entry`` of statement ``tape`` passes back to its operand ``k``.

        ``g`` is ``entry``'s gradient, ``contribution`` the correct ``g·∂entry/∂operand``
        and ``vals`` the statement's node values (the shared engine's ``local`` hook).
        """
        return contribution

    def forward(self, ev: Evaluator, s: str, vals: dict) -> None:
        return None

    def overrides(self, ev: Evaluator, tape: StatementTape, vals: Mapping[str, float]) -> dict[str, float]:
        """Node values of statement ``tape`` that this mistake computes differently."""
        return {}



def _and(names) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _label(tape, nid: str) -> str:
    """A readable name for a node of one statement (its expression for an operation)."""
    entry = tape.by_id[nid]
    if entry.kind in ("input", "name"):
        return nid
    if nid == tape.result:
        return tape.name
    text = tape.text.get(nid, nid)
    # An operation inside a statement is named by its expression, written as by hand and
    # parenthesised so that ∂(w1·x)/∂w1 reads as one quotient.
    return f"({handwritten(text)})" if text != nid else nid


# --- updates ------------------------------------------------------------------------------

@dataclass(frozen=True)
class UpdateSign(Mutation):
    name: str
    kind = "update_sign"

    def update(self, ev, name, old, eta, g):
        return old + eta * g if name == self.name else None

    def explain(self, problem):
        return (f"updated with the wrong sign: {self.name} + η·∂{problem.output}/∂{self.name} "
                f"instead of {self.name} − η·∂{problem.output}/∂{self.name} (step downhill, against the gradient)")


@dataclass(frozen=True)
class LearningRateMissing(Mutation):
    name: str
    kind = "learning_rate_missing"

    def update(self, ev, name, old, eta, g):
        return old - g if name == self.name else None

    def explain(self, problem):
        return (f"learning rate not applied: {self.name} − ∂{problem.output}/∂{self.name} instead of "
                f"{self.name} − η·∂{problem.output}/∂{self.name} with η = {format_number(problem.eta)}")


@dataclass(frozen=True)
class LearningRateTwice(Mutation):
    name: str
    kind = "learning_rate_twice"

    def update(self, ev, name, old, eta, g):
        return old - eta * eta * g if name == self.name else None

    def explain(self, problem):
        return (f"learning rate applied twice: {self.name} − η²·∂{problem.output}/∂{self.name} "
                f"instead of {self.name} − η·∂{problem.output}/∂{self.name}")


@dataclass(frozen=True)
class UpdatedWeightUsed(Mutation):
    """The sequential-update slip: w2 updated first, then w2_new used to backpropagate."""

    name: str
    new_value: float
    kind = "updated_weight_used"

    def read_value(self, ev, name, backward):
        return self.new_value if backward and name == self.name else None

    def explain(self, problem):
        old = problem.floats.get(self.name, math.nan)
        return (f"the updated {self.name} = {format_number(self.new_value)} used where the old "
                f"{self.name} = {format_number(old)} "
                f"belongs (every gradient of one step uses the weights before the update)")


# --- activations --------------------------------------------------------------------------

@dataclass(frozen=True)
class _ActivationMutation(Mutation):
    statement: str
    node: str

    def _hit(self, tape, entry, k) -> bool:
        return tape.name == self.statement and entry.id == self.node and k == 0

    def _parts(self, problem):
        tape = problem.tapes[self.statement]
        entry = tape.by_id[self.node]
        op = OPS[entry.op]
        return op.symbol, _label(tape, entry.operands[0]), _label(tape, self.node)


@dataclass(frozen=True)
class ActivationDerivativeMissing(_ActivationMutation):
    kind = "activation_derivative_missing"

    def edge(self, ev, tape, entry, k, g, contribution, vals):
        return g if self._hit(tape, entry, k) else contribution   # g·1

    def explain(self, problem):
        f, z, a = self._parts(problem)
        return (f"the derivative of {f} left out: ∂{a}/∂{z} taken as 1 instead of {f}′({z}) "
                f"(the chain rule multiplies by it)")


@dataclass(frozen=True)
class ActivationInsteadOfDerivative(_ActivationMutation):
    kind = "activation_instead_of_derivative"

    def edge(self, ev, tape, entry, k, g, contribution, vals):
        return g * vals[entry.id] if self._hit(tape, entry, k) else contribution   # g·f(z)

    def explain(self, problem):
        f, z, a = self._parts(problem)
        return f"{f}({z}) used instead of its derivative {f}′({z}) for ∂{a}/∂{z}"


@dataclass(frozen=True)
class DerivativeAtOutput(_ActivationMutation):
    kind = "derivative_at_output"

    def edge(self, ev, tape, entry, k, g, contribution, vals):
        if not self._hit(tape, entry, k):
            return contribution
        op, a = op_of(entry), np.float64(vals[entry.id])
        return op.np_vjp(g, np.float64(forward_value(op, [a])), a)[0]   # g·f′(a)

    def explain(self, problem):
        f, z, a = self._parts(problem)
        return (f"{f}′ taken at the output instead of the pre-activation: {f}′({a}) "
                f"instead of {f}′({z})")


@dataclass(frozen=True)
class SigmoidPrimeWrongSign(_ActivationMutation):
    """σ′ written σ(1 + σ) instead of σ(1 − σ)."""

    kind = "sigmoid_prime_plus"

    def edge(self, ev, tape, entry, k, g, contribution, vals):
        if not self._hit(tape, entry, k):
            return contribution
        s = np.float64(vals[entry.id])
        return g * s * (1.0 + s)

    def explain(self, problem):
        _, z, a = self._parts(problem)
        return (f"σ′ written as σ(1 + σ): ∂{a}/∂{z} = {a}·(1 + {a}) instead of {a}·(1 − {a})")


# --- local derivatives ------------------------------------------------------------------------

@dataclass(frozen=True)
class _EdgeMutation(Mutation):
    statement: str
    node: str
    pos: int

    def _hit(self, tape, entry, k) -> bool:
        return tape.name == self.statement and entry.id == self.node and k == self.pos

    def _parts(self, problem) -> tuple[str, str]:
        tape = problem.tapes[self.statement]
        entry = tape.by_id[self.node]
        return _label(tape, self.node), _label(tape, entry.operands[self.pos])


@dataclass(frozen=True)
class LocalSignFlip(_EdgeMutation):
    """One local derivative with the wrong sign (the − of a difference lost, say)."""

    kind = "sign_flip"

    def edge(self, ev, tape, entry, k, g, contribution, vals):
        return -contribution if self._hit(tape, entry, k) else contribution

    def explain(self, problem):
        gate, x = self._parts(problem)
        return (f"a sign lost: ∂{gate}/∂{x} taken with the wrong sign, which flips every gradient "
                f"that flows through it")


@dataclass(frozen=True)
class LocalInverted(_EdgeMutation):
    """A chain factor upside down: ∂x/∂u used where ∂u/∂x belongs."""

    kind = "chain_inverted"

    def edge(self, ev, tape, entry, k, g, contribution, vals):
        if not self._hit(tape, entry, k):
            return contribution
        with np.errstate(all="ignore"):
            local = np.asarray(contribution, dtype=float) / np.asarray(g, dtype=float)
            return np.where(local != 0, g / local, np.nan)

    def explain(self, problem):
        gate, x = self._parts(problem)
        return (f"a chain-rule factor upside down: ∂{x}/∂{gate} used instead of ∂{gate}/∂{x} "
                f"(the chain rule multiplies ∂{problem.output}/∂{gate} by ∂{gate}/∂{x})")


# --- loss, forks, operands, values ----------------------------------------------------------

@dataclass(frozen=True)
class LossHalfFactor(Mutation):
    statement: str
    factor: float
    kind = "loss_half_factor"

    def partial(self, ev, s, n, value):
        return value * self.factor if s == self.statement else value

    def forward(self, ev, s, vals):
        if s == self.statement:
            tape = ev.p.tapes[s]
            vals[tape.result] = vals[tape.result] * self.factor

    def explain(self, problem):
        how = "twice" if self.factor > 1 else "half"
        return (f"the ½ of the loss kept or dropped inconsistently: {how} the right value "
                f"(∂/∂u of ½u² is u; of u² it is 2u)")


@dataclass(frozen=True)
class ForkPathMissing(Mutation):
    """A name used by several statements: one statement's contribution left out."""

    function: str
    name: str
    skipped: str
    kind = "fork_path_missing"

    def skip_path(self, ev, f, n, s):
        return f == self.function and n == self.name and s == self.skipped

    def explain(self, problem):
        others = [s for s in problem.consumers[self.name] if s != self.skipped]
        return (f"one path at a fork left out: {self.name} feeds {', '.join(others + [self.skipped])}, "
                f"so ∂{self.function}/∂{self.name} is the sum over all of them; the path through "
                f"{self.skipped} is missing")


@dataclass(frozen=True)
class ForkEdgeMissing(Mutation):
    """A name used twice inside one statement: one use left out."""

    statement: str
    node: str
    consumer: str
    pos: int
    kind = "fork_path_missing"

    def edge(self, ev, tape, entry, k, g, contribution, vals):
        hit = (tape.name == self.statement and entry.id == self.consumer and k == self.pos
               and entry.operands[k] == self.node)
        return 0.0 if hit else contribution

    def explain(self, problem):
        tape = problem.tapes[self.statement]
        return (f"one path at a fork left out: {_label(tape, self.node)} is used more than once in "
                f"{self.statement} = {tape.expr_text}; the gradient adds every use, and the use in "
                f"{_label(tape, self.consumer)} is missing")


@dataclass(frozen=True)
class OperandsSwapped(Mutation):
    statement: str
    node: str
    kind = "operands_swapped"

    def overrides(self, ev, tape, vals):
        entry = tape.by_id.get(self.node)
        if tape.name != self.statement or entry is None or len(entry.operands) != 2:
            return {}
        a, b = (vals[u] for u in entry.operands)
        return {self.node: forward_value(op_of(entry), [b, a])}

    def explain(self, problem):
        tape = problem.tapes[self.statement]
        e = tape.by_id[self.node]
        a, b = (_label(tape, u) for u in e.operands)
        sym = OPS[e.op].symbol
        return f"operands swapped: {b} {sym} {a} instead of {a} {sym} {b}"


@dataclass(frozen=True)
class WrongValue(Mutation):
    """A wrong number substituted for a variable in the step itself."""

    name: str
    value: float
    source: str
    kind = "wrong_value"

    def read_value(self, ev, name, backward):
        return self.value if name == self.name and ev._top() else None

    def explain(self, problem):
        right = problem.floats.get(self.name)
        right_text = f" where {self.name} = {format_number(right)}" if right is not None else ""
        return f"{self.name} = {format_number(self.value)} substituted{right_text} ({self.source})"


# --- where each mistake can happen ------------------------------------------------------------

@dataclass(frozen=True)
class Mistake:
    """A kind of mistake: its name, one line saying what it is, and where it can happen."""

    name: str
    title: str
    candidates: Callable[[Problem, Quantity, Trace, Evaluator], Iterable[Mutation]]


def _updates(cls):
    def gen(p, q, trace, base):
        if p.eta is None:
            return []
        return [cls(n) for n in sorted(trace.updates)]
    return gen


def _activations(cls):
    def gen(p, q, trace, base):
        out = []
        for s in sorted({s for s, _ in trace.partials}, key=p.assigned.index):
            out += [cls(s, e.id) for e in p.tapes[s].entries if e.kind == "op" and e.op in ACTIVATIONS]
        return out
    return gen


def _sigmoids(p, q, trace, base):
    out = []
    for st in sorted({st for st, _ in trace.partials}, key=p.assigned.index):
        out += [SigmoidPrimeWrongSign(st, e.id) for e in p.tapes[st].entries
                if e.kind == "op" and e.op == "sigmoid"]
    return out


def _edges(cls):
    """Every operand edge of the statements the judged answer's chain rule goes through."""
    def gen(p, q, trace, base):
        out = []
        for st in sorted({st for st, _ in trace.partials}, key=p.assigned.index):
            for e in p.tapes[st].entries:
                if e.kind == "op":
                    out += [cls(st, e.id, k) for k in range(len(e.operands))
                            if p.tapes[st].by_id[e.operands[k]].kind != "const"]
        return out
    return gen


def _half(p, q, trace, base):
    s = p.output
    if s not in trace.forwards and not any(t == s for t, _ in trace.partials):
        return []
    tape = p.tapes[s]
    squared = any(e.op == "pow" and tape.by_id[e.operands[1]].value == 2.0 for e in tape.entries
                  if e.kind == "op" and len(e.operands) == 2)
    return [LossHalfFactor(s, 2.0), LossHalfFactor(s, 0.5)] if squared else []


def _forks(p, q, trace, base):
    out: list[Mutation] = []
    for f, n in sorted(trace.forks):
        out += [ForkPathMissing(f, n, s) for s in p.consumers[n]]
    for s in sorted({s for s, _ in trace.partials}, key=p.assigned.index):
        tape = p.tapes[s]
        for e in tape.entries:
            uses = [(w, k) for w, k in tape.consumers[e.id] if w != s]
            if e.kind in ("input", "op") and len(uses) > 1:
                out += [ForkEdgeMissing(s, e.id, w, k) for w, k in uses]
    return out


def _swaps(p, q, trace, base):
    stmts = set(trace.forwards) | {s for s, _ in trace.partials}
    return [OperandsSwapped(s, e.id) for s in sorted(stmts, key=p.assigned.index)
            for e in p.tapes[s].entries if e.kind == "op" and e.op in NONCOMMUTATIVE]


def _updated_weights(p, q, trace, base):
    if p.eta is None or q.kind == "update":
        return []
    read = {n for s, _ in trace.partials for n in p.tapes[s].names_used}
    # Only weights the student updated (their update is among the answers) can be mixed up.
    updated = {u.name for u in base.given if u.kind == "update"}
    out = []
    for n in p.params:
        if n in read and n in updated:
            try:
                new = base.get(Quantity("update", n))
            except (KeyError, TypeError):
                continue
            out.append(UpdatedWeightUsed(n, new))
    return out


def _wrong_values(p, q, trace, base):
    names = list(dict.fromkeys(trace.depth0))
    pool: dict[float, list[str]] = {}
    for n in p.names:
        try:
            v = base.get(Quantity("value", n))
        except (KeyError, TypeError):
            continue
        if math.isfinite(v):
            pool.setdefault(v, []).append(n)
    out = []
    for n in names:
        if n == q.name and q.kind == "value":
            continue
        right = base.get(Quantity("value", n))
        seen = {right}
        for v, owners in pool.items():
            if v not in seen:
                seen.add(v)
                out.append(WrongValue(n, v, f"{format_number(v)} is the value of {_and(owners)}"))
        for v, how in ((right - 1, "one less"), (right + 1, "one more")):
            if v not in seen:
                seen.add(v)
                out.append(WrongValue(n, v, f"{how} than {format_number(right)}"))
    return out


#: Every mistake kind, in order of preference when several explain the same number.
MISTAKES: tuple[Mistake, ...] = (
    Mistake("update_sign", "update with the wrong sign (w + η·g)", _updates(UpdateSign)),
    Mistake("learning_rate_missing", "learning rate not applied (w − g)", _updates(LearningRateMissing)),
    Mistake("learning_rate_twice", "learning rate applied twice (w − η²·g)", _updates(LearningRateTwice)),
    Mistake("activation_derivative_missing", "activation's derivative left out (σ′ taken as 1)",
            _activations(ActivationDerivativeMissing)),
    Mistake("activation_instead_of_derivative", "activation used instead of its derivative (σ for σ′)",
            _activations(ActivationInsteadOfDerivative)),
    Mistake("derivative_at_output", "activation's derivative taken at the output (σ′(a) for σ′(z))",
            _activations(DerivativeAtOutput)),
    Mistake("sigmoid_prime_plus", "σ′ written as σ(1 + σ) instead of σ(1 − σ)", _sigmoids),
    Mistake("loss_half_factor", "the ½ of the loss kept or dropped inconsistently (a factor of 2)", _half),
    Mistake("fork_path_missing", "one path at a fork left out", _forks),
    Mistake("operands_swapped", "operands of − or ÷ swapped", _swaps),
    Mistake("updated_weight_used", "updated weight used where the old one belongs", _updated_weights),
    Mistake("sign_flip", "a sign lost in a local derivative", _edges(LocalSignFlip)),
    Mistake("chain_inverted", "a chain-rule factor used upside down (∂x/∂u for ∂u/∂x)", _edges(LocalInverted)),
    Mistake("wrong_value", "a wrong value substituted for a variable", _wrong_values),
)

MISTAKE_NAMES = tuple(m.name for m in MISTAKES)

#: The mistake that explains almost any number; named only when nothing specific does.
CATCH_ALL = "wrong_value"


def candidate_mutations(problem: Problem, q: Quantity, trace: Trace, base: Evaluator) -> list[Mutation]:
    """Every mutation that could have produced a wrong ``q``, in order of preference."""
    out: list[Mutation] = []
    for m in MISTAKES:
        out += list(m.candidates(problem, q, trace, base))
    return out



# --- symbolic answers -------------------------------------------------------------------------
# The same slips, applied to the derivation in symbols: the backward sweep run again with one
# local derivative (or one node's value) changed the way a student's slip changes it, the result
# written in the inputs. The checker decides whether the student's formula equals a mutated one
# and, if so, names the slip in the student's terms (the local derivative, the path, the node).

#: Mutated backward sweeps one wrong formula may cost; past it the remaining slips are not tried.
_MAX_SWEEPS = 120
#: Graphs larger than this get only the whole-result slips (sign, ½, updates), no per-edge ones.
_MAX_SWEPT_NODES = 150
#: What SymPy raises when a changed formula cannot be formed or evaluated (1/0 after a swap, say).
_REFUSED = (ValueError, TypeError, ArithmeticError, KeyError)
#: The operations whose operands students swap in symbols (− and ÷; a swapped power is not a slip one makes).
_SWAPPED = frozenset({"sub", "div"}) & NONCOMMUTATIVE


@dataclass(frozen=True)
class SymbolicSlip:
    """A slip applied to a symbolic answer: its kind, what to tell the student, the result.

    ``where`` names the local derivative or path it changed (``∂e/∂c = −1``) when the same
    kind of slip elsewhere can give the same formula; the checker then names every such place.
    """

    kind: str
    explanation: str
    expr: sp.Expr
    where: str = ""


def symbolic_slips(problem: Problem, q: Quantity) -> list[SymbolicSlip]:
    """The classic slips of a symbolic gradient or update ``q``, in order of preference.

    For a gradient: an activation's derivative left out, replaced by the activation, taken at
    the output or written σ(1+σ); the ½ of the loss kept or dropped; one path at a fork left
    out (each path at each fork separately); the operands of − or ÷ swapped; the sign of one
    local derivative lost; one local derivative used upside down (∂x/∂u for ∂u/∂x); the whole
    result with the opposite sign. For an update ``w − η·∂J/∂w``: the update's own slips
    (sign, η missing, η twice), then every slip of the gradient it uses.

    Every result is written in the inputs, like :meth:`Problem.truth_symbolic`.

    Examples
    --------
    >>> p = Problem("d = a + b; e = b - c; y = d*e")
    >>> [(s.kind, s.where, str(s.expr)) for s in symbolic_slips(p, p.resolve("dy/dc"))][:2]
    [('sign_flip', 'losing the sign of ∂e/∂c = −1', 'a + b'), ('sign_flip', 'losing the sign of ∂y/∂e = d', 'a + b')]
    """
    if q.kind == "update":
        return _update_slips(problem, q)
    if q.kind != "grad":
        return []
    truth = problem.truth_symbolic(q)
    if truth == 0:
        return []
    sweep = _Sweep.of(problem, q)
    out = sweep.activation_slips() if sweep is not None else []
    out += _half_slips(problem, q, truth)
    if sweep is not None:
        out += sweep.half_term_slips() + sweep.fork_slips(truth) + sweep.swap_slips() + sweep.sign_slips()
    out.append(SymbolicSlip("sign_flip", "your formula is the right one with the opposite sign: a sign was lost "
                                         "in a local derivative on the way", -truth))
    if sweep is not None:
        out += sweep.inverted_slips()
    return out


def _update_slips(problem: Problem, q: Quantity) -> list[SymbolicSlip]:
    """``w − η·g`` with the update's own slips, then with each slip of ``g`` (the gradient it uses)."""
    eta = problem.learning_rate
    if eta is None:
        return []
    w = sp.Symbol(q.name, real=True)
    gq = Quantity("grad", problem.output, q.name)
    g = problem.truth_symbolic(gq)
    if g == 0:
        return []
    out = [SymbolicSlip("update_sign", UpdateSign(q.name).explain(problem), w + eta * g),
           SymbolicSlip("learning_rate_missing", LearningRateMissing(q.name).explain(problem), w - g),
           SymbolicSlip("learning_rate_twice", LearningRateTwice(q.name).explain(problem), w - eta ** 2 * g)]
    grad = f"∂{problem.output}/∂{q.name}"
    for s in symbolic_slips(problem, gq):
        out.append(SymbolicSlip(s.kind, f"in the gradient {grad} your update uses: {s.explanation}",
                                w - eta * s.expr, s.where))
    return out


def _half_slips(problem: Problem, q: Quantity, truth: sp.Expr) -> list[SymbolicSlip]:
    """Twice or half the right gradient of a loss with a square (its ½ kept or dropped)."""
    if q.name != problem.output or not _half(problem, q, Trace(forwards={problem.output}), None):
        return []
    return [SymbolicSlip("loss_half_factor", f"your formula is {how} the right one: the ½ of the loss kept "
                                             "or dropped inconsistently (∂/∂u of ½u² is u; of u² it is 2u)",
                         f * truth) for how, f in (("twice", sp.Integer(2)), ("half", sp.Rational(1, 2)))]


def _show(expr) -> str:
    """An expression as a student reads it: x^2, 2·x, a − b."""
    text = expr if isinstance(expr, str) else to_text(expr)
    text = text.replace("**", "^").replace("*", "·").replace(" - ", " − ")
    return "−" + text[1:] if text.startswith("-") else text


def _term(label: str) -> str:
    """A node's label as an operand or inside ∂…/∂…: a name as it is, an expression in parentheses."""
    return label if re.fullmatch(r"[\w\[\]]+", label) else f"({_show(label)})"


def _node_label(d, nid: str) -> str:
    """A node's name, or its expression written as SymPy would simplify its structure ((p + q) − y → p + q − y)."""
    label = d.label(nid)
    if d.graph.nodes[nid]["kind"] == "op" and label != nid.split(":")[0]:
        return to_text(_rebuilt(d.graph.nodes[nid]["expr"]))
    return label


def _rebuilt(expr: sp.Expr) -> sp.Expr:
    """The expression rebuilt with SymPy's evaluation on (nested sums flattened)."""
    if not expr.args:
        return expr
    try:
        return expr.func(*[_rebuilt(a) for a in expr.args])
    except (TypeError, ValueError):
        return expr


@dataclass(frozen=True)
class _Edge:
    """One edge of the backward sweep: ``node`` is operand ``k`` of ``gate``, whose local derivative is ``local``."""

    node: str
    gate: str
    k: int
    local: sp.Expr


def _at_output(op, a: sp.Expr) -> sp.Expr | None:
    """The activation's derivative taken at its own output ``a`` (None if SymPy refuses it)."""
    try:
        return op.partials(a)[0]
    except _REFUSED:
        return None


class _Sweep:
    """The symbolic backward sweep of one gradient, ready to run again with one change."""

    def __init__(self, problem: Problem, q: Quantity, d, order: list[str], pairs: dict):
        self.p, self.q, self.d, self.g = problem, q, d, d.graph
        self.order, self.pairs = order, pairs
        self.runs = 0
        on = (nx.descendants(self.g, q.wrt) | {q.wrt}) & (nx.ancestors(self.g, d.output) | {d.output})
        # Edges the chain rule for ∂name/∂wrt crosses, from the output backwards; a named
        # result's own identity edge (local derivative 1, nothing a student writes) is left out.
        nodes = self.g.nodes
        self.edges = [_Edge(u, w, k, pairs[(w, k)][0]) for u in reversed(order) if u in on
                      for _, w, k in sorted(self.g.out_edges(u, keys=True), key=lambda e: (nodes[e[1]]["order"], e[2]))
                      if w in on and nodes[w]["kind"] == "op" and (w, k) in pairs]
        self.right = backward_sweep(self.g, order, d.output, pairs, False, True, None).symbolic
        self.truth = problem.truth_symbolic(q)

    @classmethod
    def of(cls, problem: Problem, q: Quantity) -> _Sweep | None:
        d = problem.derivation_of(q.name)
        if q.wrt not in d.graph or d.graph.number_of_nodes() > _MAX_SWEPT_NODES:
            return None
        order = topological_order(d.graph)
        return cls(problem, q, d, order, local_partials(d.graph, order, d.output, None, True))

    def label(self, nid: str) -> str:
        """The node as an operand or inside ∂…/∂…."""
        return _term(_node_label(self.d, nid))

    def prose(self, nid: str) -> str:
        """The node in a sentence."""
        return _show(_node_label(self.d, nid))

    def factor(self, e: _Edge) -> tuple[str, str, sp.Expr]:
        """The chain-rule factor edge ``e`` is, as the student writes it: (top, bottom, ∂top/∂bottom).

        A statement's own local derivative (∂z1/∂w1 = x for z1 = w1*x + b1) when the edge's node
        is a name used once in the statement and every other factor on the way to its result is
        ±1 (then changing the edge's sign, or turning it upside down, does the same to ∂z1/∂w1);
        otherwise the operation's (∂(w1·x)/∂w1)."""
        s = e.gate.split(":")[0]
        g = self.g
        if ":" in e.gate and s in g and g.nodes[s]["kind"] == "name" and g.nodes[e.node]["kind"] in ("input", "name") \
                and sum(w.split(":")[0] == s and ":" in w for _, w in g.out_edges(e.node)) == 1:
            cur = e.gate
            while True:
                outs = list(g.out_edges(cur, keys=True))
                if len(outs) != 1:
                    break
                _, w, k = outs[0]
                if w == s:
                    return s, e.node, self.p.local_symbolic(s, e.node)
                local = self.pairs.get((w, k), (None, None))[0]
                if local is None or not (local.is_number and abs(local) == 1):
                    break
                cur = w
        return self.label(e.gate), self.label(e.node), e.local

    def local_text(self, e: _Edge) -> str:
        """``∂top/∂bottom = its local derivative`` in the program's names (see :meth:`factor`)."""
        top, bottom, local = self.factor(e)
        return f"∂{top}/∂{bottom} = {_show(in_names(self.p, local))}"

    def run(self, changed: Mapping[tuple[str, int], sp.Expr],
            expansion: Mapping[sp.Symbol, sp.Expr] | None = None) -> sp.Expr | None:
        """∂name/∂wrt in the inputs with the local derivatives ``changed`` (None past the budget)."""
        if self.runs >= _MAX_SWEEPS:
            return None
        self.runs += 1
        pairs = {**self.pairs, **{e: (v, None) for e, v in changed.items()}}
        form = backward_sweep(self.g, self.order, self.d.output, pairs, False, True, None).symbolic.get(self.q.wrt)
        if form is None:
            return None
        return form.xreplace(expansion if expansion is not None else self.p.expansion()).doit()

    def _slips(self, kind: str, cases) -> list[SymbolicSlip]:
        out = []
        for changed, why, where, *rest in cases:
            try:
                form = self.run(changed, *rest)
            except _REFUSED:  # SymPy refusing the changed formula: this slip cannot be told here
                continue
            if form is not None and form != self.truth:  # a change that makes no difference here
                out.append(SymbolicSlip(kind, why, form, where))
        return out

    # --- the slips ---------------------------------------------------------------------
    def activation_slips(self) -> list[SymbolicSlip]:
        """One activation's local derivative replaced (by 1, by the activation, σ′ at the output, σ(1+σ))."""
        out: list[SymbolicSlip] = []
        for e in self.edges:
            op = OPS[self.g.nodes[e.gate]["op"]]
            if op.name not in ACTIVATIONS:
                continue
            a = self.g.nodes[e.gate]["expr"]
            z, name = self.label(e.node), self.label(e.gate)
            replaced = [("activation_derivative_missing", sp.Integer(1),
                         f"the derivative of {op.symbol} left out: ∂{name}/∂{z} taken as 1"),
                        ("activation_instead_of_derivative", a,
                         f"{op.symbol}({z}) used instead of its derivative for ∂{name}/∂{z}"),
                        ("derivative_at_output", _at_output(op, a),
                         f"{op.symbol}′ taken at the output {name} instead of at {z}")]
            replaced = [r for r in replaced if r[1] is not None]
            if op.name == "sigmoid":
                replaced.append(("sigmoid_prime_plus", a * (1 + a), f"σ′ written as σ(1 + σ) for ∂{name}/∂{z}"))
            for kind, local, why in replaced:
                out += self._slips(kind, [({(e.gate, e.k): local}, why, "")])
        return out

    def half_term_slips(self) -> list[SymbolicSlip]:
        """A loss with several squared terms (½(z2 − y)² + ½(z3 − t)²): the ½ kept or dropped in one
        of them only, each term in turn (in all of them at once is the whole-result slip)."""
        squares = [e for e in self.edges if e.k == 0 and e.gate.split(":")[0] == self.p.output
                   and self.g.nodes[e.gate]["op"] == "pow" and self._exponent(e.gate) == 2]
        if len(squares) < 2:
            return []
        cases = []
        for e in squares:
            for how, f in (("twice", sp.Integer(2)), ("half", sp.Rational(1, 2))):
                cases.append(({(e.gate, e.k): f * e.local},
                              f"the ½ of the term ({self.prose(e.node)})² in {self.p.output} kept or dropped "
                              f"inconsistently: your formula has {how} its part (∂/∂u of ½u² is u; of u² it is 2u)",
                              ""))
        return self._slips("loss_half_factor", cases)

    def _exponent(self, gate: str) -> sp.Expr | None:
        ops = operands(self.g, gate)
        return self.g.nodes[ops[1]]["expr"] if len(ops) == 2 and self.g.nodes[ops[1]]["kind"] == "const" else None

    def fork_slips(self, truth: sp.Expr) -> list[SymbolicSlip]:
        """At every fork on the way (a node feeding several operations), each path left out in turn."""
        out: list[SymbolicSlip] = []
        by_node: dict[str, list[_Edge]] = {}
        for e in self.edges:
            by_node.setdefault(e.node, []).append(e)
        for n, uses in by_node.items():
            if len(uses) < 2:
                continue
            gates = {id(e): self._path_name(e, uses) for e in uses}
            feeds = _and(list(dict.fromkeys(self.prose(gates[id(o)]) for o in uses)))
            for e in uses:
                others = _and(list(dict.fromkeys(self.prose(gates[id(o)]) for o in uses if o is not e)))
                via = self.label(gates[id(e)])
                term = _show(in_names(self.p, sp.factor_terms(self.right[e.gate] * e.local)))
                out_name, node = self.label(self.d.output), self.label(n)
                add = f"add ∂{out_name}/∂{via}·∂{via}/∂{node} = {term}"
                why = (f"you followed only the path through {others}; {self.prose(n)} also feeds "
                       f"{self.prose(gates[id(e)])}: {add}" if n == self.q.wrt else
                       f"one path at the fork at {self.prose(n)} left out: {self.prose(n)} feeds {feeds}, and "
                       f"you followed only the path through {others}; to ∂{out_name}/∂{node} {add}")
                out += self._slips("fork_path_missing", [({(e.gate, e.k): sp.Integer(0)}, why, "")])
        return out

    def _path_name(self, e: _Edge, uses: list[_Edge]) -> str:
        """The node a path at a fork goes through, as the student names it: the statement holding the
        operation (z2 for the product w2·a1 inside z2 = w2*a1 + b2) when the fork's node is used once
        there (then ∂J/∂z2·∂z2/∂a1 is the same term), else the operation itself."""
        statement = e.gate.split(":")[0]
        if ":" in e.gate and statement in self.g and self.g.nodes[statement]["kind"] == "name" and \
                sum(o.gate.split(":")[0] == statement for o in uses) == 1:
            return statement
        return e.gate

    def swap_slips(self) -> list[SymbolicSlip]:
        """The operands of one − or ÷ swapped: the node's value (as its users see it) written backwards."""
        out: list[SymbolicSlip] = []
        for n in self.order:
            data = self.g.nodes[n]
            if data["kind"] != "op" or data["op"] not in _SWAPPED:
                continue
            ops = operands(self.g, n)
            if len(ops) != 2:
                continue
            left, right = (self.g.nodes[u]["expr"] for u in ops)
            try:
                changed, expansion = self._with_value(n, OPS[data["op"]].forward(right, left))
            except _REFUSED:
                continue
            if not changed and expansion is None:
                continue
            sym = OPS[data["op"]].symbol
            a, b = (self.label(u) for u in ops)
            why = f"operands swapped: {b} {sym} {a} instead of {a} {sym} {b}"
            out += self._slips("operands_swapped", [(changed, why, "", expansion)])
        return out

    def _with_value(self, n: str, value: sp.Expr):
        """The local derivatives (and, past a named result, the expansion) with node ``n``'s value replaced."""
        new = {n: value}
        changed: dict[tuple[str, int], sp.Expr] = {}
        named: str | None = None
        for w in self.order[self.order.index(n) + 1:]:
            ops = operands(self.g, w)
            if not any(u in new for u in ops):
                continue
            data = self.g.nodes[w]
            if data["kind"] == "name":
                named = w
                continue
            args = [new.get(u, self.g.nodes[u]["expr"]) for u in ops]
            new[w] = OPS[data["op"]].forward(*args)
            for k, part in enumerate(OPS[data["op"]].partials(*args)):
                if (w, k) in self.pairs:
                    changed[(w, k)] = sp.factor_terms(part)
        if named is None:
            return changed, None
        result = new[operands(self.g, named)[0]]
        expansion = dict(self.p.expansion())
        for s in self.p.assigned:  # the swapped statement's value, and every later one built on it
            sym = sp.Symbol(s, real=True)
            expr = result if s == named else self.p.program.statement(s).expr
            expansion[sym] = expr.xreplace(expansion)
        return changed, expansion

    def sign_slips(self) -> list[SymbolicSlip]:
        """The sign of one local derivative lost (a minus sign first: where signs are usually lost)."""
        # Where a sign is usually lost first: a local derivative with a minus of its own (∂(b − c)/∂c),
        # then one between named values (∂q/∂h = w3), then one inside an expression.
        def negative(e) -> bool:
            return sp.sympify(e.local, strict=True).could_extract_minus_sign()  # safe: strict refuses strings

        edges = sorted((e for e in self.edges if e.local != 0),
                       key=lambda e: (not negative(e),
                                      _term(_node_label(self.d, e.gate)).startswith("(")))
        return self._slips("sign_flip", [
            ({(e.gate, e.k): -e.local}, f"the sign of {self.local_text(e)} was lost (you used "
                                        f"{_show(in_names(self.p, -self.factor(e)[2]))})",
             f"losing the sign of {self.local_text(e)}") for e in edges])

    def inverted_slips(self) -> list[SymbolicSlip]:
        """One chain-rule factor upside down: ∂x/∂u = 1/(∂u/∂x) used for ∂u/∂x."""
        cases = []
        for e in self.edges:
            if e.local.is_number:  # a constant factor upside down (2 for ½) is the ½ slip, or noise
                continue
            top, bottom, local = self.factor(e)
            cases.append(({(e.gate, e.k): 1 / e.local},
                          f"a chain-rule factor upside down: ∂{bottom}/∂{top} = "
                          f"{_show(in_names(self.p, 1 / local))} used instead of {self.local_text(e)} "
                          f"(the chain rule multiplies by ∂{top}/∂{bottom})",
                          f"turning {self.local_text(e)} upside down"))
        return self._slips("chain_inverted", cases)


def simple_point(exprs: list[sp.Expr], symbols: list[sp.Symbol]) -> dict[str, float] | None:
    """A point with small whole numbers (1, 2, then 0 and -1) where the expressions are all
    defined and differ pairwise from the first: a counterexample a student can check by hand."""
    import itertools

    from .compare import value_at  # each distinct part evaluated once (a written-out chain shares them)
    # The first few hundred points in order (1s first): bounded work for any number of inputs.
    for values in itertools.islice(itertools.product((1, 2, 0, -1, 3), repeat=len(symbols)), 400):
        at = dict(zip(symbols, (sp.Integer(v) for v in values)))
        found = [value_at(e, at, 15) for e in exprs]
        if any(n is None for n in found):
            continue
        nums = [n for n in found if n is not None]
        if all(abs(n.imag) < 1e-12 for n in nums) and \
                all(abs(n - nums[0]) > 1e-9 * max(1.0, abs(nums[0])) for n in nums[1:]):
            return {str(k): float(v) for k, v in at.items()}
    return None
