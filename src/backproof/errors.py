"""Exception hierarchy: one base class, one subclass per kind of bad input.

Every message names what is wrong, where it is and what is allowed, so the CLI can
print it as one line and exit with status 2.
"""

from __future__ import annotations

__all__ = [
    "BackproofError",
    "ParseError",
    "ProgramError",
    "EvaluationError",
    "SpecError",
    "RenderError",
    "VerificationError",
    "LimitError",
    "InternalError",
    "quote",
]


def quote(value: object, limit: int = 80) -> str:
    """``repr``-style quote of a user value for an error message, at most ``limit`` characters.

    Messages must never echo a whole file or a huge value back (a 13 MB answer once
    printed a million lines), nor control characters that could garble a terminal.

    Examples
    --------
    >>> quote("abc")
    "'abc'"
    >>> quote("x" * 200)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (200 characters)"
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit - 2:
        return repr(text)
    return f"{repr(text[: limit - 3])[:-1]}…' ({len(text)} characters)"


class BackproofError(ValueError):
    """Base class of every error backproof reports to a user."""


class ParseError(BackproofError):
    """Text in the expression language that cannot be read.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    source : str, optional
        The whole source text, used to show the offending line with a caret.
    line, col : int, optional
        1-based line and column of the problem.
    """

    def __init__(self, message: str, source: str | None = None,
                 line: int | None = None, col: int | None = None):
        self.message = message
        self.source = source
        self.line = line
        self.col = col
        super().__init__(self._render())

    def _render(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}, column {self.col}: {self.message}"

    def caret(self) -> str:
        """The offending source line with a caret under the column (may be empty)."""
        if self.source is None or self.line is None:
            return ""
        lines = self.source.splitlines() or [""]
        if not 1 <= self.line <= len(lines):
            return ""
        text = lines[self.line - 1]
        col = max((self.col or 1) - 1, 0)
        if len(text) > _CARET_WIDTH:
            # A window around the column: the caret block never echoes a whole long line.
            start = max(0, min(col - _CARET_WIDTH // 2, len(text) - _CARET_WIDTH))
            head = "…" if start > 0 else ""
            tail = "…" if start + _CARET_WIDTH < len(text) else ""
            text = head + text[start:start + _CARET_WIDTH] + tail
            col = col - start + len(head)
        return f"  {text}\n  {' ' * col}^"


#: Widest source excerpt a caret block shows (longer lines are cut around the column).
_CARET_WIDTH = 100


class ProgramError(BackproofError):
    """A well-formed program that does not make sense (unknown output, bad --at)."""


class EvaluationError(BackproofError):
    """A value that cannot be computed at the given point (log of 0, division by 0)."""

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        super().__init__(message)


class SpecError(BackproofError):
    """A network spec or answer file with a bad field; the message names its path."""


class RenderError(BackproofError):
    """A diagram that cannot be rendered in the requested format here."""


class VerificationError(BackproofError):
    """A derived gradient disagrees with an independent oracle: a bug, never ignored."""


class LimitError(BackproofError):
    """Input larger than a documented limit, refused before any work is done.

    Parameters
    ----------
    limit : str
        The limit's name in :data:`backproof.limits.LIMITS`.
    message : str
        What is too large, where, and the limit's value.
    """

    def __init__(self, limit: str, message: str):
        self.limit = limit
        super().__init__(message)


class InternalError(Exception):
    """A bug in backproof (never bad input): the CLI reports it with exit status 3."""
