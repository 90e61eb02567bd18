"""The Markdown write-up with GitHub-renderable maths (``$…$`` and ``$$…$$``)."""

from __future__ import annotations

from ..printing import to_latex, to_text
from ..steps import StepKind
from ..verify import Skipped
from .common import grad_latex, name_latex, num, output_unit, step_groups, substituted_latex
from .text import oracles, verification_lines

__all__ = ["render_markdown"]


def _n(x) -> str:
    t = num(x)
    return r"\left(" + t + r"\right)" if t.startswith("-") else t


def render_markdown(deriv, *, title: str | None = None, diagram: str | None = None, proof=None,
                    check=None) -> str:
    """The Markdown write-up of ``deriv``.

    Parameters
    ----------
    title : str, optional
        Heading (default: "Gradients of <output>").
    diagram : str, optional
        Relative path of a diagram image to embed after the program.
    proof, check : optional
        The proof and the numeric cross-check to report (default: skipped).

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> render_markdown(derive("y = 2*x", verify=False)).splitlines()[0]
    '# Gradients of y'
    """
    out = deriv.output
    ou = output_unit(deriv)
    L: list[str] = [f"# {title or f'Gradients of {out}'}", ""]
    L.append("## Program")
    L.append("")
    L.append("```")
    for st in deriv.program.statements:
        L.append(f"{st.name} = {to_text(st.expr)}")
    L.append("```")
    L.append("")
    inputs = [n for n in deriv.program.inputs if n in deriv.graph]
    L.append(f"Inputs: {', '.join(f'${to_latex(_sym(n))}$' for n in inputs) or '(none)'}; "
             f"output: ${to_latex(_sym(out))}$.")
    L.append("")
    if diagram:
        L.append(f"![Computational graph of {out}: forward values in green, gradients in red]({diagram})")
        L.append("")
    if deriv.at is not None:
        L.append("## Given")
        L.append("")
        L.append("$" + r",\quad ".join(f"{to_latex(_sym(n))} = {num(deriv.at[n])}" for n in inputs) + "$")
        L.append("")
    L.append("## Forward pass")
    L.append("")
    for s in deriv.steps:
        if s.kind is not StepKind.FORWARD:
            continue
        named = deriv.label(s.target).isidentifier()
        # An anonymous operation is its own expression: no "label = label".
        rhs = f"{name_latex(deriv, s.target)} = {to_latex(s.symbolic)}" if named else to_latex(s.symbolic)
        if s.value is not None:
            rhs += f" = {substituted_latex(s, deriv)} = {num(s.value)}"
        L.append(f"{s.index}. ${rhs}$")
    L.append("")
    L.append("## Backward pass")
    L.append("")
    seed = next(s for s in deriv.steps if s.kind is StepKind.SEED)
    L.append(f"{seed.index}. ${grad_latex(deriv, ou, ou)} = 1$ (the output with respect to itself)")
    for target, steps in step_groups(deriv):
        multi = any(s.kind is StepKind.SUM for s in steps)
        for s in steps:
            if s.kind is StepKind.LOCAL:
                rhs = grad_latex(deriv, s.via, target)
                if s.symbolic is not None:
                    rhs += f" = {to_latex(s.symbolic)}"
                if s.value is not None and (s.symbolic is None or to_text(s.symbolic) != num(s.value)):
                    rhs += f" = {num(s.value)}"
                line = f"{s.index}. local derivative (*{s.rule}*): ${rhs}$"
                if s.note:
                    line += f" — **note:** {s.note}"
                L.append(line)
            elif s.kind is StepKind.CHAIN:
                lhs = (f"\\text{{path via }} {name_latex(deriv, s.via)}" if multi
                       else grad_latex(deriv, ou, target))
                rhs = f"{lhs} = {grad_latex(deriv, ou, s.via)} \\cdot {grad_latex(deriv, s.via, target)}"
                if s.symbolic is not None:
                    rhs += f" = {to_latex(s.symbolic)}"
                if s.value is not None:
                    rhs += f" = {_n(s.factors[0])} \\cdot {_n(s.factors[1])} = {num(s.value)}"
                L.append(f"{s.index}. chain rule: ${rhs}$")
            elif s.kind is StepKind.SUM:
                rhs = grad_latex(deriv, ou, target)
                if s.symbolic is not None:
                    rhs += f" = {to_latex(s.symbolic)}"
                if s.value is not None:
                    rhs += " = " + " + ".join(_n(f) for f in s.factors) + f" = {num(s.value)}"
                via = ", ".join(f"${name_latex(deriv, t)}$" for t in s.terms)
                L.append(f"{s.index}. sum over the {len(s.terms)} paths (via {via}): ${rhs}$")
    L.append("")
    L.append("## Gradients")
    L.append("")
    has_sym = any(s.symbolic is not None for s in deriv.steps if s.kind is StepKind.RESULT)
    header = ["gradient"] + (["in node names", "in the inputs"] if has_sym else []) + \
             (["value"] if deriv.at is not None else [])
    L.append("| " + " | ".join(header) + " |")
    L.append("|" + "---|" * len(header))
    for s in deriv.steps:
        if s.kind is not StepKind.RESULT:
            continue
        row = [f"${grad_latex(deriv, ou, s.target)}$"]
        if has_sym:
            row.append(f"${to_latex(s.symbolic)}$" if s.symbolic is not None else "")
            row.append(f"${to_latex(s.simplified)}$" if s.simplified is not None else "")
        if deriv.at is not None:
            row.append(num(s.value))
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("## Verification")
    L.append("")
    proof, v = oracles(deriv, proof, check)
    lines = verification_lines(deriv, proof, v)
    table_start = next((i for i, line in enumerate(lines) if line.startswith("gradient ")), None)
    for i, line in enumerate(lines):
        if table_start is not None and i >= table_start:
            break
        L.append(f"- {line}")
    if not isinstance(v, Skipped):
        L.append("")
        L.append("| gradient | symbolic | NumPy engine | finite differences | rel. error engine | rel. error f.d. | verdict |")
        L.append("|---|---|---|---|---|---|---|")
        for r in v.rows:
            L.append(f"| $\\partial {to_latex(_sym(out))}/\\partial {to_latex(_sym(r.name))}$ | {num(r.symbolic)} | "
                     f"{num(r.engine)} | {num(r.numeric)} | {r.rel_engine:.1e} | {r.rel_numeric:.1e} | "
                     f"{r.verdict}{' — ' + r.note if r.note else ''} |")
    for lim in deriv.limits:
        L.append(f"- note: {lim}")
    L.append("")
    return "\n".join(L)


def _sym(name: str):
    import sympy as sp
    return sp.Symbol(name)
