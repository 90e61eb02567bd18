"""The write-up of a derivation as a :class:`~.document.Document` (every format prints it).

Notation (the lesson of the chain rule, kept visible):

- ``∂y/∂n`` (or δ_n, or dn) is the gradient of the output with respect to node ``n``,
  over every path; ``∂d/∂b`` is gate ``d``'s own local partial with respect to its input
  ``b``; ``∂y/∂b|via d`` is the part of ``∂y/∂b`` that flows through ``d``.
- A local partial is never written with the output's symbol: the output gate's partial is
  written on its expression (∂(d·e)/∂d).
- Unnamed gates get short names u₁, u₂, … (in forward order) before they are differentiated,
  and every form is written in the names the reader has (1 − h², p·(1 − p)).
- A line reads symbols = numbers = value, term for term in the same order.
- Constants are never differentiated.

The builder arranges what the steps hold; it renames symbols (``xreplace``) but never
differentiates, evaluates or simplifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..derivation import constant_nodes, operands
from ..graph import alias_source, unit_of
from ..ops import OPS
from ..printing import format_number, to_text
from ..steps import Step, StepKind
from ..verify import Skipped
from .common import oracles, output_unit, step_groups, verification_lines
from .document import (
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
from .notation import NOTATIONS, Grad, Local, Via, num

__all__ = ["WriteupOptions", "derivation_document", "Names", "AutoName", "LONG_BACKWARD"]

#: A backward pass longer than this many lines is printed as one foldable part per gradient.
LONG_BACKWARD = 40


@dataclass(frozen=True)
class WriteupOptions:
    """How a derivation is written up.

    Attributes
    ----------
    notation : str
        ``leibniz`` (∂y/∂w), ``delta`` (δ_w) or ``cs231n`` (dw) for accumulated gradients.
    compact : bool
        One line per edge, the ×1 edges of ``+`` and ``−`` gates folded into the next
        product; otherwise a local-derivative line and a chain-rule line per edge.
    title : str or None
        The document's title.
    figure : Figure or None
        The diagram to include after the program.
    """

    notation: str = "leibniz"
    compact: bool = False
    title: str | None = None
    figure: Figure | None = None

    def __post_init__(self):
        if self.notation not in NOTATIONS:
            raise ValueError(f"unknown notation {self.notation!r} (must be one of {', '.join(NOTATIONS)})")


class AutoName(sp.Symbol):
    """A short name ``u₁`` given to an unnamed gate."""

    def _sympystr(self, p):
        return "u" + self.name[1:].translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))

    def _latex(self, p):
        return f"u_{{{self.name[1:]}}}"

    def _mathml_presentation(self, p):
        sub = p.dom.createElement("msub")
        for tag, text in (("mi", "u"), ("mn", self.name[1:])):
            el = p.dom.createElement(tag)
            el.appendChild(p.dom.createTextNode(text))
            sub.appendChild(el)
        return sub


class Names:
    """The symbol of every node: its name, a short name ``u_k`` for an unnamed gate, or a
    constant's value; and the renaming that writes any form in those symbols."""

    def __init__(self, deriv):
        g = self.g = deriv.graph
        self.const = constant_nodes(g, list(deriv.units))
        self.sym: dict[str, Any] = {}
        self.auto: list[str] = []
        for n in deriv.units:
            data = g.nodes[n]
            label = deriv.label(n)
            if data["kind"] == "const" or n in self.const:
                self.sym[n] = data["expr"]
            elif data["kind"] == "op" and not label.isidentifier():
                self.auto.append(n)
                self.sym[n] = AutoName(f"u{len(self.auto)}")
            else:
                self.sym[n] = sp.Symbol(label)
        # Write any form in the names: a gate's expression (in its operands' names) is
        # replaced by its symbol, the largest first (xreplace works top-down).
        # Partials come back evaluated (h*v), the graph keeps expressions as written (v*h):
        # both spellings name the gate.
        self.rename = {}
        for n, s in self.sym.items():
            if g.nodes[n]["kind"] == "op" and n not in self.const:
                expr = g.nodes[n]["expr"]
                self.rename[expr] = s
                self.rename.setdefault(expr.doit(), s)

    def of(self, nid: str | None):
        """The symbol of node ``nid`` (a named result's op and its name share one)."""
        assert nid is not None, "a step names the node it is about"
        return self.sym.get(unit_of(self.g, nid), self.g.nodes[nid]["expr"])

    def form(self, expr):
        """``expr`` written in the node names and short names."""
        return None if expr is None else sp.sympify(expr, strict=True).xreplace(self.rename)  # safe: strict

    def simplified(self, deriv):
        """A renaming that writes forms in the inputs back in the intermediate names
        (``-t + sigmoid(b + w*x)`` -> ``-t + p``), or ``None`` when there are no expanded forms."""
        if not deriv.expanded:
            return None
        inputs = set(deriv.program.inputs)
        return {e: sp.Symbol(n) for n, e in deriv.program.expanded().items()
                if n not in inputs and not e.is_Atom}

    def written(self, nid: str):
        """The gate ``nid`` as written, in its operands' symbols (``u₁ · u₂``)."""
        op = self.g.nodes[nid]["op"]
        return OPS[op].write(*[self.of(u) for u in operands(self.g, nid)])


class _Builder:
    def __init__(self, deriv, proof, check, options: WriteupOptions):
        self.d, self.o = deriv, options
        self.proof, self.check = oracles(deriv, proof, check)
        self.names = Names(deriv)
        self.ou = output_unit(deriv)
        self.out = self.names.of(self.ou)
        self.inputs = [n for n in deriv.program.inputs if n in deriv.graph]
        self.valued = deriv.at is not None

    def _units(self, nodes) -> tuple[str, ...]:
        """The diagram's units a step is about (a named result is drawn as its operation)."""
        return tuple(dict.fromkeys(unit_of(self.d.graph, n) for n in nodes))

    def grad(self, nid: str | None):
        assert nid is not None, "a gradient is of a node"
        return Grad(self.out, self.names.of(nid), self.o.notation)

    def local(self, s: Step):
        """The gate's own partial: ∂d/∂b, or ∂(d·e)/∂d when the gate is the output."""
        g, w, pos = self.d.graph, s.via, s.pos
        assert w is not None and pos is not None, "a local step names its gate and operand"
        src = operands(g, w)
        which = pos + 1 if sum(1 for u in src if unit_of(g, u) == unit_of(g, src[pos])) > 1 else 0
        gate = self.names.written(w) if w == self.ou else self.names.of(w)
        return Local(gate, self.names.of(s.target), which)

    # --- the document ---------------------------------------------------------------------------
    def document(self) -> Document:
        blocks: list[Any] = []
        for section in (self.program, self.given, self.forward, self.backward, self.gradients,
                        self.verification):
            blocks.extend(section())
        title = self.o.title or f"The gradients of {self.d.output}"
        return Document(title, tuple(blocks), subtitle="one chain-rule step at a time")

    def program(self) -> list[Any]:
        d = self.d
        L: list[Any] = [Heading("Program"),
                        Code(tuple(f"{st.name} = {to_text(st.expr)}" for st in d.program.statements)),
                        Paragraph((Text("Inputs: "), *join_runs([Math((sp.Symbol(n),)) for n in self.inputs]),
                                   Text("; output: "), Math((sp.Symbol(d.output),)), Text(".")))]
        if self.names.auto:
            L.append(Paragraph((Text("Unnamed intermediate results get short names ("),
                                *join_runs([Math((self.names.sym[n],)) for n in self.names.auto[:3]]),
                                Text(", …" if len(self.names.auto) > 3 else ""),
                                Text(") so that each can be differentiated by name; the forward pass "
                                     "defines them."))))
        if self.o.figure is not None:
            L.append(self.o.figure)
        return L

    def given(self) -> list[Any]:
        if not self.valued:
            return []
        at = self.d.at
        return [Heading("Given"),
                Paragraph(tuple(join_runs([Math((sp.Symbol(n), num(at[n]))) for n in self.inputs])) or
                          (Text("(no inputs)"),))]

    def forward(self) -> list[Any]:
        lines = tuple(self._forward(s) for s in self.d.steps if s.kind is StepKind.FORWARD
                      and s.target not in self.names.const)
        head = "Forward pass" if self.valued else "Forward pass (symbolic: no values given)"
        return [Heading(head), Equations(lines)] if lines else [Heading(head), Paragraph((
            Text("Nothing to compute: every value is a constant or an input."),))]

    def _forward(self, s: Step) -> Equation:
        g, n = self.d.graph, s.target
        lhs = self.names.of(n)
        if g.nodes[n]["kind"] == "name":  # z = y: a name for another value
            terms = [lhs, self.names.of(operands(g, n)[0])]
        else:
            terms = [lhs, self.names.written(n)]
        if self.valued:
            if g.nodes[n]["kind"] != "name":
                op = OPS[g.nodes[n]["op"]]
                # A constant operand stays as written (the 2 of u²); values are printed numbers.
                arithmetic = op.arity != 1 or op.name == "neg"  # tanh(-0.4), but -(-0.4)
                shown = [self.names.of(u) if u in self.names.const or g.nodes[u]["kind"] == "const"
                         else num(v, paren=arithmetic) for u, v in zip(operands(g, n), s.factors)]
                terms.append(op.write(*shown))
            terms.append(num(s.value))
        return Equation(tuple(terms), s.index, "forward", nodes=self._units(s.nodes))

    def backward(self) -> list[Any]:
        seed = next(s for s in self.d.steps if s.kind is StepKind.SEED)
        blocks: list[Any] = [Heading("Backward pass"), self._legend()]
        blocks.append(Equations((Equation((self.grad(self.ou), sp.Integer(1)), seed.index, "seed",
                                          tag="start: the output with respect to itself",
                                          nodes=self._units(seed.nodes)),)))
        groups = []
        for target, steps in step_groups(self.d):
            lines = self._compact(steps) if self.o.compact else self._full(steps)
            if lines:
                groups.append((target, Equations(tuple(lines), title=(Math((self.grad(target),)),))))
        if sum(len(eq.lines) for _, eq in groups) <= LONG_BACKWARD:
            return blocks + [eq for _, eq in groups]
        # A long backward pass: one foldable part per gradient (open; a page can fold them).
        return blocks + [Details(f"{_plain_grad(self.grad(t))} — steps {eq.lines[0].index}–{eq.lines[-1].index}",
                                 (eq,), open=True) for t, eq in groups]

    def _example(self):
        """A gate and its input from this derivation, to explain the notation with."""
        for s in self.d.steps:
            if s.kind is StepKind.LOCAL and s.via != self.ou and isinstance(self.names.of(s.via), sp.Symbol):
                return self.names.of(s.target), self.names.of(s.via)
        return sp.Symbol("b"), sp.Symbol("d")

    def _legend(self) -> Paragraph:
        y = self.out
        b, dn = self._example()
        own = {"delta": (Math((Grad(y, b, "delta"), Grad(y, b))), Text(" is the gradient of "), Math((y,)),
                         Text(" with respect to "), Math((b,)), Text(", over every path; ")),
               "cs231n": (Math((Grad(y, b, "cs231n"), Grad(y, b))), Text(" is the gradient of "), Math((y,)),
                          Text(" with respect to "), Math((b,)), Text(", over every path; "))}
        first = own.get(self.o.notation, (Math((Grad(y, b),)), Text(" is the gradient of the output "),
                                          Math((y,)), Text(" with respect to "), Math((b,)),
                                          Text(", summed over every path; ")))
        return Paragraph((Text("Notation: "), *first, Math((Local(dn, b),)),
                          Text(" is the local derivative of gate "), Math((dn,)),
                          Text(" with respect to its own input "), Math((b,)), Text("; "),
                          Math((Via(Grad(y, b, self.o.notation), dn),)),
                          Text(" is the part that flows through "), Math((dn,)),
                          Text(". Each chain-rule line multiplies the gradient arriving at a gate "
                               "(upstream) by the gate's local derivative; where a value feeds several "
                               "gates, its paths add up.")))

    def _chain_lhs(self, s: Step, multi: bool):
        return Via(self.grad(s.target), self.names.of(s.via)) if multi else self.grad(s.target)

    def _full(self, steps: list[Step]) -> list[Equation]:
        multi = any(s.kind is StepKind.SUM for s in steps)
        out: list[Equation] = []
        for s in steps:
            if s.kind is StepKind.LOCAL:
                terms = [self.local(s)]
                form = self.names.form(s.symbolic)
                if form is not None and (s.value is None or to_text(form) != format_number(s.value)):
                    terms.append(form)
                if s.value is not None:
                    terms.append(num(s.value))
                out.append(Equation(tuple(terms), s.index, "local", tag=s.rule or "", note=s.note,
                                    nodes=self._units(s.nodes)))
            elif s.kind is StepKind.CHAIN:
                out.append(self._chain(s, multi))
            else:
                out.append(self._sum(s))
        return out

    def _chain(self, s: Step, multi: bool, local=None, tag: str = "chain rule") -> Equation:
        local = local if local is not None else self.local(s)
        terms: list[Any] = [self._chain_lhs(s, multi), sp.Mul(self.grad(s.via), local, evaluate=False)]
        if self.valued:
            terms.append(sp.Mul(num(s.factors[0]), num(s.factors[1], paren=True), evaluate=False))
            terms.append(num(s.value))
        elif s.symbolic is not None:
            terms.append(self.names.form(s.symbolic))
        return Equation(tuple(terms), s.index, "chain", tag=tag, nodes=self._units(s.nodes))

    def _sum(self, s: Step) -> Equation:
        vias = [Via(self.grad(s.target), self.names.of(t)) for t in s.terms]
        terms: list[Any] = [self.grad(s.target), sp.Add(*vias, evaluate=False)]
        if self.valued:
            terms.append(sp.Add(*[num(f, paren=i > 0) for i, f in enumerate(s.factors)], evaluate=False))
            terms.append(num(s.value))
        elif s.symbolic is not None:
            terms.append(self.names.form(s.symbolic))
        return Equation(tuple(terms), s.index, "sum", tag=f"sum over the {len(s.terms)} paths",
                        nodes=self._units(s.nodes))

    def _compact(self, steps: list[Step]) -> list[Equation]:
        multi = any(s.kind is StepKind.SUM for s in steps)
        out: list[Equation] = []
        local: Step | None = None
        for s in steps:
            if s.kind is StepKind.LOCAL:
                local = s
            elif s.kind is StepKind.CHAIN and local is not None:
                out.append(self._edge(local, s, multi))
            elif s.kind is StepKind.SUM:
                out.append(self._sum(s))
        return out

    def _edge(self, local: Step, s: Step, multi: bool) -> Equation:
        """One line for one edge; a ×1 or ×(−1) edge of a + or − gate folds into its gradient."""
        g = self.d.graph
        unit = s.via
        op = g.nodes[unit]["op"]
        lv = local.value if local.value is not None else local.symbolic
        rule = local.rule or ""
        if op in ("add", "sub", "neg", "identity") and lv in (1, -1):
            sign = sp.Integer(int(lv))
            up = self.grad(s.via)
            folded = up if sign == 1 else sp.Mul(sp.Integer(-1), up, evaluate=False)
            terms: list[Any] = [self._chain_lhs(s, multi), folded]
            if self.valued:
                terms.append(num(s.value))
            elif s.symbolic is not None:
                terms.append(self.names.form(s.symbolic))
            return Equation(tuple(terms), s.index, "edge", tag=rule, note=local.note, nodes=self._units(s.nodes),
                            aside=(self.local(local), sp.Integer(int(lv))))
        eq = self._chain(s, multi, self.local(local), tag=rule)
        form = self.names.form(local.symbolic)
        aside: tuple[Any, ...] = (self.local(local), form) if form is not None else ()
        return Equation(eq.terms, s.index, "edge", tag=rule, note=local.note, nodes=self._units(s.nodes), aside=aside)

    def gradients(self) -> list[Any]:
        results = [s for s in self.d.steps if s.kind is StepKind.RESULT]
        named = {s.target: self.names.form(s.symbolic) for s in results}
        short = self._short_forms(results, named)
        columns: list[tuple[str, Any]] = [("gradient", lambda s: (Math((self.grad(s.target),)),))]
        if any(v is not None for v in named.values()):
            columns.append(("in node names", lambda s: _math(named[s.target])))
        if short:
            columns.append(("simplified", lambda s: _math(short.get(s.target))))
        if any(s.simplified is not None or s.inputs_form is not None for s in results):
            columns.append(("in the inputs", lambda s: _math(s.simplified if s.simplified is not None
                                                             else s.inputs_form)))
        if self.valued:
            columns.append(("value", lambda s: (Math((num(s.value),)),)))
        table = Table(tuple((Text(h),) for h, _ in columns),
                      tuple(tuple(cell(s) for _, cell in columns) for s in results))
        return [Heading("Gradients"), table, *self._remarks(named, short)]

    def _short_forms(self, results: list[Step], named: dict) -> dict:
        """Simplified gradients written back in the names, where they differ from the chain product."""
        back = self.names.simplified(self.d)
        if back is None:
            return {}
        short = {s.target: s.simplified.xreplace(back) for s in results if s.simplified is not None}
        return {k: v for k, v in short.items() if named.get(k) is None or to_text(v) != to_text(named[k])}

    def _remarks(self, named, short) -> list[Any]:
        """A teaching moment: a chain product that simplifies to something much shorter (the first
        such intermediate, else the first such input: one remark, not a list)."""
        shrunk = [k for k, v in short.items()
                  if named.get(k) is not None and 2 * len(to_text(v)) <= len(to_text(named[k]))]
        if not shrunk:
            return []
        inputs = set(self.d.program.inputs)
        k = next((k for k in shrunk if k not in inputs), shrunk[0])
        return [Paragraph((Text("Worth noticing: "), Math((self.grad(k), named[k], short[k])),
                           Text(" — the factors of the local derivatives cancel.")))]

    def verification(self) -> list[Any]:
        d = self.d
        lines = verification_lines(d, self.proof, self.check)
        start = next((i for i, line in enumerate(lines) if line.startswith("gradient ")), len(lines))
        blocks: list[Any] = [Heading("Verification"), Bullets(tuple((Text(line),) for line in lines[:start]))]
        v = self.check
        if not isinstance(v, Skipped):
            header = tuple((Text(h),) for h in ("gradient", "symbolic", "NumPy engine", "finite differences",
                                                "rel. error engine", "rel. error f.d.", "verdict"))
            rows = tuple(((Math((Grad(self.out, sp.Symbol(r.name), self.o.notation),)),),
                          (Text(format_number(r.symbolic)),), (Text(format_number(r.engine)),),
                          (Text(format_number(r.numeric)),), (Text(f"{r.rel_engine:.1e}"),),
                          (Text(f"{r.rel_numeric:.1e}"),),
                          (Text(r.verdict + (f" — {r.note}" if r.note else "")),)) for r in v.rows)
            blocks.append(Details("the numbers of the cross-check", (Table(header, rows),), open=True))
        if d.limits:
            blocks.append(Bullets(tuple((Text(f"note: {lim}", "note"),) for lim in d.limits)))
        return blocks


def _plain_grad(expr) -> str:
    from .notation import term_text
    return term_text(expr)


def _math(expr) -> tuple[Inline, ...]:
    return (Math((expr,)),) if expr is not None else ()



def derivation_document(deriv, *, proof=None, check=None, options: WriteupOptions | None = None) -> Document:
    """The write-up of ``deriv`` as a document every printer formats.

    Parameters
    ----------
    deriv : Derivation
    proof, check : optional
        The proof against ``sympy.diff`` and the numeric cross-check (default: skipped).
    options : WriteupOptions, optional

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> doc = derivation_document(derive("y = 2*x", at={"x": 3}, verify=False))
    >>> [b.text for b in doc.blocks if isinstance(b, Heading)][:3]
    ['Program', 'Given', 'Forward pass']
    """
    return _Builder(deriv, proof, check, options or WriteupOptions()).document()


def alias_of(deriv, nid: str) -> str:
    """The node id a diagram shows for unit ``nid`` (its name node, if any)."""
    return alias_source(deriv.graph, nid)
