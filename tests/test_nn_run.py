"""Issue 10 for the networks package: one training loop, no import cycles, options resolved once."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import networkx as nx
import pytest

import backproof.nn.train as nn_train
from backproof.engine import network as engine_network
from backproof.errors import SpecError
from backproof.nn import explain_network, program_from_spec_file, train_network
from backproof.nn.run import NetOptions, NetRun, check_options, resolve_run, run_network

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NN = ROOT / "src" / "backproof" / "nn"


def _imports(path: Path) -> list[tuple[str, str | None]]:
    """(module imported from, name) for every import in ``path``, relative ones resolved."""
    package = "backproof.nn"
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out += [(base, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names]
    return out


def test_finding_nn_import_cycles():
    """nn.spec, nn.build and nn.explain imported each other (function-level imports hid it)."""
    g = nx.DiGraph()
    for path in NN.glob("*.py"):
        me = f"backproof.nn.{path.stem}"
        g.add_node(me)
        for module, name in _imports(path):
            target = f"{module}.{name}" if module == "backproof.nn" and name else module
            if target.startswith("backproof.nn.") and target != me:
                g.add_edge(me, target)
    assert list(nx.simple_cycles(g)) == []


def test_finding_nn_private_imports():
    """nn.train imported nn.explain._arrays: no module of nn/ takes another's private name."""
    private = [(path.name, module, name) for path in NN.glob("*.py") for module, name in _imports(path)
               if module.startswith("backproof") and name and name.startswith("_") and not name.startswith("__")]
    assert private == []


def test_finding_two_training_loops(monkeypatch):
    """nn.train had its own copy of the engine's loop: it now runs the engine's ``train``."""
    calls = []
    real = engine_network.train

    def spy(*args, **kw):
        calls.append(kw.get("record"))
        return real(*args, **kw)

    monkeypatch.setattr(nn_train, "train", spy)
    h = train_network(EXAMPLES / "mazur.yaml", steps=3)
    assert len(calls) == 1 and callable(calls[0])
    assert h.steps == 3 and all(len(v) == 4 for v in h.path.values())


def test_finding_net_options_resolved_in_the_package():
    """``net.run`` rebuilt two objects to override η; the nn package resolves the options once
    into a frozen run description, and the command only reads, calls and writes."""
    net = program_from_spec_file(EXAMPLES / "mazur.yaml")
    run = resolve_run(net, NetOptions(learning_rate=0.1, plot=True, plot_weight="W2[0][0]",
                                      plot_surface="w5, w6"))
    assert isinstance(run, NetRun)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.steps = 5  # type: ignore[misc]
    assert str(run.net.learning_rate) == "1/10" and str(run.net.spec.learning_rate) == "1/10"
    assert str(net.learning_rate) == "1/2"  # the network read from the spec is unchanged
    assert (run.weight, run.surface, run.steps) == ("w5", ("w5", "w6"), 1)
    result = run_network(run)
    # The override is the update's η: new = old − η·gradient, checked against explain_network.
    plain = explain_network(net)
    for name, grad in plain.gradients().items():
        # Mazur's shared biases are frozen (issue 14): they keep their values.
        step = 0 if name in net.frozen else 0.1 * float(grad)
        assert float(result.updated()[name]) == pytest.approx(float(net.at[name]) - step, rel=1e-12)
    assert result.history is not None and result.history.learning_rate == pytest.approx(0.1)
    source = (ROOT / "src" / "backproof" / "commands" / "net.py").read_text(encoding="utf-8")
    assert "sympy" not in source and "replace(" not in source


@pytest.mark.parametrize("options, message", [
    (NetOptions(steps=-1), "--steps: expected an integer >= 0"),
    (NetOptions(plot_weight="w5,w6"), "--plot-weight: expected one parameter"),
    (NetOptions(plot_surface="w5,w5"), "--plot-surface: expected two different parameters"),
    (NetOptions(plot_surface="x[0],w5"), "--plot-surface: unknown parameter 'x[0]'"),
    (NetOptions(learning_rate=0.0), "--learning-rate: expected a number > 0"),
    (NetOptions(tolerance=float("inf")), "--tolerance: expected a number >= 0"),
])
def test_bad_options_are_one_line_errors(options, message):
    net = program_from_spec_file(EXAMPLES / "mazur.yaml")
    with pytest.raises(SpecError) as info:
        check_options(options)
        resolve_run(net, options)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
