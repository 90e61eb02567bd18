"""Program -> computational graph (``networkx.MultiDiGraph``) the way a student draws it.

One node per input, per constant occurrence, per operation and per named result; an
edge runs from each operand to its consumer with the argument position as edge key.
SymPy's canonical forms are read back into the gates a student draws: ``Add(b,
Mul(-1, c))`` becomes a ``−`` node, ``Mul(a, Pow(b, -1))`` a ``÷`` node, and a shared
variable is one node with several out-edges, so "gradients add up at forks" shows.

Node ids are deterministic: inputs and named results use their names (identifiers, so
they never contain ``:``); other nodes are ``<statement>:<op><k>`` numbered in the
order they are met, e.g. ``y:mul1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import sympy as sp

from . import limits
from .errors import ProgramError
from .ops import OPS
from .parse import parse_program
from .printing import to_text
from .program import Program

__all__ = ["build_graph", "decompose", "topological_order", "node_label", "Tape", "TapeEntry", "to_tape"]

#: SymPy function class -> op name, for recovering a gate from SymPy's canonical form.
_FUNCS: dict[Any, str] = {f: op.name for op in OPS.values() if (f := op.sympy_function()) is not None}

#: What :func:`decompose` returns: ``(op name, operands)``, or ``None`` for a leaf.
Parts = tuple[str, list[sp.Expr]] | None


def _is_negative_term(t: sp.Expr) -> bool:
    if t.is_Number:
        return bool(t.is_negative)
    if t.is_Mul and t.args and t.args[0].is_Number:
        return bool(t.args[0].is_negative)
    return False


def _negate(t: sp.Expr) -> sp.Expr:
    """|t| for a negative term, keeping the rest of the product unevaluated."""
    if t.is_Number:
        return -t
    coeff, rest = t.args[0], t.args[1:]
    if coeff == -1:
        return rest[0] if len(rest) == 1 else sp.Mul(*rest, evaluate=False)
    return sp.Mul(-coeff, *rest, evaluate=False)


def _mul(factors: list[sp.Expr]) -> sp.Expr:
    return factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)


def decompose(expr: sp.Expr) -> Parts:
    """Split ``expr`` into ``(op name, operands)`` the way a student would draw it.

    Returns ``None`` for leaves (symbols and numbers).

    Examples
    --------
    >>> b, c = sp.symbols("b c")
    >>> decompose(b - c)
    ('sub', [b, c])
    >>> decompose(b / c)
    ('div', [b, c])
    """
    if expr.is_Symbol or expr.is_Number or isinstance(expr, sp.NumberSymbol):
        return None
    for kind, split in _SPLITS:
        if isinstance(expr, kind):
            return split(expr)
    for cls, name in _FUNCS.items():
        if isinstance(expr, cls):
            return name, list(expr.args)
    raise ProgramError(f"unsupported SymPy construct {type(expr).__name__} in {expr} "
                       f"(supported operations: {', '.join(sorted(OPS))})")


def _split_add(expr: sp.Add) -> Parts:
    """A sum with negative terms is drawn as ``-`` gates: ``a + b - c - d`` is ``((a + b) - c) - d``."""
    terms = list(expr.args)
    pos = [t for t in terms if not _is_negative_term(t)]
    neg = [_negate(t) for t in terms if _is_negative_term(t)]
    if not neg:
        return "add", terms
    if not pos:
        # -a - b: negate the first, subtract the rest.
        acc = sp.Mul(sp.Integer(-1), neg[0], evaluate=False)
    else:
        acc = pos[0] if len(pos) == 1 else sp.Add(*pos, evaluate=False)
    rest = neg[1:] if not pos else neg
    if not rest:
        return decompose(acc)
    for t in rest[:-1]:
        acc = _Sub(acc, t)
    return "sub", [acc, rest[-1]]


def _split_sub(expr: _Sub) -> Parts:
    return "sub", list(expr.args)


def _split_mul(expr: sp.Mul) -> Parts:
    """A product with negative powers or fractions is drawn as a ``÷`` gate; ``(-1)*x`` as negation."""
    args = list(expr.args)
    if len(args) == 2 and args[0] == -1:
        return "neg", [args[1]]
    num: list[sp.Expr] = []
    den: list[sp.Expr] = []
    for f in args:
        if f.is_Pow and f.exp.is_Number and f.exp.is_negative:
            den.append(f.base if f.exp == -1 else sp.Pow(f.base, -f.exp, evaluate=False))
        elif f.is_Rational and not f.is_Integer:
            if f.p != 1:
                num.append(sp.Integer(f.p))
            den.append(sp.Integer(f.q))
        else:
            num.append(f)
    if den:
        return "div", [_mul(num) if num else sp.Integer(1), _mul(den)]
    if args[0] == -1:
        return "neg", [_mul(args[1:])]
    return "mul", args


def _split_pow(expr: sp.Pow) -> Parts:
    """``x**(1/2)`` is a square root, ``x**-n`` a division, ``E**x`` an exponential."""
    b, e = expr.args
    if e == sp.Rational(1, 2):
        return "sqrt", [b]
    if e.is_Number and e.is_negative:
        return "div", [sp.Integer(1), b if e == -1 else sp.Pow(b, -e, evaluate=False)]
    if b == sp.E:
        return "exp", [e]
    return "pow", [b, e]


def _split_step(expr: sp.Heaviside) -> Parts:
    return "step", [expr.args[0]]


def _split_extremum(expr: sp.Max | sp.Min) -> Parts:
    """``max``/``min`` of any number of operands, one gate (its tie convention shares the gradient
    among all that tie, which a fold into binary gates would not)."""
    return ("max" if isinstance(expr, sp.Max) else "min"), list(expr.args)


class _Sub(sp.Expr):
    """Unevaluated binary difference used only while folding ``a - b - c``."""

    def __new__(cls, a, b):
        return sp.Expr.__new__(cls, a, b)


#: SymPy classes whose canonical form is read back into a student's gate (checked in order).
_SPLITS: tuple[tuple[type | tuple[type, ...], Callable[..., Parts]], ...] = (
    (sp.Add, _split_add), (_Sub, _split_sub), (sp.Mul, _split_mul), (sp.Pow, _split_pow),
    (sp.Heaviside, _split_step), ((sp.Max, sp.Min), _split_extremum))


@dataclass
class _Counter:
    counts: dict

    def next(self, stmt: str, op: str) -> str:
        k = self.counts.get((stmt, op), 0) + 1
        self.counts[(stmt, op)] = k
        return f"{stmt}:{op}{k}"


def build_graph(program: Program) -> nx.MultiDiGraph:
    """Build the computational graph of ``program``.

    Node attributes: ``kind`` (``input``, ``const``, ``op``, ``name``), ``op`` (op name,
    ``identity`` for named results), ``label`` (text shown to people), ``expr`` (the
    node's value in node names: a Symbol for inputs and names, the local expression for
    operations), ``statement``, ``order`` (creation index, for deterministic ties) and, for
    operations and names, ``args`` (the operand ids in argument order, read by
    :func:`backproof.derivation.operands` without sorting edges).
    Edge attribute ``pos`` (also the key) is the argument position. Only what the
    output depends on is kept.

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> g = build_graph(parse_program("y = (a+b)*(b-c)"))
    >>> sorted(g.successors("b"))
    ['y:add1', 'y:sub1']
    """
    g = nx.MultiDiGraph(output=program.output)
    counter = _Counter({})
    order = [0]

    max_nodes = limits.value("graph_nodes")

    def add_node(nid: str, **attrs):
        if order[0] >= max_nodes:  # before the node is added: every later pass is linear in nodes
            limits.check("graph_nodes", order[0] + 1, "the computational graph")
        g.add_node(nid, order=order[0], **attrs)
        order[0] += 1

    assigned = set(program.assigned)

    def visit(expr: sp.Expr, stmt: str) -> tuple[str, sp.Expr]:
        """Add ``expr``'s subgraph; return its node id and its expression in node names."""
        if expr.is_Symbol:
            name = expr.name
            if name not in g:
                if name in assigned:  # cannot happen for a valid Program
                    raise ProgramError(f"{name!r} is used before it is assigned")
                add_node(name, kind="input", op=None, label=name,
                         expr=sp.Symbol(name, real=True), statement=None)
            return name, sp.Symbol(name, real=True)
        parts = decompose(expr)
        if parts is None:
            nid = counter.next(stmt, "const")
            value = expr
            add_node(nid, kind="const", op=None, label=to_text(value), expr=value, statement=stmt)
            return nid, value
        opname, operands = parts
        op = OPS[opname]
        if op.arity is not None and len(operands) != op.arity:
            raise ProgramError(f"{opname} expects {op.arity} operands, got {len(operands)} in {expr}")
        child = [visit(o, stmt) for o in operands]
        nid = counter.next(stmt, opname)
        local = op.write(*[c[1] for c in child])  # unevaluated, so it reads as written
        add_node(nid, kind="op", op=opname, label=op.symbol, expr=local, statement=stmt,
                 args=tuple(c[0] for c in child))
        for pos, (cid, _) in enumerate(child):
            g.add_edge(cid, nid, key=pos, pos=pos)
        return nid, local

    for st in program.statements:
        top, _ = visit(st.expr, st.name)
        add_node(st.name, kind="name", op="identity", label=st.name,
                 expr=sp.Symbol(st.name, real=True), statement=st.name, line=st.line, args=(top,))
        g.add_edge(top, st.name, key=0, pos=0)

    keep = nx.ancestors(g, program.output) | {program.output}
    if len(keep) == g.number_of_nodes():
        return g  # nothing to cut: a copy was a fifth of derive's time (issue 13)
    return g.subgraph(sorted(keep, key=lambda n: g.nodes[n]["order"])).copy()


def topological_order(g: nx.MultiDiGraph) -> list[str]:
    """Nodes in topological order, ties broken by creation order (deterministic).

    That is the lexicographically smallest topological order by creation index. When every
    edge goes from an earlier node to a later one (as :func:`build_graph` creates them: operands
    first), it is simply the nodes sorted by creation index — checked in one pass over the
    edges, and a tenth of the cost of the general sort (issue 13).
    """
    order = nx.get_node_attributes(g, "order")
    if len(order) == g.number_of_nodes() and all(order[u] < order[v] for u, v in g.edges()):
        return sorted(order, key=order.__getitem__)
    return list(nx.lexicographical_topological_sort(g, key=lambda n: g.nodes[n]["order"]))


def node_label(g: nx.MultiDiGraph, nid: str) -> str:
    """How a node is named in write-ups: its name, number, or expression in node names."""
    data = g.nodes[nid]
    if data["kind"] in ("input", "name", "const"):
        return data["label"]
    # An operation that directly produces a named result is called by that name.
    succ = list(g.successors(nid))
    if len(succ) == 1 and g.nodes[succ[0]]["kind"] == "name":
        return succ[0]
    return to_text(data["expr"])


@dataclass(frozen=True)
class TapeEntry:
    """One node of a :class:`Tape`: plain Python data, no SymPy objects."""

    id: str
    kind: str                  # "input", "const", "op" or "name"
    op: str | None             # op-table name; "identity" for named results
    operands: tuple[str, ...]  # operand node ids by argument position
    value: float | None = None  # constants only


@dataclass(frozen=True)
class Tape:
    """The graph flattened in topological order for the NumPy engine.

    The engine never imports SymPy; it reads this plain structure instead of the graph.
    """

    entries: tuple[TapeEntry, ...]
    output: str
    inputs: tuple[str, ...]


def to_tape(g: nx.MultiDiGraph) -> Tape:
    """Flatten ``g`` into a :class:`Tape` (deterministic order).

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> t = to_tape(build_graph(parse_program("y = 2*x")))
    >>> [(e.id, e.op) for e in t.entries]
    [('y:const1', None), ('x', None), ('y:mul1', 'mul'), ('y', 'identity')]
    """
    entries = []
    for n in topological_order(g):
        data = g.nodes[n]
        ins = sorted(g.in_edges(n, keys=True), key=lambda e: e[2])
        value = float(sp.N(data["expr"], 30)) if data["kind"] == "const" else None
        entries.append(TapeEntry(n, data["kind"], data["op"], tuple(u for u, _, _ in ins), value))
    inputs = tuple(e.id for e in entries if e.kind == "input")
    return Tape(tuple(entries), g.graph["output"], inputs)


def tape_of(program: Program | Tape | str, of: str | None = None) -> Tape:
    """The engine's tape of a program given as text, a :class:`Program` or a :class:`Tape`.

    The NumPy engine reads tapes only (it never parses); this is the one step from a
    program to the tape, for output ``of`` (default: the program's output).

    Raises
    ------
    ProgramError
        Not a program, or ``of`` given with a tape whose output is another name.

    Examples
    --------
    >>> [e.id for e in tape_of("z = x*y; w = z + 1; q = w*w", of="w").entries][-1]
    'w'
    """
    if isinstance(program, Tape):
        if of is not None and of != program.output:
            raise ProgramError(f"of={of!r}: this tape's output is {program.output!r}; build a tape "
                               f"for {of!r} with tape_of(program, of={of!r})")
        return program
    if isinstance(program, str):
        program = parse_program(program)
    if not isinstance(program, Program):
        raise ProgramError(f"expected a Tape, a Program or program text, got {type(program).__name__}")
    return to_tape(build_graph(program.with_output(of) if of is not None else program))


# --- units: what write-ups and diagrams talk about ------------------------------------

def is_unit(g: nx.MultiDiGraph, n: str) -> bool:
    """Whether node ``n`` is a unit of the write-ups: inputs, constants, operations, and
    named results not produced by an operation (``z = y``); a name produced by an
    operation is shown as that operation.

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> g = build_graph(parse_program("d = a + b; y = d*c"))
    >>> [n for n in topological_order(g) if not is_unit(g, n)]
    ['d', 'y']
    """
    kind = g.nodes[n]["kind"]
    if kind == "name":
        pred = next(iter(g.predecessors(n)))
        return bool(g.nodes[pred]["kind"] != "op")
    return True


def unit_of(g: nx.MultiDiGraph, n: str) -> str:
    """The unit that stands for node ``n`` (a named result -> its producing op).

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> g = build_graph(parse_program("y = a*b"))
    >>> g.nodes[unit_of(g, "y")]["kind"], unit_of(g, "a")
    ('op', 'a')
    """
    if g.nodes[n]["kind"] == "name":
        pred = next(iter(g.predecessors(n)))
        if g.nodes[pred]["kind"] == "op":
            return str(pred)
    return n


def alias_source(g: nx.MultiDiGraph, n: str) -> str:
    """The node whose out-edges carry unit ``n``'s value onward (its name, if any).

    Examples
    --------
    >>> from backproof.parse import parse_program
    >>> g = build_graph(parse_program("d = a + b; y = d*c"))
    >>> alias_source(g, unit_of(g, "d"))
    'd'
    """
    if g.nodes[n]["kind"] == "op":
        succ = list(g.successors(n))
        if len(succ) == 1 and g.nodes[succ[0]]["kind"] == "name":
            return str(succ[0])
    return n
