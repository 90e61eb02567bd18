"""Tests of the render backends: system ``dot`` and the embedded WebAssembly Graphviz.

The embedded backend is exercised with ``dot`` hidden from PATH. Tests that need the
system binary are marked ``needs_dot`` (skipped without it, except in CI where
conftest turns a skip into a failure).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from backproof.derivation import derive
from backproof.errors import RenderError
from backproof.render import (
    FORMATS,
    build_diagram,
    dot_available,
    format_for,
    render_bytes,
    write_diagram,
)

SVG = "{http://www.w3.org/2000/svg}"
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}
PROGRAMS = {
    "fork": ("d = a + b; e = b - c; y = d*e", "a=2,b=1,c=0"),
    "two_neurons": ("a1 = w1*x + b1; a2 = w2*a1 + b2; J = (a2 - y)**2/2", "x=1,y=5,w1=2,b1=0,w2=3,b2=1"),
    "functions": ("h = sigmoid(w*x + b); L = -log(h) + relu(x - 1)", "w=0.5,x=2,b=-1"),
    "symbolic": ("yhat = w*x + b; L = (yhat - y)**2/2", None),
}


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """Hide every executable, so neither shutil.which nor the graphviz package finds ``dot``."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert not dot_available()


def node_texts(svg: bytes) -> Counter:
    """Multiset of (node DOT name, its texts) in an SVG."""
    out = Counter()
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") == "node":
            title = g.find(f"{SVG}title").text
            out[(title, tuple(t.text for t in g.iter(f"{SVG}text")))] += 1
    return out


@pytest.fixture(scope="module")
def diagrams():
    return {k: build_diagram(derive(p, at=at)) for k, (p, at) in PROGRAMS.items()}


# --- formats --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["dot", "gv", "DOT", ".gv"])
def test_dot_and_gv_are_the_source(diagrams, fmt, no_dot):
    assert render_bytes(diagrams["fork"], fmt) == diagrams["fork"].source.encode("utf-8")


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_embedded_backend_draws_svg_without_dot(diagrams, name, no_dot):
    svg = render_bytes(diagrams[name], "svg")
    assert svg.startswith(MAGIC["svg"])
    nodes = node_texts(svg)
    drawn = {title for title, _ in nodes}
    assert all(f"n{i}" in drawn for i in range(1, 4))
    assert sum(nodes.values()) == sum(1 for line in diagrams[name].body
                                      if line.startswith("\t") and " [" in line and "->" not in line
                                      and "label=" in line
                                      and not line.lstrip().startswith(("graph ", "node ", "edge ")))


@pytest.mark.needs_dot
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_both_backends_draw_the_same_nodes_and_labels(diagrams, name):
    by_dot = render_bytes(diagrams[name], "svg", backend="dot")
    by_wasm = render_bytes(diagrams[name], "svg", backend="wasm")
    assert node_texts(by_dot) == node_texts(by_wasm)
    assert len(node_texts(by_dot)) > 5


@pytest.mark.needs_dot
@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_system_dot_formats(diagrams, fmt, tmp_path):
    data = render_bytes(diagrams["two_neurons"], fmt)
    assert data.startswith(MAGIC[fmt])
    path = write_diagram(diagrams["two_neurons"], tmp_path / "out" / f"diagram.{fmt.upper()}")
    assert path.read_bytes().startswith(MAGIC[fmt])


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_png_and_pdf_without_dot_say_how_to_install_it(diagrams, fmt, no_dot, tmp_path):
    with pytest.raises(RenderError) as err:
        render_bytes(diagrams["fork"], fmt)
    msg = str(err.value)
    assert f"Graphviz is needed for {fmt.upper()} output" in msg
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert "\n" not in msg
    target = tmp_path / f"fork.{fmt}"
    with pytest.raises(RenderError):
        write_diagram(diagrams["fork"], target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.needs_dot
def test_embedded_backend_refuses_png_even_when_dot_exists(diagrams):
    with pytest.raises(RenderError, match="the embedded Graphviz draws SVG only"):
        render_bytes(diagrams["fork"], "png", backend="wasm")


@pytest.mark.parametrize("fmt, match", [
    ("svgz", r"unknown diagram format 'svgz' \(must be one of: dot, gv, svg, png, pdf\)"),
    ("", "unknown diagram format ''"),
], ids=["svgz", "empty"])
def test_unknown_format(diagrams, fmt, match):
    with pytest.raises(RenderError, match=match):
        render_bytes(diagrams["fork"], fmt)


def test_unknown_backend(diagrams):
    with pytest.raises(RenderError, match=r"unknown render backend 'cairo' \(must be one of: auto, dot, wasm\)"):
        render_bytes(diagrams["fork"], "svg", backend="cairo")


@pytest.mark.parametrize("path, fmt", [
    ("a.dot", "dot"), ("dir/a.gv", "gv"), ("a.SVG", "svg"), ("a.b.png", "png"), ("x/y.pdf", "pdf"),
])
def test_format_from_extension(path, fmt):
    assert format_for(path) == fmt and fmt in FORMATS


@pytest.mark.parametrize("name", ["diagram.jpg", "diagram", "diagram.svg.tmp", ".svg"])
def test_unknown_extension_lists_the_allowed_ones_and_writes_nothing(diagrams, name, tmp_path):
    with pytest.raises(RenderError, match=r"\(must be one of: \.dot, \.gv, \.svg, \.png, \.pdf\)"):
        write_diagram(diagrams["fork"], tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend", ["wasm", pytest.param("dot", marks=pytest.mark.needs_dot)])
def test_invalid_dot_source_is_one_line_error(backend, tmp_path):
    with pytest.raises(RenderError) as err:
        render_bytes("digraph { a -> ", "svg", backend=backend)
    assert "could not render the diagram" in str(err.value) and "\n" not in str(err.value)
    # The embedded backend keeps working after a failure.
    assert render_bytes("digraph { a -> b }", "svg", backend=backend).startswith(MAGIC["svg"])


def test_write_diagram_creates_folders_and_accepts_dot_text(tmp_path, no_dot):
    path = write_diagram("digraph { a -> b }", tmp_path / "deep" / "er" / "g.svg")
    assert ET.fromstring(path.read_bytes()).tag == f"{SVG}svg"
    assert sorted(p.name for p in path.parent.iterdir()) == ["g.svg"]   # no temporary left


def test_not_a_diagram():
    with pytest.raises(RenderError, match="cannot render a int"):
        render_bytes(42, "svg")


def test_dot_available_follows_path(monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert dot_available()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert not dot_available()


class _TrappingBackend:
    def render(self, source, **kwargs):
        raise RuntimeError("error while executing at wasm backtrace:\n    0: <wasm function 921>\n\n"
                           "Caused by:\n    wasm trap: call stack exhausted")


def test_embedded_backend_trap_is_one_line_error_and_the_next_render_starts_afresh(monkeypatch):
    from backproof.render import backends
    monkeypatch.setitem(backends._WASM_STATE, "backend", _TrappingBackend())
    with pytest.raises(RenderError) as err:
        render_bytes("digraph { a -> b }", "svg", backend="wasm")
    msg = str(err.value)
    assert "\n" not in msg and "wasm trap: call stack exhausted" in msg
    assert "--max-nodes" in msg and "apt-get install graphviz" in msg
    assert "backend" not in backends._WASM_STATE
    assert render_bytes("digraph { a -> b }", "svg", backend="wasm").startswith(MAGIC["svg"])


def test_jupyter_display_works_without_dot(diagrams, no_dot):
    bundle = diagrams["fork"]._repr_mimebundle_(include=["image/svg+xml"])
    assert ET.fromstring(bundle["image/svg+xml"].encode()).tag == f"{SVG}svg"


def _fresh_wasm(monkeypatch):
    from backproof.render import backends
    monkeypatch.setattr(backends, "_WASM_STATE", {})
    return backends


def test_embedded_graphviz_is_compiled_once_then_loaded_from_the_private_cache(monkeypatch, tmp_path):
    """The WebAssembly module is compiled in the first process only; later ones deserialise it
    (compiling is refused below, so the second render can only come from the cache)."""
    import wasmtime
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    backends = _fresh_wasm(monkeypatch)
    first = render_bytes("digraph { a -> b }", "svg", backend="wasm")
    [cached] = (tmp_path / "backproof").glob("graphviz-*.cwasm")
    assert cached.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "backproof").stat().st_mode & 0o777 == 0o700
    assert [p.name for p in (tmp_path / "backproof").iterdir()] == [cached.name]  # no temporary left

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although a cached module was there")
    monkeypatch.setattr(wasmtime, "Module", type("NoCompile", (), {
        "__init__": no_compiling, "deserialize_file": staticmethod(wasmtime.Module.deserialize_file)}))
    _fresh_wasm(monkeypatch)
    assert backends.render_bytes("digraph { a -> b }", "svg", backend="wasm") == first


def test_damaged_or_unwritable_cache_only_costs_a_compile(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _fresh_wasm(monkeypatch)
    want = render_bytes("digraph { a -> b }", "svg", backend="wasm")
    [cached] = (tmp_path / "backproof").glob("graphviz-*.cwasm")
    cached.write_bytes(b"not a compiled module")
    _fresh_wasm(monkeypatch)
    assert render_bytes("digraph { a -> b }", "svg", backend="wasm") == want
    assert cached.read_bytes() != b"not a compiled module"   # replaced by a good copy
    # A cache folder that cannot be made (a file is in the way): the render still works.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    _fresh_wasm(monkeypatch)
    assert render_bytes("digraph { a -> b }", "svg", backend="wasm") == want
    assert blocked.read_text() == "a file, not a folder"
