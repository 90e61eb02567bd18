"""The write-up of a network step as one :class:`~backproof.report.document.Document`
(text, Markdown, LaTeX and HTML print it), and its JSON data. Reports format a
:class:`~backproof.nn.explain.NetResult`; they never compute.

The page reads like a textbook's: the network and its loss, what is given, the forward
pass, then the backward pass in δ notation — δ⁽ˡ⁾ᵢ = ∂J/∂z⁽ˡ⁾ᵢ per unit, computed once
(at the output from ∂J/∂a, below from the layer above: ∂J/∂a⁽ˡ⁾ᵢ = Σₖ w⁽ˡ⁺¹⁾ₖᵢ δ⁽ˡ⁺¹⁾ₖ)
and reused by every parameter: ∂J/∂w⁽ˡ⁾ᵢⱼ = δ⁽ˡ⁾ᵢ a⁽ˡ⁻¹⁾ⱼ, ∂J/∂b⁽ˡ⁾ᵢ = δ⁽ˡ⁾ᵢ. Then the
update, training and the checks. Indices count from 1 (a⁽²⁾₁, w⁽²⁾₁₂), and the spec's own
names (Mazur's w₁ … w₈) replace the indexed ones. Every formula is a SymPy expression of
the atoms of :mod:`backproof.nn.notation`, printed by SymPy's printers; the coordinates of
each scalar come from the network's :class:`~backproof.nn.model.Layout`, never from its name.

The scalar chain-rule derivation (every gate, as ``explain`` writes it) is an opt-in
appendix (``appendix=True``) for graphs of at most :data:`APPENDIX_NODES` nodes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from .. import __version__
from ..losses import LOSS_ROWS
from ..ops import OPS
from ..printing import format_number, to_text
from ..report import derivation_dict
from ..report.derivation_doc import WriteupOptions, derivation_document
from ..report.document import (
    Bullets,
    Code,
    Details,
    Document,
    Equation,
    Equations,
    Figure,
    Heading,
    Inline,
    Math,
    Paragraph,
    Table,
    Text,
    join_runs,
)
from ..report.html import print_html
from ..report.jsonout import to_json_text
from ..report.latex import print_latex
from ..report.markdown import print_markdown
from ..report.notation import NOTATIONS, Num, term_text
from ..report.text import print_text
from ..verify import Skipped
from .notation import D, Fn, Frac, Had, Hat, Juxt, Mat, Name, Sub, SumOver, Tr, Unit, Words
from .train import penalty_view, shown_rows, training_lines

__all__ = ["NetWriteup", "network_document", "render_text", "render_markdown", "render_latex",
           "render_html", "render_json", "network_dict", "VIEWS", "APPENDIX_NODES", "SHOW_SAMPLES",
           "MAX_ROWS", "OPEN_LINES"]

VIEWS = ("scalar", "matrix", "both")
#: Graphs up to this size may get the scalar chain-rule derivation as an appendix.
APPENDIX_NODES = 400
#: Samples worked through one by one in the forward pass and the δ view (the parameter
#: gradients sum over every sample).
SHOW_SAMPLES = 1
#: Rows of a table before "… N more (in --format json)".
MAX_ROWS = 300
#: Matrices with more entries than this are shown by shape only (values in JSON).
MAX_ENTRIES = 36
#: Widest matrix written out: amsmath's matrix environments hold 10 columns (MaxMatrixCols).
MAX_COLUMNS = 10
#: A block of more lines than this is folded (a collapsed ``details`` in HTML and Markdown).
OPEN_LINES = 16
#: Sums of more terms than this are written without their substituted numbers (the value
#: follows; the matrix view has every number).
NUMBER_TERMS = 4

_MODE_TEXT = {
    "simultaneous": "simultaneous: every parameter moves by the gradients of the same forward and "
                    "backward pass",
    "sequential": "sequential: the output layer is updated first and each earlier layer's error "
                  "flows back through the already updated weights above it (forward values unchanged)",
}
_J = sp.Symbol("J")


@dataclass(frozen=True)
class NetWriteup:
    """How a network step is written up.

    Attributes
    ----------
    view : {"scalar", "matrix", "both"}
        The backward pass per unit (δ view), per matrix, or both.
    notation : {"delta", "leibniz", "cs231n"}
        ``delta``: δ⁽ˡ⁾ᵢ for ∂J/∂z⁽ˡ⁾ᵢ (the network default); ``leibniz``: ∂J/∂z⁽ˡ⁾ᵢ written
        out; ``cs231n``: dz, dw, db.
    compact : bool
        One line per unit (∂J/∂a folded into δ's line); otherwise ∂J/∂a and δ each get one.
    appendix : bool
        Append every scalar chain-rule step (graphs up to :data:`APPENDIX_NODES` nodes).
    digits : int
        Significant digits of printed numbers.
    figure : Figure or None
        The computational graph.
    plots : tuple of Figure
        Training plots.
    """

    view: str = "scalar"
    notation: str = "delta"
    compact: bool = False
    appendix: bool = False
    digits: int = 6
    figure: Figure | None = None
    plots: tuple[Figure, ...] = ()

    def __post_init__(self):
        if self.notation not in NOTATIONS:
            raise ValueError(f"unknown notation {self.notation!r} (must be one of {', '.join(NOTATIONS)})")
        if self.view not in VIEWS:
            raise ValueError(f"unknown view {self.view!r} (must be one of {', '.join(VIEWS)})")


def _f(x) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _add(*terms):
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _mul(*factors):
    """An unevaluated product; a product among the factors is spliced in (∂J/∂a · a(1 − a))."""
    flat = [g for f in factors for g in (f.args if isinstance(f, sp.Mul) and f.args[0] != -1 else (f,))]
    return flat[0] if len(flat) == 1 else sp.Mul(*flat, evaluate=False)


def _as_written(expr):
    """``expr`` rebuilt unevaluated as a teacher writes it: positive terms first (``a − y``, not
    ``−y + a``), and negative powers as fractions (``y/a``, not ``a⁻¹·y``)."""
    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, (Unit, Name)):
        return expr
    if isinstance(expr, sp.Mul):
        return _product(expr)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp < 0:
        return Frac(sp.Integer(1), _as_written(sp.Pow(expr.base, -expr.exp)))
    args = [_as_written(a) for a in expr.args]
    if isinstance(expr, sp.Add):
        args.sort(key=lambda t: t.could_extract_minus_sign())
    with sp.evaluate(False):
        return expr.func(*args)


def _product(expr):
    sign = expr.args[0] == -1
    rest = expr.args[1:] if sign else expr.args
    numer = [_as_written(a) for a in rest if not (a.is_Pow and a.exp.is_Integer and a.exp < 0)]
    denom = [_as_written(sp.Pow(a.base, -a.exp)) for a in rest if a.is_Pow and a.exp.is_Integer and a.exp < 0]
    top = _mul(*numer) if numer else sp.Integer(1)
    body = Frac(top, _mul(*denom)) if denom else top
    return sp.Mul(sp.Integer(-1), body, evaluate=False) if sign else body


def _step(expr):
    """SymPy's Heaviside(z, 0) written as step(z)."""
    return expr.replace(lambda e: isinstance(e, sp.Heaviside),
                        lambda e: Fn("step", e.args[0], r"\operatorname{step}"))


class _Symbols:
    """The atom of every scalar of the network, from its coordinates in the layout.

    A scalar the spec names (``w5``, ``net_h1``, ``out_o1``, ``E_total``) is written by
    its name; the others by their indexed letter (``z⁽¹⁾₁``). A shared bias is ``b⁽ˡ⁾``.
    """

    def __init__(self, net, notation: str):
        spec, lay = net.spec, net.layout
        self.notation = notation
        self.multi = spec.n_samples > 1
        alias = spec.alias_of()
        named = {a for a, _ in spec.names}
        self.J = Name(lay.output) if lay.output != "J" else _J
        self.of: dict[str, Any] = {"J": _J, lay.output: self.J}
        self.of.update({e: Name(e) for e in lay.errors})

        def atom(name: str, default):
            return Name(name) if name in named else default

        for s in range(spec.n_samples):
            for j, n in enumerate(lay.x[s]):
                self.of[n] = atom(n, Unit("x", None, (j + 1,), self.sample(s)))
            for k, n in enumerate(lay.y[s]):
                self.of[n] = atom(n, Unit("y", None, (k + 1,), self.sample(s)))
            if self.multi:
                self.of[lay.loss[s]] = Unit("J", None, (), self.sample(s))
        self.z_named: dict[tuple[int, int], str] = {}
        for l, layer in enumerate(spec.layers):
            for i in range(layer.units):
                for j in range(layer.fan_in):
                    entry = f"W{l + 1}[{i}][{j}]"
                    self.of[lay.W[l][i][j]] = (Name(alias[entry]) if entry in alias
                                               else Unit("w", l + 1, (i + 1, j + 1)))
                entry = f"b{l + 1}" if layer.shared_bias else f"b{l + 1}[{i}]"
                default = Unit("b", l + 1) if layer.shared_bias else Unit("b", l + 1, (i + 1,))
                self.of[lay.b[l][i]] = Name(alias[entry]) if entry in alias else default
                for s in range(spec.n_samples):
                    self.of[lay.z[l][s][i]] = atom(lay.z[l][s][i], Unit("z", l + 1, (i + 1,), self.sample(s)))
                    if lay.z[l][s][i] in named:
                        self.z_named[(l + 1, i + 1)] = lay.z[l][s][i]
                    if lay.a[l][s][i] != lay.z[l][s][i]:
                        self.of[lay.a[l][s][i]] = atom(lay.a[l][s][i], Unit("a", l + 1, (i + 1,), self.sample(s)))
        # Symbols of the program (real=True) and of the views (plain) both map to the atoms.
        self.rename = {sp.Symbol(n, **kw): a for n, a in self.of.items() for kw in ({}, {"real": True})}

    def sample(self, s):
        return s + 1 if self.multi and isinstance(s, int) else (s if self.multi else None)

    def __getitem__(self, name: str):
        return self.of[name]

    def delta(self, layer, unit, sample=None):
        """δ⁽ˡ⁾ᵢ, ∂J/∂z⁽ˡ⁾ᵢ or dz⁽ˡ⁾ᵢ as the notation writes it (coordinates as printed)."""
        if self.notation == "delta":
            return Unit("δ", layer, unit, sample)
        named = self.z_named.get((layer, unit)) if isinstance(unit, int) else None
        if named is not None:  # the spec names the unit's z: ∂E_total/∂net_o1
            return self.grad(Name(named))
        return self.grad(Unit("z", layer, unit, sample))

    def grad(self, atom):
        """∂J/∂atom, or d·atom in CS231n's notation (J is the spec's name for the loss)."""
        return D(self.J, atom, "cs231n" if self.notation == "cs231n" else "leibniz")

    def form(self, expr):
        """A SymPy expression of program symbols written with the network's atoms."""
        return _step(_as_written(sp.sympify(expr, strict=True).xreplace(self.rename)))  # safe: strict


class _Builder:
    """Arranges a NetResult into blocks; one method per section."""

    def __init__(self, result, o: NetWriteup):
        self.r, self.o = result, o
        self.net, self.spec, self.lay = result.net, result.net.spec, result.net.layout
        self.V, self.G = result.derivation.values, result.derivation.gradients
        self.S = _Symbols(self.net, o.notation)
        self.L = len(self.spec.layers)
        self.shown = range(min(self.spec.n_samples, SHOW_SAMPLES))

    # --- numbers ---------------------------------------------------------------------
    def n(self, x, paren: bool = False) -> Num:
        text = format_number(x, self.o.digits)
        return Num(f"({text})" if paren and text.startswith("-") else text)

    def mat(self, M):
        """A numeric matrix, or its shape when it has too many entries."""
        r, c = M.shape
        if r * c > MAX_ENTRIES or c > MAX_COLUMNS:
            return Words(f"({r}×{c} matrix; values in --format json)")
        return Mat([[self.n(M[i, j]) for j in range(c)] for i in range(r)])

    def sample(self, s: int):
        return self.S.sample(s)

    # --- the document ------------------------------------------------------------------
    def document(self) -> Document:
        blocks: list[Any] = []
        sections = [self.network, self.given, self.forward]
        if self.o.view in ("scalar", "both"):
            sections += [self.delta_view, self.parameters]
        if self.o.view in ("matrix", "both") and self.r.matrix is not None:
            sections.append(self.matrix_view)
        sections += [self.penalty, self.update, self.training, self.plots, self.verification, self.appendix]
        for section in sections:
            blocks.extend(section())
        spec = self.spec
        acts = ", ".join(layer.activation for layer in spec.layers)
        return Document(f"{spec.name}: a {'-'.join(map(str, spec.sizes))} network",
                        tuple(blocks),
                        subtitle=f"{acts}; loss {spec.loss}; {_plural(spec.n_samples, 'sample')}")

    def network(self) -> list[Any]:
        spec = self.spec
        L: list[Any] = []
        if spec.description:
            L.append(Paragraph((Text(spec.description.strip()),)))
        items: list[tuple[Inline, ...]] = []
        for l, layer in enumerate(spec.layers, start=1):
            prev = Unit("x") if l == 1 else Unit("a", l - 1)
            z, a = Unit("z", l), Unit("a", l)
            how = f", initialised ({layer.initializer}, seed {spec.seed})" if layer.initialized else ""
            act = (Math((a, z)) if layer.activation == "identity"
                   else Math((a, self._act(layer.activation, z))))
            items.append((Text(f"layer {l}: {_plural(layer.units, 'unit')}, {layer.activation}: "),
                          Math((z, _add(_juxt(Unit("W", l), prev), Unit("b", l)))), Text(", "), act,
                          Text("; "), Math((Unit("W", l),)), Text(f" is {layer.units}×{layer.fan_in}{how}")))
        items.append(self._loss_item())
        items.append((Text(f"{spec.n_params} parameters. Indices count from 1: "),
                      Math((Unit("w", "l", ("i", "j")),)),
                      Text(" is the weight into unit i of layer l from unit j of the layer below "
                           "(the spec's W{l}[i-1][j-1]), and "), Math((Unit("a", 0), Unit("x"))),
                      Text(" is the input.")))
        items += self._constraint_items()
        if spec.names:
            items.append((Text("the spec's names: "),
                          *join_runs([Math((Name(a), self._indexed(e))) for a, e in spec.names])))
        L += [Heading("Network"), Bullets(tuple(items))]
        if self.o.figure is not None:
            L.append(self.o.figure)
        L.append(self._program())
        return L

    def _constraint_items(self) -> list[tuple[Inline, ...]]:
        """Bullets naming the shared and the frozen parameters (empty when every one is free)."""
        items: list[tuple[Inline, ...]] = []
        for l, layer in enumerate(self.spec.layers):
            if layer.shared_bias:
                b = self.S[self.lay.b[l][0]]
                items.append((Text("shared: "), Math((b,)), Text(
                    f" is one bias that all {layer.units} units of layer {l + 1} use; its gradient is the sum "
                    f"of the units' δ (the paths add up where the bias forks)"),))
        if self.spec.frozen:
            items.append((Text("frozen (no update changes them): "),
                          *join_runs([Math((self.S[p], self.n(self.V[p]))) for p in self.spec.frozen])))
        return items

    def _indexed(self, entry: str):
        """The indexed atom of a spec entry such as ``W2[0][1]`` (its coordinates, 1-based)."""
        for l in range(self.L):
            for i, row in enumerate(self.lay.W[l]):
                for j in range(len(row)):
                    if entry == f"W{l + 1}[{i}][{j}]":
                        return Unit("w", l + 1, (i + 1, j + 1))
            for i in range(len(self.lay.b[l])):
                if entry == f"b{l + 1}[{i}]":
                    return Unit("b", l + 1, (i + 1,))
            if entry == f"b{l + 1}":
                return Unit("b", l + 1)
        return self._node_atom(entry)

    def _node_atom(self, entry: str):
        """The indexed atom of a node entry (``z1[0]``, ``a2[1]``, ``x[0]``, ``E[0]``, ``J``)."""
        m = re.match(r"^([xyzaE])(\d*)\[(\d+)\]$", entry)
        if entry == "J":
            return _J
        if m is None:
            return Words(entry)
        letter, layer, i = m.group(1), m.group(2), int(m.group(3))
        return Unit(letter, int(layer) if layer else None, (i + 1,))

    def _act(self, act: str, z):
        if act == "softmax":
            return Fn("softmax", z, r"\operatorname{softmax}")
        if act == "sigmoid":
            return Fn("σ", z, r"\sigma")
        with sp.evaluate(False):
            return OPS[act].forward(z)

    def _loss_item(self) -> tuple[Inline, ...]:
        spec = self.spec
        K = spec.layers[-1].units
        outs = [self._out_atom(k, None) for k in range(K)]
        ts = [Unit("y", None, (k + 1,)) for k in range(K)]
        with sp.evaluate(False):
            written = LOSS_ROWS[spec.loss].written(outs, ts)
        per = Unit("J", None, (), "s") if spec.n_samples > 1 else self.S.J
        runs: list[Inline] = [Text(f"loss {spec.loss}: "), Math((per, written))]
        if spec.n_samples > 1:
            runs += [Text(" per sample s, and "),
                     Math((self.S.J, Frac(SumOver("s", per, "1", str(spec.n_samples)), sp.Integer(spec.n_samples)))),
                     Text(f", the mean over the {spec.n_samples} samples")]
        row = LOSS_ROWS[spec.loss]
        if row.convention:  # the hinge: max(0, m) written as ReLU(m), with its kink
            runs.append(Text(f" ({row.text}, written with ReLU = max(0, ·); {row.convention})"))
        return tuple(runs)

    def _out_atom(self, k: int, s):
        l = self.L
        if self.spec.layers[-1].activation == "identity":
            return Unit("z", l, (k + 1,), s)
        return Unit("a", l, (k + 1,), s)

    def _program(self) -> Details:
        spec, net = self.spec, self.net
        if spec.n_samples <= SHOW_SAMPLES:
            stmts = list(net.program.statements)
        else:
            keep = tuple(f"_s{s}" for s in self.shown)
            stmts = [st for st in net.program.statements if st.name == "J" or st.name.endswith(keep)]
        lines = [_cut(f"{st.name} = {term_text(st.expr)}") for st in stmts][:MAX_ROWS]
        extra = spec.n_samples - len(self.shown)
        if extra > 0:
            lines.append(f"# … and the same statements for each of the other {_plural(extra, 'sample')} "
                         f"(every value is in --format json)")
        return Details("the program as named scalars", (Paragraph((
            Text("The program as named scalars (0-based, as "), Text("backproof explain", "code"),
            Text(" reads it):"))), Code(tuple(lines))))

    def given(self) -> list[Any]:
        spec, lay, V = self.spec, self.lay, self.V
        items: list[tuple[Inline, ...]] = []
        for s in self.shown:
            head = [Text(f"sample {s + 1}: ")] if spec.n_samples > 1 else []
            xs = [Math((self.S[x], self.n(V[x]))) for x in lay.x[s]]
            ys = [Math((self.S[y], self.n(V[y]))) for y in lay.y[s]]
            items.append((*head, *join_runs(xs), Text("; targets "), *join_runs(ys)))
        extra = spec.n_samples - len(self.shown)
        if extra > 0:
            items.append((Text(f"… and {_plural(extra, 'more sample')} (every value is in --format json)"),))
        for l in range(self.L):
            W = sp.Matrix([[V[w] for w in row] for row in lay.W[l]])
            b = sp.Matrix([V[v] for v in lay.b[l]])
            bias = Math((Unit("b", l + 1), self.mat(b)))
            if spec.layers[l].shared_bias:
                bias = Math((self.S[lay.b[l][0]], self.n(V[lay.b[l][0]])))
            items.append((Math((Unit("W", l + 1), self.mat(W))), Text(",  "), bias,
                          *((Text(" (shared by the layer's units)"),) if spec.layers[l].shared_bias else ())))
        return [Heading("Given"), Bullets(tuple(items))]

    # --- forward -------------------------------------------------------------------------
    def forward(self) -> list[Any]:
        spec = self.spec
        blocks: list[Any] = [Heading("Forward pass")]
        for s in self.shown:
            for l in range(self.L):
                title = f"Layer {l + 1} ({spec.layers[l].activation})"
                if spec.n_samples > 1:
                    title = f"Sample {s + 1}, layer {l + 1} ({spec.layers[l].activation})"
                blocks += [Heading(title, 3), Equations(tuple(self._forward_layer(l, s)))]
        blocks += [Heading("Loss", 3), Equations(tuple(self._loss_lines()))]
        return blocks

    def _forward_layer(self, l: int, s: int) -> list[Equation]:
        lay, V, S = self.lay, self.V, self.S
        layer = self.spec.layers[l]
        prev = lay.x[s] if l == 0 else lay.a[l - 1][s]
        out: list[Equation] = []
        for i in range(layer.units):
            z = lay.z[l][s][i]
            ws = lay.W[l][i]
            sym = _add(*[_mul(S[w], S[a]) for w, a in zip(ws, prev)], S[lay.b[l][i]])
            if len(ws) > NUMBER_TERMS and all(isinstance(S[w], Unit) for w in ws):
                # A long sum in its textbook form: Σⱼ w⁽ˡ⁾ᵢⱼ a⁽ˡ⁻¹⁾ⱼ + b⁽ˡ⁾ᵢ.
                term = _mul(Unit("w", l + 1, (i + 1, "j")), self._prev_atom(l + 1, "j", self.sample(s), index=True))
                sym = _add(SumOver("j", term, "1", str(len(ws))), S[lay.b[l][i]])
            terms = [S[z], sym]
            if len(ws) <= NUMBER_TERMS:
                terms.append(_add(*[_mul(self.n(V[w], True), self.n(V[a], True)) for w, a in zip(ws, prev)],
                                  self.n(V[lay.b[l][i]], True)))
            terms.append(self.n(V[z]))
            out.append(Equation(tuple(terms), kind="forward", nodes=(z,)))
        if layer.activation == "identity":
            return out
        for i in range(layer.units):
            z, a = lay.z[l][s][i], lay.a[l][s][i]
            if layer.activation == "softmax":
                zs = [S[n] for n in lay.z[l][s]]
                with sp.evaluate(False):
                    form = sp.exp(S[z]) / _add(*[sp.exp(u) for u in zs])
                terms = [S[a], form, self.n(V[a])]
            else:
                terms = [S[a], self._act(layer.activation, S[z]), self._act(layer.activation, self.n(V[z])),
                         self.n(V[a])]
            out.append(Equation(tuple(terms), kind="forward", nodes=(z,)))
        return out

    def _loss_lines(self) -> list[Equation]:
        spec, lay, V = self.spec, self.lay, self.V
        K = spec.layers[-1].units
        out = []
        if lay.errors:
            return self._error_lines()
        for s in self.shown:
            outs = [lay.a[-1][s][k] for k in range(K)]
            with sp.evaluate(False):
                sym = LOSS_ROWS[spec.loss].written([self.S[o] for o in outs], [self.S[y] for y in lay.y[s]])
                nums = LOSS_ROWS[spec.loss].written([self.n(V[o], True) for o in outs],
                                                    [self.n(V[y], True) for y in lay.y[s]])
            lhs = self.S[lay.loss[s]]
            out.append(Equation((lhs, sym, nums, self.n(V[lay.loss[s]])), kind="forward", nodes=(lay.loss[s],)))
        if spec.n_samples > 1:
            mean = Frac(SumOver("s", Unit("J", None, (), "s"), "1", str(spec.n_samples)),
                        sp.Integer(spec.n_samples))
            out.append(Equation((self.S.J, mean, self.n(self.r.loss)), kind="forward", nodes=("J",),
                                tag=f"the mean over the {spec.n_samples} samples"))
        return out

    def _error_lines(self) -> list[Equation]:
        """The loss as the spec names it: one error per output (E_o1 = ½(out_o1 − y₁)²), then their sum."""
        spec, lay, V, S = self.spec, self.lay, self.V, self.S
        row = LOSS_ROWS[spec.loss]
        out = []
        for e, o, y in zip(lay.errors, lay.a[-1][0], lay.y[0]):
            with sp.evaluate(False):
                sym = row.written([S[o]], [S[y]])
                nums = row.written([self.n(V[o], True)], [self.n(V[y], True)])
            out.append(Equation((S[e], sym, nums, self.n(V[e])), kind="forward", nodes=(e,)))
        total = _add(*[S[e] for e in lay.errors])
        if row.per_output:
            total = Frac(total, sp.Integer(len(lay.errors)))
        out.append(Equation((S.J, total, self.n(V[lay.output])), kind="forward", nodes=(lay.output,)))
        return out

    # --- backward: the δ view ------------------------------------------------------------
    def delta_view(self) -> list[Any]:
        blocks: list[Any] = [Heading("Backward pass"), self._delta_legend(), Heading("The rules", 3),
                             self._rules()]
        current, lines = None, []
        for d in self.r.scalar.deltas:
            if d.sample is not None and d.sample not in self.shown:
                continue
            if current is not None and (d.layer, d.sample) != current:
                blocks.extend(self._delta_block(current, lines))
                lines = []
            current = (d.layer, d.sample)
            lines.extend(self._delta_lines(d))
        if current is not None:
            blocks.extend(self._delta_block(current, lines))
        blocks.extend(self._remarks())
        return blocks

    def _delta_block(self, key, lines) -> list[Any]:
        layer, sample = key
        act = self.spec.layers[layer - 1].activation
        title = f"layer {layer} ({act}{', output' if layer == self.L else ''})"
        title = f"Sample {sample + 1}, {title}" if sample is not None else title[:1].upper() + title[1:]
        return [Heading(title, 3), Equations(tuple(lines))]

    def _delta_legend(self) -> Paragraph:
        S = self.S
        d = S.delta("l", "i")
        z = Unit("z", "l", "i")
        what = {"delta": (Math((d, D(S.J, z))), Text(" is the error of unit i of layer l: how the loss changes "
                                                     "with the unit's weighted input. ")),
                "leibniz": (Math((d,)), Text(" (textbooks write δ⁽ˡ⁾ᵢ) is how the loss changes with the "
                                             "weighted input of unit i of layer l. ")),
                "cs231n": (Math((d, D(S.J, z))), Text(" (CS231n's notation: dx is ∂J/∂x) is how the loss "
                                                      "changes with the weighted input of unit i of layer l. "))}
        return Paragraph((*what[self.o.notation],
                          Text("It is computed once per unit, output layer first, and reused by every "
                               "weight and bias of the unit; "),
                          Math((D(Unit("a", "l", "i"), z),)),
                          Text(" is the unit's own local derivative (its activation's slope).")))

    def _rules(self) -> Equations:
        S = self.S
        L, l, i, j, k = "L", "l", "i", "j", "k"
        a_out = Unit("a", L, i)
        slope = D(Unit("a", l, i), Unit("z", l, i))
        back = SumOver(k, _mul(Unit("w", "l+1", (k, i)), S.delta("l+1", k)))
        lines = [
            Equation((S.delta(L, i), _mul(S.grad(a_out), D(a_out, Unit("z", L, i)))), tag="at the output"),
            Equation((S.delta(l, i), _mul(back, slope)), tag="one layer down"),
            Equation((S.grad(Unit("w", l, (i, j))), _mul(S.delta(l, i), Unit("a", "l-1", j))),
                     tag="each weight"),
            Equation((S.grad(Unit("b", l, i)), S.delta(l, i)), tag="each bias"),
        ]
        if any(layer.shared_bias for layer in self.spec.layers):
            lines.append(Equation((S.grad(Unit("b", l)), SumOver(i, S.delta(l, i))),
                                  tag="a bias all the layer's units share: the sum of their δ"))
        if self.spec.layers[-1].activation == "softmax":
            # The softmax's slopes, case by case (not with a Kronecker δ: δ is the error here).
            m = Unit("a", L, "m")
            lines[1:1] = [
                Equation((D(a_out, Unit("z", L, i)), _mul(a_out, Sub(sp.Integer(1), a_out))),
                         tag="softmax, the same unit"),
                Equation((D(m, Unit("z", L, i)), sp.Mul(sp.Integer(-1), _mul(m, a_out), evaluate=False)),
                         tag="softmax, another unit m"),
            ]
        return Equations(tuple(lines))

    def _slope_form(self, d):
        """∂a/∂z written in the unit's own names (a(1 − a), 1 − a², step(z))."""
        layer = OPS[d.activation].layer
        assert layer is not None  # an elementwise activation's row has its layer facet
        with sp.evaluate(False):
            form = layer.derivative_of(self.S[d.z], self.S[d.a])
        return _step(form)

    def _delta_lines(self, d) -> list[Equation]:
        S, n = self.S, self.n
        layer, unit, smp = d.layer, d.unit + 1, self.sample(d.sample) if d.sample is not None else None
        delta = S.delta(layer, unit, smp)
        nodes = (d.z,)  # the unit's box in the network diagram (``bp:<z>``)
        if d.fused:
            return self._fused_lines(d, delta, nodes)
        up, up_nums, up_value = self._upstream(d)
        if d.activation == "identity":
            terms = [delta, up] + ([up_nums] if up_nums is not None else []) + [n(d.delta)]
            return [Equation(tuple(terms), kind="chain", tag="identity: a = z", nodes=nodes)]
        if d.activation == "softmax":
            return [self._dJda_line(d, up, up_nums), self._softmax_line(d, delta, nodes)]
        slope = self._slope_form(d)
        local = D(S[d.a], S[d.z])
        if self.o.compact:
            nums = _mul(up_nums if up_nums is not None else n(up_value, True), n(d.da_dz, True))
            return [Equation((delta, _mul(up, slope), nums, n(d.delta)), kind="chain", nodes=nodes)]
        return [self._dJda_line(d, up, up_nums),
                Equation((delta, _mul(S.grad(S[d.a]), local), _mul(S.grad(S[d.a]), slope),
                          _mul(n(d.dJ_da, True), n(d.da_dz, True)), n(d.delta)), kind="chain", nodes=nodes)]

    def _substituted(self, expr):
        """``expr`` with every atom of a network scalar replaced by its printed value (no evaluation)."""
        values = {self.S[name]: self.n(v, True) for name, v in self.V.items()
                  if isinstance(name, str) and name in self.S.of}
        with sp.evaluate(False):
            return expr.xreplace(values)

    def _upstream(self, d):
        """∂J/∂a of unit ``d``: (symbolic, substituted numbers or None, value)."""
        S, n = self.S, self.n
        if d.back:
            smp = self.sample(d.sample) if d.sample is not None else None
            sym = _add(*[_mul(S[w], S.delta(d.layer + 1, k + 1, smp)) for k, (_, w, _, _) in enumerate(d.back)])
            if len(d.back) <= NUMBER_TERMS:
                return sym, _add(*[_mul(n(wv, True), n(dv, True)) for _, _, dv, wv in d.back]), d.dJ_da
            if all(isinstance(S[w], Unit) for _, w, _, _ in d.back):
                term = _mul(Unit("w", d.layer + 1, ("k", d.unit + 1)), S.delta(d.layer + 1, "k", smp))
                sym = SumOver("k", term, "1", str(len(d.back)))
            return sym, None, d.dJ_da
        if d.dJ_da_symbolic is not None:
            sym = S.form(d.dJ_da_symbolic)
            return sym, self._substituted(sym), d.dJ_da
        return S.grad(S[d.a]), None, d.dJ_da

    def _dJda_line(self, d, up, up_nums) -> Equation:
        terms = [self.S.grad(self.S[d.a]), up] + ([up_nums] if up_nums is not None else []) + [self.n(d.dJ_da)]
        if terms[0] == terms[1]:
            terms = [terms[0], *terms[2:]]
        tag = "from the layer above" if d.back else "the loss's derivative"
        return Equation(tuple(terms), kind="chain", tag=tag, nodes=(d.z,))

    def _softmax_line(self, d, delta, nodes) -> Equation:
        S, n = self.S, self.n
        smp = self.sample(d.sample) if d.sample is not None else None
        z = S[d.z]
        sym = SumOver("m", _mul(S.grad(Unit("a", d.layer, "m", smp)), D(Unit("a", d.layer, "m", smp), z)))
        nums = _add(*[_mul(n(g, True), n(j, True)) for _, g, j in d.softmax_terms])
        return Equation((delta, sym, nums, n(d.delta)), kind="chain", tag="through the softmax",
                        nodes=nodes)

    def _fused_lines(self, d, delta, nodes) -> list[Equation]:
        """The output δ of σ + bce or softmax + ce: ŷ − y (over K·n), with the chain it shortens."""
        S, n = self.S, self.n
        y = self.lay.y[d.sample or 0][d.unit]
        k = d.fused
        diff = _add(S[d.a], _mul(sp.Integer(-1), S[y]))
        nums = _add(n(d.a_value), _mul(sp.Integer(-1), n(self.V[y], True)))
        if k != 1:
            diff = Frac(diff, sp.Integer(k))
            nums = Frac(nums, sp.Integer(k))
        act = "σ" if d.activation == "sigmoid" else d.activation
        line = Equation((delta, diff, nums, n(d.delta)), kind="chain",
                        tag=f"{act} + {self.spec.loss}: the chain simplifies to a − y", nodes=nodes)
        if self.o.compact:
            return [line]
        up, up_nums, _ = self._upstream(d)
        if d.activation == "softmax":
            return [self._dJda_line(d, up, up_nums), self._softmax_line(d, delta, nodes), line]
        slope = self._slope_form(d)
        chain = Equation((delta, _mul(up, slope), _mul(n(d.dJ_da, True), n(d.da_dz, True)), n(d.delta)),
                         kind="chain", nodes=nodes)
        return [chain, line]

    # --- parameters ---------------------------------------------------------------------------
    def parameters(self) -> list[Any]:
        blocks: list[Any] = [Heading("Gradients of the parameters")]
        multi = self.spec.n_samples > 1
        if multi:
            blocks.append(Paragraph((Text(f"Every sample contributes: each gradient sums δ·a over the "
                                          f"{self.spec.n_samples} samples (the 1/{self.spec.n_samples} of "
                                          f"the mean is already inside each δ)."),)))
        by_layer: dict[int, list] = {}
        for p in self.r.scalar.params:
            by_layer.setdefault(p.layer, []).append(p)
        for layer in sorted(by_layer, reverse=True):
            lines = [self._param_line(p) for p in by_layer[layer]]
            eqs = Equations(tuple(lines[:MAX_ROWS]))
            blocks += [Heading(f"Layer {layer}", 3), self._matrix_grads(layer)]
            if len(lines) > OPEN_LINES:
                blocks.append(Details(f"layer {layer}: each of the {len(lines)} gradients, one line each", (eqs,)))
            else:
                blocks.append(eqs)
        return blocks

    def _matrix_grads(self, layer: int) -> Equations:
        l = layer - 1
        G, lay = self.G, self.lay
        dW = sp.Matrix([[G[w] for w in row] for row in lay.W[l]])
        db = sp.Matrix([G[b] for b in lay.b[l]])
        prev = Unit("x") if layer == 1 else Unit("a", layer - 1)
        dWs, dbs = self.S.grad(Unit("W", layer)), self.S.grad(Unit("b", layer))
        d = self.S.delta(layer, ())
        bias = Equation((dbs, d, self.mat(db)))
        if self.spec.layers[l].shared_bias:  # one scalar: the sum of the units' δ
            units = str(self.spec.layers[l].units)
            bias = Equation((self.S.grad(self.S[lay.b[l][0]]), SumOver("i", self.S.delta(layer, "i"), "1", units),
                             self.n(G[lay.b[l][0]])))
        lines = (Equation((dWs, _juxt(d, Tr(prev)), self.mat(dW)), tag="matrix form"), bias)
        return Equations(lines)

    def _param_line(self, p) -> Equation:
        S, n = self.S, self.n
        lhs = S.grad(S[p.name])
        z = self.lay.z[p.layer - 1][0][p.row]
        nodes = (f"params:{z}", z)  # the unit's parameter table and box in the network diagram
        if self.spec.layers[p.layer - 1].shared_bias and p.col is None:
            return self._shared_bias_line(p, lhs, nodes)
        if len(p.terms) == 1:
            s = self.sample(0)
            delta = S.delta(p.layer, p.row + 1, s)
            if p.col is None:
                return Equation((lhs, delta, n(p.gradient)), kind="chain", nodes=nodes)
            a = S[p.terms[0][1]]
            return Equation((lhs, _mul(delta, a), _mul(n(p.terms[0][2], True), n(p.terms[0][3], True)),
                             n(p.gradient)), kind="chain", nodes=nodes)
        N = str(len(p.terms))
        delta = S.delta(p.layer, p.row + 1, "s")
        body = delta if p.col is None else _mul(delta, self._prev_atom(p.layer, p.col, "s"))
        return Equation((lhs, SumOver("s", body, "1", N), n(p.gradient)), kind="chain", nodes=nodes)

    def _shared_bias_line(self, p, lhs, nodes) -> Equation:
        """A shared bias is used by every unit of its layer: its gradient adds their δ."""
        S, n = self.S, self.n
        units = self.spec.layers[p.layer - 1].units
        if self.spec.n_samples == 1:
            deltas = [S.delta(p.layer, i + 1, self.sample(0)) for i in range(units)]
            nums = [n(t[2], True) for t in p.terms]
            return Equation((lhs, _add(*deltas), _add(*nums), n(p.gradient)), kind="chain", nodes=nodes,
                            tag=f"one bias shared by the {units} units: the sum of their δ")
        body = SumOver("i", S.delta(p.layer, "i", "s"), "1", str(units))
        return Equation((lhs, SumOver("s", body, "1", str(self.spec.n_samples)), n(p.gradient)),
                        kind="chain", nodes=nodes, tag=f"one bias shared by the {units} units")

    def _prev_atom(self, layer: int, col, s, index: bool = False):
        """x or a⁽ˡ⁻¹⁾ of input ``col`` of ``layer`` (``index``: ``col`` is printed as given)."""
        k = col if index else col + 1
        return Unit("x", None, (k,), s) if layer == 1 else Unit("a", layer - 1, (k,), s)

    def _remarks(self) -> list[Any]:
        """One-line notes where the numbers show something worth teaching."""
        notes: list[tuple[Inline, ...]] = []
        for d in self.r.scalar.deltas:
            if d.sample not in (None, 0) or d.da_dz is None or d.activation in ("identity", "softmax"):
                continue
            slope = abs(float(d.da_dz))
            if d.activation in ("sigmoid", "tanh") and slope < 0.01:
                notes.append((Text("unit "), Math((self.S[d.a],)),
                              Text(f" is saturated (its slope is {format_number(d.da_dz, 3)}): its weights "
                                   "barely move"),))
            elif slope == 0:
                notes.append((Text("unit "), Math((self.S[d.a],)),
                              Text(" passes no gradient here (slope 0): its incoming weights do not change"),))
        if not notes:
            return []
        return [Bullets(tuple((Text("note: ", "note"), *n) for n in notes[:5]))]

    # --- matrix view --------------------------------------------------------------------------
    def matrix_view(self) -> list[Any]:
        mv = self.r.matrix
        K, N = mv.layers[-1].units, mv.n_samples
        blocks: list[Any] = [Heading("Backward pass, as matrices"), Paragraph((
            Text("Column vectors, one column per sample; "), Math((Had(Unit("u"), Unit("v")),)),
            Text(" is the elementwise product. The output is "), Math((Hat(), Unit("a", self.L))),
            Text(f", with K = {K} output{'s' * (K != 1)} and n = {_plural(N, 'sample')}; the shape of each "
                 "product is beside it.")))]
        for m in reversed(mv.layers):
            blocks += [Heading(f"Layer {m.layer} ({m.activation})", 3), Equations(tuple(self._matrix_lines(m)))]
        return blocks

    def _matrix_lines(self, m) -> list[Equation]:
        S, l = self.S, m.layer
        prev = Unit("x") if l == 1 else Unit("a", l - 1)
        z, a, d = Unit("z", l), Unit("a", l), S.delta(l, ())
        sh = lambda M: f"{M.shape[0]}×{M.shape[1]}"  # noqa: E731
        out = [Equation((z, _add(_juxt(Unit("W", l), prev), Unit("b", l)), self.mat(m.Z)),
                        tag=f"{sh(m.Z)} = {sh(m.W)} · {sh(m.A_prev)} + {sh(m.b)}"),
               Equation((a, self._act(m.activation, z), self.mat(m.A)))]
        if l == self.L:
            head = S.grad(a)
            out.append(Equation((head, self.mat(m.grad_a)), tag=sh(m.grad_a)))
        else:
            head = _juxt(Tr(Unit("W", l + 1)), S.delta(l + 1, ()))
            out.append(Equation((S.grad(a), head, self.mat(m.grad_a)), tag=sh(m.grad_a)))
            head = S.grad(a)
        if m.act_deriv is not None:
            act = m.activation
            slope = (Fn("σ′", z, r"\sigma'") if act == "sigmoid"
                     else Fn(f"{act}′", z, rf"\operatorname{{{act}}}'"))
            out.append(Equation((slope, self.mat(m.act_deriv))))
            out.append(Equation((d, Had(head, slope), self.mat(m.delta)), tag=sh(m.delta)))
        else:
            out.append(Equation((d, _juxt(Tr(D(a, z)), head), self.mat(m.delta)),
                                tag="per sample, through the softmax"))
        if m.simplified is not None:
            k = m.A.shape[1] * (m.units if LOSS_ROWS[self.spec.loss].per_output else 1)
            form = _mul(_add(Hat(), _mul(sp.Integer(-1), Unit("y"))), sp.Pow(sp.Integer(k), -1, evaluate=False))
            out.append(Equation((d, form, self.mat(m.simplified)),
                                tag=f"{m.activation} + {self.spec.loss}: the same numbers"))
        out.append(Equation((S.grad(Unit("W", l)), _juxt(d, Tr(prev)), self.mat(m.dW)),
                            tag=f"{sh(m.dW)} = {sh(m.delta)} · {m.A_prev.shape[1]}×{m.A_prev.shape[0]}"))
        out.append(Equation((S.grad(Unit("b", l)), _juxt(d, Unit("1")), self.mat(m.db)),
                            tag=f"{sh(m.db)}: δ summed over the samples"))
        if self.spec.layers[l - 1].shared_bias:  # one bias: the units' entries add up
            b = self.lay.b[l - 1][0]
            total = self.n(sum(m.db[i, 0] for i in range(m.units)))
            if self.spec.n_samples == 1:
                out.append(Equation((S.grad(S[b]), SumOver("i", S.delta(l, "i"), "1", str(m.units)), total),
                                    tag="one bias shared by the layer's units: the sum of the entries above"))
            else:
                out.append(Equation((S.grad(S[b]), total),
                                    tag="one bias shared by the layer's units: the sum of the entries of δ·1 above"))
        return out

    # --- update, training, plots, checks ----------------------------------------------------
    def update(self) -> list[Any]:
        r = self.r
        if not r.updates:
            return []
        S, n = self.S, self.n
        eta = self.net.learning_rate
        p, eta_sym = Unit("p"), Unit("η")
        rule = Equations((Equation((Words("new"), Sub(p, _mul(eta_sym, S.grad(p))))),),)
        header = ((Text("parameter"),), (Text("old"),), (Math((S.grad(p),)),), (Text("new"),))
        rows = tuple(((Math((S[s.target],)),), (Math((n(s.factors[0]),)),), (Math((n(s.factors[1]),)),),
                      (Math((n(s.value),)), Text(" *" if s.note else ""))) for s in r.updates[:MAX_ROWS])
        table = Table(header, rows)
        blocks: list[Any] = [Heading("Gradient-descent update"),
                             Paragraph((Text("Each parameter steps against its gradient, "),
                                        Math((eta_sym, n(eta))), Text(f"; mode {_MODE_TEXT[r.mode]}."))),
                             rule]
        if self.spec.frozen:
            blocks.append(Paragraph((Text("Frozen, so not updated (they keep their values): "),
                                     *join_runs([Math((S[p], n(self.V[p]))) for p in self.spec.frozen]),
                                     Text("."))))
        if len(rows) > OPEN_LINES:
            blocks += [self._matrix_update(eta_sym), Details(f"all {len(r.updates)} updated parameters", (table,))]
        else:
            blocks.append(table)
        if any(s.note for s in r.updates):
            blocks.append(Paragraph((Text("* " + next(s.note for s in r.updates if s.note), "note"),)))
        return blocks

    def _matrix_update(self, eta_sym) -> Equations:
        """Each layer's new W and b at once: W⁽ˡ⁾ − η ∂J/∂W⁽ˡ⁾."""
        new = self.r.updated()  # a frozen parameter keeps its value
        lines = []
        for l in range(self.L - 1, -1, -1):
            W = sp.Matrix([[new[w] for w in row] for row in self.lay.W[l]])
            b = sp.Matrix([new[v] for v in self.lay.b[l]])
            frozen = set(self.spec.frozen)
            for name, M, names in (("W", W, [w for row in self.lay.W[l] for w in row]), ("b", b, self.lay.b[l])):
                atom = Unit(name, l + 1)
                kept = sum(n in frozen for n in names)
                tag = "" if not kept else ("frozen: unchanged" if kept == len(names) else
                                           f"{kept} frozen entr{'y' if kept == 1 else 'ies'} unchanged")
                lines.append(Equation((Words("new"), Sub(atom, _mul(eta_sym, self.S.grad(atom))), self.mat(M)),
                                      tag=tag))
        return Equations(tuple(lines))

    def training(self) -> list[Any]:
        h = self.r.history
        if h is None:
            return []
        d = self.o.digits
        setup = training_lines(self.spec, h)
        how = "Training" if setup else "Full-batch gradient descent"
        blocks: list[Any] = [Heading("Training"), Paragraph((
            Text(f"{how} on the NumPy engine: η = {h.learning_rate:g}, {h.mode}, tolerance "
                 f"{h.tolerance:g}. Stopped: {h.reason}. The loss went from {format_number(h.losses[0], d)} "
                 f"to {format_number(h.final_loss, d)}."
                 + (f" Frozen parameters kept their values ({', '.join(self.spec.frozen[:8])}"
                    f"{', …' if len(self.spec.frozen) > 8 else ''})." if self.spec.frozen else "")),))]
        if setup:
            blocks.append(Bullets(tuple((Text(line),) for line in setup)))
        up = next((k for k in range(len(h.losses) - 1) if h.losses[k + 1] > h.losses[k]), None)
        if up is not None:
            blocks.append(Paragraph((Text("note: ", "note"), Text(
                f"the loss went up at step {up + 1} (from {format_number(h.losses[up], d)} to "
                f"{format_number(h.losses[up + 1], d)}): η = {h.learning_rate:g} overshoots here; "
                "a smaller learning rate would descend"),)))
        header = ((Text("step"),), (Text("loss J"),), (Text("gradient norm"),))
        rows = tuple(((Text(str(k)),), (Text(format_number(h.losses[k], d)),),
                      (Text(format_number(h.grad_norms[k], d)),)) for k in _history_rows(h))
        blocks.append(Details(f"the loss at {len(rows)} of the {h.steps + 1} steps", (Table(header, rows),),
                              open=len(rows) <= OPEN_LINES))
        if len(h.final) <= 40:
            blocks.append(Paragraph((Text("Final parameters: "), *join_runs(
                [Math((self.S[k], self.n(v))) for k, v in h.final.items()]))))
        return blocks + self._shown_steps(h)

    def penalty(self) -> list[Any]:
        """The regularisation term: R and ∂R/∂p at the spec's parameters, beside ∂J/∂p (issue 14)."""
        view = penalty_view(self.r.net, self.r.gradients())
        if view is None:
            return []
        d = self.o.digits
        header = tuple((Text(x),) for x in ("parameter", "p", "∂J/∂p", "∂R/∂p", "∂(J + R)/∂p"))
        rows: tuple[tuple[tuple[Text | Math, ...], ...], ...] = tuple(
            ((Math((self.S[row[0]],)),), *((Text(format_number(float(v), d)),) for v in row[1:]))
            for row in view.rows[:SHOWN_ROWS])
        more = f" (the first {SHOWN_ROWS} of {len(view.rows)})" if len(view.rows) > SHOWN_ROWS else ""
        return [Heading("Penalty"), Paragraph((Text(
            f"Training minimises J + R with {view.text} (p: every penalised parameter); at the parameters "
            f"above R = {format_number(float(view.value), d)}, and {view.grad_text} adds to each gradient "
            f"derived above{more}. The update below is of J alone; the training's updates are of J + R."),)),
            Details(f"the penalty's gradient: {len(view.rows)} parameters", (Table(header, rows),),
                    open=len(view.rows) <= OPEN_LINES)]

    def _shown_steps(self, h) -> list[Any]:
        """The update table of each step the spec's ``show_steps`` asks for (issue 14)."""
        d = self.o.digits
        blocks: list[Any] = []
        for step in h.shown:
            heads, rows = shown_rows(self.r.net, step)
            batch = "every sample" if len(step.batch) == h.samples else \
                f"sample{'s' * (len(step.batch) != 1)} {', '.join(str(i + 1) for i in step.batch[:20])}" \
                f"{' …' if len(step.batch) > 20 else ''}"
            table = Table(((Text("parameter"),), *((Text(x),) for x in heads)),
                          tuple(((Math((self.S[name],)),), *((Text(format_number(v, d)),) for v in vals))
                                for name, vals in rows[:SHOWN_ROWS]))
            more = f" (the first {SHOWN_ROWS} of {len(rows)} parameters; all in --format json)" \
                if len(rows) > SHOWN_ROWS else ""
            blocks += [Heading(f"Update {step.k}", level=3), Paragraph((Text(
                f"η = {format_number(step.lr, d)} on {batch}; g is the gradient of the loss with its penalty; "
                f"primed columns are after the update{more}."),)),
                Details(f"update {step.k}: {len(rows)} parameters", (table,), open=len(rows) <= OPEN_LINES)]
        return blocks

    def plots(self) -> list[Any]:
        return [Heading("Plots"), *self.o.plots] if self.o.plots else []

    def verification(self) -> list[Any]:
        r = self.r
        lines: list[str] = []
        if r.check is not None:
            lines.append(r.check.summary)
        if r.view_diff is not None:
            lines.append(f"matrix view and scalar view agree: max relative difference {r.view_diff:.1e} "
                         f"(30-digit arithmetic)")
        lines.extend(f"note: {lim}" for lim in r.limits)
        return [Heading("Verification"), Bullets(tuple((Text(line),) for line in lines))]

    def appendix(self) -> list[Any]:
        if not self.o.appendix:
            return []
        g = self.r.derivation.graph
        if g.number_of_nodes() > APPENDIX_NODES:
            return [Heading("Every chain-rule step"), Paragraph((Text(
                f"The step-by-step chain-rule derivation is omitted: the graph has {g.number_of_nodes()} "
                f"nodes, more than {APPENDIX_NODES}.", "em"),))]
        notation = "leibniz" if self.o.notation == "delta" else self.o.notation
        doc = derivation_document(self.r.derivation, check=_engine_check(self.r),
                                  options=WriteupOptions(notation=notation, compact=self.o.compact))
        inner = [replace(b, level=b.level + 1) if isinstance(b, Heading) else b for b in doc.blocks]
        return [Heading("Every chain-rule step"), Paragraph((
            Text("The same gradients, one gate at a time, as "), Text("backproof explain", "code"),
            Text(" writes them (names as in the program, 0-based)."))), *inner]


def _cut(line: str, width: int = 150) -> str:
    """A program line cut to ``width`` characters (the batch mean lists every sample's loss)."""
    return line if len(line) <= width else line[:width - 2].rstrip() + " …"


def _juxt(*factors):
    return Juxt(*factors)



#: Most parameters an update table of a shown step lists (JSON has them all).
SHOWN_ROWS = 40


def _history_rows(h) -> list[int]:
    """Steps shown in the training table: the first ten, about twenty spread out, the last."""
    n = len(h.losses)
    if n <= 30:
        return list(range(n))
    stride = max(1, (n - 10) // 20)
    rows = list(range(10)) + list(range(10, n - 1, stride)) + [n - 1]
    return sorted(set(rows))


def _engine_check(result) -> Skipped | None:
    """The derivation's own cross-check is not run: the appendix reports the network's check."""
    return Skipped(result.check.summary, result.check.summary) if result.check is not None else None


def network_document(result, options: NetWriteup | None = None) -> Document:
    """The write-up of a network step as a document every printer formats.

    Examples
    --------
    >>> from backproof.nn.explain import explain_network
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> doc = network_document(r)
    >>> [b.text for b in doc.blocks if isinstance(b, Heading) and b.level == 2][:4]
    ['Network', 'Given', 'Forward pass', 'Backward pass']
    """
    return _Builder(result, options or NetWriteup()).document()


def _options(view, digits, appendix, plots, notation, compact, figure=None) -> NetWriteup:
    figs = tuple(p if isinstance(p, Figure) else Figure(p[0], path=p[1]) for p in plots or ())
    return NetWriteup(view=view, notation=notation, compact=compact, appendix=appendix, digits=digits,
                      figure=figure, plots=figs)


def render_text(result, *, view: str = "scalar", digits: int = 6, appendix: bool = False, plots=None,
                notation: str = "delta", compact: bool = False, color: bool = False) -> str:
    """The terminal write-up of a network step; ``plots`` are Figures or ``(title, path)`` pairs.

    Examples
    --------
    >>> from backproof.nn.explain import explain_network
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> print(render_text(r).splitlines()[0])
    backproof — network: a 1-1 network, identity; loss half_sse; 1 sample
    """
    return print_text(network_document(result, _options(view, digits, appendix, plots, notation, compact)), color)


def render_markdown(result, *, view: str = "scalar", digits: int = 6, appendix: bool = False, plots=None,
                    diagram: str | None = None, notation: str = "delta", compact: bool = False) -> str:
    """The Markdown write-up (GitHub maths); ``diagram`` is the relative path of the graph's image.

    Examples
    --------
    >>> from backproof.nn.explain import explain_network
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> render_markdown(r).splitlines()[0]
    '# network: a 1-1 network'
    """
    fig = Figure(_ALT, path=diagram) if diagram else None
    return print_markdown(network_document(result, _options(view, digits, appendix, plots, notation, compact, fig)))


def render_latex(result, *, view: str = "scalar", digits: int = 6, appendix: bool = False, plots=None,
                 diagram: str | None = None, notation: str = "delta", compact: bool = False,
                 fragment: bool = False) -> str:
    """A LaTeX ``article`` that pdflatex compiles (``diagram``: the relative path of the graph's PDF)."""
    fig = Figure(_ALT, pdf=diagram) if diagram else None
    doc = network_document(result, _options(view, digits, appendix, plots, notation, compact, fig))
    return print_latex(doc, fragment=fragment)


def render_html(result, *, view: str = "scalar", digits: int = 6, appendix: bool = False, plots=None,
                diagram: str | None = None, notation: str = "delta", compact: bool = False) -> str:
    """One self-contained HTML page (``diagram``: the graph's SVG text, inlined)."""
    fig = Figure(_ALT, svg=diagram) if diagram else None
    return print_html(network_document(result, _options(view, digits, appendix, plots, notation, compact, fig)))


_ALT = "Computational graph of J, one box per layer: values and gradients"

# --- JSON ---------------------------------------------------------------------------------

def _rows(spec, names_by_sample, V):
    """Per-sample name lists -> values in the spec's shape (flat for one flat sample)."""
    rows = [[_f(V[n]) for n in row] for row in names_by_sample]
    return rows[0] if spec.single else rows


def network_dict(result, *, plots: list[str] | None = None) -> dict:
    """The JSON-ready data of a network step.

    Keys: ``loss``; ``values`` (``z1``, ``a1``, …: per unit, or samples × units);
    ``deltas``; ``parameters``, ``gradients`` and ``updated`` keyed ``W1``, ``b1``, … as
    nested lists in the spec's shapes; ``names`` (alias -> entry, value, gradient,
    updated) when the spec names parameters; ``history`` when trained.

    Examples
    --------
    >>> from backproof.nn.explain import explain_network
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> d = network_dict(r)
    >>> d["loss"], d["gradients"], d["updated"]
    (2.0, {'W1': [[-2.0]], 'b1': [-2.0]}, {'W1': [[1.0]], 'b1': [1.0]})
    """
    net, spec = result.net, result.net.spec
    lay = net.layout
    V = result.derivation.values
    G = result.derivation.gradients
    up = result.updated()
    values = {}
    deltas = {}
    for l in range(len(spec.layers)):
        values[f"z{l + 1}"] = _rows(spec, lay.z[l], V)
        values[f"a{l + 1}"] = _rows(spec, lay.a[l], V)
        deltas[f"delta{l + 1}"] = _rows(spec, lay.z[l], G)
    doc = {
        "backproof": __version__,
        "schema": 1,
        "kind": "network",
        "network": _network_json(spec),
        "inputs": _rows(spec, lay.x, V),
        "targets": _rows(spec, lay.y, V),
        "loss": _f(result.loss),
        "values": values,
        "deltas": deltas,
        "parameters": _keyed(lay, V),
        "gradients": _keyed(lay, G),
        "updated": _keyed(lay, up) if up else None,
        "update": _update_json(result),
        "scalar_names": dict(net.matrix_names),
        "program": [f"{st.name} = {to_text(st.expr)}" for st in net.program.statements],
        "check": ({"engine_max_rel": result.check.engine_max_rel, "engine_loss": result.check.engine_loss,
                   "fd_max_rel": result.check.fd_max_rel, "ok": result.check.ok,
                   "summary": result.check.summary} if result.check is not None else None),
        "views_max_rel_diff": result.view_diff,
        "limits": list(result.limits),
    }
    view = penalty_view(result.net, result.gradients())
    if view is not None:  # the regularisation term beside the derived gradients (issue 14)
        doc["penalty"] = {"R": view.text, "value": _f(view.value), "gradient": view.grad_text,
                          "rows": {row[0]: [_f(v) for v in row[1:]] for row in view.rows}}
    if spec.names:
        alias_entry = dict(spec.names)
        # Named nodes have a value and (except inputs and targets) a gradient, no update.
        doc["names"] = {a: {"entry": alias_entry[a], "value": _f(V[a]),
                            "gradient": _f(G[a]) if a in G else None,
                            "updated": _f(up[a]) if a in up else None} for a in alias_entry}
    if spec.frozen or net.shared:
        doc["frozen"] = list(spec.frozen)
        doc["shared"] = dict(net.shared)
    h = result.history
    if h is not None:
        doc["history"] = {"loss": list(h.losses), "grad_norm": list(h.grad_norms), "steps": h.steps,
                          "stopped_because": h.stopped_because, "mode": h.mode,
                          "learning_rate": h.learning_rate, "tolerance": h.tolerance,
                          "final": _keyed(lay, h.final), "path": {k: list(v) for k, v in h.path.items()}}
        doc["history"].update(_training_json(result.net, h))
    if plots:
        doc["plots"] = list(plots)
    if result.derivation.graph.number_of_nodes() <= APPENDIX_NODES:
        doc["derivation"] = derivation_dict(result.derivation, check=_engine_check(result))
    return doc


def _training_json(net, h) -> dict:
    """The set-up, accuracy and shown updates of a run that is not plain gradient descent."""
    setup = training_lines(net.spec, h)
    if not setup:
        return {}
    shown = []
    for step in h.shown:
        heads, rows = shown_rows(net, step)
        shown.append({"step": step.k, "learning_rate": step.lr, "batch": list(step.batch), "columns": list(heads),
                      "rows": {name: list(vals) for name, vals in rows}})
    return {"setup": setup, "accuracy": h.accuracy, "samples": h.samples, "shown_steps": shown}


def _keyed(lay, src) -> dict:
    """Parameter values keyed ``W1``, ``b1``, … as nested lists in the spec's shapes."""
    out: dict[str, list] = {}
    for l in range(len(lay.W)):
        out[f"W{l + 1}"] = [[_f(src[w]) for w in row] for row in lay.W[l]]
        out[f"b{l + 1}"] = [_f(src[b]) for b in lay.b[l]]
    return out


def _network_json(spec) -> dict:
    return {
        "name": spec.name,
        "description": spec.description,
        "source": spec.source,
        "sizes": list(spec.sizes),
        "layers": [{"units": layer.units, "activation": layer.activation, "fan_in": layer.fan_in,
                    "initialized": layer.initializer if layer.initialized else None}
                   for layer in spec.layers],
        "loss": spec.loss,
        "samples": spec.n_samples,
        "parameters": spec.n_params,
        "learning_rate": _f(spec.learning_rate) if spec.learning_rate is not None else None,
    }


def _update_json(result) -> dict | None:
    if not result.updates:
        return None
    return {"mode": result.mode, "learning_rate": _f(result.net.learning_rate),
            "steps": [{"index": s.index, "kind": s.kind.value, "target": s.target,
                       "old": _f(s.factors[0]), "gradient": _f(s.factors[1]),
                       "new": _f(s.value), **({"note": s.note} if s.note else {})}
                      for s in result.updates]}


def render_json(result, *, plots: list[str] | None = None) -> str:
    """The JSON write-up as text (two-space indent, floats to 12 significant figures)."""
    return to_json_text(network_dict(result, plots=plots))
