"""Diagrams of the computational graph: build a ``graphviz.Digraph``, render it, write it.

:func:`build_diagram` (pure) draws a derivation with values, gradients and local
derivatives; :func:`render_bytes` turns it into DOT/SVG/PNG/PDF bytes with the system
``dot`` or, for SVG, the embedded WebAssembly Graphviz; :func:`write_diagram` writes a
file atomically, its format chosen by the extension.

Examples
--------
>>> from backproof.derivation import derive
>>> dot = build_diagram(derive("y = w*x", at="w=2,x=3"))
>>> render_bytes(dot, "svg").startswith(b"<?xml")
True
"""

from __future__ import annotations

from .backends import (
    BACKENDS,
    FORMATS,
    INSTALL_HINT,
    dot_available,
    format_for,
    render_bytes,
    write_diagram,
)
from .builder import COLORS, DEFAULT_MAX_NODES, RANKDIRS, VIEWS, Diagram, build_diagram

__all__ = ["build_diagram", "Diagram", "render_bytes", "write_diagram", "dot_available", "format_for",
           "DEFAULT_MAX_NODES", "VIEWS", "RANKDIRS", "FORMATS", "BACKENDS", "COLORS", "INSTALL_HINT"]
