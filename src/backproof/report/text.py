"""The terminal write-up: readable, aligned, coloured when shown on a terminal."""

from __future__ import annotations

from io import StringIO
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..printing import to_text
from ..steps import StepKind
from ..verify import Proof, Skipped, check_skipped, proof_skipped
from .common import grad_label, label_text, num, output_unit, paren_num, step_groups, substituted_text

if TYPE_CHECKING:  # the cross-check (NumPy) is loaded only by those who run it
    from ..crosscheck import CrossCheck

__all__ = ["render_text"]


def _lines(deriv, proof, check) -> list[str]:
    """The write-up as rich-markup lines (markup only styles; content is escaped)."""
    e = escape
    out = deriv.output
    ou = output_unit(deriv)
    L: list[str] = []
    L.append(f"[bold]backproof[/bold] — the gradients of [bold]{e(out)}[/bold], one chain-rule step at a time")
    L.append("")
    L.append("[bold]Program[/bold]")
    for st in deriv.program.statements:
        L.append(f"  {e(st.name)} = {e(to_text(st.expr))}")
    inputs = [n for n in deriv.program.inputs if n in deriv.graph]
    L.append(f"  inputs: {e(', '.join(inputs)) or '(none)'}; output: {e(out)}")
    if deriv.at is not None:
        L.append("")
        L.append("[bold]Given[/bold]")
        L.append("  " + (",  ".join(f"{e(n)} = [green]{num(deriv.at[n])}[/green]" for n in inputs) or "(no inputs)"))
    L.append("")
    L.append("[bold]Forward pass[/bold]" + ("" if deriv.at is not None else " (symbolic: no values given)"))
    for s in deriv.steps:
        if s.kind is not StepKind.FORWARD:
            continue
        lhs = deriv.label(s.target)
        line = f"  {s.index:>3}. {e(lhs)} = {e(to_text(s.symbolic))}" if lhs != to_text(s.symbolic) \
            else f"  {s.index:>3}. {e(lhs)}"
        if s.value is not None:
            line += f" = {e(substituted_text(s, deriv))} = [green]{num(s.value)}[/green]"
        L.append(line)
    L.append("")
    L.append("[bold]Backward pass[/bold] (reverse order; a value that feeds several operations "
             "sums its paths)")
    seed = next(s for s in deriv.steps if s.kind is StepKind.SEED)
    L.append(f"  {seed.index:>3}. {e(grad_label(deriv, ou, ou))} = 1   (start: the output with respect to itself)")
    for target, steps in step_groups(deriv):
        multi = any(s.kind is StepKind.SUM for s in steps)
        for s in steps:
            if s.kind is StepKind.LOCAL:
                line = f"  {s.index:>3}. local   {e(grad_label(deriv, s.via, target))}"
                if s.symbolic is not None:
                    line += f" = {e(to_text(s.symbolic))}"
                if s.value is not None and (s.symbolic is None or to_text(s.symbolic) != num(s.value)):
                    line += f" = [green]{num(s.value)}[/green]"
                line += f"   [dim]({e(s.rule)})[/dim]"
                L.append(line)
                if s.note:
                    L.append(f"         [yellow]note: {e(s.note)}[/yellow]")
            elif s.kind is StepKind.CHAIN:
                head = f"path via {label_text(deriv, s.via)}" if multi else grad_label(deriv, ou, target)
                line = (f"  {s.index:>3}. chain   {e(head)} = {e(grad_label(deriv, ou, s.via))} · "
                        f"{e(grad_label(deriv, s.via, target))}")
                if s.symbolic is not None:
                    line += f" = {e(to_text(s.symbolic))}"
                if s.value is not None:
                    line += f" = {paren_num(s.factors[0])} · {paren_num(s.factors[1])} = [red]{num(s.value)}[/red]"
                L.append(line)
            elif s.kind is StepKind.SUM:
                paths = " + ".join(f"(via {label_text(deriv, t)})" for t in s.terms)
                line = f"  {s.index:>3}. sum     {e(grad_label(deriv, ou, target))} = {e(paths)}"
                if s.symbolic is not None:
                    line += f" = {e(to_text(s.symbolic))}"
                if s.value is not None:
                    line += " = " + " + ".join(paren_num(f) for f in s.factors) + f" = [red]{num(s.value)}[/red]"
                L.append(line)
    L.append("")
    L.append("[bold]Gradients[/bold]")
    results = [s for s in deriv.steps if s.kind is StepKind.RESULT]
    width = max([len(grad_label(deriv, ou, s.target)) for s in results] + [0])
    for s in results:
        parts = [f"  {e(grad_label(deriv, ou, s.target).ljust(width))}"]
        shown: list[str] = []
        for form in (s.symbolic, s.simplified):
            if form is not None and to_text(form) not in shown:
                shown.append(to_text(form))
        parts.extend(f"= {e(t)}" for t in shown)
        if s.value is not None and num(s.value) not in shown:
            parts.append(f"= [red]{num(s.value)}[/red]")
        elif s.value is not None:
            parts[-1] = f"= [red]{e(shown[-1])}[/red]"
        L.append(" ".join(parts))
    L.append("")
    L.append("[bold]Verification[/bold]")
    L.extend("  " + e(line) for line in verification_lines(deriv, proof, check))
    for lim in deriv.limits:
        L.append(f"  [yellow]note: {e(lim)}[/yellow]")
    return L


def oracles(deriv, proof: Proof | Skipped | None,
            check: CrossCheck | Skipped | None) -> tuple[Proof | Skipped, CrossCheck | Skipped]:
    """The proof and the cross-check to report: when not given, skipped (as the derivation says)."""
    return (proof if proof is not None else proof_skipped(deriv.limits),
            check if check is not None else check_skipped(deriv.at is not None))


def verification_lines(deriv, proof=None, check=None) -> list[str]:
    """Plain lines describing the proof and the numeric cross-check."""
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


def render_text(deriv, color: bool = False, *, proof=None, check=None) -> str:
    """The terminal write-up of ``deriv``; ANSI colours when ``color`` is true.

    ``proof`` (a :class:`~backproof.verify.Proof`) and ``check`` (a
    :class:`~backproof.crosscheck.CrossCheck`) are reported when given, else as skipped.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> print(render_text(derive("y = 2*x", at={"x": 3}, verify=False)).splitlines()[0])
    backproof — the gradients of y, one chain-rule step at a time
    """
    lines = _lines(deriv, proof, check)
    if not color:
        return "\n".join(Text.from_markup(line).plain for line in lines) + "\n"
    buf = StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=200,
                      highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line)
    return buf.getvalue()
