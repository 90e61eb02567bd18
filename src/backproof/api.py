"""The notebook-facing entry point: derive, then cross-check numerically when values are given."""

from __future__ import annotations

from collections.abc import Iterable

from .derive import Derivation, derive

__all__ = ["explain"]


def explain(program, at=None, *, of: str | None = None, wrt: Iterable[str] | None = None,
            verify: bool = True, points: int = 1) -> Derivation:
    """Derive every gradient step by step and prove it.

    Parameters
    ----------
    program : str, Program, sympy.Expr or mapping
        Expression-language text (``"d = a + b; y = d*d"``), a Program, a SymPy
        expression (its output is called ``f``) or a mapping ``name -> expression``.
    at : mapping or str, optional
        Input values, ``{"a": 2}`` or ``"a=2,b=1"``.
    of, wrt : optional
        The output to differentiate and the names to report gradients for.
    verify : bool
        Prove the gradients against ``sympy.diff`` (small graphs) and, when values are
        given, cross-check them against the NumPy engine and finite differences.
    points : int
        Points for the numeric cross-check (1: just ``at``).

    Returns
    -------
    Derivation
        With ``.verification`` holding the cross-check when it ran.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b, c = sp.symbols("a b c")
    >>> d = explain((a + b)*(b - c), at={"a": 2, "b": 1, "c": 0})
    >>> d.named_gradients()["b"], d.verification.ok
    (4, True)
    """
    deriv = derive(program, at, of=of, wrt=wrt, verify=verify)
    if verify and deriv.at is not None:
        from .threeway import crosscheck
        result = crosscheck(derivation=deriv, points=points)
        object.__setattr__(deriv, "verification", result)
    return deriv
