"""One statement's slice of the problem's shared tape, its local partials in names, and its passes in floats.

The checker works on the names a student writes, so it needs each statement on its
own: its operations in order, the names it reads, who consumes each node, and
``∂statement/∂name`` for every name it reads. All of that is cut from the problem's
one graph and its one :class:`~backproof.graph.Tape` (built once by the derivation);
nothing here builds a graph or derives again, except for a statement the output does
not need (the derivation's graph leaves it out), which gets a graph of its own.
Its numbers come from the shared engine (:mod:`backproof.engine.graph_engine`): its
forward pass with the names read given as overrides, its reverse pass with the
``local`` hook through which the checker's mistakes change one edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import sympy as sp

from ..derivation import SYMBOLIC_LIMIT
from ..engine.graph_engine import LocalHook
from ..engine.graph_engine import backward as engine_backward
from ..engine.graph_engine import forward as engine_forward
from ..errors import InternalError
from ..graph import Tape, TapeEntry, build_graph, node_label, to_tape
from ..ops import OPS, Op
from ..printing import to_text
from ..program import Program, Statement

__all__ = ["StatementTape", "statement_tapes", "run_forward", "run_backward", "forward_value", "op_of"]


@dataclass(frozen=True)
class StatementTape:
    """One statement's operations in order: enough for a forward and a reverse pass.

    ``entries`` are the shared tape's records; the names the statement reads (inputs or
    other statements' results) appear as ``input`` entries.
    """

    name: str
    entries: tuple[TapeEntry, ...]
    names_used: tuple[str, ...]                            # the names (inputs or intermediates) it reads
    consumers: Mapping[str, tuple[tuple[str, int], ...]]   # node -> (consumer, position) in order
    symbolic: Mapping[str, sp.Expr]                        # ∂statement/∂name in names (op-table SymPy facet)
    result: str                                            # the node whose value the name takes
    by_id: Mapping[str, TapeEntry]
    text: Mapping[str, str]                                # node -> how a write-up names it
    expr_text: str = ""

    @property
    def tape(self) -> Tape:
        """The slice as a tape for the shared engine: the names it reads are given as overrides
        (they may be NaN or infinite when a student's numbers lead there)."""
        return Tape(self.entries, self.name, ())


def run_forward(tape: StatementTape, leaves: Mapping[str, float]) -> dict[str, float]:
    """Every node's value of one statement, by the shared engine (NaN and ∞ pass through).

    ``leaves`` holds the values of the names the statement reads, and may override
    any other node's value too.

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> p = parse_program("a = w*x; J = a**2")
    >>> run_forward(statement_tapes(p, build_graph(p))["J"], {"a": 3.0})["J"]
    9.0
    """
    values = engine_forward(tape.tape, {}, overrides=leaves, strict=False)
    return {n: float(v) for n, v in values.items()}


def run_backward(tape: StatementTape, values: Mapping[str, float], local: LocalHook | None = None) -> dict[str, float]:
    """``∂statement/∂node`` for every node of one statement, by the shared engine's reverse pass.

    ``values`` is :func:`run_forward`'s result (NaN and ∞ pass through); ``local`` is the
    engine's hook for changing what one edge contributes (see
    :func:`backproof.engine.graph_engine.backward`). Nodes the output does not reach have
    no entry.

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> p = parse_program("a = w*x; J = a**2")
    >>> t = statement_tapes(p, build_graph(p))["J"]
    >>> run_backward(t, run_forward(t, {"a": 3.0}))["a"]
    6.0
    >>> double_pow = lambda e, k, g, c: 2 * c if e.op == "pow" and k == 0 else c
    >>> run_backward(t, run_forward(t, {"a": 3.0}), double_pow)["a"]
    12.0
    """
    arrays = {n: np.asarray(v, dtype=np.float64) for n, v in values.items()}
    grads = engine_backward(tape.tape, arrays, strict=False, local=local)
    return {n: float(v) for n, v in grads.items()}


def statement_tapes(program: Program, graph: nx.MultiDiGraph) -> dict[str, StatementTape]:
    """Every statement's tape, cut from ``graph`` (the derivation's) and its one shared tape.

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> p = parse_program("a = w*x; J = a**2")
    >>> t = statement_tapes(p, build_graph(p))["J"]
    >>> [e.id for e in t.entries], t.names_used, t.symbolic
    (['a', 'J:const1', 'J:pow1', 'J'], ('a',), {'a': 2*a})
    """
    shared = {e.id: e for e in to_tape(graph).entries}
    out: dict[str, StatementTape] = {}
    for st in program.statements:
        if st.name in graph:
            out[st.name] = _statement_tape(st, graph, shared)
        else:  # a statement the output does not need: the derivation's graph left it out
            own = build_graph(Program((Statement(st.name, st.expr),), st.name))
            out[st.name] = _statement_tape(st, own, {e.id: e for e in to_tape(own).entries})
    return out


def _statement_tape(st: Statement, g: nx.MultiDiGraph, shared: Mapping[str, TapeEntry]) -> StatementTape:
    order = _statement_order(g, st.name)
    mine = set(order)
    entries = tuple(_as_input(shared[n]) if g.nodes[n]["statement"] != st.name else shared[n] for n in order)
    names_used = tuple(e.id for e in entries if e.kind == "input")
    position = {n: i for i, n in enumerate(order)}
    consumers = {n: tuple(sorted(((w, k) for _, w, k in g.out_edges(n, keys=True) if w in mine),
                                 key=lambda wk: (position[wk[0]], wk[1]))) for n in order}
    symbolic = _local_partials(g, st.name, order, consumers, names_used)
    result = next(iter(g.predecessors(st.name)))
    return StatementTape(st.name, entries, names_used, consumers, symbolic, result,
                         {e.id: e for e in entries}, {n: node_label(g, n) for n in order}, to_text(st.expr))


def _as_input(e: TapeEntry) -> TapeEntry:
    return TapeEntry(e.id, "input", None, ())


def _statement_order(g: nx.MultiDiGraph, name: str) -> list[str]:
    """The statement's nodes in the order a graph of the statement alone would list them.

    That graph creates nodes as a post-order walk of the expression meets them (a name
    when first read) and lists them in topological order, ties by creation: the order
    in which mistakes are tried and names are read, kept so that results do not change.
    """
    created: dict[str, int] = {}

    def walk(n: str) -> None:
        if n in created:
            return
        if g.nodes[n]["statement"] == name and g.nodes[n]["kind"] == "op":
            for u, _, _ in sorted(g.in_edges(n, keys=True), key=lambda e: e[2]):
                walk(u)
        created[n] = len(created)

    top = next(iter(g.predecessors(name)))
    walk(top)
    created[name] = len(created)
    sub = g.subgraph(created)
    return list(nx.lexicographical_topological_sort(sub, key=lambda n: created[n]))


def _local_partials(g: nx.MultiDiGraph, name: str, order: Sequence[str],
                    consumers: Mapping[str, tuple[tuple[str, int], ...]],
                    names_used: Sequence[str]) -> dict[str, sp.Expr]:
    """∂statement/∂name for every name it reads, in names, by a reverse sweep of the SymPy partials.

    The same sums, in the same order, as :func:`backproof.derivation.derive` forms for a
    program of this statement alone (0 past its symbolic size limit, as there).
    """
    if len(order) > SYMBOLIC_LIMIT:
        return {n: sp.Integer(0) for n in names_used}
    partials: dict[str, tuple[sp.Expr, ...]] = {}
    gsym: dict[str, sp.Expr] = {name: sp.Integer(1)}
    for n in reversed(order):
        if n == name or g.nodes[n]["kind"] == "const":
            continue
        total = sp.Integer(0)
        for w, k in consumers[n]:
            if w not in partials:
                operands = [u for u, _, _ in sorted(g.in_edges(w, keys=True), key=lambda e: e[2])]
                parts = OPS[g.nodes[w]["op"]].partials(*[g.nodes[u]["expr"] for u in operands])
                partials[w] = tuple(sp.factor_terms(p) for p in parts)
            total = total + gsym[w] * partials[w][k]
        gsym[n] = total
    return {n: gsym.get(n, sp.Integer(0)) for n in names_used}


# --- one operation in floats (the op table's NumPy facet) -----------------------------------------

def op_of(entry: TapeEntry) -> Op:
    """The op-table row of an operation (or named result) entry."""
    if entry.op is None:
        raise InternalError(f"tape entry {entry.id!r} ({entry.kind}) has no operation")
    return OPS[entry.op]


def forward_value(op: Op, args: Sequence[float]) -> float:
    """``op`` applied to ``args`` in float64 (NaN where it is undefined)."""
    try:
        return float(op.np_forward(*[np.float64(a) for a in args]))
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan
