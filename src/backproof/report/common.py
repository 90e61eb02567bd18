"""Pieces every write-up shares: how a step's parts are named and substituted.

Nothing here computes a derivative; it only arranges what the steps hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from ..ops import OPS
from ..printing import format_number, to_latex, to_text
from ..steps import Step, StepKind
from ..verify import Proof, Skipped, check_skipped, proof_skipped

if TYPE_CHECKING:  # the cross-check (NumPy) is loaded only by those who run it
    from ..threeway import CrossCheck

__all__ = ["num", "paren_num", "substituted_text", "substituted_latex", "operand_ids",
           "grad_label", "grad_latex", "label_text", "name_latex", "step_groups", "output_unit",
           "verification_lines"]


def num(x) -> str:
    """A number as write-ups print it."""
    return format_number(x)


def paren_num(x) -> str:
    """A number, parenthesised when negative (so ``1 - (-1)`` reads right)."""
    text = format_number(x)
    return f"({text})" if text.startswith("-") else text


def operand_ids(deriv, nid: str) -> list[str]:
    g = deriv.graph
    return [u for u, _, _ in sorted(g.in_edges(nid, keys=True), key=lambda e: e[2])]


def _placeholders(step: Step, deriv):
    op = deriv.graph.nodes[step.target]["op"]
    syms = [sp.Symbol(f"_o{i}") for i in range(len(step.factors))]
    return OPS[op].write(*syms), {f"_o{i}": v for i, v in enumerate(step.factors)}


def substituted_text(step: Step, deriv) -> str:
    """A forward step's operation written with its operand values: ``2 + 1``."""
    expr, vals = _placeholders(step, deriv)
    return to_text(expr, {k: paren_num(v) for k, v in vals.items()})


def substituted_latex(step: Step, deriv) -> str:
    """The LaTeX of :func:`substituted_text`."""
    expr, vals = _placeholders(step, deriv)
    return to_latex(expr, {k: (r"\left(" + num(v) + r"\right)") if num(v).startswith("-") else num(v)
                           for k, v in vals.items()})


def label_text(deriv, nid: str) -> str:
    """A node label, parenthesised when it is an expression."""
    label = deriv.label(nid)
    kind = deriv.graph.nodes[nid]["kind"]
    if kind == "op" and not label.isidentifier():
        return f"({label})"
    return label


def grad_label(deriv, of: str, wrt: str) -> str:
    """``∂y/∂d`` with node labels; anonymous operations are parenthesised."""
    return f"∂{label_text(deriv, of)}/∂{label_text(deriv, wrt)}"


def name_latex(deriv, nid: str) -> str:
    """LaTeX for a node: a name as SymPy prints the symbol, else its expression."""
    g = deriv.graph
    label = deriv.label(nid)
    if label.isidentifier():
        return to_latex(sp.Symbol(label))
    return r"\left(" + to_latex(g.nodes[nid]["expr"]) + r"\right)"


def grad_latex(deriv, of: str, wrt: str) -> str:
    """``\\frac{\\partial y}{\\partial d}``."""
    return rf"\frac{{\partial {name_latex(deriv, of)}}}{{\partial {name_latex(deriv, wrt)}}}"


def step_groups(deriv):
    """Backward steps grouped per target, in order: ``[(target, [steps...])]``."""
    groups: list[tuple[str, list[Step]]] = []
    for s in deriv.steps:
        if s.kind in (StepKind.LOCAL, StepKind.CHAIN, StepKind.SUM):
            if not groups or groups[-1][0] != s.target:
                groups.append((s.target, []))
            groups[-1][1].append(s)
    return groups


def output_unit(deriv) -> str:
    for s in deriv.steps:
        if s.kind is StepKind.SEED:
            return s.target
    return deriv.output


def oracles(deriv, proof: Proof | Skipped | None,
            check: CrossCheck | Skipped | None) -> tuple[Proof | Skipped, CrossCheck | Skipped]:
    """The proof and the cross-check to report: when not given, skipped (as the derivation says)."""
    return (proof if proof is not None else proof_skipped(deriv.limits),
            check if check is not None else check_skipped(deriv.at is not None))


def verification_lines(deriv, proof=None, check=None) -> list[str]:
    """Plain lines describing the proof and the numeric cross-check (skipped when not given)."""
    proof, v = oracles(deriv, proof, check)
    lines = ["symbolic: " + (proof.line if isinstance(proof, Skipped) else proof.summary)]
    if isinstance(v, Skipped):
        lines.append(f"numeric: {v.line}")
        return lines
    lines.append(f"numeric: {v.summary}")
    header = ("gradient", "symbolic", "engine", "finite diff.", "rel. err. engine", "rel. err. f.d.", "verdict")
    rows = [header] + [(f"∂{deriv.output}/∂{r.name}", num(r.symbolic), num(r.engine), num(r.numeric),
                        f"{r.rel_engine:.1e}", f"{r.rel_numeric:.1e}", r.verdict) for r in v.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for r in v.rows:
        if r.note:
            lines.append(f"∂{deriv.output}/∂{r.name}: {r.note}")
    return lines
