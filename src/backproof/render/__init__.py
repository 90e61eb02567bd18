"""Diagrams of the computational graph: build a ``graphviz.Digraph``, render it, write it.

:func:`build_diagram` (pure) draws a derivation with values, gradients and local
derivatives; :func:`build_network_diagram` draws a network's result with one box per
layer and δ = ∂J/∂z per unit; :func:`render_bytes` turns it into DOT/SVG/PNG/PDF bytes with the system
``dot`` or, for SVG, the embedded WebAssembly Graphviz; :func:`write_diagram` writes a
file atomically, its format chosen by the extension.

Examples
--------
>>> from backproof.derivation import derive
>>> from backproof.render import build_diagram, render_bytes
>>> dot = build_diagram(derive("y = w*x", at="w=2,x=3"))
>>> render_bytes(dot, "svg").startswith(b"<?xml")
True
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .options import DEFAULT_DPI, DEFAULT_MAX_NODES, RANKDIRS, VIEWS

if TYPE_CHECKING:
    from .backends import (
        BACKENDS,
        FORMATS,
        INSTALL_HINT,
        dot_available,
        format_for,
        render_bytes,
        write_diagram,
    )
    from .builder import COLORS, Diagram, build_diagram
    from .network import build_network_diagram, network_diagram_fits

__all__ = ["build_diagram", "build_network_diagram", "network_diagram_fits", "Diagram", "render_bytes",
           "write_diagram", "dot_available", "format_for", "DEFAULT_MAX_NODES", "DEFAULT_DPI", "VIEWS",
           "RANKDIRS", "FORMATS", "BACKENDS", "COLORS", "INSTALL_HINT"]

#: Names loaded on first use: the backends import graphviz, the builder networkx and SymPy,
#: and ``backproof graph`` registers its options (above) without them (issue 13).
_LAZY = {
    **{name: ".backends" for name in ("BACKENDS", "FORMATS", "INSTALL_HINT", "dot_available",
                                      "format_for", "render_bytes", "write_diagram")},
    **{name: ".builder" for name in ("COLORS", "Diagram", "build_diagram")},
    **{name: ".network" for name in ("build_network_diagram", "network_diagram_fits")},
}


def __getattr__(name: str):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
