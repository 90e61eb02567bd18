"""Issue 13: every symbolic stage bounded by expression size and time, and the cross-check's
finite differences bounded by a work budget — what is skipped is said in the write-up.

Oracles: a tree count by SymPy's own traversal (for the size measure), ``nx.descendants``
(for the kinks downstream of a name), the unbounded cross-check (for the rows a budget
keeps). No timed assertions: the time goes to ``bench/``; here the skip notices are checked.
"""

from __future__ import annotations

import math
import random

import networkx as nx
import numpy as np
import pytest
import sympy as sp

from backproof import explain, limits
from backproof import verify as verify_mod
from backproof.derivation import EXPAND_SIZE_LIMIT, SYMBOLIC_SIZE_LIMIT, derive, expression_size
from backproof.graph import tape_of
from backproof.threeway import crosscheck

#: Mazur's 2-2-2 network ("A Step by Step Backpropagation Example") as program text.
MAZUR = """h1 = sigmoid(w1*i1 + w2*i2 + b1)
h2 = sigmoid(w3*i1 + w4*i2 + b1)
o1 = sigmoid(w5*h1 + w6*h2 + b2)
o2 = sigmoid(w7*h1 + w8*h2 + b2)
E = (t1 - o1)**2/2 + (t2 - o2)**2/2"""
MAZUR_AT = ("i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,"
            "w5=0.40,w6=0.45,w7=0.50,w8=0.55,b1=0.35,b2=0.60")


def random_program(n: int, seed: int) -> str:
    """The issue's random programs: each statement combines a recent name with any earlier
    one through +, − or ×, often inside tanh, sigmoid or relu (the bench's generator)."""
    rng = random.Random(seed)
    names = ["x0", "x1", "x2", "x3"]
    lines = []
    for i in range(n):
        a, b = rng.choice(names[-20:]), rng.choice(names)
        e = f"{a} {rng.choice('+-*')} 0.5*{b}"
        f = rng.choice(["tanh", "sigmoid", "relu", ""])
        lines.append(f"s{i} = {f}({e})" if f else f"s{i} = {e}")
        names.append(f"s{i}")
    return "\n".join(lines)


RANDOM_AT = {"x0": 0.1, "x1": 0.2, "x2": 0.3, "x3": 0.4}


def fibonacci_chain(n: int) -> str:
    """Each statement uses the two before it: written out in the inputs, the output's tree
    grows like the Fibonacci numbers while the graph grows by three nodes a statement."""
    lines = ["s0 = tanh(x*y)", "s1 = tanh(s0 + x)"]
    lines += [f"s{i} = tanh(s{i - 1}*s{i - 2})" for i in range(2, n)]
    return "\n".join(lines)


# --- the size measure ------------------------------------------------------------------

def _tree_size(e: sp.Basic) -> int:
    return sum(1 for _ in sp.preorder_traversal(e))


@pytest.mark.parametrize("text", ["sin(x)*cos(x) + x**2", "exp(x + y)*(x + y) - (x + y)**3", "x"])
def test_expression_size_counts_the_tree(text):
    e = sp.sympify(text)  # test-authored text, not user input
    assert expression_size(e) == _tree_size(e)


def test_expression_size_counts_shared_subtrees_every_time_without_writing_them_out():
    x = sp.Symbol("x")
    e = x
    for _ in range(60):  # a tree of about 2**60 nodes, held in 60 objects
        e = sp.Function("f")(e, e)
    assert expression_size(e) == 2 ** 61 - 1
    # A symbol standing for something counts as the size of what it stands for.
    assert expression_size(sp.sin(x) + x, {x: 10}) == 1 + (1 + 10) + 10


# --- expansion skipped for size, and said -----------------------------------------------

@pytest.mark.parametrize("text, at, skipped, limit", [
    # 65 nodes: written out in the inputs, a gradient has 3,069 operations
    (random_program(33, 0), RANDOM_AT, "expanded forms and the proof", EXPAND_SIZE_LIMIT),
    # 92 nodes: even in node names, a gradient has 43 million operations
    (fibonacci_chain(30), {"x": 0.5, "y": -0.25}, "gradients in node names", SYMBOLIC_SIZE_LIMIT),
], ids=["random-65-nodes", "fibonacci-chain"])
def test_a_small_graph_with_a_huge_expansion_skips_it_and_says_so(text, at, skipped, limit):
    e = explain(text, at)
    assert e.graph.number_of_nodes() <= 150  # below EXPAND_LIMIT: node count alone would expand
    notes = [t for t in e.limits if "operations (more than" in t]
    assert len(notes) == 1 and notes[0].startswith(skipped) and f"(more than {limit:,})" in notes[0]
    assert not e.derivation.expanded and e.derivation.in_inputs == {}
    if limit == SYMBOLIC_SIZE_LIMIT:
        assert e.derivation.symbolic == {} and all(s.symbolic is None for s in e.steps
                                                  if s.kind.name in ("CHAIN", "SUM", "RESULT"))
    assert isinstance(e.proof, verify_mod.Skipped) and notes[0] in e.proof.reason
    assert notes[0] in e.to_text()  # the write-up says what was skipped and why
    # The derivation and its numeric cross-check are still complete.
    assert e.crosscheck.ok and set(e.named_gradients()) == set(e.wrt)


def test_the_size_gate_measures_the_gradients_it_would_write():
    # Every gradient of an expanded derivation is within the budget, measured after the fact.
    d = derive(random_program(31, 0), at=RANDOM_AT, verify=False)
    assert d.expanded
    assert max(_tree_size(v) for v in d.in_inputs.values()) <= EXPAND_SIZE_LIMIT


def test_mazur_as_program_text_is_proved_or_says_what_it_did_not_prove():
    e = explain(MAZUR, MAZUR_AT)
    assert e.derivation.expanded and isinstance(e.proof, verify_mod.Proof)
    proved = {i.name for i in e.proof.items}
    assert proved | set(e.proof.unproved) == set(e.wrt) and not proved & set(e.proof.unproved)
    if e.proof.unproved:  # the machine was slow: the write-up names what it did not prove
        assert all(n in e.proof.summary for n in e.proof.unproved)


def test_a_used_up_proof_budget_names_every_gradient_not_proved(monkeypatch):
    monkeypatch.setattr(verify_mod, "PROOF_LIMIT_SECONDS", 0.0)
    e = explain(MAZUR, MAZUR_AT)
    assert e.proof.items == () and set(e.proof.unproved) == set(e.wrt)
    line = e.proof.summary
    assert line.startswith(f"{len(e.wrt)} gradients not proved (the proof's time budget of 0 s was used up")
    assert "all gradients equal" not in line
    assert line in e.to_text() and line in e.to_json()


# --- the cross-check's finite differences within a work budget ------------------------------

def test_finite_differences_over_budget_are_spread_and_said(monkeypatch):
    text = random_program(200, 1)
    full = crosscheck(text, RANDOM_AT)
    old = limits.LIMITS["crosscheck_fd_work"]
    nodes = len(tape_of(text).entries)  # each difference is a forward pass over the tape
    monkeypatch.setitem(limits.LIMITS, "crosscheck_fd_work", limits.Limit(old.name, 10 * nodes, old.unit, old.what))
    cut = crosscheck(text, RANDOM_AT)
    taken = [r for r in cut.rows if "limit crosscheck_fd_work" not in r.note]
    assert len(taken) == 10 and cut.fd_skipped == len(cut.rows) - 10
    assert f"finite differences for 10 of {len(cut.rows)} gradients (limit crosscheck_fd_work)" in cut.summary
    # The first and last rows are among those differenced; the others keep symbolic vs engine.
    assert taken[0].name == cut.rows[0].name and taken[-1].name == cut.rows[-1].name
    by_name = {r.name: r for r in full.rows}
    for r in cut.rows:
        f = by_name[r.name]
        assert r.symbolic == f.symbolic and r.engine == f.engine and r.rel_engine == f.rel_engine
        if r in taken:
            assert r.numeric == f.numeric and r.verdict == f.verdict
        else:
            assert math.isnan(r.numeric) and r.verdict in ("agree", "not differentiable")
    assert full.fd_skipped == 0 and "crosscheck_fd_work" not in full.summary


# --- kinks downstream of a name, by one reverse sweep ------------------------------------------

def test_kinks_downstream_match_the_transitive_closure():
    from backproof.graph import to_tape
    from backproof.threeway import _first_kink_downstream
    text = "\n".join(f"r{i} = relu(x{i % 3} - {i % 2})" for i in range(6)) + "\n" + \
        "s = r0*r1 + r2\nt = relu(s - r3) + abs(r4 - r5)\ny = t*s + max(r0, r1)"
    d = derive(text, verify=False)
    tape = to_tape(d.graph)
    kinks = tuple(e for e in tape.entries if e.kind == "op" and e.op in ("relu", "abs", "max"))
    n = 4
    rng = np.random.default_rng(0)
    # Each kink at its kink at some points, not at others.
    base = {e.id: np.where(rng.random(n) < 0.5, 0.0, 1.0) for e in kinks}
    rows = list(d.wrt)
    got = _first_kink_downstream(tape, kinks, base, rows, n)
    for r in rows:
        below = nx.descendants(d.graph, r)
        for i in range(n):
            want = next((k for k, e in enumerate(kinks) if e.id in below and base[e.id][i] == 0), len(kinks))
            assert got[r][i] == want, (r, i)


# --- the collector paused during the sweep, and restored ----------------------------------------

def test_derive_and_explain_restore_the_callers_collector_setting():
    import gc
    assert gc.isenabled()
    derive("h = tanh(w*x); y = h*h", at="w=0.5,x=2")
    explain("h = tanh(w*x); y = h*h", "w=0.5,x=2")
    assert gc.isenabled()
    gc.disable()
    try:
        derive("h = tanh(w*x); y = h*h", at="w=0.5,x=2")
        explain("h = tanh(w*x); y = h*h", "w=0.5,x=2")
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- per node: the topological order without the general sort ---------------------------------

def test_topological_order_is_networkx_lexicographic_order():
    from backproof.graph import build_graph, topological_order
    from backproof.parse import parse_program
    g = build_graph(parse_program(random_program(300, 2)))
    want = list(nx.lexicographical_topological_sort(g, key=lambda n: g.nodes[n]["order"]))
    assert topological_order(g) == want
    # A graph whose creation order is not topological takes the general sort.
    h = nx.MultiDiGraph()
    for name, order in (("c", 0), ("a", 1), ("b", 2)):
        h.add_node(name, order=order)
    h.add_edge("a", "c")
    h.add_edge("b", "c")
    assert topological_order(h) == ["a", "b", "c"]
