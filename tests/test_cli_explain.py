"""`backproof explain` end to end through main([...]): formats, -, @file, -o, errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import sympy as sp

from backproof.cli import main
from backproof.parse import parse_program

SEED = "d = a + b; e = b - c; y = d*e"


def oracle(source, at):
    prog = parse_program(source)
    out = prog.expanded()[prog.output]
    point = {sp.Symbol(k, real=True): v for k, v in at.items()}
    return {n: float(sp.diff(out, sp.Symbol(n, real=True)).subs(point)) for n in prog.inputs}


def test_text_writeup_shows_forward_backward_and_sum(capsys):
    assert main(["explain", SEED, "--at", "a=2,b=1,c=0", "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert "d = a + b = 2 + 1 = 3" in out
    # The sum over paths: its terms, their numbers and the value, in the same order.
    assert "∂y/∂b = ∂y/∂b|via d + ∂y/∂b|via e = 1 + 3 = 4" in out
    # A local derivative is the gate's own partial, never written with the output's symbol.
    assert "∂d/∂b = 1" in out and "∂(d · e)/∂d = e = 1" in out
    assert "Forward pass" in out and "Backward pass" in out and "Gradients" in out


def test_json_has_the_documented_fields(capsys):
    assert main(["explain", SEED, "--at", "a=2,b=1,c=0", "--format", "json", "--no-verify"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("output", "values", "gradients", "symbolic", "steps", "proof", "verification"):
        assert key in doc
    assert doc["output"] == "y"
    want = oracle(SEED, {"a": 2, "b": 1, "c": 0})
    assert {k: doc["gradients"][k] for k in want} == pytest.approx(want)
    assert doc["values"] == {"a": 2, "b": 1, "c": 0, "d": 3, "e": 1, "y": 3}
    # symbolic forms are in the expression language: they parse back
    for text in doc["symbolic"].values():
        parse_program(f"g = {text}")
    kinds = {s["kind"] for s in doc["steps"]}
    assert {"forward", "seed", "local", "chain", "sum", "result"} <= kinds


def test_json_without_values_is_symbolic(capsys):
    assert main(["explain", "y = (a+b)*(b-c)", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["values"] is None and doc["gradients"] is None
    b = parse_program("g = " + doc["symbolic"]["b"]).expanded()["g"]
    a_, b_, c_ = (sp.Symbol(n, real=True) for n in "abc")
    assert sp.simplify(b - (a_ + 2 * b_ - c_)) == 0
    assert doc["proof"]["status"] == "proved"


def test_stdin_program(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("f = (x + y)*z\n"))
    assert main(["explain", "-", "--at", "x=-2,y=5,z=-4", "--format", "json", "--no-verify"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["gradients"] == pytest.approx(oracle("f = (x + y)*z", {"x": -2, "y": 5, "z": -4}))


def test_at_file_and_markdown_output(tmp_path, capsys):
    prog = tmp_path / "homework.txt"
    prog.write_text("a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = (a2 - y)**2/2\n", encoding="utf-8")
    target = tmp_path / "new" / "dir" / "seed.md"
    status = main(["explain", f"@{prog}", "--at", "x=1,y=5,w1=2,b1=0,w2=3,b2=1", "--format", "md",
                   "-o", str(target), "--no-diagram"])
    assert status == 0 and capsys.readouterr().out == ""
    md = target.read_text(encoding="utf-8")
    assert md.startswith("# The gradients of J")
    assert r"\frac{\partial J}{\partial w_{1}}" in md and "| $6$ |" in md
    assert not list(target.parent.glob("*.tmp"))


def test_format_from_extension(tmp_path):
    target = tmp_path / "x.json"
    assert main(["explain", "y = 2*x", "--at", "x=1", "-o", str(target), "--no-verify"]) == 0
    assert json.loads(target.read_text())["gradients"] == {"x": 2.0}


@pytest.mark.parametrize("argv, message", [
    (["explain", "y = a +"], "line 1, column 8: syntax error"),
    (["explain", "y = a.b"], "attribute access"),
    (["explain", "y = a*b", "--at", "a=1"], "no value given for input b"),
    (["explain", "y = log(a)", "--at", "a=0"], "log needs a positive argument"),
    (["explain", "y = a", "--of", "q"], "unknown output 'q'"),
    (["explain", "y = a", "--wrt", "q"], "unknown name 'q'"),
    (["explain", "@/nonexistent/file.txt"], "file not found"),
    (["explain", "y = a", "--at", "a=x"], "must be a number"),
    (["explain", "y = a", "--points", "0"], "--points must be at least 1"),
    (["explain", "y = a", "--format", "pdf"], "invalid choice"),
], ids=["syntax", "construct", "missing-value", "domain", "of", "wrt", "file", "value", "points", "format"])
def test_bad_input_is_one_line_exit_2_no_file(argv, message, tmp_path, capsys):
    target = tmp_path / "out.json"
    status = main(argv + ["-o", str(target)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err.splitlines()[0]
    assert "Traceback" not in err
    assert not target.exists() and not list(tmp_path.iterdir())


def test_help_lists_examples(capsys):
    assert main(["explain", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out


def test_python_dash_m_works_like_the_script():
    proc = subprocess.run([sys.executable, "-m", "backproof", "explain", "y = x*x", "--at", "x=3",
                           "--format", "json", "--no-verify"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["gradients"] == {"x": 6.0}
    proc = subprocess.run([sys.executable, "-m", "backproof", "explain", "y = (x"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "^" in proc.stderr


def test_finding_json_floats_have_12_significant_figures(capsys):
    # Last-digit noise (AVX-512 vs scalar NumPy loops) used to rewrite committed JSON files
    # on every render; every float in JSON text now has at most 12 significant figures.
    import json as _json
    import math

    from backproof.cli import main as _main
    assert _main(["explain", "y = sin(x)/3", "--at", "x=0.7", "--format", "json"]) == 0
    doc = _json.loads(capsys.readouterr().out)
    for got, exact in [(doc["values"]["y"], math.sin(0.7) / 3), (doc["gradients"]["x"], math.cos(0.7) / 3)]:
        assert len(repr(exact)) > 15  # the full float would show more than 12 figures
        assert got == float(f"{exact:.12g}")


def _count_calls(monkeypatch, func_name: str) -> list[int]:
    """Wrap ``func_name`` wherever a loaded backproof module holds it (import sites included)."""
    # Load the modules explain uses before wrapping.
    import backproof.api
    import backproof.commands.explain  # noqa: F401
    from backproof import derivation, graph
    original = {"derive": derivation.derive, "build_graph": graph.build_graph}[func_name]
    calls = [0]

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    for name, mod in list(sys.modules.items()):
        if name.startswith("backproof") and getattr(mod, func_name, None) is original:
            monkeypatch.setattr(mod, func_name, counting)
    return calls


# Before the restructuring `explain --at` derived twice and built the graph three times; the
# cross-check now reuses explain's derivation (threeway.crosscheck(derivation=...)).
@pytest.mark.parametrize("fmt", ["text", "json", "md"])
def test_finding_explain_at_derives_once_and_builds_the_graph_once(fmt, tmp_path, monkeypatch, capsys):
    derives = _count_calls(monkeypatch, "derive")
    graphs = _count_calls(monkeypatch, "build_graph")
    out = tmp_path / f"seed.{fmt}"
    assert main(["explain", SEED, "--at", "a=2,b=1,c=0", "--format", fmt, "-o", str(out)]) == 0
    assert out.exists()
    assert (derives[0], graphs[0]) == (1, 1)
