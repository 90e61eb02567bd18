"""Derivation (or bare graph) -> ``graphviz.Digraph``: the diagram, built without any I/O.

One diagram node per *unit* (what write-ups talk about): inputs (boxes), constants
(dashed boxes), anonymous operations (circles with the operation symbol) and named
results (rounded, filled boxes reading ``d = a + b``; the operation producing a named
result is drawn as that box, since both carry the same value and gradient). Right
above each unit a green text node holds the forward value and right below it a red
one the gradient ∂out/∂unit (CS231n's convention), in both layouts. A unit feeding
several operations shows its gradient as the sum of its path contributions
(``∂y/∂b = 1·e + 1·d = 1 + 3 = 4``). Edges carry the local derivative
∂consumer/∂operand in blue, symbolically and numerically.

Everything shown is formatted from the derivation's values, gradients and steps; the
builder never differentiates anything itself.

Labels are plain (quoted) DOT strings, never HTML-like labels: the embedded
WebAssembly Graphviz has no HTML-label support, and plain labels let the graphviz
package do all the quoting. Every piece of user text goes through
:func:`graphviz.escape` (backslashes and ``<...>`` lose their meaning; quotes are
escaped by the package) and control characters are shown as ``\\n``-style escapes,
so no name can inject DOT.

Size: above ``max_nodes`` units (default :data:`DEFAULT_MAX_NODES`) the diagram is
folded, in this order, until it fits: (1) with ``highlight``, only the units on the
highlighted paths are kept; (2) anonymous operations and constants are folded into
dashed, unlabelled edges between named quantities; (3) inputs that feed exactly the
same nodes (a layer's weights) become one node listing their names; (4) only the
``max_nodes`` units nearest the output are kept. A grey note says what was folded or
left out. Symbolic forms longer than :data:`MAX_TEXT_CHARS` are left out next to their
number (backward view) or cut with "…" (symbolic view).
"""

from __future__ import annotations

import re
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
from ..ops import OPS
from ..printing import format_number, to_text
from ..steps import StepKind
from .options import DEFAULT_MAX_NODES, RANKDIRS, VIEWS

__all__ = ["build_diagram", "Diagram", "DEFAULT_MAX_NODES", "VIEWS", "RANKDIRS", "COLORS", "MAX_TEXT_CHARS"]

#: Longest symbolic form written in a label (see the module docstring).
MAX_TEXT_CHARS = 60
#: Longest anonymous operation written inside ∂…/∂… (then "…").
_NAME_CHARS = 24
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
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- text -------------------------------------------------------------------------------

def _visible(text: str) -> str:
    """Control characters as visible escapes, so a label is always one literal line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _label(lines: Iterable[str]) -> str:
    r"""Escaped lines joined by DOT line breaks; never treated as an HTML-like label."""
    return graphviz.nohtml("\\n".join(graphviz.escape(_visible(str(line))) for line in lines))


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - 1] + "…"


def _num(x) -> str:
    return format_number(x)


def _sym(expr) -> str:
    return _short(to_text(expr))


def _factor(expr) -> str:
    """``expr`` as a factor of a product: parenthesised when it is a sum or negative."""
    text = _sym(expr)
    if precedence(expr) < PRECEDENCE["Mul"] or text.startswith("-"):
        return f"({text})"
    return text


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
    return _Data(g, output, values, gradients, {}, units, values or None)


# --- the builder ----------------------------------------------------------------------------

def build_diagram(deriv, *, view: str = "backward", highlight: str | Iterable[str] | None = None,
                  rankdir: str = "LR", clusters: Mapping[str, str] | None = None,
                  max_nodes: int | None = DEFAULT_MAX_NODES, legend: bool = True,
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
    rankdir : {"LR", "TB"}
        Left to right or top to bottom; either way each node's value is just above it
        and its gradient just below.
    clusters : mapping, optional
        Node id or name -> cluster label; units with the same label are boxed
        together (one cluster per layer of a network).
    max_nodes : int or None
        Fold the diagram above this many units (see the module docstring); ``None``
        never folds.
    legend : bool
        Draw the colour legend.

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
    if not data.values and view != "symbolic":
        view = "symbolic"   # nothing numeric to show
    return _Builder(data, view, _highlight_set(data, highlight), rankdir, clusters or {},
                    max_nodes, legend).build()


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
    def __init__(self, data: _Data, view, highlight, rankdir, clusters, max_nodes, legend):
        self.d = data
        self.g = data.graph
        self.view = view
        self.hl_names, self.hl_nodes = highlight
        self.rankdir = rankdir
        self.clusters = clusters
        self.max_nodes = max_nodes
        self.legend = legend
        self.out_unit = _unit_of(self.g, data.output)
        self.notes: list[str] = []
        self.groups: dict[str, list[str]] = {}   # group id -> input units drawn as one node
        self._expr_text: dict[str, str] = {}

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

    # --- texts ------------------------------------------------------------------------------
    def expr_text(self, n: str) -> str:
        """Node ``n``'s expression in node names, printed once (a long sum's nested
        additions would otherwise be printed again for every edge that names them)."""
        if n not in self._expr_text:
            self._expr_text[n] = to_text(self.g.nodes[n]["expr"])
        return self._expr_text[n]

    def dname(self, n: str) -> str:
        """How unit ``n`` is written inside ∂…/∂…."""
        data = self.g.nodes[n]
        if data["kind"] == "op" and _alias_source(self.g, n) == n:
            text = self.expr_text(n)
            if len(text) > _NAME_CHARS:
                text = text[:_NAME_CHARS - 1] + "…"
            return text if precedence(data["expr"]) >= PRECEDENCE["Func"] else f"({text})"
        return node_label(self.g, n)

    def title(self, n: str) -> str:
        g = self.g
        data = g.nodes[n]
        kind = data["kind"]
        if kind == "op":
            src = _alias_source(g, n)
            if src != n:
                return f"{src} = {_short(self.expr_text(n))}"
            return OPS[data["op"]].symbol
        if kind == "name":
            pred = next(iter(g.predecessors(n)))
            return f"{n} = {node_label(g, pred)}"
        return str(data["label"])

    def value_text(self, n: str) -> str | None:
        kind = self.g.nodes[n]["kind"]
        if kind == "const":
            return None
        if self.view == "symbolic":
            if kind == "op" and _alias_source(self.g, n) == n:
                return _short(self.expr_text(n))
            return None
        v = self.d.values.get(n)
        return None if v is None else _num(v)

    def sym(self, expr) -> str | None:
        """A symbolic form for a label. Next to a number (backward view) a form too long
        to read is left out rather than cut; in the symbolic view it ends with "…"."""
        if expr is None:
            return None
        text = to_text(expr)
        if len(text) <= MAX_TEXT_CHARS:
            return text
        return None if self.view == "backward" else _short(text)

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
            terms.append(f"{_factor(loc.symbolic)}·{_factor(up)}")
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

    def sym_text(self, text: str) -> str | None:
        if len(text) <= MAX_TEXT_CHARS:
            return text
        return None if self.view == "backward" else _short(text)

    def edge_lines(self, u: str, w: str, k: int | None) -> list[str] | None:
        if self.view == "forward" or k is None:
            return None
        step = self.d.local.get((u, w, k))
        if step is None:
            return None
        head = f"∂{self.dname(w)}/∂{self.dname(u)}"
        sym = self.sym(step.symbolic)
        num = _num(step.value) if step.value is not None and self.view == "backward" else None
        if sym is None and num is None:
            return None
        lines = _equation([head, sym, num])
        if step.note and self.view == "backward":
            lines += textwrap.wrap(f"({step.note})", 40)
        return lines

    # --- DOT ---------------------------------------------------------------------------------
    def build(self) -> graphviz.Digraph:
        units, edges = self.choose()
        ids = {u: f"n{i}" for i, u in enumerate(units, 1)}
        dot = Diagram("backproof", comment="backproof computational graph")
        # LR: a unit's value and gradient texts share its column, one nodesep away.
        # TB: the texts sit in the ranks above and below, so ranks can be closer.
        nodesep, ranksep = ("0.12", "0.55") if self.rankdir == "LR" else ("0.3", "0.2")
        dot.attr("graph", rankdir=self.rankdir, nodesep=nodesep, ranksep=ranksep,
                 fontname=_FONT, fontsize="12", labelloc="t", label=self.graph_label())
        dot.attr("node", fontname=_FONT, fontsize="12")
        dot.attr("edge", fontname=_FONT, fontsize="10", fontcolor=COLORS["local"], arrowsize="0.7")

        cluster_of, cluster_names = self.cluster_plan(units)
        inputs = [u for u in units if self.kind(u) in ("input", "group") and u not in cluster_of]
        if inputs:
            with dot.subgraph(name="inputs") as s:
                s.attr(rank="same")
                for u in inputs:
                    self.add_unit(s, u, ids[u], helpers=dot if self.rankdir == "TB" else None)
        for ci, cname in enumerate(cluster_names, 1):
            with dot.subgraph(name=f"cluster_{ci}") as c:
                c.attr(label=_label([cname]), style="rounded", color="#9aa5b1", fontcolor="#44515e")
                for u in units:
                    if cluster_of.get(u) == cname:
                        self.add_unit_group(c, u, ids[u], in_cluster=True)
        for u in units:
            if u not in cluster_of and u not in inputs:
                self.add_unit_group(dot, u, ids[u])
        for u, w, k in edges:
            self.add_edge(dot, ids[u], ids[w], u, w, k)
        if self.legend:
            self.add_legend(dot)
        if self.notes:
            dot.node("note", _label(self.notes), shape="note", color=COLORS["note"],
                     fontcolor=COLORS["note"], fontsize="10")
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

    def graph_label(self) -> str:
        title = f"computational graph of {self.d.output}, {self.view} view"
        if self.d.at and self.view != "symbolic":
            pairs = [f"{k} = {_num(v)}" for k, v in self.d.at.items()]
            at = ", ".join(pairs[:_TITLE_VALUES]) + (", …" if len(pairs) > _TITLE_VALUES else "")
            title += f" at {at}"
        return _label([title])

    def add_unit_group(self, parent, u: str, nid: str, in_cluster: bool = False):
        if self.rankdir == "TB":   # the texts take the ranks above and below
            self.add_unit(parent, u, nid, in_cluster)
            return
        with parent.subgraph() as s:
            s.attr(rank="same")
            self.add_unit(s, u, nid, in_cluster)

    def stack(self, s, first: str, second: str, in_cluster: bool):
        """Put ``first`` just above ``second`` with an invisible edge.

        LR: both share a rank (a column) and a flat edge orders them; dot mirrors that
        order inside clusters (Graphviz 2.43 and 16 alike), so there the edge is
        reversed. TB: a flat edge does not hold its order reliably, so ``first`` takes
        the rank above instead, held close by a heavy edge. tests/test_render.py checks
        the positions with both backends.
        """
        if self.rankdir == "TB":
            s.edge(first, second, style="invis", weight="10")
            return
        if in_cluster:
            first, second = second, first
        s.edge(first, second, style="invis")

    def add_unit(self, s, u: str, nid: str, in_cluster: bool = False, helpers=None):
        """Unit ``u`` as node ``nid`` in ``s``; its value and gradient texts in ``helpers``
        (default ``s``)."""
        g = self.g
        kind = self.kind(u)
        attrs = {"id": graphviz.escape(f"bp:{_visible(u)}")}
        if kind == "group":
            members = self.groups[u]
            names = members if len(members) <= 4 else members[:3] + ["…", members[-1]]
            if any(m in self.hl_nodes for m in members):
                attrs.update(color=COLORS["highlight"], penwidth="2.5")
            s.node(nid, _label([", ".join(names), f"({len(members)} inputs)"]), shape="box",
                   style="filled", fillcolor=COLORS["input"], **attrs)
            return
        if kind == "input":
            attrs.update(shape="box", style="filled", fillcolor=COLORS["input"])
        elif kind == "const":
            attrs.update(shape="box", style="dashed", fontcolor=COLORS["note"], color=COLORS["note"],
                         fontsize="10", height="0.3", width="0.3")
        elif kind == "name" or _alias_source(g, u) != u:
            attrs.update(shape="box", style="rounded,filled", fillcolor=COLORS["named"])
        else:
            attrs.update(shape="circle", style="filled", fillcolor=COLORS["op"], fontsize="16",
                         width="0.45", fixedsize="false", margin="0.02")
        if u == self.out_unit:
            attrs["peripheries"] = "2"
        if u in self.hl_nodes:
            attrs.update(color=COLORS["highlight"], penwidth="2.5")
        if self.rankdir == "TB":
            attrs["group"] = nid
        s.node(nid, _label([self.title(u)]), **attrs)
        h = s if helpers is None else helpers
        value = self.value_text(u)
        grad = self.gradient_lines(u)
        # TB: the same group keeps the three in one vertical line.
        group = {"group": nid} if self.rankdir == "TB" else {}
        if value is not None:
            h.node(f"{nid}v", _label([value]), shape="plain", fontcolor=COLORS["value"], fontsize="11",
                   **group)
            self.stack(h, f"{nid}v", nid, in_cluster)
        if grad is not None:
            h.node(f"{nid}g", _label(grad), shape="plain", fontcolor=COLORS["gradient"], fontsize="11",
                   **group)
            self.stack(h, nid, f"{nid}g", in_cluster)

    def add_edge(self, dot, a: str, b: str, u: str, w: str, k: int | None):
        attrs = {}
        lines = self.edge_lines(u, w, k)
        if lines:
            attrs["label"] = _label(lines)
        if k is None:
            attrs["style"] = "dashed"
        hl = self.hl_nodes
        if w in hl and (u in hl or _alias_source(self.g, u) in hl):
            attrs.update(color=COLORS["highlight"], penwidth="2.5")
        dot.edge(a, b, **attrs)

    def add_legend(self, dot):
        """A key drawn like the diagram itself: one node with its value and gradient,
        one edge with its local derivative (and a highlighted edge, if any)."""
        out = self.d.output
        with dot.subgraph(name="cluster_legend") as s:
            s.attr(label="legend", style="rounded", color="#c8c8c8", fontcolor=COLORS["note"],
                   fontsize="10")
            with s.subgraph() as r:
                if self.rankdir == "LR":
                    r.attr(rank="same")
                r.node("legend_node", "node", shape="box", fontsize="10")
                value = "forward value" if self.view != "symbolic" else "expression (operations)"
                r.node("legend_value", value, shape="plain", fontcolor=COLORS["value"], fontsize="10")
                self.stack(r, "legend_value", "legend_node", True)
                if self.view != "forward":
                    r.node("legend_gradient", _label([f"gradient ∂{out}/∂node", "(at a fork: sum over paths)"]),
                           shape="plain", fontcolor=COLORS["gradient"], fontsize="10")
                    self.stack(r, "legend_node", "legend_gradient", True)
            s.node("legend_op", "op", shape="circle", style="filled", fillcolor=COLORS["op"],
                   fontsize="10")
            s.edge("legend_node", "legend_op",
                   label=_label(["local derivative", "∂op/∂node"]) if self.view != "forward" else None)
            if self.hl_names:
                names = ", ".join(self.hl_names)
                s.node("legend_out", _label([out]), shape="box", style="rounded,filled",
                       fillcolor=COLORS["named"], fontsize="10")
                s.edge("legend_op", "legend_out", color=COLORS["highlight"], penwidth="2.5",
                       fontcolor=COLORS["highlight"],
                       label=_label([f"paths from {names} to {out}:",
                                     f"∂{out}/∂{names} = sum of products", "of the local derivatives"]))
