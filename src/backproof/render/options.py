"""The diagram's options as plain constants, importable without Graphviz, networkx or SymPy.

``backproof graph`` offers them as argparse choices and defaults when it registers, so
``backproof --help`` needs none of the heavy modules (issue 13).
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_NODES", "VIEWS", "RANKDIRS"]

#: Above this many units (inputs, constants, operations, named results) the diagram folds.
DEFAULT_MAX_NODES = 150
#: ``forward``: values only; ``backward``: values, gradients, local derivatives;
#: ``symbolic``: expressions in node names, no numbers.
VIEWS = ("forward", "backward", "symbolic")
RANKDIRS = ("LR", "TB")
