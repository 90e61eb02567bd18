"""backproof: backpropagation one chain-rule step at a time, with every step proved.

The public API is imported lazily so that ``backproof.engine`` (the independent NumPy
engine) can be used without importing SymPy at all.

Examples
--------
>>> import backproof
>>> d = backproof.explain("d = a + b; e = b - c; y = d*e", at={"a": 2, "b": 1, "c": 0})
>>> d.named_gradients()["b"]
4
"""

from __future__ import annotations

import sys
from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "explain": ("backproof.api", "explain"),
    "crosscheck": ("backproof.threeway", "crosscheck"),
    "derive": ("backproof.derivation", "derive"),
    "Derivation": ("backproof.derivation", "Derivation"),
    "Explanation": ("backproof.api", "Explanation"),
    "Program": ("backproof.program", "Program"),
    "parse_program": ("backproof.parse", "parse_program"),
    "build_graph": ("backproof.graph", "build_graph"),
    "Step": ("backproof.steps", "Step"),
    "StepKind": ("backproof.steps", "StepKind"),
    "BackproofError": ("backproof.errors", "BackproofError"),
    "ParseError": ("backproof.errors", "ParseError"),
    "Network": ("backproof.nn", "Network"),
    # notebook records that display themselves (networks and homework checks)
    "network": ("backproof.notebook", "network"),
    "check_answers": ("backproof.notebook", "check_answers"),
    "NetworkExplanation": ("backproof.notebook", "NetworkExplanation"),
    "Feedback": ("backproof.notebook", "Feedback"),
    "WriteUp": ("backproof.api", "WriteUp"),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'backproof' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__


def _display_in_ipython() -> None:
    """Inside a running IPython (Jupyter), let the plain records display themselves
    (:func:`backproof.notebook.register_display`); elsewhere import nothing."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is not None and hasattr(shell, "display_formatter"):
        import_module("backproof.notebook").register_display(shell)


_display_in_ipython()
