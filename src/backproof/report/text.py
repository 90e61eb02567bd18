"""The terminal write-up: readable, aligned, coloured when shown on a terminal."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from rich.markup import escape as e  # short: every piece of user text is escaped
from rich.text import Text

from ..printing import to_text
from ..steps import StepKind
from .common import (
    grad_label,
    label_text,
    num,
    oracles,
    output_unit,
    paren_num,
    step_groups,
    substituted_text,
    verification_lines,
)

__all__ = ["render_text"]


class _TextPrinter:
    """Rich-markup lines of a derivation's write-up (markup only styles; content is escaped).

    One method per section and one ``_print_<kind>`` per step kind, as SymPy's printers
    dispatch per expression class; every method formats what the steps hold, nothing more.
    """

    def __init__(self, deriv, proof=None, check=None):
        self.d = deriv
        self.proof, self.check = oracles(deriv, proof, check)
        self.ou = output_unit(deriv)
        self.inputs = [n for n in deriv.program.inputs if n in deriv.graph]

    def lines(self) -> list[str]:
        out = self.d.output
        L = [f"[bold]backproof[/bold] — the gradients of [bold]{e(out)}[/bold], one chain-rule step at a time",
             ""]
        for section in (self.program, self.given, self.forward, self.backward, self.gradients,
                        self.verification):
            L.extend(section())
        return L

    # --- sections ------------------------------------------------------------------------------
    def program(self) -> list[str]:
        L = ["[bold]Program[/bold]"]
        L.extend(f"  {e(st.name)} = {e(to_text(st.expr))}" for st in self.d.program.statements)
        L.append(f"  inputs: {e(', '.join(self.inputs)) or '(none)'}; output: {e(self.d.output)}")
        return L

    def given(self) -> list[str]:
        at = self.d.at
        if at is None:
            return []
        values = ",  ".join(f"{e(n)} = [green]{num(at[n])}[/green]" for n in self.inputs)
        return ["", "[bold]Given[/bold]", "  " + (values or "(no inputs)")]

    def forward(self) -> list[str]:
        L = ["", "[bold]Forward pass[/bold]" + ("" if self.d.at is not None else " (symbolic: no values given)")]
        L.extend(self._print_FORWARD(s) for s in self.d.steps if s.kind is StepKind.FORWARD)
        return L

    def backward(self) -> list[str]:
        d, ou = self.d, self.ou
        seed = next(s for s in d.steps if s.kind is StepKind.SEED)
        L = ["", "[bold]Backward pass[/bold] (reverse order; a value that feeds several operations "
                 "sums its paths)",
             f"  {seed.index:>3}. {e(grad_label(d, ou, ou))} = 1   (start: the output with respect to itself)"]
        for target, steps in step_groups(d):
            multi = any(s.kind is StepKind.SUM for s in steps)
            for s in steps:
                L.extend(getattr(self, f"_print_{s.kind.name}")(s, target, multi))
        return L

    def gradients(self) -> list[str]:
        results = [s for s in self.d.steps if s.kind is StepKind.RESULT]
        width = max([len(grad_label(self.d, self.ou, s.target)) for s in results] + [0])
        return ["", "[bold]Gradients[/bold]", *(self._print_RESULT(s, width) for s in results)]

    def verification(self) -> list[str]:
        L = ["", "[bold]Verification[/bold]"]
        L.extend("  " + e(line) for line in verification_lines(self.d, self.proof, self.check))
        L.extend(f"  [yellow]note: {e(lim)}[/yellow]" for lim in self.d.limits)
        return L

    # --- one printer per step kind ----------------------------------------------------------------
    def _print_FORWARD(self, s) -> str:
        lhs = self.d.label(s.target)
        line = f"  {s.index:>3}. {e(lhs)} = {e(to_text(s.symbolic))}" if lhs != to_text(s.symbolic) \
            else f"  {s.index:>3}. {e(lhs)}"
        if s.value is not None:
            line += f" = {e(substituted_text(s, self.d))} = [green]{num(s.value)}[/green]"
        return line

    def _print_LOCAL(self, s, target: str, multi: bool) -> list[str]:
        line = f"  {s.index:>3}. local   {e(grad_label(self.d, s.via, target))}"
        if s.symbolic is not None:
            line += f" = {e(to_text(s.symbolic))}"
        if s.value is not None and (s.symbolic is None or to_text(s.symbolic) != num(s.value)):
            line += f" = [green]{num(s.value)}[/green]"
        line += f"   [dim]({e(s.rule)})[/dim]"
        return [line, f"         [yellow]note: {e(s.note)}[/yellow]"] if s.note else [line]

    def _print_CHAIN(self, s, target: str, multi: bool) -> list[str]:
        d, ou = self.d, self.ou
        head = f"path via {label_text(d, s.via)}" if multi else grad_label(d, ou, target)
        line = (f"  {s.index:>3}. chain   {e(head)} = {e(grad_label(d, ou, s.via))} · "
                f"{e(grad_label(d, s.via, target))}")
        if s.symbolic is not None:
            line += f" = {e(to_text(s.symbolic))}"
        if s.value is not None:
            line += f" = {paren_num(s.factors[0])} · {paren_num(s.factors[1])} = [red]{num(s.value)}[/red]"
        return [line]

    def _print_SUM(self, s, target: str, multi: bool) -> list[str]:
        paths = " + ".join(f"(via {label_text(self.d, t)})" for t in s.terms)
        line = f"  {s.index:>3}. sum     {e(grad_label(self.d, self.ou, target))} = {e(paths)}"
        if s.symbolic is not None:
            line += f" = {e(to_text(s.symbolic))}"
        if s.value is not None:
            line += " = " + " + ".join(paren_num(f) for f in s.factors) + f" = [red]{num(s.value)}[/red]"
        return [line]

    def _print_RESULT(self, s, width: int) -> str:
        parts = [f"  {e(grad_label(self.d, self.ou, s.target).ljust(width))}"]
        shown: list[str] = []
        for form in (s.symbolic, s.simplified):
            if form is not None and to_text(form) not in shown:
                shown.append(to_text(form))
        parts.extend(f"= {e(t)}" for t in shown)
        if s.value is not None and num(s.value) not in shown:
            parts.append(f"= [red]{num(s.value)}[/red]")
        elif s.value is not None:
            parts[-1] = f"= [red]{e(shown[-1])}[/red]"
        return " ".join(parts)


def render_text(deriv, color: bool = False, *, proof=None, check=None) -> str:
    """The terminal write-up of ``deriv``; ANSI colours when ``color`` is true.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> print(render_text(derive("y = 2*x", at={"x": 3}, verify=False)).splitlines()[0])
    backproof — the gradients of y, one chain-rule step at a time
    """
    lines = _TextPrinter(deriv, proof, check).lines()
    if not color:
        return "\n".join(Text.from_markup(line).plain for line in lines) + "\n"
    buf = StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=200,
                      highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line)
    return buf.getvalue()
