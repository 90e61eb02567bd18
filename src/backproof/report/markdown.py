"""The Markdown write-up with GitHub-renderable maths (``$…$`` and ``$$…$$``)."""

from __future__ import annotations

from ..printing import to_latex, to_text
from ..steps import StepKind
from ..verify import Skipped
from .common import (
    grad_latex,
    name_latex,
    num,
    oracles,
    output_unit,
    step_groups,
    substituted_latex,
    verification_lines,
)

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
    return "\n".join(_MarkdownPrinter(deriv, proof, check).lines(title, diagram))


class _MarkdownPrinter:
    """Markdown lines of a derivation's write-up: one method per section and one
    ``_print_<kind>`` per step kind; every method formats what the steps hold, nothing more."""

    def __init__(self, deriv, proof=None, check=None):
        self.d = deriv
        self.proof, self.check = oracles(deriv, proof, check)
        self.ou = output_unit(deriv)
        self.inputs = [n for n in deriv.program.inputs if n in deriv.graph]

    def lines(self, title: str | None, diagram: str | None) -> list[str]:
        L = [f"# {title or f'Gradients of {self.d.output}'}", ""]
        L.extend(self.program(diagram))
        for section in (self.given, self.forward, self.backward, self.gradients, self.verification):
            L.extend(section())
        return L

    # --- sections ------------------------------------------------------------------------------
    def program(self, diagram: str | None) -> list[str]:
        out = self.d.output
        L = ["## Program", "", "```"]
        L.extend(f"{st.name} = {to_text(st.expr)}" for st in self.d.program.statements)
        L += ["```", "",
              f"Inputs: {', '.join(f'${to_latex(_sym(n))}$' for n in self.inputs) or '(none)'}; "
              f"output: ${to_latex(_sym(out))}$.", ""]
        if diagram:
            L += [f"![Computational graph of {out}: forward values in green, gradients in red]({diagram})", ""]
        return L

    def given(self) -> list[str]:
        at = self.d.at
        if at is None:
            return []
        return ["## Given", "",
                "$" + r",\quad ".join(f"{to_latex(_sym(n))} = {num(at[n])}" for n in self.inputs) + "$", ""]

    def forward(self) -> list[str]:
        L = ["## Forward pass", ""]
        L.extend(self._print_FORWARD(s) for s in self.d.steps if s.kind is StepKind.FORWARD)
        return L

    def backward(self) -> list[str]:
        d, ou = self.d, self.ou
        seed = next(s for s in d.steps if s.kind is StepKind.SEED)
        L = ["", "## Backward pass", "",
             f"{seed.index}. ${grad_latex(d, ou, ou)} = 1$ (the output with respect to itself)"]
        for target, steps in step_groups(d):
            multi = any(s.kind is StepKind.SUM for s in steps)
            L.extend(getattr(self, f"_print_{s.kind.name}")(s, target, multi) for s in steps)
        return L

    def gradients(self) -> list[str]:
        d = self.d
        results = [s for s in d.steps if s.kind is StepKind.RESULT]
        has_sym = any(s.symbolic is not None for s in results)
        header = ["gradient"] + (["in node names", "in the inputs"] if has_sym else []) + \
                 (["value"] if d.at is not None else [])
        L = ["", "## Gradients", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        L.extend(self._print_RESULT(s, has_sym) for s in results)
        return L

    def verification(self) -> list[str]:
        d = self.d
        L = ["", "## Verification", ""]
        lines = verification_lines(d, self.proof, self.check)
        table_start = next((i for i, line in enumerate(lines) if line.startswith("gradient ")), len(lines))
        L.extend(f"- {line}" for line in lines[:table_start])
        v = self.check
        if not isinstance(v, Skipped):
            L += ["", "| gradient | symbolic | NumPy engine | finite differences | rel. error engine "
                      "| rel. error f.d. | verdict |",
                  "|---|---|---|---|---|---|---|"]
            L.extend(self._print_check_row(r) for r in v.rows)
        L.extend(f"- note: {lim}" for lim in d.limits)
        return L + [""]

    # --- one printer per step kind ----------------------------------------------------------------
    def _print_FORWARD(self, s) -> str:
        d = self.d
        named = d.label(s.target).isidentifier()
        # An anonymous operation is its own expression: no "label = label".
        rhs = f"{name_latex(d, s.target)} = {to_latex(s.symbolic)}" if named else to_latex(s.symbolic)
        if s.value is not None:
            rhs += f" = {substituted_latex(s, d)} = {num(s.value)}"
        return f"{s.index}. ${rhs}$"

    def _print_LOCAL(self, s, target: str, multi: bool) -> str:
        rhs = grad_latex(self.d, s.via, target)
        if s.symbolic is not None:
            rhs += f" = {to_latex(s.symbolic)}"
        if s.value is not None and (s.symbolic is None or to_text(s.symbolic) != num(s.value)):
            rhs += f" = {num(s.value)}"
        line = f"{s.index}. local derivative (*{s.rule}*): ${rhs}$"
        return line + f" — **note:** {s.note}" if s.note else line

    def _print_CHAIN(self, s, target: str, multi: bool) -> str:
        d, ou = self.d, self.ou
        lhs = f"\\text{{path via }} {name_latex(d, s.via)}" if multi else grad_latex(d, ou, target)
        rhs = f"{lhs} = {grad_latex(d, ou, s.via)} \\cdot {grad_latex(d, s.via, target)}"
        if s.symbolic is not None:
            rhs += f" = {to_latex(s.symbolic)}"
        if s.value is not None:
            rhs += f" = {_n(s.factors[0])} \\cdot {_n(s.factors[1])} = {num(s.value)}"
        return f"{s.index}. chain rule: ${rhs}$"

    def _print_SUM(self, s, target: str, multi: bool) -> str:
        rhs = grad_latex(self.d, self.ou, target)
        if s.symbolic is not None:
            rhs += f" = {to_latex(s.symbolic)}"
        if s.value is not None:
            rhs += " = " + " + ".join(_n(f) for f in s.factors) + f" = {num(s.value)}"
        via = ", ".join(f"${name_latex(self.d, t)}$" for t in s.terms)
        return f"{s.index}. sum over the {len(s.terms)} paths (via {via}): ${rhs}$"

    def _print_RESULT(self, s, has_sym: bool) -> str:
        row = [f"${grad_latex(self.d, self.ou, s.target)}$"]
        if has_sym:
            row.append(f"${to_latex(s.symbolic)}$" if s.symbolic is not None else "")
            row.append(f"${to_latex(s.simplified)}$" if s.simplified is not None else "")
        if self.d.at is not None:
            row.append(num(s.value))
        return "| " + " | ".join(row) + " |"

    def _print_check_row(self, r) -> str:
        """One row of the numeric cross-check's table."""
        return (f"| $\\partial {to_latex(_sym(self.d.output))}/\\partial {to_latex(_sym(r.name))}$ | "
                f"{num(r.symbolic)} | {num(r.engine)} | {num(r.numeric)} | {r.rel_engine:.1e} | "
                f"{r.rel_numeric:.1e} | {r.verdict}{' — ' + r.note if r.note else ''} |")


def _sym(name: str):
    import sympy as sp
    return sp.Symbol(name)
