"""The JSON write-up: the derivation as data (schema documented in the README)."""

from __future__ import annotations

import math

from .. import __version__
from ..printing import JSON_DIGITS, rounded, to_json_text, to_text
from ..verify import Skipped
from .common import oracles

__all__ = ["derivation_dict", "step_dict", "render_json", "rounded", "to_json_text", "SCHEMA_VERSION", "JSON_DIGITS"]

SCHEMA_VERSION = 1


def _f(x) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def derivation_dict(deriv, *, proof=None, check=None) -> dict:
    """The derivation as JSON-ready data.

    Examples
    --------
    >>> from backproof.derivation import derive
    >>> derivation_dict(derive("y = 2*x", at={"x": 3}, verify=False))["gradients"]
    {'x': 2.0}
    """
    g = deriv.graph
    has_values = deriv.at is not None
    proof, check = oracles(deriv, proof, check)
    return {
        "backproof": __version__,
        "schema": SCHEMA_VERSION,
        "program": [f"{st.name} = {to_text(st.expr)}" for st in deriv.program.statements],
        "output": deriv.output,
        "inputs": [n for n in deriv.program.inputs if n in g],
        "intermediates": [st.name for st in deriv.program.statements if st.name in g and st.name != deriv.output],
        "wrt": list(deriv.wrt),
        "at": {n: _f(v) for n, v in deriv.at.items()} if has_values else None,
        "values": {n: _f(deriv.values[n]) for n in deriv.names} if has_values else None,
        "gradients": {n: _f(v) for n, v in deriv.named_gradients().items()} if has_values else None,
        "symbolic": {n: to_text(v) for n, v in deriv.named_symbolic().items()},
        "expanded": {n: to_text(deriv.simplified[n]) for n in deriv.wrt if n in deriv.simplified},
        "steps": [step_dict(deriv, s) for s in deriv.steps],
        "proof": _proof(proof),
        "verification": _verification(check),
        "limits": list(deriv.limits),
    }


#: A step's optional fields: (JSON key, attribute, how it is written), in the order of the schema.
_STEP_FIELDS = (("rule", "rule", None), ("symbolic", "symbolic", to_text), ("in_inputs", "inputs_form", to_text),
                ("simplified", "simplified", to_text), ("value", "value", _f))


def step_dict(deriv, s) -> dict:
    """One step as JSON-ready data (fields that do not apply to its kind are left out)."""
    item = {"index": s.index, "kind": s.kind.value, "target": s.target, "target_label": deriv.label(s.target)}
    if s.via is not None:
        item.update(via=s.via, via_label=deriv.label(s.via), position=s.pos)
    for key, attr, fmt in _STEP_FIELDS:
        value = getattr(s, attr)
        if value is not None:
            item[key] = fmt(value) if fmt else value
    if s.factors:
        item["factors"] = [_f(x) for x in s.factors]
    if s.terms:
        item["terms"] = list(s.terms)
    if s.note:
        item["note"] = s.note
    return item


def _proof(proof) -> dict:
    if isinstance(proof, Skipped):
        return {"status": "skipped", "reason": proof.reason}
    return {"status": "proved", "summary": proof.summary,
            "items": [{"name": i.name, "method": i.method, "oracle": to_text(i.oracle)} for i in proof.items]}


def _verification(v):
    if isinstance(v, Skipped):
        return {"status": "skipped", "reason": v.reason}
    d = v.to_dict()
    d.setdefault("status", "agree" if v.ok else "disagree")
    return d




def render_json(deriv, *, proof=None, check=None) -> str:
    """The JSON write-up as text (two-space indent, floats to :data:`JSON_DIGITS` figures)."""
    return to_json_text(derivation_dict(deriv, proof=proof, check=check))
