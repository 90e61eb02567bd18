"""Diagrams that read at page size (issue 11, point 5 and finding 6; the diagram part of finding 1).

Every example of ``examples/`` is drawn and its SVG parsed with ``xml.etree``:

- each unit's value and gradient are texts of that unit's own ``<g class="node">`` group
  (one record per unit), never floating texts between nodes;
- an edge's label (the gate's local partial) never prints the same text as any node's
  field (finding 1: ``∂y/∂d`` for two different quantities);
- no label contains ``**``; network diagrams use 1-based textbook names and δ, and the
  numbers they show agree with the independent matrix recursion
  (:func:`backproof.nn.views.matrix_view`) within the 6 significant digits printed;
- a network diagram shown 880 px wide keeps its smallest text at 9 px or more;
- ``legend=False`` / ``title=False`` (``--no-legend`` / ``--no-title``) leave them out,
  and ``dpi`` scales a PNG's pixel size proportionally (read from the PNG header).

Rendering uses the embedded WebAssembly Graphviz unless a test is marked ``needs_dot``.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from backproof.cli import main
from backproof.derivation import derive
from backproof.errors import LimitError, RenderError
from backproof.nn import program_from_spec_file
from backproof.nn.run import NetOptions, resolve_run, run_network
from backproof.nn.spec import load_spec_file, validate_spec
from backproof.nn.views import delta_name, matrix_view
from backproof.printing import format_number
from backproof.render import build_diagram, build_network_diagram, network_diagram_fits, render_bytes
from backproof.render.network import display_names

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SVG = "{http://www.w3.org/2000/svg}"
PROGRAMS = sorted(EXAMPLES.glob("*.txt"))
SPECS = sorted(EXAMPLES.glob("*.yaml"))
#: The examples whose network diagram the CLI draws (at most MAX_DIAGRAM_PARAMS parameters;
#: micrograd's 337 and CS231n's 603 get none, as any spec that large).
DRAWN = [p for p in SPECS if network_diagram_fits(validate_spec(load_spec_file(p), str(p)))]
#: The page width a diagram must read at, and the smallest text size there (CSS px).
PAGE_PX, MIN_TEXT_PX = 880, 9.0


def _at(path: Path) -> str | None:
    m = re.search(r"^#\s*at:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)
    return m.group(1).replace(" ", "") if m else None


@pytest.fixture(scope="module")
def programs():
    """Example name -> its derivation at the example's point."""
    return {p.stem: derive(p.read_text(encoding="utf-8"), at=_at(p), expand=False) for p in PROGRAMS}


@pytest.fixture(scope="module")
def networks():
    """Example name -> its network result at the spec's parameters (no training)."""
    return {p.stem: run_network(resolve_run(program_from_spec_file(p), NetOptions(steps=0))) for p in SPECS}


def _nodes_and_edges(svg: bytes) -> tuple[dict[str, dict], list[list[str]]]:
    """SVG id -> {fields, texts, sizes} of each node group; the texts of each edge label."""
    root = ET.fromstring(svg)
    nodes, edges = {}, []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            fields: list[list[str]] = [[]]
            for child in g:
                if child.tag == f"{SVG}polyline" and fields[-1]:
                    fields.append([])
                elif child.tag == f"{SVG}text":
                    fields[-1].append(child.text or "")
            nodes[g.get("id")] = {"fields": [f for f in fields if f],
                                  "texts": [t.text or "" for t in g.iter(f"{SVG}text")]}
        elif g.get("class") == "edge":
            edges.append([t.text or "" for t in g.iter(f"{SVG}text")])
    return nodes, edges


def _all_texts(svg: bytes) -> list[tuple[str, float]]:
    return [(t.text or "", float(t.get("font-size"))) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def _width_pt(svg: bytes) -> float:
    return float(ET.fromstring(svg).get("width").removesuffix("pt"))


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _diagrams(programs, networks):
    """(name, SVG bytes) of every example diagram: programs in every view, and networks."""
    for name, deriv in programs.items():
        for view in ("backward", "forward", "symbolic"):
            yield f"{name}-{view}", render_bytes(build_diagram(deriv, view=view), "svg", backend="wasm")
    for name, result in networks.items():
        yield f"net-{name}", render_bytes(build_network_diagram(result), "svg", backend="wasm")


# --- finding 6: which label belongs to which node ---------------------------------------------------

@pytest.mark.parametrize("example", [p.stem for p in PROGRAMS])
def test_finding_values_and_gradients_live_in_their_own_node(programs, example):
    deriv = programs[example]
    nodes, _ = _nodes_and_edges(render_bytes(build_diagram(deriv), "svg", backend="wasm"))
    checked = 0
    for unit in deriv.units:
        if deriv.graph.nodes[unit]["kind"] == "const":
            continue
        fields = nodes[f"bp:{unit}"]["fields"]
        assert fields[1] == [format_number(deriv.values[unit])], (unit, fields)
        gradient = " ".join(fields[2])
        assert gradient.startswith(f"∂{deriv.output}/∂"), (unit, gradient)
        assert gradient.endswith(f"= {format_number(deriv.gradients[unit])}") or \
            gradient == f"∂{deriv.output}/∂{deriv.output} = 1", (unit, gradient)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("example", [p.stem for p in SPECS])
def test_finding_network_values_live_in_their_own_node_and_match_the_matrix_view(networks, example):
    result = networks[example]
    net, lay = result.net, result.net.layout
    names = display_names(net)
    nodes, _ = _nodes_and_edges(render_bytes(build_network_diagram(result), "svg", backend="wasm"))
    mv = matrix_view(net)   # the independent matrix recursion: δ, ∂J/∂W, ∂J/∂b

    def shown(text: str) -> float:
        return float(text.rsplit("= ", 1)[1])

    for l, layer in enumerate(mv.layers):
        for i in range(layer.units):
            z = lay.z[l][0][i]
            unit = nodes[f"bp:{z}"]["fields"]
            assert unit[0] == [f"{names[z]} = {format_number(result.derivation.values[z])}"]
            delta = [f for f in unit if f[0].startswith(names[delta_name(z)])]
            assert len(delta) == 1, unit
            assert shown(delta[0][-1]) == pytest.approx(float(layer.delta[i, 0]), rel=5e-6, abs=1e-12)
            params = nodes[f"bp:params:{z}"]["fields"]
            # A shared bias (Mazur's b1, issue 14) is one parameter: its gradient sums the units' db.
            db = sum(layer.db) if net.spec.layers[l].shared_bias else layer.db[i, 0]
            grads = [float(layer.dW[i, j]) for j in range(layer.fan_in)] + [float(db)]
            rows = [" ".join(f) for f in params if f[0].startswith(f"∂{net.output}/∂")]  # E_total for Mazur
            assert len(rows) == len(grads), params
            for text, expected in zip(rows, grads, strict=True):
                assert shown(text) == pytest.approx(expected, rel=5e-6, abs=1e-12), text


# --- finding 1 (diagram part): one string, one quantity ------------------------------------------------

def test_finding_edge_labels_never_print_a_node_label(programs, networks):
    checked = 0
    for name, svg in _diagrams(programs, networks):
        nodes, edges = _nodes_and_edges(svg)
        node_texts = {" ".join(f) for n in nodes.values() for f in n["fields"]}
        node_texts |= {t for n in nodes.values() for t in n["texts"]}
        for label in edges:
            if label:
                assert " ".join(label) not in node_texts, (name, label)
                assert not set(label) & {t for t in node_texts if t.startswith("∂")}, (name, label)
                checked += 1
    assert checked > 20


def test_finding_local_partial_of_the_output_gate_is_not_the_output_gradient():
    deriv = derive("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0")
    nodes, edges = _nodes_and_edges(render_bytes(build_diagram(deriv), "svg", backend="wasm"))
    assert ["∂(d·e)/∂d = e = 1"] in edges and ["∂d/∂b = 1"] in edges
    assert nodes["bp:d:add1"]["fields"][2] == ["∂y/∂d = e = 1"]


def test_no_double_star_in_any_label(programs, networks):
    for name, svg in _diagrams(programs, networks):
        assert not [t for t, _ in _all_texts(svg) if "**" in t], name


# --- networks: δ names, one box per layer, readable at a page's width ----------------------------------

@pytest.mark.parametrize("example", [p.stem for p in DRAWN])
def test_finding_network_diagram_reads_at_880_px(networks, example):
    svg = render_bytes(build_network_diagram(networks[example]), "svg", backend="wasm")
    smallest = min(size for _, size in _all_texts(svg))
    width = _width_pt(svg)
    # Shown PAGE_PX wide, one SVG unit is PAGE_PX / width pixels.
    assert smallest * PAGE_PX / width >= MIN_TEXT_PX, (example, width, smallest)


def test_finding_mazur_layers_are_labelled_alike_in_delta_names(networks):
    result = networks["mazur"]
    nodes, _ = _nodes_and_edges(render_bytes(build_network_diagram(result), "svg", backend="wasm"))
    texts = [t for n in nodes.values() for t in n["texts"]]
    lay = result.net.layout
    for l in (1, 2):
        for i in (1, 2):
            sup, sub = f"⁽{'¹²'[l - 1]}⁾", "₁₂"[i - 1]
            # Since issue 14 the spec names Mazur's nodes: net_h1 = z⁽¹⁾₁, out_h1 = a⁽¹⁾₁, …
            z, a = lay.z[l - 1][0][i - 1], lay.a[l - 1][0][i - 1]
            assert (z, a) == ((f"net_{'ho'[l - 1]}{i}"), f"out_{'ho'[l - 1]}{i}")
            unit = nodes[f"bp:{z}"]["fields"]
            assert [f[0].split(" = ")[0] for f in unit] == [z, a, f"∂E_total/∂{a}", f"δ{sup}{sub}"], unit
    for w in "₁₂₃₄₅₆₇₈":
        assert any(t.startswith(f"w{w} = ") for t in texts), w
    # No expanded formulas (a1_0*(1 - sigmoid(z2_0))*…), no 0-based scalar names.
    assert not [t for t in texts if "sigmoid(" in t or "*" in t or "_0" in t or "₀" in t]


def test_network_diagram_has_one_cluster_per_layer_with_its_parameters(networks):
    src = build_network_diagram(networks["three_input"]).source
    for l in (1, 2):
        block = src.split(f"subgraph cluster_layer{l} {{")[1].split("subgraph cluster_")[0]
        assert f"layer {l} (" in block
        assert block.count('id="bp:params:') == 2 and block.count(f'id="bp:z{l}_') == 2


def test_network_diagram_with_many_samples_draws_the_first_and_says_so(networks):
    result = networks["softmax_blobs"]
    src = build_network_diagram(result).source
    assert f"sample 1 of {result.net.spec.n_samples} drawn" in src
    assert 'id="bp:z1_0_s1"' not in src and 'id="bp:z1_0_s0"' in src


# --- options: legend, title, dpi ------------------------------------------------------------------------

@pytest.mark.parametrize("legend, title", [(True, True), (False, True), (True, False), (False, False)])
def test_finding_legend_and_title_can_be_left_out(programs, networks, legend, title):
    for svg in (render_bytes(build_diagram(programs["seed_fork"], legend=legend, title=title), "svg",
                             backend="wasm"),
                render_bytes(build_network_diagram(networks["mazur"], legend=legend, title=title), "svg",
                             backend="wasm")):
        texts = [t for t, _ in _all_texts(svg)]
        assert any(t.startswith(("box:", "unit:")) for t in texts) == legend
        assert any(t.startswith(("computational graph of", "mazur:")) for t in texts) == title


def test_finding_legend_is_one_line(programs):
    src = build_diagram(programs["seed_fork"]).source
    label = re.search(r'graph \[label="([^"]*)"\]', src).group(1)
    assert label.count("\\n") == 1   # the title line and the key, nothing else
    assert "legend" not in src


@pytest.mark.needs_dot
@pytest.mark.parametrize("dpi", [48, 192, 300])
def test_finding_png_resolution_follows_dpi(programs, dpi):
    diagram = build_diagram(programs["seed_fork"])
    base = _png_size(render_bytes(diagram, "png"))
    size = _png_size(render_bytes(diagram, "png", dpi=dpi))
    for b, s in zip(base, size, strict=True):
        assert abs(s - b * dpi / 96) <= 2, (base, size, dpi)
    # The diagram's own dpi (build_diagram(dpi=...)) is used when render_bytes gets none.
    assert _png_size(render_bytes(build_diagram(programs["seed_fork"], dpi=dpi), "png")) == size


def test_dpi_never_changes_the_svg_or_the_dot_source(programs):
    plain = build_diagram(programs["seed_fork"])
    sharp = build_diagram(programs["seed_fork"], dpi=300)
    assert plain.source == sharp.source
    assert render_bytes(plain, "svg", backend="wasm") == render_bytes(sharp, "svg", backend="wasm")


@pytest.mark.parametrize("dpi, error", [(0, RenderError), (-5, RenderError), (2.5, RenderError),
                                        (True, RenderError), (601, LimitError)])
def test_bad_dpi_is_refused(programs, dpi, error):
    with pytest.raises(error):
        build_diagram(programs["seed_fork"], dpi=dpi)


@pytest.mark.needs_dot
def test_graph_command_dpi_legend_and_title(tmp_path, capsys):
    small, large = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["graph", "y = a*b", "--at", "a=1,b=2", "-o", str(small)]) == 0
    assert main(["graph", "y = a*b", "--at", "a=1,b=2", "-o", str(large), "--dpi", "192"]) == 0
    (w1, h1), (w2, h2) = _png_size(small.read_bytes()), _png_size(large.read_bytes())
    assert abs(w2 - 2 * w1) <= 2 and abs(h2 - 2 * h1) <= 2
    capsys.readouterr()
    assert main(["graph", "y = a*b", "--at", "a=1,b=2", "--no-legend", "--no-title"]) == 0
    assert "graph [label=" not in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--dpi", "0"], ["--dpi", "x"], ["--dpi", "601"]])
def test_graph_command_bad_dpi_is_one_line_exit_2(capsys, argv):
    assert main(["graph", "y = a*b", *argv]) == 2
    err = capsys.readouterr().err
    assert "--dpi" in err and "Traceback" not in err


def test_net_and_explain_take_the_diagram_options(tmp_path):
    md = tmp_path / "mazur.md"
    assert main(["net", str(EXAMPLES / "mazur.yaml"), "-o", str(md), "--no-legend", "--dpi", "150"]) == 0
    texts = [t for t, _ in _all_texts(md.with_suffix(".svg").read_bytes())]
    assert not any(t.startswith("unit:") for t in texts) and any(t.startswith("mazur:") for t in texts)
    fork = tmp_path / "fork.md"
    assert main(["explain", "y = a*b", "--at", "a=1,b=2", "-o", str(fork), "--no-title"]) == 0
    texts = [t for t, _ in _all_texts(fork.with_suffix(".svg").read_bytes())]
    assert not any(t.startswith("computational graph") for t in texts)
    assert any(t.startswith("box:") for t in texts)


def test_embedded_graphviz_draws_every_example(programs, networks):
    # The WebAssembly Graphviz (SVG only, no HTML-like labels) draws the record labels.
    for name, svg in _diagrams(programs, networks):
        nodes, _ = _nodes_and_edges(svg)
        assert nodes and all(n["fields"] for n in nodes.values()), name


# --- names on the diagram -----------------------------------------------------------------------------

def test_unnamed_gates_get_short_names_and_local_partials_use_them(programs):
    nodes, edges = _nodes_and_edges(render_bytes(build_diagram(programs["staged"]), "svg", backend="wasm"))
    titles = [n["fields"][0][0] for n in nodes.values()]
    assert "u₁ = w·x" in titles and "h = tanh(u₂)" in titles
    # The gate's derivative in the names the student has: 1 - h², not 1 - tanh(b + w·x)².
    assert any(" ".join(e).startswith("∂h/∂u₂ = 1 - h²") for e in edges), edges


def test_folded_diagram_names_no_gate_it_does_not_draw():
    lines = [f"z{j} = " + " + ".join(f"w{j}_{i}*x{i}" for i in range(1, 9)) + f" + b{j}; h{j} = sigmoid(z{j})"
             for j in range(1, 13)]
    text = "; ".join(lines) + "; o = " + " + ".join(f"v{j}*h{j}" for j in range(1, 13)) + "; L = (o - t)**2/2"
    at = {f"w{j}_{i}": (i + j) % 3 - 1 for j in range(1, 13) for i in range(1, 9)}
    at.update({f"x{i}": i for i in range(1, 9)}, **{f"b{j}": 0 for j in range(1, 13)},
              **{f"v{j}": 1 for j in range(1, 13)}, t=1)
    deriv = derive(text, at=at, expand=False, verify=False)
    nodes, edges = _nodes_and_edges(render_bytes(build_diagram(deriv), "svg", backend="wasm"))
    assert len(nodes) < len(deriv.units)   # folded
    shown = " ".join(t for n in nodes.values() for t in n["texts"]) + " ".join(t for e in edges for t in e)
    assert not re.search("u[₀-₉]", shown)
