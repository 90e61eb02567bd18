"""Symbolic reverse-mode chain rule over the computational graph, as typed steps.

:func:`derive` is a composition of pure stages that each return data, in the style of
autodidact's ``backward_pass``: checked inputs (:mod:`backproof.inputs`) → the forward
values → the local partials → the backward sweep, in reverse topological order, where each
node's gradient is the sum, over its consumers, of the consumer's gradient times the local
partial from the op table → expanded and simplified forms → the typed steps. The cost is
linear in the size of the graph: the whole expanded output is never differentiated once
per input (that N × P cost is what backpropagation avoids). Expanded forms in the inputs
are produced only up to :data:`EXPAND_LIMIT` nodes; forms in node names up to
:data:`SYMBOLIC_LIMIT`. The proof against ``sympy.diff`` is an oracle of the layer above
(:func:`backproof.verify.prove`); :func:`backproof.explain` runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import sympy as sp

from . import limits as _limits
from .errors import EvaluationError
from .graph import alias_source, build_graph, is_unit, node_label, topological_order, unit_of
from .inputs import check_point, coerce_at, coerce_program, coerce_wrt
from .ops import OPS
from .printing import brief_pairs, format_number, to_text
from .program import Program
from .steps import Step, StepKind
from .timeout import BudgetExceeded, budget, isolation_available, paused_gc, run_limited

__all__ = ["Derivation", "derive", "SYMBOLIC_LIMIT", "EXPAND_LIMIT", "evaluate_number", "paused_gc", "fold",
           "expression_size", "largest_symbolic", "SYMBOLIC_SIZE_LIMIT", "EXPAND_SIZE_LIMIT"]

#: Largest graph (nodes) for which gradients are also written in node names.
SYMBOLIC_LIMIT = 600
#: Largest graph (nodes) for which gradients are written out in the inputs, simplified
#: and proved against ``sympy.diff`` (expanding is itself the N × P cost).
EXPAND_LIMIT = 150
#: Expressions with more operations than this are not passed to ``sympy.simplify``.
SIMPLIFY_OPS_LIMIT = 80
#: Wall-clock budget for one ``sympy.cancel`` or ``sympy.simplify`` call (run in a worker process).
SIMPLIFY_SECONDS = 0.5
#: Wall-clock budget for all simplification in one derivation.
SIMPLIFY_TOTAL_SECONDS = 3.0
#: Largest gradient, or output, written out in the inputs (nodes of its expression tree,
#: :func:`expression_size`) for which expanded forms are made and proved: node count alone let
#: a 64-node program's expansion grow exponentially (issue 13).
EXPAND_SIZE_LIMIT = 2000
#: Largest gradient in node names (nodes of its expression tree) that is written: each is a
#: sum over the consumers of products with their gradients, so on a graph where every value
#: feeds the next two the tree doubles every few nodes (issue 13).
SYMBOLIC_SIZE_LIMIT = 20_000

_Pair = tuple[Any, Any]  # (symbolic local partial or None, its value or None)


def expression_size(expr: sp.Basic, leaves: Mapping[sp.Basic, int] | None = None) -> int:
    """Nodes of ``expr`` written out as a tree: what ``count_ops``, ``doit``, ``diff`` and
    evaluation at a point traverse, with each key of ``leaves`` counting as the given size
    (the size of what a name stands for).

    SymPy shares equal subexpressions, so a tree can be exponentially larger than the
    objects holding it; the size is summed over the distinct subexpressions (:func:`fold`),
    in time linear in those, without building the tree.

    Examples
    --------
    >>> x = sp.Symbol("x")
    >>> expression_size(sp.sin(x) + x), expression_size(x, {x: 7})
    (4, 7)
    """
    return fold(expr, lambda e, sizes: 1 + sum(sizes), leaves)


def fold(expr: sp.Basic, combine: Callable[[sp.Basic, list], Any], known: Mapping | None = None) -> Any:
    """``combine(e, results of e.args)`` for every distinct subexpression ``e`` of ``expr``,
    bottom up, each once (memoised; iterative, so depth is no limit); ``known`` gives results
    that are not computed (leaves, or names standing for something).

    A written-out expression shares its subexpressions, so a walk of its tree (``sp.N``,
    ``sp.cse``, ``count_ops``) can be exponential where this one is linear.

    Examples
    --------
    >>> x = sp.Symbol("x")
    >>> fold(sp.sin(x) + x**2, lambda e, rs: 1 + max(rs, default=0))   # depth
    3
    """
    done: dict = dict(known or {})
    stack = [expr]
    while stack:
        e = stack[-1]
        if e in done:
            stack.pop()
            continue
        todo = [a for a in e.args if a not in done]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        done[e] = combine(e, [done[a] for a in e.args])
    return done[expr]


def _exact_bits(v: sp.Expr) -> int:
    """Bits of an exact rational (numerator and denominator); 0 for decimals."""
    return int(v.p.bit_length() + v.q.bit_length()) if v.is_Rational else 0


def _result_bits(opname: str, args: list[sp.Expr]) -> float:
    """Upper bound of the bits of an exact result, from the operands' bits alone.

    Sums, products and quotients add their operands' sizes; an exact power multiplies the
    base's size by the exponent. Other operations give 30-digit decimals.
    """
    if opname == "pow":
        base, exponent = args
        if base.is_Rational and exponent.is_Rational:
            return _exact_bits(base) * abs(float(exponent)) + _exact_bits(exponent)
        return 0.0
    if opname in ("add", "sub", "mul", "div", "neg", "identity", "max", "min", "abs", "relu"):
        return float(sum(_exact_bits(a) for a in args) + 1)
    return 0.0


def _decimal(v: sp.Expr) -> sp.Expr:
    return sp.Float(v, 30) if v.is_Rational else v


#: Binary precision of a 30-digit SymPy Float.
_PREC_30 = sp.Float("1", 30)._prec


def evaluate_number(expr: sp.Expr) -> sp.Expr | None:
    """Exact rationals stay exact; anything else becomes a 30-digit Float.

    Returns ``None`` when the value is not a finite real number.

    Examples
    --------
    >>> evaluate_number(sp.Rational(1, 2) + 1)
    3/2
    >>> evaluate_number(sp.log(sp.Integer(0))) is None
    True
    """
    if expr.is_Rational:
        return expr
    if expr.is_Float and getattr(expr, "_prec", None) == _PREC_30:
        # Already a 30-digit number (the sweep's products and sums): sp.N would return it
        # unchanged, through the whole evalf machinery (a sixth of derive, issue 13).
        v = expr
    elif expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    else:
        v = sp.N(expr, 30)
    if not v.is_Number or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or not v.is_real:
        return None
    # Compare the size first: int() of a Float such as exp(10**12) would allocate its digits.
    if v.is_Float and abs(v) < 10**15 and v == int(v):
        return sp.Integer(int(v))
    return v


@dataclass(frozen=True, repr=False)
class Derivation:
    """Everything :func:`derive` found: values, gradients, symbolic forms and steps.

    Dictionaries are keyed by node id; inputs and named results have their names as
    ids. Use :meth:`named_values`, :meth:`named_gradients` and :meth:`named_symbolic`
    for the user-facing, name-keyed views. Write-ups and diagrams are made by the
    presentation layer (:mod:`backproof.report`, :mod:`backproof.render`); the record
    that also holds the proof and the cross-check is :class:`backproof.api.Explanation`.
    """

    program: Program
    graph: nx.MultiDiGraph
    output: str
    at: Mapping[str, sp.Expr] | None
    wrt: tuple[str, ...]
    values: Mapping[str, sp.Expr]
    gradients: Mapping[str, sp.Expr]
    symbolic: Mapping[str, sp.Expr]
    in_inputs: Mapping[str, sp.Expr]
    simplified: Mapping[str, sp.Expr]
    steps: tuple[Step, ...]
    units: tuple[str, ...]
    limits: tuple[str, ...] = ()
    #: Whether gradients were written out in the inputs (then they can be proved).
    expanded: bool = False

    def label(self, nid: str) -> str:
        """The name people see for node ``nid``."""
        return node_label(self.graph, nid)

    @property
    def names(self) -> tuple[str, ...]:
        """Inputs then intermediates (names only), in program order."""
        return _names(self.program, self.graph)

    def named_values(self) -> dict[str, sp.Expr]:
        """Name -> value (empty when no point was given)."""
        return {n: self.values[n] for n in self.names if n in self.values}

    def named_gradients(self) -> dict[str, sp.Expr]:
        """Name -> ∂output/∂name as a number, for the names asked for."""
        return {n: self.gradients[n] for n in self.wrt if n in self.gradients}

    def named_symbolic(self) -> dict[str, sp.Expr]:
        """Name -> ∂output/∂name in node names (empty beyond :data:`SYMBOLIC_LIMIT`)."""
        return {n: self.symbolic[n] for n in self.wrt if n in self.symbolic}

    def __repr__(self) -> str:
        """One line (a notebook echoes it; the fields would be kilobytes): output, point, gradients.

        Examples
        --------
        >>> derive("d = a + b; y = d*d", at={"a": 1, "b": 2}, verify=False)
        <Derivation of y at a=1, b=2: 15 steps; gradients a=6, b=6, d=6>
        """
        where = f" at {brief_pairs(self.at.items(), shown=3, width=40)}" if self.at is not None else ""
        if self.at is not None:
            grads = "gradients " + brief_pairs(self.named_gradients().items())
        else:
            shown = ", ".join(self.wrt[:6]) + (", …" if len(self.wrt) > 6 else "")
            grads = f"symbolic gradients of {shown}" if shown else "no gradients"
        return f"<Derivation of {self.output}{where}: {len(self.steps)} steps; {grads}>"


def _names(prog: Program, g: nx.MultiDiGraph) -> tuple[str, ...]:
    inputs = [n for n in prog.inputs if n in g]
    named = [s.name for s in prog.statements if s.name in g]
    return tuple(inputs + named)


# --- stages ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Scope:
    """What a derivation of this size writes: forms in node names, expanded forms."""

    symbolic: bool
    expand: bool
    limits: tuple[str, ...]


def _scope(nnodes: int, symbolic: bool, expand: bool | None, verify: bool) -> _Scope:
    limits: list[str] = []
    do_sym = symbolic and nnodes <= SYMBOLIC_LIMIT
    if symbolic and not do_sym:
        limits.append(f"gradients in node names skipped: the graph has {nnodes} nodes "
                      f"(more than {SYMBOLIC_LIMIT})")
    do_expand = do_sym and (expand if expand is not None else nnodes <= EXPAND_LIMIT)
    if do_sym and not do_expand:
        limits.append(f"expanded forms and the proof against sympy.diff skipped: the graph has "
                      f"{nnodes} nodes (more than {EXPAND_LIMIT})" if expand is None else
                      "expanded forms and the proof against sympy.diff skipped on request")
    if not verify and do_expand:
        limits.append("the proof against sympy.diff was skipped on request (--no-verify)")
    return _Scope(do_sym, do_expand, tuple(limits))


def largest_symbolic(gsym: Mapping[str, sp.Expr]) -> int:
    """The size (:func:`expression_size`) of the largest gradient in node names, shared
    subexpressions counted once per use: what printing it, or evaluating it, traverses."""
    known: dict[sp.Basic, int] = {}
    biggest = 0
    for e in gsym.values():
        known[e] = expression_size(e, known) if e not in known else known[e]
        biggest = max(biggest, known[e])
    return biggest


def _size_gate(scope: _Scope, prog: Program, gsym: Mapping[str, sp.Expr], wrt: tuple[str, ...]) -> _Scope:
    """``scope`` without the forms too large to write: the gradients in node names when one
    is larger than :data:`SYMBOLIC_SIZE_LIMIT`, the expanded forms when the output or a
    reported gradient, written out in the inputs, is larger than :data:`EXPAND_SIZE_LIMIT`
    (both measured without writing anything out)."""
    if scope.symbolic and (size := largest_symbolic(gsym)) > SYMBOLIC_SIZE_LIMIT:
        note = (f"gradients in node names skipped: written out, one has {size:,} operations "
                f"(more than {SYMBOLIC_SIZE_LIMIT:,})")
        kept = tuple(t for t in scope.limits if "sympy.diff" not in t)
        return _Scope(False, False, kept + (note,))
    if not scope.expand:
        return scope
    leaves: dict[sp.Basic, int] = {}
    for st in prog.statements:  # each name counts as the size of what it stands for
        leaves[sp.Symbol(st.name, real=True)] = expression_size(st.expr, leaves)
    out = leaves.get(sp.Symbol(prog.output, real=True), 1)
    biggest = max([expression_size(gsym[n], leaves) for n in wrt if n in gsym] + [out])
    if biggest <= EXPAND_SIZE_LIMIT:
        return scope
    note = (f"expanded forms and the proof against sympy.diff skipped: written out in the inputs, "
            f"{'the output' if biggest == out else 'a gradient'} has {biggest:,} operations "
            f"(more than {EXPAND_SIZE_LIMIT:,})")
    kept = tuple(t for t in scope.limits if "skipped on request (--no-verify)" not in t)
    return _Scope(scope.symbolic, False, kept + (note,))


def operands(g: nx.MultiDiGraph, n: str) -> list[str]:
    """The operands of node ``n``, in argument order."""
    # build_graph records them; sorting the in-edges on every call was a quarter of derive's
    # time on a network, and a sum's partials asked for them once per operand (issue 13).
    args = g.nodes[n].get("args")
    if args is not None:
        return list(args)
    pairs = [(k, u) for u, keys in g.pred[n].items() for k in keys]
    pairs.sort()
    return [u for _, u in pairs]


def _consumers(g: nx.MultiDiGraph, n: str) -> list[tuple[str, str, int]]:
    """The out-edges of ``n`` in program order (then argument position)."""
    nodes = g.nodes
    edges = [(n, w, k) for w, keys in g.succ[n].items() for k in keys]
    edges.sort(key=lambda e: (nodes[e[1]]["order"], e[2]))
    return edges


def _describe_args(g: nx.MultiDiGraph, ids: list[str], vals: list[sp.Expr]) -> str:
    parts = [f"{node_label(g, u)} = {format_number(v)}" for u, v in zip(ids, vals)
             if g.nodes[u]["kind"] != "const"]
    return ", ".join(parts) if parts else "these constants"


def _decimal_note(max_bits: int, where: str) -> str:
    return (f"exact values past {max_bits:,} bits (limit exact_bits) are computed as "
            f"30-digit decimals, from {where} on")


@dataclass(frozen=True)
class _Forward:
    values: dict[str, sp.Expr]
    decimal_nodes: frozenset[str]  # computed in decimals: their partials are too
    note: str | None


def _op_value(g: nx.MultiDiGraph, n: str, args: list[sp.Expr]) -> sp.Expr:
    data = g.nodes[n]
    op = OPS[data["op"]]

    def where() -> str:  # written only when needed: printing every node's expression was 10 % of explain
        shown = _describe_args(g, operands(g, n), args)
        return f"cannot compute {node_label(g, n)} = {to_text(data['expr'])} at {shown}"
    try:
        v = evaluate_number(op.forward(*args))
    except (ValueError, TypeError, ArithmeticError) as exc:  # SymPy refusing a value
        raise EvaluationError(f"{where()}: {str(exc)[:80]}", node=n) from None
    if v is None:
        raise EvaluationError(f"{where()}: {op.undefined or 'the value is not a finite real number'}", node=n)
    return v


def forward_values(g: nx.MultiDiGraph, order: list[str], at: Mapping[str, sp.Expr] | None) -> _Forward:
    """Every node's value at ``at`` (nothing without a point), exact while small enough."""
    values: dict[str, sp.Expr] = {}
    decimal_nodes: set[str] = set()
    note = None
    if at is None:
        return _Forward(values, frozenset(), None)
    max_bits = int(_limits.value("exact_bits"))
    for n in order:
        data = g.nodes[n]
        if data["kind"] == "input":
            values[n] = at[n]
        elif data["kind"] == "const":
            values[n] = evaluate_number(data["expr"])
        else:
            args = [values[u] for u in operands(g, n)]
            if _result_bits(data["op"], args) > max_bits:
                # Checked before computing: x0**(2**14) at x0 = 1.0001 is 200,000 digits.
                args = [_decimal(a) for a in args]
                decimal_nodes.add(n)
                note = note or _decimal_note(max_bits, node_label(g, n))
            values[n] = _op_value(g, n, args)
    return _Forward(values, frozenset(decimal_nodes), note)


def _symbolic_partials(g: nx.MultiDiGraph, w: str) -> tuple[sp.Expr, ...]:
    try:
        parts = OPS[g.nodes[w]["op"]].partials(*[g.nodes[u]["expr"] for u in operands(g, w)])
    except (ValueError, TypeError, ArithmeticError) as exc:  # SymPy refusing an operand
        raise EvaluationError(f"the local derivatives of {node_label(g, w)} = "
                              f"{to_text(g.nodes[w]['expr'])} cannot be formed: {str(exc)[:80]}",
                              node=w) from None
    # SymPy distributes numbers over sums (2*(a - y) -> 2*a - 2*y); factor_terms gives the
    # form a student writes back, cheaply.
    return tuple(sp.factor_terms(p) for p in parts)


def _value_partial(g: nx.MultiDiGraph, w: str, k: int, fwd: _Forward,
                   cache: dict[str, tuple[sp.Expr, ...]]) -> sp.Expr:
    op = OPS[g.nodes[w]["op"]]
    args = [fwd.values[u] for u in operands(g, w)]
    if w in fwd.decimal_nodes:
        args = [_decimal(a) for a in args]
    try:
        if w not in cache:
            cache[w] = op.partials(*args)
        v = evaluate_number(cache[w][k])
    except (ValueError, TypeError, ArithmeticError):  # SymPy refusing a value: undefined here
        v = None
    if v is None:
        raise EvaluationError(
            f"the local derivative ∂{node_label(g, w)}/∂{node_label(g, operands(g, w)[k])} "
            f"({op.rule}) is undefined at {_describe_args(g, operands(g, w), args)}", node=w)
    return v


def local_partials(g: nx.MultiDiGraph, order: list[str], out: str, fwd: _Forward | None,
                   symbolic: bool) -> dict[tuple[str, int], _Pair]:
    """(∂w/∂operand k in node names, its value) for every edge the backward sweep crosses.

    All partials of a consumer come from one call, made once (not once per edge): a sum
    with n operands would otherwise cost n² work. Edges are visited in the sweep's order,
    so the first undefined partial reported is the one the sweep meets first.
    """
    sym: dict[str, tuple[sp.Expr, ...]] = {}
    val: dict[str, tuple[sp.Expr, ...]] = {}
    pairs: dict[tuple[str, int], _Pair] = {}
    for n in reversed(order):
        if n == out or g.nodes[n]["kind"] == "const":
            continue
        for _, w, k in _consumers(g, n):
            if symbolic and w not in sym:
                sym[w] = _symbolic_partials(g, w)
            ls = sym[w][k] if symbolic else None
            lv = _value_partial(g, w, k, fwd, val) if fwd is not None else None
            pairs[(w, k)] = (ls, lv)
    return pairs


@dataclass(frozen=True)
class _Backward:
    gradients: dict[str, sp.Expr]
    symbolic: dict[str, sp.Expr]
    note: str | None


def _value_sum(g: nx.MultiDiGraph, n: str, terms: list[tuple[sp.Expr, sp.Expr]],
               max_bits: int) -> tuple[sp.Expr, bool]:
    """Σ ∂out/∂w · ∂w/∂n, exact until it would grow past ``max_bits`` (then decimal)."""
    total: sp.Expr = sp.Integer(0)
    went_decimal = False
    for gw, lv in terms:
        if _exact_bits(gw) + _exact_bits(lv) + _exact_bits(total) > max_bits:
            gw, lv, total = _decimal(gw), _decimal(lv), _decimal(total)
            went_decimal = True
        total = total + gw * lv
    v = evaluate_number(total) if not total.is_Rational else total
    if v is None:
        raise EvaluationError(f"the gradient of {node_label(g, n)} is not a finite real number here", node=n)
    return v, went_decimal


def backward_sweep(g: nx.MultiDiGraph, order: list[str], out: str, pairs: dict[tuple[str, int], _Pair],
                   has_values: bool, symbolic: bool, note: str | None) -> _Backward:
    """∂out/∂n for every node, in numbers (with a point) and in node names (``symbolic``)."""
    max_bits = int(_limits.value("exact_bits"))
    grads: dict[str, sp.Expr] = {out: sp.Integer(1)}
    gsym: dict[str, sp.Expr] = {out: sp.Integer(1)}
    for n in reversed(order):
        if n == out or g.nodes[n]["kind"] == "const":
            continue
        edges = [(w, pairs[(w, k)]) for _, w, k in _consumers(g, n)]
        if has_values:
            grads[n], went = _value_sum(g, n, [(grads[w], lv) for w, (_, lv) in edges], max_bits)
            if went and note is None:
                note = _decimal_note(max_bits, f"∂/∂{node_label(g, n)}")
        if symbolic:
            total: sp.Expr = sp.Integer(0)
            for w, (ls, _) in edges:
                total = total + gsym[w] * ls
            gsym[n] = total
    # The seed stays in both maps (∂out/∂out = 1), with or without a point.
    return _Backward(grads, gsym, note)


def _simplify(expr: sp.Expr, seconds: float = SIMPLIFY_SECONDS) -> sp.Expr:
    """A simpler equal form: ``cancel``, then ``simplify``, each in a worker process within
    ``seconds`` and the current budget (see :mod:`backproof.timeout`); past them, or where
    no worker can run, the form we have is kept."""
    if sp.count_ops(expr) > SIMPLIFY_OPS_LIMIT or not isolation_available():
        return expr
    best = expr
    for attempt in (sp.cancel, sp.simplify):
        try:
            s = run_limited(attempt, best, seconds=seconds)
        except (BudgetExceeded, Exception):
            continue
        # A Piecewise (simplify's answer for |x|/x) has no spelling in the language: keep the form we have.
        if sp.count_ops(s) <= sp.count_ops(best) and not s.has(sp.Piecewise):
            best = s
    return best


@dataclass(frozen=True)
class _Expanded:
    expansion: dict[sp.Symbol, sp.Expr]
    in_inputs: dict[str, sp.Expr]
    simplified: dict[str, sp.Expr]


def expand_forms(prog: Program, g: nx.MultiDiGraph, order: list[str], gsym: Mapping[str, sp.Expr],
                 wrt: tuple[str, ...]) -> _Expanded:
    """Gradients written out in the inputs, and simplified for the names reported.

    ``simplify`` is the expensive part: only for the gradients that are reported, and
    within one budget for the whole derivation (then the unsimplified form is shown).
    """
    expansion = {sp.Symbol(name, real=True): e for name, e in prog.expanded().items()}
    in_inputs = {n: gsym[n].xreplace(expansion).doit() for n in order
                 if n in gsym and g.nodes[n]["kind"] != "const"}
    simplified: dict[str, sp.Expr] = {}
    with budget(SIMPLIFY_TOTAL_SECONDS) as total:
        for n in wrt:
            if n in in_inputs:
                simplified[n] = _simplify(in_inputs[n]) if total.remaining() > 0.05 else in_inputs[n]
    return _Expanded(expansion, in_inputs, simplified)


# --- step assembly -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Parts:
    """What the stages found; the steps are assembled from it."""

    g: nx.MultiDiGraph
    order: list[str]
    out: str
    wrt: tuple[str, ...]
    values: Mapping[str, sp.Expr]
    has_values: bool
    symbolic: bool
    pairs: dict[tuple[str, int], _Pair]
    back: _Backward
    expanded: _Expanded | None
    constant: frozenset[str] = frozenset()


def constant_nodes(g: nx.MultiDiGraph, order: list[str]) -> frozenset[str]:
    """Nodes whose value depends on no input: constants and operations of constants (``1/2``).

    A write-up never differentiates them: ``∂J/∂(1/2)`` teaches nothing.
    """
    const: set[str] = set()
    for n in order:
        kind = g.nodes[n]["kind"]
        if kind == "const" or (kind != "input" and g.in_degree(n) and all(u in const for u in operands(g, n))):
            const.add(n)
    return frozenset(const)


def _forward_steps(p: _Parts, units: tuple[str, ...]) -> list[dict[str, Any]]:
    g, rows = p.g, []
    for n in units:
        data = g.nodes[n]
        if data["kind"] in ("input", "const") or n in p.constant:
            continue  # a constant (1/2) is a number, not a step
        ops_ = operands(g, n)
        # A name that merely renames another value (`z = y`) is shown as that value.
        shown = g.nodes[ops_[0]]["expr"] if data["kind"] == "name" else data["expr"]
        rows.append(dict(kind=StepKind.FORWARD, target=n, nodes=tuple([n] + ops_), rule=data["op"],
                         symbolic=shown,
                         inputs_form=shown.xreplace(p.expanded.expansion).doit() if p.expanded else None,
                         value=p.values.get(n),
                         factors=tuple(p.values[u] for u in ops_) if p.values else ()))
    return rows


def _kink_note(p: _Parts, w: str) -> str:
    op = OPS[p.g.nodes[w]["op"]]
    if not p.has_values or op.nondiff is None:
        return ""
    args = [float(p.values[u]) for u in operands(p.g, w)]
    return f"not differentiable here; the convention used is {op.convention_at(len(args))}" \
        if op.nondiff(*args) else ""


def _backward_steps(p: _Parts, n: str) -> list[dict[str, Any]]:
    """The local, chain and (at a fork) sum steps of unit ``n``'s gradient."""
    g, grads, gsym = p.g, p.back.gradients, p.back.symbolic
    src = alias_source(g, n)
    rows: list[dict[str, Any]] = []
    contribs = []
    for _, w, k in _consumers(g, src):
        ls, lv = p.pairs.get((w, k), (None, None))
        wu = unit_of(g, w)
        constant = tuple(u in p.constant for u in operands(g, w))
        rows.append(dict(kind=StepKind.LOCAL, target=n, via=wu, pos=k, nodes=(n, wu),
                         rule=OPS[g.nodes[w]["op"]].rule_at(k, constant), symbolic=ls, value=lv, note=_kink_note(p, w)))
        cv = grads[w] * lv if p.has_values else None
        rows.append(dict(kind=StepKind.CHAIN, target=n, via=wu, pos=k, nodes=(wu, n), rule="chain rule",
                         symbolic=gsym[w] * ls if p.symbolic else None, value=cv,
                         factors=(grads[w], lv) if p.has_values else ()))
        contribs.append((wu, cv))
    if len(contribs) > 1:
        rows.append(dict(kind=StepKind.SUM, target=n, nodes=tuple([n] + [c[0] for c in contribs]),
                         rule="sum over paths", symbolic=gsym.get(src), value=grads.get(src),
                         factors=tuple(c[1] for c in contribs) if p.has_values else (),
                         terms=tuple(c[0] for c in contribs)))
    return rows


def _depths(g: nx.MultiDiGraph, order: list[str]) -> dict[str, int]:
    """Distance from the output (longest path)."""
    depth: dict[str, int] = {}
    for n in reversed(order):
        succ = [depth[w] + 1 for w in g.successors(n) if w in depth]
        depth[n] = max(succ) if succ else 0
    return depth


def assemble_steps(p: _Parts, units: tuple[str, ...], relevant: set[str]) -> tuple[Step, ...]:
    """The typed steps: forward, the seed, backward in textbook order, then the results."""
    g = p.g
    rows = _forward_steps(p, units)
    out_unit = unit_of(g, p.out)
    rows.append(dict(kind=StepKind.SEED, target=out_unit, nodes=(out_unit, p.out), symbolic=sp.Integer(1),
                     value=sp.Integer(1) if p.has_values else None))
    # Textbook order: by distance from the output (longest path), then as written.
    depth = _depths(g, p.order)
    for n in sorted(units, key=lambda u: (depth[alias_source(g, u)], g.nodes[u]["order"])):
        if n != out_unit and n in relevant and n not in p.constant and alias_source(g, n) not in p.constant:
            rows.extend(_backward_steps(p, n))
    ex = p.expanded
    rows.extend(dict(kind=StepKind.RESULT, target=name, nodes=(name,), symbolic=p.back.symbolic.get(name),
                     inputs_form=ex.in_inputs.get(name) if ex else None,
                     simplified=ex.simplified.get(name) if ex else None,
                     value=p.back.gradients.get(name)) for name in p.wrt)
    return tuple(Step(i, **row) for i, row in enumerate(rows, start=1))


def _relevant(g: nx.MultiDiGraph, units: tuple[str, ...], wrt: Iterable[str] | None,
              wrt_t: tuple[str, ...]) -> set[str]:
    if wrt is None:
        return set(units)
    # Everything downstream of any name asked for: one traversal from all of them at once
    # (one nx.descendants per name was quadratic when every name is asked for, issue 13).
    relevant: set[str] = set(wrt_t)
    stack = list(wrt_t)
    while stack:
        for w in g.successors(stack.pop()):
            if w not in relevant:
                relevant.add(w)
                stack.append(w)
    return relevant


# --- the composition -------------------------------------------------------------------------

def derive(program: Any, at: Any = None, *, of: str | None = None, wrt: Iterable[str] | None = None,
           symbolic: bool = True, expand: bool | None = None, verify: bool = True) -> Derivation:
    """Derive every gradient of a program's output by the reverse-mode chain rule.

    Parameters
    ----------
    program : str, Program, sympy.Expr or mapping
        Expression-language text, a :class:`Program`, a SymPy expression (the output
        is called ``f``) or a mapping ``name -> expression``.
    at : mapping or str, optional
        Values of the inputs (``{"a": 2}`` or ``"a=2,b=1"``). Without it the derivation
        is symbolic only.
    of : str, optional
        The output to differentiate (default: the last assigned name).
    wrt : iterable of str, optional
        Names to report gradients for (default: every input and intermediate).
    symbolic : bool
        Also write gradients in node names (up to :data:`SYMBOLIC_LIMIT` nodes).
    expand : bool, optional
        Write gradients out in the inputs and simplify them; default: when the graph
        has at most :data:`EXPAND_LIMIT` nodes.
    verify : bool
        Whether the caller proves the expanded gradients against ``sympy.diff``
        (:func:`backproof.verify.prove`; :func:`backproof.explain` does). When false,
        the derivation's limits say the proof was skipped on request.

    Returns
    -------
    Derivation

    Examples
    --------
    >>> d = derive("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0")
    >>> d.named_gradients()
    {'a': 1, 'b': 4, 'c': -3, 'd': 1, 'e': 3}
    """
    full, prog = coerce_program(program, of)
    g = build_graph(prog)
    values_at = coerce_at(at)
    out = prog.output
    wrt_t = coerce_wrt(wrt, _names(prog, g), out)
    if values_at is not None:
        values_at = check_point(values_at, [n for n in prog.inputs if n in g], full.inputs, g)
    order = topological_order(g)
    scope = _scope(g.number_of_nodes(), symbolic, expand, verify)
    has_values = values_at is not None
    with paused_gc():  # the sweep only: expand_forms forks a worker, which must not inherit it
        fwd = forward_values(g, order, values_at)
        pairs = local_partials(g, order, out, fwd if has_values else None, scope.symbolic)
        back = backward_sweep(g, order, out, pairs, has_values, scope.symbolic, fwd.note)
    scope = _size_gate(scope, prog, back.symbolic, wrt_t)
    if not scope.symbolic:  # none written, none carried into the steps
        back = _Backward(back.gradients, {}, back.note)
    expanded = expand_forms(prog, g, order, back.symbolic, wrt_t) if scope.expand else None
    units = tuple(n for n in order if is_unit(g, n))
    parts = _Parts(g, order, out, wrt_t, fwd.values, has_values, scope.symbolic, pairs, back, expanded,
                   constant_nodes(g, order))
    with paused_gc():
        steps = assemble_steps(parts, units, _relevant(g, units, wrt, wrt_t))
    limits = scope.limits + ((back.note,) if back.note else ())
    return Derivation(program=prog, graph=g, output=out, at=values_at, wrt=wrt_t, values=fwd.values,
                      gradients=back.gradients, symbolic=back.symbolic if scope.symbolic else {},
                      in_inputs=expanded.in_inputs if expanded else {},
                      simplified=expanded.simplified if expanded else {},
                      steps=steps, units=units, limits=limits, expanded=scope.expand)
