"""Derivation (or bare graph) -> ``graphviz.Digraph``: the diagram, built without any I/O.

One diagram node per *unit* (what write-ups talk about): inputs (square boxes),
constants (small dashed boxes), anonymous operations (rounded grey boxes headed by the
operation symbol) and named results (rounded, filled boxes headed ``d = a + b``; the
operation producing a named result is drawn as that box, since both carry the same
value and gradient). Each unit is ONE record whose fields read, top to bottom, its
name, its forward value and its gradient ``∂y/∂unit`` (issue 11: a floating value or
gradient was ambiguous between neighbours). A unit feeding several operations shows its
gradient as the sum of its path contributions (``∂y/∂b = 1·e + 1·d = 1 + 3 = 4``).
Edges carry only the local derivative ∂gate/∂operand, in the gate's own symbol
(``∂d/∂b = 1``); the output's gate is written by its expression (``∂(d·e)/∂d = e``), so
an edge never prints the same text as a node's gradient ∂y/∂d. Inputs are not forced
into one rank: each sits beside its first use.

Everything shown is formatted from the derivation's values, gradients and steps; the
builder never differentiates anything itself.

Labels are plain (quoted) DOT strings and record labels, never HTML-like labels: the
embedded WebAssembly Graphviz has no HTML-label support. Every piece of user text goes
through :mod:`backproof.render.labels` (backslashes, ``<...>`` and the record
characters ``{ } |`` lose their meaning; quotes are escaped by the graphviz package)
and control characters are shown as ``\\n``-style escapes, so no name can inject DOT.
Expressions print with ``·`` and superscript powers, never ``**``.

Size: above ``max_nodes`` units (default :data:`DEFAULT_MAX_NODES`) the diagram is
folded, in this order, until it fits: (1) with ``highlight``, only the units on the
highlighted paths are kept; (2) anonymous operations and constants are folded into
dashed, unlabelled edges between named quantities; (3) inputs that feed exactly the
same nodes (a layer's weights) become one node listing their names; (4) only the
``max_nodes`` units nearest the output are kept. A grey note says what was folded or
left out. Symbolic forms longer than 32 characters are left out next to their number
(backward view); in the symbolic view they are cut with "…" after :data:`MAX_TEXT_CHARS`.
Anonymous operations are named u₁, u₂, … (their box reads ``u₁ = t·log(p)``), and a
named result's expression inside a symbolic form is written by its name (``(1 - p)·p``,
not ``(1 - sigmoid(z))·sigmoid(z)``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import graphviz
import networkx as nx
import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence

from ..errors import ProgramError, RenderError
from ..graph import alias_source as _alias_source
from ..graph import is_unit as _is_unit
from ..graph import node_label, topological_order
from ..graph import unit_of as _unit_of
from ..printing import format_number
from ..steps import StepKind
from .labels import label_text, plain, record, subscript, visible
from .options import DEFAULT_MAX_NODES, RANKDIRS, VIEWS, check_dpi

__all__ = ["build_diagram", "Diagram", "DEFAULT_MAX_NODES", "VIEWS", "RANKDIRS", "COLORS", "MAX_TEXT_CHARS"]

#: Longest symbolic form written in a label (see the module docstring).
MAX_TEXT_CHARS = 60
#: Longest symbolic form written next to its number (backward view); longer ones are
#: left out, the number stays (a box as wide as a formula made diagrams unreadable).
_NUMBERED_TEXT_CHARS = 32
#: Longest chain of boxes drawn left to right by ``rankdir="auto"``; deeper graphs go
#: top to bottom (5 ranks of box + edge label fill a page's width at 9 px text).
_LR_DEPTH = 4
#: Input values listed in the title (then "…").
_TITLE_VALUES = 8
#: Width at which gradient and edge labels wrap (before a " = ").
_WRAP = 24

COLORS = {
    "value": "#1b7f3b",      # forward values (green, above)
    "gradient": "#c0392b",   # gradients ∂out/∂node (red, below)
    "local": "#1f4e9c",      # local derivatives on edges (blue)
    "highlight": "#e67e22",  # paths from the highlighted name to the output
    "note": "#6b6b6b",
    "input": "#ffffff",
    "named": "#fff4d6",
    "op": "#eef2f7",
}
_FONT = "Helvetica"


# --- text -------------------------------------------------------------------------------

def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - 1] + "…"


def _num(x) -> str:
    return format_number(x)


def _sym(expr) -> str:
    return _short(label_text(expr))


def _num_factor(x) -> str:
    text = _num(x)
    return f"({text})" if text.startswith("-") else text


def _num_sum(xs) -> str:
    """``1 + 3``, ``1 - 3`` (a negative term is subtracted, not added)."""
    out = ""
    for i, x in enumerate(xs):
        text = _num(x)
        if i == 0:
            out = text
        elif text.startswith("-"):
            out += f" - {text[1:]}"
        else:
            out += f" + {text}"
    return out


def _sym_sum(terms: list[str]) -> str:
    out = terms[0]
    for t in terms[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out


def _equation(parts: list[str | None]) -> list[str]:
    """``a = b = c`` without repeated parts, wrapped before ``=`` into short lines."""
    kept: list[str] = []
    for p in parts:
        if p is not None and (not kept or p != kept[-1]):
            kept.append(p)
    lines = [kept[0]]
    for p in kept[1:]:
        if len(lines[-1]) + 3 + len(p) <= _WRAP:
            lines[-1] += f" = {p}"
        else:
            lines.append(f"= {p}")
    return lines


class Diagram(graphviz.Digraph):
    """A ``graphviz.Digraph`` that also displays in Jupyter without the system Graphviz.

    The graphviz package renders the inline SVG with ``dot``; this one goes through
    :func:`backproof.render.render_bytes`, which falls back to the embedded Graphviz.
    """

    #: PNG resolution for :func:`~backproof.render.render_bytes` (``None``: Graphviz's 96).
    dpi: int | None = None

    def _repr_image_svg_xml(self) -> str:
        from .backends import render_bytes
        return render_bytes(self, "svg").decode("utf-8")


# --- what is drawn ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Data:
    """The facts a diagram formats, from a Derivation or from a bare graph."""

    graph: nx.MultiDiGraph
    output: str
    values: Mapping[str, sp.Expr]
    gradients: Mapping[str, sp.Expr]
    symbolic: Mapping[str, sp.Expr]
    units: tuple[str, ...]
    at: Mapping[str, sp.Expr] | None
    local: dict = field(default_factory=dict)    # (target, via, pos) -> LOCAL step
    chains: dict = field(default_factory=dict)   # target -> [CHAIN steps in order]
    sums: dict = field(default_factory=dict)     # target -> SUM step


def _from_derivation(deriv) -> _Data:
    local: dict = {}
    chains: dict = {}
    sums: dict = {}
    for s in deriv.steps:
        if s.kind == StepKind.LOCAL:
            local[(s.target, s.via, s.pos)] = s
        elif s.kind == StepKind.CHAIN:
            chains.setdefault(s.target, []).append(s)
        elif s.kind == StepKind.SUM:
            sums[s.target] = s
    return _Data(deriv.graph, deriv.output, deriv.values, deriv.gradients, deriv.symbolic,
                 tuple(deriv.units), deriv.at, local, chains, sums)


def _from_graph(g: nx.MultiDiGraph, values, gradients) -> _Data:
    output = g.graph.get("output")
    if output not in g:
        raise RenderError("the graph has no valid 'output' graph attribute "
                          "(set g.graph['output'] to the id of its output node)")
    units = tuple(n for n in topological_order(g) if _is_unit(g, n))
    values = dict(values or {})
    gradients = dict(gradients or {})
    # Named results and their producing operations carry the same numbers.
    for n in g:
        u = _unit_of(g, n)
        for d in (values, gradients):
            if n in d and u not in d:
                d[u] = d[n]
    at = {n: v for n, v in values.items() if n in g and g.nodes[n]["kind"] == "input"}
    return _Data(g, output, values, gradients, {}, units, at or None)


# --- the builder ----------------------------------------------------------------------------

def build_diagram(deriv, *, view: str = "backward", highlight: str | Iterable[str] | None = None,
                  rankdir: str = "auto", clusters: Mapping[str, str] | None = None,
                  max_nodes: int | None = DEFAULT_MAX_NODES, legend: bool = True,
                  title: bool = True, dpi: int | None = None,
                  values: Mapping[str, sp.Expr] | None = None,
                  gradients: Mapping[str, sp.Expr] | None = None) -> Diagram:
    """Draw a derivation's computational graph as a ``graphviz.Digraph``.

    Parameters
    ----------
    deriv : Derivation or networkx.MultiDiGraph
        What :func:`backproof.derive` returned, or a graph from
        :func:`backproof.graph.build_graph` (then ``values`` and ``gradients`` may
        give numbers by node id; edges carry no local derivatives).
    view : {"backward", "forward", "symbolic"}
        ``forward``: values only. ``backward``: values, gradients and local
        derivatives. ``symbolic``: the same in node names, no numbers. A derivation
        without values (``at=None``) is always drawn in the symbolic view.
    highlight : str or iterable of str, optional
        Names whose paths to the output are marked (their products of local
        derivatives sum to the name's gradient).
    rankdir : {"auto", "LR", "TB"}
        Left to right, top to bottom, or ``auto``: left to right unless the longest
        chain has more than four edges (then it would be too wide to read on a page).
        Either way each node is one box reading, top to bottom, its name, its value
        and its gradient.
    clusters : mapping, optional
        Node id or name -> cluster label; units with the same label are boxed
        together (one cluster per layer of a network).
    max_nodes : int or None
        Fold the diagram above this many units (see the module docstring); ``None``
        never folds.
    legend : bool
        Write the one-line key (what a box's fields and an edge's label are).
    title : bool
        Write the title line (the output, the view and the point).
    dpi : int, optional
        Resolution of PNG renders of this diagram (Graphviz ``-Gdpi``; default
        :data:`~backproof.render.options.DEFAULT_DPI`, 96). It is kept on the returned
        diagram, not in its DOT source, so SVG, PDF and DOT are the same at any dpi.

    Returns
    -------
    Diagram
        A ``graphviz.Digraph`` (it displays inline in Jupyter, with or without the
        system Graphviz). Deterministic: the same input always gives the same DOT source.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> dot = build_diagram(derive("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0"))
    >>> "∂y/∂b = 1·e + 1·d" in dot.source and "= 1 + 3 = 4" in dot.source
    True
    """
    if isinstance(deriv, nx.MultiDiGraph):
        data = _from_graph(deriv, values, gradients)
    elif hasattr(deriv, "steps") and hasattr(deriv, "graph"):
        if values is not None or gradients is not None:
            raise RenderError("values= and gradients= are only for a bare graph; "
                              "a Derivation already carries them")
        data = _from_derivation(deriv)
    else:
        raise RenderError(f"cannot draw a {type(deriv).__name__} "
                          "(expected a Derivation or a networkx.MultiDiGraph)")
    if view not in VIEWS:
        raise RenderError(f"unknown view {view!r} (must be one of: {', '.join(VIEWS)})")
    if rankdir not in RANKDIRS:
        raise RenderError(f"unknown rankdir {rankdir!r} (must be one of: {', '.join(RANKDIRS)})")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise RenderError(f"max_nodes must be a positive integer or None, got {max_nodes!r}")
    if dpi is not None:
        check_dpi(dpi)
    if not data.values and view != "symbolic":
        view = "symbolic"   # nothing numeric to show
    return _Builder(data, view, _highlight_set(data, highlight), rankdir, clusters or {}, max_nodes,
                    legend=bool(legend), title=bool(title), dpi=dpi).build()


def _highlight_set(data: _Data, highlight) -> tuple[tuple[str, ...], set[str]]:
    """(names, graph nodes on a path from one of the names to the output)."""
    if highlight is None:
        return (), set()
    names = (highlight,) if isinstance(highlight, str) else tuple(highlight)
    g = data.graph
    allowed = [n for n in topological_order(g) if g.nodes[n]["kind"] in ("input", "name")]
    on_path: set[str] = set()
    above_out = nx.ancestors(g, data.output) | {data.output}
    for name in names:
        if name not in g:
            raise ProgramError(f"unknown name {name!r} for --highlight (must be one of: "
                               f"{', '.join(allowed)})")
        src = _alias_source(g, _unit_of(g, name))
        on_path |= ((nx.descendants(g, src) | {src}) & above_out) | {_unit_of(g, name)}
    return names, on_path


class _Builder:
    def __init__(self, data: _Data, view, highlight, rankdir, clusters, max_nodes, *,
                 legend: bool = True, title: bool = True, dpi: int | None = None):
        self.d = data
        self.g = data.graph
        self.view = view
        self.hl_names, self.hl_nodes = highlight
        self.rankdir = rankdir
        self.clusters = clusters
        self.max_nodes = max_nodes
        self.legend = legend
        self.title_on = title
        self.dpi = dpi
        self.out_unit = _unit_of(self.g, data.output)
        self.notes: list[str] = []
        self.groups: dict[str, list[str]] = {}   # group id -> input units drawn as one node
        self._expr_text: dict[str, str] = {}
        self.short = self.short_names()
        self.named = self.named_forms()
        # A local partial is written in its gate's operands, the u names included (2·u₃).
        self.operands = {**self.named, **{_key(self.g.nodes[u]["expr"]): sp.Symbol(name)
                                          for u, name in self.short.items()}}

    # --- structure --------------------------------------------------------------------------
    def unit_edges(self) -> list[tuple[str, str, int]]:
        """(operand unit, consumer unit, position) in a fixed order."""
        g = self.g
        edges = []
        for w in self.d.units:
            for u, _, k in sorted(g.in_edges(w, keys=True), key=lambda e: e[2]):
                edges.append((_unit_of(g, u), w, k))
        return edges

    def choose(self) -> tuple[list[str], list[tuple[str, str, int | None]]]:
        """The units (and input groups) and edges to draw, folding when there are too many.

        An edge is ``(operand, consumer, position)``; position ``None`` marks an edge
        that stands for folded nodes (drawn dashed, without a label).
        """
        units = list(self.d.units)
        edges: list[tuple[str, str, int | None]] = list(self.unit_edges())
        total = len(units)
        if self.max_nodes is None or total <= self.max_nodes:
            return units, edges
        if self.hl_names:
            keep = [u for u in units if u in self.hl_nodes]
            kept = set(keep)
            edges = [e for e in edges if e[0] in kept and e[1] in kept]
            self.notes.append(f"{total - len(keep)} of {total} nodes are not on the highlighted "
                              f"paths and are not drawn")
            units = keep
        if len(units) > self.max_nodes:
            units, edges = self.fold_anonymous(units, edges)
        if len(units) > self.max_nodes:
            units, edges = self.group_inputs(units, edges)
        if len(units) > self.max_nodes:
            depth = self.depth_to_output()
            nearest = sorted(units, key=lambda u: (depth.get(u, 0), self.order(u)))[:self.max_nodes]
            kept = set(nearest)
            self.notes.append(f"{len(units) - len(kept)} more nodes farther from the output "
                              f"are not drawn")
            units = [u for u in units if u in kept]
            edges = [e for e in edges if e[0] in kept and e[1] in kept]
        self.notes.append(f"(the graph has {total} nodes; this diagram draws at most "
                          f"max_nodes = {self.max_nodes})")
        return units, edges

    def fold_anonymous(self, units, edges):
        """Keep inputs and named results; anonymous ops and constants become dashed edges."""
        g = self.g
        named = [u for u in units
                 if g.nodes[u]["kind"] in ("input", "name") or _alias_source(g, u) != u]
        kept = set(named)
        if len(named) == len(units):
            return units, edges
        consumers: dict[str, list[str]] = {}
        for u, w, _ in edges:
            consumers.setdefault(u, []).append(w)
        self.notes.append(f"{len(units) - len(named)} operation and constant nodes are folded "
                          f"into the dashed edges")
        # The folded operations are not drawn: no u names that the reader cannot find.
        self.short, self._expr_text = {}, {}
        self.operands = dict(self.named)
        out_edges: list[tuple[str, str, int | None]] = []
        for u in named:
            seen, reached, stack = set(), set(), list(consumers.get(u, []))
            while stack:
                w = stack.pop()
                if w in seen:
                    continue
                seen.add(w)
                if w in kept:
                    reached.add(w)
                else:
                    stack.extend(consumers.get(w, []))
            for w in sorted(reached, key=self.order):
                direct = [e for e in edges if e[0] == u and e[1] == w]
                out_edges.extend(direct or [(u, w, None)])
        return named, out_edges

    def group_inputs(self, units, edges):
        """Inputs feeding exactly the same nodes become one node listing their names."""
        consumers: dict[str, tuple[str, ...]] = {}
        for u, w, _ in edges:
            consumers[u] = consumers.get(u, ()) + ((w,) if w not in consumers.get(u, ()) else ())
        by_key: dict[tuple[str, ...], list[str]] = {}
        for u in units:
            if self.g.nodes[u]["kind"] == "input":
                by_key.setdefault(consumers.get(u, ()), []).append(u)
        group_of = {}
        for members in by_key.values():
            if len(members) > 1:
                gid = f"group:{members[0]}"
                self.groups[gid] = members
                for m in members:
                    group_of[m] = gid
        if not group_of:
            return units, edges
        self.notes.append(f"{len(group_of)} inputs that feed the same nodes are drawn as "
                          f"{len(self.groups)} groups")
        new_units, seen = [], set()
        for u in units:
            x = group_of.get(u, u)
            if x not in seen:
                seen.add(x)
                new_units.append(x)
        new_edges, seen_e = [], set()
        for u, w, k in edges:
            if u in group_of:
                e = (group_of[u], w, None)
                if e not in seen_e:
                    seen_e.add(e)
                    new_edges.append(e)
            else:
                new_edges.append((u, w, k))
        return new_units, new_edges

    def depth_to_output(self) -> dict[str, int]:
        dist = nx.single_source_shortest_path_length(self.g.reverse(copy=False), self.d.output)
        depth = {u: dist.get(_alias_source(self.g, u), dist.get(u, 10**9)) for u in self.d.units}
        for gid, members in self.groups.items():
            depth[gid] = min(depth[m] for m in members)
        return depth

    def order(self, n: str) -> int:
        return self.g.nodes[self.groups[n][0] if n in self.groups else n]["order"]

    def kind(self, n: str) -> str:
        return "group" if n in self.groups else self.g.nodes[n]["kind"]

    # --- names ------------------------------------------------------------------------------
    def short_names(self) -> dict[str, str]:
        """Anonymous operations get short names u₁, u₂, … in unit order ("let u = …"),
        so that ∂y/∂u₂ replaces ∂y/∂((1 - t)·log(1 - p)) on the diagram."""
        g = self.g
        anonymous = [u for u in self.d.units if g.nodes[u]["kind"] == "op" and _alias_source(g, u) == u]
        return {u: f"u{subscript(str(i))}" for i, u in enumerate(anonymous, 1)}

    def named_forms(self) -> dict:
        """Expression in node names -> the symbol of the named result it is, so that a
        symbolic form reads ``(1 - p)·p`` rather than ``(1 - sigmoid(z))·sigmoid(z)``."""
        g = self.g
        forms = {}
        for u in self.d.units:
            src = _alias_source(g, u)
            expr = g.nodes[u]["expr"]
            if src != u and not isinstance(expr, sp.Symbol):
                forms[_key(expr)] = sp.Symbol(src)
        return forms

    def gate_form(self, n: str):
        """Operation ``n`` as its operator applied to its operands' names (``t·u₁``)."""
        g = self.g
        rep = {}
        for v in g.predecessors(n):
            if g.nodes[v]["kind"] == "op":
                u = _unit_of(g, v)
                name = self.short.get(u) or (_alias_source(g, u) if _alias_source(g, u) != u else None)
                if name is not None:   # an operation folded away keeps its expression
                    rep[g.nodes[v]["expr"]] = sp.Symbol(name)
        return g.nodes[n]["expr"].xreplace(rep)

    # --- texts ------------------------------------------------------------------------------
    def expr_text(self, n: str) -> str:
        """Operation ``n`` in its operands' names, printed once."""
        if n not in self._expr_text:
            self._expr_text[n] = label_text(self.gate_form(n))
        return self._expr_text[n]

    def dname(self, n: str) -> str:
        """How unit ``n`` is written inside ∂…/∂… (an anonymous operation by its u name)."""
        if n in self.short:
            return self.short[n]
        return node_label(self.g, n)

    def gate_name(self, n: str) -> str:
        """How the gate ``n`` is written in its own local partial ∂gate/∂operand.

        A gate is written by its name (∂d/∂b, ∂u₁/∂x), except the output's gate: there
        ∂y/∂d would read exactly like the gradient ∂y/∂d of the output, a different
        quantity in general, so the gate is written by its expression (∂(d·e)/∂d).
        """
        if n == self.out_unit and self.g.nodes[n]["kind"] == "op":
            text = self.expr_text(n)
            form = self.gate_form(n)
            return text if precedence(form) >= PRECEDENCE["Func"] else f"({text})"
        return self.dname(n)

    def title(self, n: str) -> str:
        g = self.g
        data = g.nodes[n]
        kind = data["kind"]
        if kind == "op":
            return f"{_alias_source(g, n) if n not in self.short else self.short[n]} = {_short(self.expr_text(n))}"
        if kind == "name":
            pred = next(iter(g.predecessors(n)))
            return f"{n} = {node_label(g, pred)}"
        return str(data["label"])

    def value_text(self, n: str) -> str | None:
        kind = self.g.nodes[n]["kind"]
        if kind == "const":
            return None
        if self.view == "symbolic":
            return None   # the title already holds the expression
        v = self.d.values.get(n)
        return None if v is None else _num(v)

    def sym(self, expr, names: dict | None = None) -> str | None:
        """A symbolic form for a label, sub-expressions written by the names in ``names``
        (default: the named results). Next to a number (backward view) a form too long
        to read is left out rather than cut; in the symbolic view it ends with "…"."""
        if expr is None:
            return None
        names = self.named if names is None else names
        return self.sym_text(label_text(_rename(expr, names) if names else expr))

    def gradient_lines(self, n: str) -> list[str] | None:
        if self.view == "forward" or self.g.nodes[n]["kind"] == "const":
            return None
        numeric = self.view == "backward"
        head = f"∂{self.d.output}/∂{self.dname(n)}"
        chains = self.d.chains.get(n, [])
        total_sym = self.sym(self.d.symbolic.get(n))
        total_num = _num(self.d.gradients[n]) if numeric and n in self.d.gradients else None
        if len(chains) <= 1:
            if total_sym is None and total_num is None:
                return None
            return _equation([head, total_sym, total_num])
        # A fork: one term per path, local derivative · gradient of the consumer.
        sym_terms = self.fork_terms(chains)
        if not numeric:
            return _equation([head, sym_terms, total_sym])
        return _equation([head, sym_terms, *self.fork_numbers(n, chains, sym_terms is None), total_num])

    def fork_terms(self, chains) -> str | None:
        """``∂d/∂b·∂y/∂d + …`` in node names, one term per path (``None`` if one is unknown)."""
        terms = []
        for c in chains:
            loc = self.d.local.get((c.target, c.via, c.pos))
            up = self.d.symbolic.get(c.via)
            if loc is None or loc.symbolic is None or up is None:
                return None
            terms.append(f"{self.factor(loc.symbolic)}·{self.factor(up)}")
        return self.sym_text(_sym_sum(terms)) if terms else None

    def fork_numbers(self, n: str, chains, no_terms: bool) -> list[str | None]:
        """The numbers of a fork: the products per path (when the terms are not written),
        their sum, or at least the words "sum over k paths"."""
        products = sums = None
        if no_terms and all(len(c.factors) == 2 for c in chains):
            products = self.sym_text(" + ".join(
                f"{_num_factor(c.factors[1])}·{_num_factor(c.factors[0])}" for c in chains))
        s = self.d.sums.get(n)
        if s is not None and s.factors:
            sums = self.sym_text(_num_sum(s.factors))
        if no_terms and products is None and sums is None:
            # Too many paths to write out: still say that this is a sum.
            return [f"sum over {len(chains)} paths", products, sums]
        return [products, sums]

    def factor(self, expr) -> str:
        """``expr`` as a factor of a product: parenthesised when it is a sum or negative."""
        expr = _rename(expr, self.named) if self.named else expr
        text = _sym(expr)
        if precedence(expr) < PRECEDENCE["Mul"] or text.startswith("-"):
            return f"({text})"
        return text

    def sym_text(self, text: str) -> str | None:
        """A symbolic form as written, or (too long) left out next to a number in the
        backward view, cut with "…" in the symbolic view."""
        if len(text) <= (_NUMBERED_TEXT_CHARS if self.view == "backward" else MAX_TEXT_CHARS):
            return text
        return None if self.view == "backward" else _short(text)

    def edge_lines(self, u: str, w: str, k: int | None) -> list[str] | None:
        """The local derivative ∂gate/∂operand of the edge ``u -> w``, in the gate's own symbol."""
        if self.view == "forward" or k is None:
            return None
        step = self.d.local.get((u, w, k))
        if step is None:
            return None
        head = f"∂{self.gate_name(w)}/∂{self.dname(u)}"
        sym = self.sym(step.symbolic, self.operands)
        num = _num(step.value) if step.value is not None and self.view == "backward" else None
        if sym is None and num is None:
            return None
        lines = _equation([head, sym, num])
        if step.note and self.view == "backward":
            lines += textwrap.wrap(f"({step.note})", 40)
        return lines

    # --- DOT ---------------------------------------------------------------------------------
    def build(self) -> Diagram:
        units, edges = self.choose()
        # Constants are written in their gate's box (u₄ = u₃²): a box of their own only
        # widened the diagram.
        consts = {u for u in units if self.kind(u) == "const"}
        units = [u for u in units if u not in consts]
        edges = [e for e in edges if e[0] not in consts]
        if self.rankdir == "auto":
            self.rankdir = _auto_rankdir(units, edges)
        ids = {u: f"n{i}" for i, u in enumerate(units, 1)}
        dot = Diagram("backproof", comment="backproof computational graph")
        dot.dpi = self.dpi
        # Each unit is one record (name | value | gradient), so nothing floats between
        # nodes: the ranks need only room for the edge labels.
        nodesep, ranksep = ("0.2", "0.4") if self.rankdir == "LR" else ("0.3", "0.35")
        dot.attr("graph", rankdir=self.rankdir, nodesep=nodesep, ranksep=ranksep,
                 fontname=_FONT, fontsize="12", labelloc="t")
        head = self.graph_label()
        if head:
            dot.attr("graph", label=plain(head))
        dot.attr("node", fontname=_FONT, fontsize="12")
        dot.attr("edge", fontname=_FONT, fontsize="11", fontcolor=COLORS["local"], arrowsize="0.7")

        cluster_of, cluster_names = self.cluster_plan(units)
        for ci, cname in enumerate(cluster_names, 1):
            with dot.subgraph(name=f"cluster_{ci}") as c:
                c.attr(label=plain([cname]), style="rounded", color="#9aa5b1", fontcolor="#44515e")
                for u in units:
                    if cluster_of.get(u) == cname:
                        self.add_unit(c, u, ids[u])
        for u in units:
            if u not in cluster_of:
                self.add_unit(dot, u, ids[u])
        for u, w, k in edges:
            self.add_edge(dot, ids[u], ids[w], u, w, k)
        if self.notes:
            dot.node("note", plain(self.notes), shape="note", color=COLORS["note"],
                     fontcolor=COLORS["note"], fontsize="11")
        return dot

    def cluster_plan(self, units: list[str]) -> tuple[dict[str, str], list[str]]:
        """(unit or input group -> its cluster's label, the labels in the order units meet them)."""
        cluster_of: dict[str, str] = {}
        for key, label in self.clusters.items():
            if key in self.g:
                cluster_of.setdefault(_unit_of(self.g, key), str(label))
        for gid, members in self.groups.items():
            if members[0] in cluster_of:
                cluster_of[gid] = cluster_of[members[0]]
        cluster_names: list[str] = []
        for u in units:
            if u in cluster_of and cluster_of[u] not in cluster_names:
                cluster_names.append(cluster_of[u])
        return cluster_of, cluster_names

    def graph_label(self) -> list[str]:
        """The title line and the one-line legend, each unless switched off."""
        lines = []
        if self.title_on:
            title = f"computational graph of {self.d.output}, {self.view} view"
            if self.d.at and self.view != "symbolic":
                pairs = [f"{k} = {_num(v)}" for k, v in self.d.at.items()]
                at = ", ".join(pairs[:_TITLE_VALUES]) + (", …" if len(pairs) > _TITLE_VALUES else "")
                title += f" at {at}"
            lines.append(title)
        if self.legend:
            lines.append(legend_text(self.d.output, self.view, self.hl_names))
        return lines

    def fields(self, u: str) -> list[str | list[str]]:
        """The record fields of unit ``u``: its name, value and gradient (those it has)."""
        fields: list[str | list[str]] = [self.title(u)]
        value = self.value_text(u)
        if value is not None:
            fields.append(value)
        grad = self.gradient_lines(u)
        if grad is not None:
            fields.append(grad)
        return fields

    def add_unit(self, s, u: str, nid: str):
        """Unit ``u`` as node ``nid`` in ``s``: one record holding its name, value and gradient."""
        kind = self.kind(u)
        attrs = {"id": graphviz.escape(f"bp:{visible(u)}")}
        flip = self.rankdir == "TB"   # stack the fields top to bottom in either layout
        if kind == "group":
            members = self.groups[u]
            names = members if len(members) <= 4 else members[:3] + ["…", members[-1]]
            if any(m in self.hl_nodes for m in members):
                attrs.update(color=COLORS["highlight"], penwidth="2.5")
            s.node(nid, plain([", ".join(names), f"({len(members)} inputs)"]), shape="box",
                   style="filled", fillcolor=COLORS["input"], **attrs)
            return
        if kind == "const":
            s.node(nid, plain([self.title(u)]), shape="box", style="dashed", fontcolor=COLORS["note"],
                   color=COLORS["note"], fontsize="11", height="0.3", width="0.3", **attrs)
            return
        if kind == "input":
            attrs.update(shape="record", style="filled", fillcolor=COLORS["input"])
        elif kind == "name" or _alias_source(self.g, u) != u:
            attrs.update(shape="Mrecord", style="filled", fillcolor=COLORS["named"])
        else:
            attrs.update(shape="Mrecord", style="filled", fillcolor=COLORS["op"])
        if u == self.out_unit:
            attrs["penwidth"] = "2"
        if u in self.hl_nodes:
            attrs.update(color=COLORS["highlight"], penwidth="2.5")
        s.node(nid, record(self.fields(u), flip=flip), **attrs)

    def add_edge(self, dot, a: str, b: str, u: str, w: str, k: int | None):
        # Its SVG id names both ends, so a page can highlight it with a step's nodes.
        attrs = {"id": graphviz.escape(f"bp-edge:{visible(u)}|{visible(w)}")}
        lines = self.edge_lines(u, w, k)
        if lines:
            attrs["label"] = plain(lines)
        if k is None:
            attrs["style"] = "dashed"
        hl = self.hl_nodes
        if w in hl and (u in hl or _alias_source(self.g, u) in hl):
            attrs.update(color=COLORS["highlight"], penwidth="2.5")
        dot.edge(a, b, **attrs)


def _key(expr):
    """A structural key of ``expr`` that ignores the order of a sum's terms and a
    product's factors (unevaluated ``w·x + b`` and ``b + w·x`` are one key)."""
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return expr
    args = [_key(a) for a in expr.args]
    if isinstance(expr, (sp.Add, sp.Mul)):
        args.sort(key=str)
    return (expr.func, tuple(args))


def _rename(expr, names: Mapping):
    """``expr`` with every sub-expression whose :func:`_key` is in ``names`` replaced by
    that name (top down: the largest match wins), keeping the rest as written."""
    if not isinstance(expr, sp.Basic):
        return expr
    hit = names.get(_key(expr))
    if hit is not None:
        return hit
    if expr.is_Atom:
        return expr
    args = [_rename(a, names) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    if isinstance(expr, (sp.Add, sp.Mul, sp.Pow)):
        return expr.func(*args, evaluate=False)
    return expr.func(*args)


def _auto_rankdir(units, edges) -> str:
    """LR for short chains; TB when left to right would be too wide to read on a page
    (each rank of LR costs a box and an edge label side by side, about 240 pt)."""
    g = nx.DiGraph()
    g.add_nodes_from(units)
    g.add_edges_from((u, w) for u, w, _ in edges)
    return "LR" if nx.dag_longest_path_length(g) <= _LR_DEPTH else "TB"


def legend_text(output: str, view: str, highlighted: Iterable[str] = ()) -> str:
    """The one-line key of a diagram: what a box's fields and an edge's label are.

    Examples
    --------
    >>> legend_text("y", "backward")
    'box: name | value | gradient ∂y/∂name     edge: local derivative ∂gate/∂input'
    """
    if view == "forward":
        key = "box: name | value"
    elif view == "symbolic":
        key = f"box: name | expression | gradient ∂{output}/∂name     edge: local derivative ∂gate/∂input"
    else:
        key = f"box: name | value | gradient ∂{output}/∂name     edge: local derivative ∂gate/∂input"
    names = ", ".join(highlighted)
    if names:
        key += f"     orange: the paths from {names} to {output}"
    return key
