"""Typed, frozen derivation steps: the closed vocabulary every write-up formats.

Reports only format steps; they never compute. The homework checker compares a
student's numbers with steps by node id.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import sympy as sp

__all__ = ["StepKind", "Step"]


class StepKind(str, Enum):
    """The kinds of step, in the order a textbook presents them."""

    FORWARD = "forward"   #: a node's value from its operands' values
    SEED = "seed"         #: ∂out/∂out = 1, where the backward pass starts
    LOCAL = "local"       #: ∂consumer/∂operand, with the rule that gives it
    CHAIN = "chain"       #: ∂out/∂consumer × ∂consumer/∂operand along one edge
    SUM = "sum"           #: the sum over paths where a value feeds several operations
    RESULT = "result"     #: a final gradient ∂out/∂name
    UPDATE = "update"     #: a gradient-descent update new = old − η·gradient


@dataclass(frozen=True)
class Step:
    """One step of a derivation.

    Attributes
    ----------
    index : int
        1-based position in the derivation.
    kind : StepKind
        What the step does.
    target : str
        Node id whose value (forward) or gradient (backward) the step is about.
    via : str or None
        For ``local`` and ``chain`` steps, the consumer node the path goes through.
    pos : int or None
        Argument position of ``target`` in ``via``.
    nodes : tuple of str
        Every node id the step touches.
    rule : str or None
        The differentiation rule (``"product rule"``), or the operation for forward steps.
    symbolic : sympy.Expr or None
        The step's result in node names (``∂y/∂d = e``), when computed.
    inputs_form : sympy.Expr or None
        The same written out in the inputs, when computed.
    simplified : sympy.Expr or None
        A simplified ``inputs_form``, when computed.
    value : sympy.Expr or None
        The number, when values were given (exact or 30-digit SymPy number).
    factors : tuple
        The numbers combined: operand values (forward), the two factors (chain), the
        path contributions (sum).
    terms : tuple of str
        Node ids of the consumers whose contributions a ``sum`` step adds.
    note : str
        A remark such as the convention used at a non-differentiable point.
    """

    index: int
    kind: StepKind
    target: str
    via: str | None = None
    pos: int | None = None
    nodes: tuple[str, ...] = ()
    rule: str | None = None
    symbolic: sp.Expr | None = None
    inputs_form: sp.Expr | None = None
    simplified: sp.Expr | None = None
    value: sp.Expr | None = None
    factors: tuple = ()
    terms: tuple[str, ...] = ()
    note: str = ""
