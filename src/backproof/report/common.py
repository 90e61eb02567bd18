"""Pieces the derivation's write-ups share: backward steps grouped per node, the seed's unit,
and the oracles' verification lines.

Nothing here computes a derivative; it only arranges what the steps hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..printing import format_number
from ..steps import Step, StepKind
from ..verify import Proof, Skipped, check_skipped, proof_skipped

if TYPE_CHECKING:  # the cross-check (NumPy) is loaded only by those who run it
    from ..threeway import CrossCheck

__all__ = ["step_groups", "output_unit", "oracles", "verification_lines"]


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
    n = format_number
    rows = [header] + [(f"∂{deriv.output}/∂{r.name}", n(r.symbolic), n(r.engine), n(r.numeric),
                        f"{r.rel_engine:.1e}", f"{r.rel_numeric:.1e}", r.verdict) for r in v.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for r in v.rows:
        if r.note:
            lines.append(f"∂{deriv.output}/∂{r.name}: {r.note}")
    return lines
