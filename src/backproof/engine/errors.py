"""Errors raised by the NumPy engine: bad shapes or names, and floating-point failures.

The engine is independent of SymPy; :mod:`backproof.errors` is plain Python (it
imports nothing), so the engine's errors join the package-wide hierarchy and the CLI
reports them like any other ``BackproofError``.
"""

from __future__ import annotations

from backproof.errors import BackproofError

__all__ = ["EngineError", "NumericalError"]


class EngineError(BackproofError):
    """Input the engine cannot work with: wrong shape, unknown name, incompatible loss.

    A subclass of :class:`ValueError` (through ``BackproofError``).
    """


class NumericalError(EngineError):
    """A floating-point overflow, division by zero or invalid value inside the engine.

    Parameters
    ----------
    message : str
        What went wrong; by convention it starts with ``where``.
    where : str
        The place it happened, e.g. ``"layer 2 (sigmoid) forward"`` or ``"loss (mse)"``.
    """

    def __init__(self, message: str, where: str):
        self.where = where
        super().__init__(message)
