"""A network's backward pass as a diagram: one box per layer, δ names, one record per unit.

Where :func:`~backproof.render.build_diagram` draws every scalar operation of a
program, a network diagram draws what a textbook draws (issue 11): per unit one record
reading ``z⁽ˡ⁾ᵢ = …``, ``a⁽ˡ⁾ᵢ = σ(z⁽ˡ⁾ᵢ) = …``, ``∂J/∂a⁽ˡ⁾ᵢ = …`` and
``δ⁽ˡ⁾ᵢ = ∂J/∂a·σ′(z) = …`` (δ = ∂J/∂z); per unit one table of the parameters that
feed it, a row per weight and bias with its value and ``∂J/∂w = δ·a``; the inputs, the
targets and the loss J. Every layer's units and parameters share one cluster (box), so
parameters sit in the rank just before the unit they feed. Indices are 1-based as
textbooks write them (``w⁽²⁾₁₂``, ``a⁽²⁾₁``); the spec's own ``names`` are kept (``w5``
is shown as ``w₅``). Edges are unlabelled: each one's local factor (a weight, an
activation) is already written in the boxes at its two ends.

With several samples only the first sample's units are drawn (a note says so); the
parameter gradients are the sums over all samples. Everything shown is formatted from
the network's scalar view (:func:`backproof.nn.views.scalar_view`), never recomputed.
"""

from __future__ import annotations

import re

import graphviz

from ..losses import LOSS_ROWS
from ..nn.views import delta_name
from ..ops import OPS
from ..printing import format_number
from .builder import COLORS, Diagram
from .labels import label_text, plain, record, subscript, superscript, visible
from .options import check_dpi

__all__ = ["build_network_diagram", "display_names", "network_diagram_fits", "MAX_DIAGRAM_PARAMS"]

#: Networks with more parameters get no diagram (a table row per parameter would not
#: fit a page; the write-up's tables hold them).
MAX_DIAGRAM_PARAMS = 200

_FONT = "Helvetica"
#: Longest symbolic form written in a unit's box (longer ones: the number only).
_FORM_CHARS = 34
#: Terms of ∂J/∂a = Σ δ·w written out one by one (more: the Σ form).
_SUM_TERMS = 2
_ALIAS = re.compile(r"([A-Za-z]+)([0-9]+)")


def _num(x) -> str:
    return format_number(x)


def _factor(x) -> str:
    text = _num(x)
    return f"({text})" if text.startswith("-") else text


def _pretty_alias(alias: str) -> str:
    """A spec's own name typeset as written in textbooks: ``w5`` -> ``w₅``."""
    m = _ALIAS.fullmatch(alias)
    return f"{m.group(1)}{subscript(m.group(2))}" if m else alias


def display_names(net) -> dict[str, str]:
    """Scalar name -> how a network diagram writes it (1-based, layer as a superscript),
    for the first sample (the one a network diagram draws).

    Parameters
    ----------
    net : NetProgram
        The network (its layout knows every name's layer, row and column).

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> net = program_from_spec({"inputs": [1, 2], "targets": [5], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "sigmoid"}], "names": {"w2": "W1[0][1]"}})
    >>> names = display_names(net)
    >>> names["x_0"], names["w1_0_0"], names["w2"], names["z1_0"], names["a1_0"], names["b1_0"]
    ('x₁', 'w⁽¹⁾₁₁', 'w₂', 'z⁽¹⁾₁', 'a⁽¹⁾₁', 'b⁽¹⁾₁')
    """
    spec, lay = net.spec, net.layout
    aliases = {alias for alias, _ in spec.names}
    out: dict[str, str] = {}
    # Only the first sample is drawn (the diagram's note says so): no sample index.
    for j, name in enumerate(lay.x[0]):
        out[name] = _pretty_alias(name) if name in aliases else f"x{subscript(str(j + 1))}"
    for k, name in enumerate(lay.y[0]):
        out[name] = _pretty_alias(name) if name in aliases else f"y{subscript(str(k + 1))}"
    for l in range(len(spec.layers)):
        sup = superscript(f"({l + 1})")
        for i, row in enumerate(lay.W[l]):
            for j, name in enumerate(row):
                out[name] = _pretty_alias(name) if name in aliases else f"w{sup}{subscript(f'{i + 1}{j + 1}')}"
        shared = spec.layers[l].shared_bias  # one bias for the layer: b⁽ˡ⁾, no unit index
        for i, name in enumerate(lay.b[l]):
            out[name] = (_pretty_alias(name) if name in aliases
                         else f"b{sup}" if shared else f"b{sup}{subscript(str(i + 1))}")
        for i, z in enumerate(lay.z[l][0]):
            out[z] = _pretty_alias(z) if z in aliases else f"z{sup}{subscript(str(i + 1))}"  # net_h1
            out[delta_name(z)] = f"δ{sup}{subscript(str(i + 1))}"
        for i, a in enumerate(lay.a[l][0]):
            out.setdefault(a, _pretty_alias(a) if a in aliases else f"a{sup}{subscript(str(i + 1))}")
    return out


def network_diagram_fits(spec) -> bool:
    """Whether a network is small enough for :func:`build_network_diagram`.

    Examples
    --------
    >>> from backproof.nn.spec import validate_spec
    >>> network_diagram_fits(validate_spec({"inputs": [1], "targets": [2], "loss": "sse",
    ...                                     "layers": [{"units": 1, "activation": "relu"}]}))
    True
    """
    return spec.n_params <= MAX_DIAGRAM_PARAMS


def build_network_diagram(result, *, legend: bool = True, title: bool = True,
                          dpi: int | None = None) -> Diagram:
    """Draw a network's forward and backward pass: one box per layer, δ per unit.

    Parameters
    ----------
    result : NetResult
        What :func:`backproof.nn.run.run_network` (or ``Network.explain``) returned.
    legend : bool
        Write the one-line key of the boxes.
    title : bool
        Write the title line.
    dpi : int, optional
        Resolution of PNG renders (see :func:`~backproof.render.build_diagram`).

    Returns
    -------
    Diagram
        A ``graphviz.Digraph``; deterministic.

    Examples
    --------
    >>> from backproof.nn import Network
    >>> net = Network([{"units": 1, "activation": "sigmoid", "weights": [[0.5]], "bias": 0}],
    ...               loss="half_sse", learning_rate=0.1)
    >>> dot = build_network_diagram(net.explain(inputs=[1], targets=[1]))
    >>> "δ⁽¹⁾₁ = ∂J/∂a⁽¹⁾₁·σ′(z⁽¹⁾₁)" in dot.source
    True
    """
    if dpi is not None:
        check_dpi(dpi)
    return _NetDiagram(result, legend, title, dpi).build()


class _NetDiagram:
    def __init__(self, result, legend: bool, title: bool, dpi: int | None):
        self.r = result
        self.net = result.net
        self.spec = result.net.spec
        self.lay = result.net.layout
        self.names = display_names(result.net)
        self.legend, self.title, self.dpi = legend, title, dpi
        self.deltas = {(d.layer - 1, d.unit): d for d in result.scalar.deltas if not d.sample}
        self.params = {p.name: p for p in result.scalar.params}
        self.values = result.derivation.values
        self.ids: dict[str, str] = {}
        self.ports: dict[str, str] = {}
        self.J = result.net.output  # the loss as the spec names it (E_total), else J

    def show(self, name: str) -> str:
        return self.names.get(name, name)

    def form(self, expr) -> str | None:
        if expr is None:
            return None
        text = label_text(expr, self.names)
        return text if len(text) <= _FORM_CHARS else None

    # --- boxes -------------------------------------------------------------------------------
    def unit_fields(self, l: int, i: int) -> list[list[str]]:
        """z, a = act(z), ∂J/∂a and δ of unit ``i`` of layer ``l + 1`` (first sample)."""
        d = self.deltas[(l, i)]
        z, a = self.show(d.z), self.show(d.a)
        dname = self.show(delta_name(d.z))
        act = d.activation
        fields = [[f"{z} = {_num(d.z_value)}"]]
        if d.a != d.z:
            sym = OPS[act].symbol if act in OPS else act
            fields.append([f"{a} = {sym}({z}) = {_num(d.a_value)}"])
        fused = self.fused_delta(l, i)
        if fused is not None:
            fields.append([f"{dname} = {fused}", f"= {_num(d.delta)}"])
            return fields
        grad_a = self.grad_a_lines(l, i, a if d.a != d.z else z)
        if d.a == d.z:   # identity: δ is ∂J/∂a itself
            fields.append([grad_a[0].replace(f"∂{self.J}/∂{z}", f"{dname} = ∂{self.J}/∂{z}", 1), *grad_a[1:]])
            return fields
        fields.append(grad_a)
        if d.da_dz is None:   # softmax: a full Jacobian, no single slope
            fields.append([f"{dname} = Σₘ ∂{self.J}/∂aₘ·∂aₘ/∂{z}", f"= {_num(d.delta)}"])
            return fields
        sym = OPS[act].symbol if act in OPS else act
        fields.append([f"{dname} = ∂{self.J}/∂{a}·{sym}′({z})",
                       f"= {_factor(d.dJ_da)}·{_factor(d.da_dz)} = {_num(d.delta)}"])
        return fields

    def fused_delta(self, l: int, i: int) -> str | None:
        """δ = (a − y)/k of the output layer when the loss is paired with its activation."""
        last = len(self.spec.layers) - 1
        row = LOSS_ROWS[self.spec.loss]
        if l != last or row.requires != self.spec.layers[l].activation:
            return None
        k = (self.spec.layers[l].units if row.per_output else 1) * self.spec.n_samples
        a, y = self.show(self.lay.a[l][0][i]), self.show(self.lay.y[0][i])
        return f"({a} - {y})" + ("" if k == 1 else f"/{k}")

    def grad_a_lines(self, l: int, i: int, a: str) -> list[str]:
        """∂J/∂a: the loss's derivative (output layer) or Σₖ δ⁽ˡ⁺¹⁾ₖ·wₖᵢ (hidden)."""
        d = self.deltas[(l, i)]
        head = f"∂{self.J}/∂{a}"
        if not d.back:
            sym = self.form(d.dJ_da_symbolic)
            return [f"{head} = {sym}", f"= {_num(d.dJ_da)}"] if sym else [f"{head} = {_num(d.dJ_da)}"]
        if len(d.back) <= _SUM_TERMS:
            terms = " + ".join(f"{self.show(dn)}·{self.show(w)}" for dn, w, _, _ in d.back)
        else:
            sup = superscript(f"({l + 2})")
            terms = f"Σₖ δ{sup}ₖ·w{sup}ₖ{subscript(str(i + 1))}"
        return [f"{head} = {terms}", f"= {_num(d.dJ_da)}"]

    def param_rows(self, l: int, i: int) -> list[list[str | list[str]]]:
        """A row per weight into unit ``i`` of layer ``l + 1`` and one for its bias."""
        rows: list[list[str | list[str]]] = []
        names = [*self.lay.W[l][i], self.lay.b[l][i]]
        for name in names:
            p = self.params[name]
            grad = [f"∂{self.J}/∂{self.show(name)} = {_num(p.gradient)}"]
            if len(p.terms) == 1:   # one sample: ∂J/∂w = δ·a (δ for a bias); several: the sum
                dname = self.show(p.terms[0][0])
                why = dname if p.col is None else f"{dname}·{self.show(p.terms[0][1] or '')}"
                grad = [f"∂{self.J}/∂{self.show(name)} = {why}", f"= {_num(p.gradient)}"]
            rows.append([f"{self.show(name)} = {_num(p.value)}", grad])
        return rows

    # --- DOT ---------------------------------------------------------------------------------
    def build(self) -> Diagram:
        dot = Diagram("backproof_network", comment="backproof network diagram")
        dot.dpi = self.dpi
        dot.attr("graph", rankdir="LR", nodesep="0.12", ranksep="0.3", fontname=_FONT, fontsize="12",
                 labelloc="t")
        head = self.head_lines()
        if head:
            dot.attr("graph", label=plain(head))
        dot.attr("node", fontname=_FONT, fontsize="12")
        dot.attr("edge", arrowsize="0.6", color="#6b7785")
        cluster = {"style": "rounded", "color": "#9aa5b1", "fontcolor": "#44515e"}
        with dot.subgraph(name="cluster_input") as c:
            c.attr(label="input", **cluster)
            self.table(c, "inputs", self.lay.x[0])
        for l, layer in enumerate(self.spec.layers):
            with dot.subgraph(name=f"cluster_layer{l + 1}") as c:
                c.attr(label=plain([f"layer {l + 1} ({layer.activation})"]), **cluster)
                for i in range(layer.units):
                    z = self.lay.z[l][0][i]
                    rows = [record_row(r) for r in self.param_rows(l, i)]
                    self.node(c, f"params:{z}", record(rows, raw=True), shape="record", style="filled",
                              fillcolor=COLORS["input"])
                    self.node(c, z, record(self.unit_fields(l, i)), shape="Mrecord", style="filled",
                              fillcolor=COLORS["named"])
        self.loss_cluster(dot, cluster)
        self.edges(dot)
        if self.spec.n_samples > 1:
            dot.node("note", plain([f"sample 1 of {self.spec.n_samples} drawn;",
                                    f"each ∂J/∂w sums δ·a over all {self.spec.n_samples}"]),
                     shape="note", color=COLORS["note"], fontcolor=COLORS["note"])
        return dot

    def nid(self, name: str) -> str:
        """DOT node name of a scalar (or ``params:<z>``): ``n1``, ``n2``, … in drawing order."""
        if name not in self.ids:
            self.ids[name] = f"n{len(self.ids) + 1}"
        return self.ids[name]

    def node(self, s, name: str, label, **attrs) -> None:
        """Node of scalar ``name``; its SVG id is ``bp:<name>`` (as in the program's diagram)."""
        s.node(self.nid(name), label, id=graphviz.escape(f"bp:{visible(name)}"), **attrs)

    def table(self, s, what: str, names) -> None:
        """The inputs (or targets) as one record, a field per value, in index order."""
        ports = [f"p{k}" for k in range(1, len(names) + 1)]
        for name, port in zip(names, ports, strict=True):
            self.ports[name] = f"{self.nid(what)}:{port}"
        fields = [f"{self.show(n)} = {_num(self.values[n])}" for n in names]
        self.node(s, what, record(fields, ports=ports), shape="record", style="filled",
                  fillcolor=COLORS["input"])

    def port(self, name: str) -> str:
        """Where an edge from scalar ``name`` starts: its field of a table, or its node."""
        return self.ports.get(name) or self.nid(name)

    def loss_cluster(self, dot, cluster: dict) -> None:
        with dot.subgraph(name="cluster_loss") as c:
            c.attr(label=plain([f"loss ({self.spec.loss})"]), **cluster)
            self.table(c, "targets", self.lay.y[0])
            lines = [f"{self.r.net.output} = {LOSS_ROWS[self.spec.loss].text}"]  # E_total when named
            if self.spec.n_samples > 1:
                lines.append(f"(mean over {self.spec.n_samples} samples)")
            self.node(c, "J", record([lines, [_num(self.r.loss)]]), shape="Mrecord", style="filled",
                   fillcolor=COLORS["named"], penwidth="2")

    def edges(self, dot) -> None:
        lay = self.lay
        for l, layer in enumerate(self.spec.layers):
            prev = lay.x[0] if l == 0 else lay.z[l - 1][0]
            for i in range(layer.units):
                z = lay.z[l][0][i]
                for p in prev:
                    dot.edge(self.port(p), self.nid(z))
                dot.edge(self.nid(f"params:{z}"), self.nid(z))
        last = len(self.spec.layers) - 1
        for z in lay.z[last][0]:
            dot.edge(self.nid(z), self.nid("J"))
        for y in lay.y[0]:
            dot.edge(self.port(y), self.nid("J"))

    def head_lines(self) -> list[str]:
        lines = []
        if self.title:
            sizes = "-".join(str(s) for s in self.spec.sizes)
            name = f"{self.spec.name}: " if self.spec.name else ""
            lines.append(f"{name}{sizes} network at the spec's parameters, loss {self.J} = {_num(self.r.loss)}")
        if self.legend:
            lines.append("unit: z | a = act(z) | ∂J/∂a | δ = ∂J/∂z     parameters: value | ∂J/∂w = δ·a"
                         "     (indices from 1)")
        return lines


def record_row(fields: list[str | list[str]]) -> str:
    """One row of a table record: its fields side by side (already escaped)."""
    return str(record(fields, flip=True))
