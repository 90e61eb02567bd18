"""The diagram's options as plain constants, importable without Graphviz, networkx or SymPy.

``backproof graph`` offers them as argparse choices and defaults when it registers, so
``backproof --help`` needs none of the heavy modules (issue 13).
"""

from __future__ import annotations

from .. import limits
from ..errors import RenderError

__all__ = ["DEFAULT_MAX_NODES", "VIEWS", "RANKDIRS", "DEFAULT_DPI", "check_dpi"]

#: Above this many units (inputs, constants, operations, named results) the diagram folds.
DEFAULT_MAX_NODES = 150
#: ``forward``: values only; ``backward``: values, gradients, local derivatives;
#: ``symbolic``: expressions in node names, no numbers.
VIEWS = ("forward", "backward", "symbolic")
#: ``auto``: left to right for short chains, top to bottom for deep graphs.
RANKDIRS = ("auto", "LR", "TB")
#: Graphviz's own PNG resolution: 1 pt of the layout is 96/72 pixels.
DEFAULT_DPI = 96


def check_dpi(dpi, where: str = "dpi") -> None:
    """Refuse a resolution that is not a whole number from 1 to the ``diagram_dpi`` limit.

    Examples
    --------
    >>> check_dpi(150)
    >>> check_dpi(0)
    Traceback (most recent call last):
    ...
    backproof.errors.RenderError: dpi must be a whole number of at least 1, got 0
    """
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 1:
        raise RenderError(f"{where} must be a whole number of at least 1, got {dpi!r}")
    limits.check("diagram_dpi", dpi, where)
