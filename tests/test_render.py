"""Tests of the diagram builder (backproof.render.builder): golden DOT, oracles, views, safety.

Values, gradients, path contributions and local derivatives drawn on the diagram are
compared with ``sympy.diff`` on the expanded program, never with hand-typed numbers.
SVG is rendered with the embedded WebAssembly Graphviz (always available) and parsed
as XML; tests that also need the system ``dot`` are marked ``needs_dot``.

Golden files: ``tests/golden/*.dot``. After an intended change of the drawing, rerun
with ``BACKPROOF_UPDATE_GOLDEN=1`` to rewrite them, and review the diff.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
import sympy as sp

from backproof.derivation import derive
from backproof.errors import ProgramError, RenderError
from backproof.graph import alias_source as _alias_source
from backproof.graph import build_graph
from backproof.graph import unit_of as _unit_of
from backproof.io import write_atomic
from backproof.parse import parse_program, parse_values
from backproof.printing import format_number
from backproof.program import Program, Statement
from backproof.render import COLORS, build_diagram, render_bytes
from backproof.render.builder import MAX_TEXT_CHARS

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("BACKPROOF_UPDATE_GOLDEN") == "1"
SVG = "{http://www.w3.org/2000/svg}"

SEEDS = {
    "fork": ("d = a + b; e = b - c; y = d*e", "a=2,b=1,c=0"),
    "two_neurons": ("a1 = w1*x + b1; a2 = w2*a1 + b2; J = (a2 - y)**2/2",
                    "x=1,y=5,w1=2,b1=0,w2=3,b2=1"),
    "linear_regression": ("yhat = w*x + b; L = (yhat - y)**2/2", "x=1,y=2,w=0,b=0"),
}
SEED_IDS = list(SEEDS)
HOSTILE = ['"];x[label="', "<b>", "a&b", "back\\slash\\", "new\nline"]


# --- helpers ----------------------------------------------------------------------------------

def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        write_atomic(path, text)
    assert path.exists(), f"missing {path}; create it with BACKPROOF_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if the change is intended, rerun with "
        f"BACKPROOF_UPDATE_GOLDEN=1 and review the diff")


def svg_objects(svg: bytes) -> dict[str, dict]:
    """DOT name (node) or 'a->b' (edge) -> id, texts, text positions, record fields."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") in ("node", "edge"):
            texts = list(g.iter(f"{SVG}text"))
            out[g.find(f"{SVG}title").text] = {
                "id": g.get("id"), "class": g.get("class"),
                "texts": [t.text or "" for t in texts], "fields": record_fields(g),
                "x": [float(t.get("x")) for t in texts], "y": [float(t.get("y")) for t in texts]}
    return out


def record_fields(g) -> list[list[str]]:
    """The texts of a record node grouped by field (Graphviz draws a line between fields)."""
    fields: list[list[str]] = [[]]
    for child in g:
        if child.tag == f"{SVG}polyline" and fields[-1]:
            fields.append([])
        elif child.tag == f"{SVG}text":
            fields[-1].append(child.text or "")
    return [f for f in fields if f]


def unit_names(objs: dict) -> dict[str, str]:
    """Graph unit id -> DOT node name, from the ``bp:<id>`` SVG ids."""
    return {o["id"][3:]: name for name, o in objs.items() if (o["id"] or "").startswith("bp:")}


def oracle_values(program: Program, at: dict) -> dict[str, sp.Expr]:
    """Every name's value, from the expanded program."""
    env = {sp.Symbol(k, real=True): v for k, v in at.items()}
    vals = dict(at)
    for name, e in program.expanded().items():
        vals[name] = e.xreplace(env)
    return vals


def oracle_gradient(program: Program, name: str, at: dict) -> sp.Expr:
    """∂output/∂name by sympy.diff, holding ``name`` fixed as an independent variable."""
    target = sp.Symbol(name, real=True)
    env: dict = {}
    for st in program.statements:
        e = st.expr.xreplace(env)
        if st.name != name:
            env[sp.Symbol(st.name, real=True)] = e
    out = env.get(sp.Symbol(program.output, real=True), target if name == program.output else None)
    grad = sp.diff(out, target)
    point = {sp.Symbol(k, real=True): v for k, v in oracle_values(program, at).items()}
    return grad.xreplace(point).doit()


def render_svg(dot, backend="wasm") -> dict:
    return svg_objects(render_bytes(dot, "svg", backend=backend))


# --- golden files and determinism --------------------------------------------------------------

@pytest.mark.parametrize("seed", SEED_IDS)
def test_golden_backward(seed):
    program, at = SEEDS[seed]
    check_golden(f"{seed}_backward.dot", build_diagram(derive(program, at=at)).source)


@pytest.mark.parametrize("view", ["forward", "symbolic"])
def test_golden_fork_views(view):
    program, at = SEEDS["fork"]
    check_golden(f"fork_{view}.dot", build_diagram(derive(program, at=at), view=view).source)


def test_same_dot_in_another_process_with_another_hash_seed():
    program, at = SEEDS["two_neurons"]
    code = ("from backproof.derivation import derive; from backproof.render import build_diagram; "
            f"print(build_diagram(derive({program!r}, at={at!r}), highlight='a1').source, end='')")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                           check=True).stdout
    assert other == build_diagram(derive(program, at=at), highlight="a1").source


# --- what the diagram says, against oracles ------------------------------------------------------

@pytest.mark.parametrize("seed", SEED_IDS)
def test_values_and_gradients_match_sympy(seed):
    text, at_text = SEEDS[seed]
    deriv = derive(text, at=at_text)
    at = parse_values(at_text)
    objs = render_svg(build_diagram(deriv))
    names = unit_names(objs)
    values = oracle_values(deriv.program, at)
    for name in deriv.names:
        nid = names[_unit_of(deriv.graph, name)]
        fields = objs[nid]["fields"]
        assert fields[1] == [format_number(values[name])], name
        grad = " ".join(fields[2])
        expected = format_number(oracle_gradient(deriv.program, name, at))
        assert grad.startswith(f"∂{deriv.output}/∂{name} ") and grad.endswith(f"= {expected}"), (name, grad)


@pytest.mark.parametrize("seed", SEED_IDS)
def test_edges_show_local_derivatives_from_sympy_diff(seed):
    text, at_text = SEEDS[seed]
    deriv = derive(text, at=at_text)
    g = deriv.graph
    at = parse_values(at_text)
    objs = render_svg(build_diagram(deriv))
    names = unit_names(objs)
    point = {sp.Symbol(k, real=True): v for k, v in oracle_values(deriv.program, at).items()}
    checked = 0
    for u, w, _k in g.edges(keys=True):
        if g.nodes[w]["kind"] == "name" and g.nodes[u]["kind"] == "op":
            continue   # an operation and its named result are one node on the diagram
        if g.nodes[u]["kind"] == "const":
            assert f'id="bp:{u}"' not in render_bytes(build_diagram(deriv), "dot").decode()
            continue   # a constant is written in its gate's box (u = v²), not drawn
        edge = objs[f"{names[_unit_of(g, u)]}->{names[w]}"]
        # ∂consumer/∂operand: replace the operand's expression by a fresh symbol, diff.
        t = sp.Dummy("t")
        operand = g.nodes[u]["expr"] if g.nodes[u]["kind"] == "op" else sp.Symbol(u, real=True)
        local = sp.diff(g.nodes[w]["expr"].xreplace({operand: t}), t)
        number = local.xreplace({t: operand}).xreplace(point).doit()
        label = " ".join(edge["texts"])
        assert label.endswith(f"= {format_number(number)}"), (u, w, label)
        # The gate's own partial, never written with the output's symbol.
        assert label.startswith("∂") and not label.startswith(f"∂{deriv.output}/"), label
        checked += 1
    assert checked >= 4


def test_fork_shows_the_sum_of_path_contributions():
    text, at_text = SEEDS["fork"]
    deriv = derive(text, at=at_text)
    at = parse_values(at_text)
    # Oracle for each path: rename b in one consuming statement only, then diff.
    contributions = []
    for st in deriv.program.statements:
        if sp.Symbol("b", real=True) in st.expr.free_symbols:
            b_here = sp.Symbol("b_here", real=True)
            stmts = tuple(Statement(s.name, s.expr.xreplace({sp.Symbol("b", real=True): b_here})
                                    if s is st else s.expr) for s in deriv.program.statements)
            prog = Program(stmts, deriv.program.output)
            contributions.append(oracle_gradient(prog, "b_here", dict(at, b_here=at["b"])))
    total = oracle_gradient(deriv.program, "b", at)
    assert sum(contributions) == total and len(contributions) == 2
    objs = render_svg(build_diagram(deriv))
    grad = " ".join(objs[unit_names(objs)["b"]]["fields"][2])
    numbers = " + ".join(format_number(c) for c in contributions)
    assert grad == f"∂y/∂b = 1·e + 1·d = {numbers} = {format_number(total)}"


def test_every_unit_drawn_once_and_nothing_else_claims_an_id():
    deriv = derive(*SEEDS["two_neurons"])
    objs = render_svg(build_diagram(deriv))
    ids = [o["id"][3:] for o in objs.values() if (o["id"] or "").startswith("bp:")]
    # Constants are written inside their gate's box (issue 11: they only widened the diagram).
    assert sorted(ids) == sorted(u for u in deriv.units if deriv.graph.nodes[u]["kind"] != "const")


# --- views, layout, highlight, clusters -------------------------------------------------------------

def _unit_fields(deriv, **kwargs) -> dict[str, list[list[str]]]:
    """Unit id -> the fields of its box on the rendered diagram."""
    objs = render_svg(build_diagram(deriv, **kwargs))
    return {u: objs[nid]["fields"] for u, nid in unit_names(objs).items()}


def test_forward_view_has_values_only():
    deriv = derive(*SEEDS["fork"])
    boxes = _unit_fields(deriv, view="forward")
    assert not any("∂" in t for f in boxes.values() for field in f for t in field)
    for u, fields in boxes.items():
        assert fields[1:] == [[format_number(deriv.values[u])]], u


@pytest.mark.parametrize("at, view", [
    (SEEDS["fork"][1], "symbolic"), (None, "symbolic"), (None, "backward"), (None, "forward"),
], ids=["values-symbolic", "no-values-symbolic", "no-values-backward", "no-values-forward"])
def test_symbolic_view_shows_no_numbers(at, view):
    deriv = derive(SEEDS["fork"][0], at=at)
    src = build_diagram(deriv, view=view).source
    assert "symbolic view" in src and " at a = " not in src
    grads = {u: " ".join(f[-1]) for u, f in _unit_fields(deriv, view=view).items()}
    assert grads["b"] == "∂y/∂b = 1·e + 1·d = d + e"
    assert grads["a"] == "∂y/∂a = e" and grads["c"] == "∂y/∂c = -d"


LAYOUT_CASES = {**SEEDS, "functions": ("h = sigmoid(w*x + b); L = -log(h) + relu(x - 1)",
                                       "w=0.5,x=2,b=-1")}


@pytest.mark.parametrize("program", list(LAYOUT_CASES))
@pytest.mark.parametrize("clustered", [False, True], ids=["plain", "clusters"])
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
@pytest.mark.parametrize("backend", ["wasm", pytest.param("dot", marks=pytest.mark.needs_dot)])
def test_name_value_and_gradient_read_top_to_bottom_in_each_box(backend, rankdir, clustered, program):
    # Issue 11 replaced the floating value (above) and gradient (below) texts by one record
    # per unit; this test pinned the old placement and now checks the record's order.
    deriv = derive(*LAYOUT_CASES[program])
    clusters = {s.name: f"layer of {s.name}" for s in deriv.program.statements} if clustered else None
    objs = render_svg(build_diagram(deriv, rankdir=rankdir, clusters=clusters), backend)
    for unit, nid in unit_names(objs).items():
        fields, ys = objs[nid]["fields"], objs[nid]["y"]
        assert len(fields) == 3, (unit, fields)
        assert fields[1] == [format_number(deriv.values[unit])], unit
        assert fields[2][0].startswith(f"∂{deriv.output}/∂"), unit
        assert ys == sorted(ys), (unit, "fields must read top to bottom")


def test_inputs_are_ranked_beside_their_use():
    # Issue 11: inputs are no longer forced into one rank (b2 sits next to a2, not next to x).
    deriv = derive(*SEEDS["two_neurons"])
    src = build_diagram(deriv, rankdir="LR").source
    assert "rank=same" not in src
    objs = render_svg(build_diagram(deriv, rankdir="LR"))
    ids = unit_names(objs)
    assert objs[ids["b2"]]["x"][0] > objs[ids["x"]]["x"][0] + 100


def test_named_results_look_different_from_anonymous_operations():
    src = build_diagram(derive(*SEEDS["two_neurons"]), rankdir="LR").source
    named = next(line for line in src.splitlines() if 'id="bp:a1:add1"' in line)
    anon = next(line for line in src.splitlines() if 'id="bp:a1:mul1"' in line)
    assert 'label="a1 = u₁ + b1|' in named and COLORS["named"] in named
    assert 'label="u₁ = w1·x|' in anon and COLORS["op"] in anon


@pytest.mark.parametrize("name", ["b", "d", "c"])
def test_highlight_marks_exactly_the_paths_to_the_output(name):
    deriv = derive(*SEEDS["fork"])
    g = deriv.graph
    dot = build_diagram(deriv, highlight=name)
    objs = render_svg(dot)
    ids = unit_names(objs)
    src = _alias_source(g, _unit_of(g, name))
    expected = set()
    for path in nx.all_simple_paths(g, src, deriv.output):
        for u, w in itertools.pairwise(path):
            if not (g.nodes[w]["kind"] == "name" and g.nodes[u]["kind"] == "op"):
                expected.add(f"{ids[_unit_of(g, u)]}->{ids[w]}")
    marked = {line.split(" [")[0].strip().replace(" ", "") for line in dot.body
              if "->" in line and COLORS["highlight"] in line and "legend" not in line}
    assert marked == expected


def test_highlight_unknown_name_lists_the_allowed_ones():
    with pytest.raises(ProgramError, match=r"unknown name 'q' for --highlight \(must be one of: a, b, d, c, e, y\)"):
        build_diagram(derive(*SEEDS["fork"]), highlight="q")


def test_clusters_are_a_parameter():
    deriv = derive(*SEEDS["two_neurons"])
    layers = {"a1": "layer 1", "w1": "layer 1", "b1": "layer 1", "a1:mul1": "layer 1",
              "a2": "layer 2", "a2:mul1": "layer 2", "unknown-id": "ignored"}
    src = build_diagram(deriv, clusters=layers).source
    c1 = src.split("subgraph cluster_1 {")[1].split("subgraph cluster_2")[0]
    assert 'label="layer 1"' in c1
    for uid in ("a1:add1", "a1:mul1", "w1", "b1"):
        assert f'id="bp:{uid}"' in c1
    assert 'id="bp:a2:add1"' in src.split("subgraph cluster_2 {")[1]
    assert "ignored" not in src


# --- size -----------------------------------------------------------------------------------------

def _mlp(n_in: int, n_hidden: int) -> tuple[str, dict]:
    lines, at = [], {"t": 1}
    for j in range(1, n_hidden + 1):
        lines.append(f"z{j} = " + " + ".join(f"w{j}_{i}*x{i}" for i in range(1, n_in + 1)) + f" + b{j}")
        lines.append(f"h{j} = sigmoid(z{j})")
        at.update({f"w{j}_{i}": (i + j) % 3 - 1 for i in range(1, n_in + 1)}, **{f"b{j}": 0, f"v{j}": 1})
    lines.append("o = " + " + ".join(f"v{j}*h{j}" for j in range(1, n_hidden + 1)))
    lines.append("L = (o - t)**2/2")
    at.update({f"x{i}": i for i in range(1, n_in + 1)})
    return "; ".join(lines), at


@pytest.fixture(scope="module")
def big():
    text, at = _mlp(8, 12)
    return derive(text, at=at, expand=False, verify=False)


def _drawn_units(dot) -> int:
    return sum(1 for line in dot.body if 'id="bp:' in line)


def test_large_graph_folds_and_says_what_it_left_out(big):
    assert len(big.units) > 300
    dot = build_diagram(big)
    assert _drawn_units(dot) <= 150
    note = next(line for line in dot.body if line.strip().startswith("note "))
    assert "operation and constant nodes are folded into the dashed edges" in note
    assert f"the graph has {len(big.units)} nodes" in note
    assert "style=dashed" in dot.source
    render_bytes(dot, "svg", backend="wasm")   # still renders


def test_max_nodes_none_never_folds(big):
    dot = build_diagram(big, max_nodes=None, legend=False)
    assert _drawn_units(dot) == sum(1 for u in big.units if big.graph.nodes[u]["kind"] != "const")
    assert "note" not in dot.source


def test_fold_keeps_the_highlighted_paths(big):
    dot = build_diagram(big, highlight="w3_2", max_nodes=40)
    assert _drawn_units(dot) <= 40
    assert 'id="bp:w3_2"' in dot.source and 'id="bp:z3:add' in dot.source
    assert 'id="bp:w5_2"' not in dot.source
    assert "not on the highlighted paths" in dot.source


def test_tiny_max_nodes_keeps_the_nodes_nearest_the_output(big):
    dot = build_diagram(big, max_nodes=3)
    assert _drawn_units(dot) == 3
    assert "farther from the output are not drawn" in dot.source
    assert f'id="bp:{_unit_of(big.graph, "L")}"' in dot.source


def test_long_symbolic_forms_are_dropped_next_to_numbers(big):
    dot = build_diagram(big, max_nodes=None, legend=False)
    for line in dot.body:
        m = re.search(r'label="([^"]*)"', line)
        if m and not line.strip().startswith("graph "):
            parts = re.split(r"\\n|(?<!\\)\|", m.group(1))   # lines and record fields
            assert all(len(part) <= MAX_TEXT_CHARS + 10 for part in parts), line
    sym = build_diagram(derive(_mlp(8, 3)[0], expand=False), view="symbolic", max_nodes=None).source
    assert "…" in sym


# --- inputs the builder accepts, and safety ---------------------------------------------------------

def test_bare_graph_with_values():
    g = build_graph(parse_program("d = a + b; y = d*d"))
    dot = build_diagram(g, values={"a": 1, "b": 2, "d": 3, "y": 9}, gradients={"d": 6, "y": 1})
    src = dot.source
    assert 'label="d = a + b|3|∂y/∂d = 6"' in src and 'label="y = d·d|9|' in src
    assert "at a = 1, b = 2\\n" in src   # the point is the inputs' values only


def test_bare_graph_without_output_is_refused():
    g = nx.MultiDiGraph()
    g.add_node("a", kind="input", op=None, label="a", expr=sp.Symbol("a"), order=0)
    with pytest.raises(RenderError, match="output"):
        build_diagram(g)


@pytest.mark.parametrize("kwargs, match", [
    ({"view": "sideways"}, r"unknown view 'sideways' \(must be one of: forward, backward, symbolic\)"),
    ({"rankdir": "RL"}, r"unknown rankdir 'RL' \(must be one of: auto, LR, TB\)"),
    ({"max_nodes": 0}, "max_nodes must be a positive integer or None"),
    ({"values": {"a": 1}}, "only for a bare graph"),
], ids=["view", "rankdir", "max_nodes", "values-with-derivation"])
def test_bad_arguments(kwargs, match):
    with pytest.raises(RenderError, match=match):
        build_diagram(derive(*SEEDS["fork"]), **kwargs)


def test_not_a_derivation():
    with pytest.raises(RenderError, match="cannot draw a str"):
        build_diagram("y = a*b")


@pytest.fixture(scope="module")
def hostile():
    s = [sp.Symbol(h, real=True) for h in HOSTILE]
    t = sp.Symbol("<i>t</i>", real=True)
    prog = Program((Statement("<i>t</i>", s[0] * s[1] + s[2]),
                    Statement('y"', t * s[3] - s[4])), 'y"')
    return derive(prog, at={h: i + 1 for i, h in enumerate(HOSTILE)})


@pytest.mark.parametrize("backend", ["wasm", pytest.param("dot", marks=pytest.mark.needs_dot)])
@pytest.mark.parametrize("view", ["backward", "symbolic"])
def test_hostile_names_are_shown_literally(hostile, backend, view):
    dot = build_diagram(hostile, view=view, highlight="<b>",
                        clusters={"<i>t</i>": '"];evil[label="', 'y"': "<b>&\\"})
    objs = render_svg(dot, backend)
    texts = [t for o in objs.values() for t in o["texts"]]
    shown = {h.replace("\n", "\\n") for h in HOSTILE} | {"<i>t</i>", 'y"'}
    for h in shown:
        assert any(h in t for t in texts), h
    assert any(t == "back\\slash\\" for t in texts) and any(t == "new\\nline" for t in texts)
    # Nothing was injected: every drawn node is one the builder made.
    assert all(re.fullmatch(r"n\d+|note", k) for k, o in objs.items()
               if o["class"] == "node")
    assert sorted(o["id"][3:] for o in objs.values() if (o["id"] or "").startswith("bp:")) == \
        sorted(u.replace("\n", "\\n") for u in hostile.units)
